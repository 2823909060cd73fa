"""OCF exit codes, named as the OCF Resource Agent API 1.1 names them.

The values are fixed by the standard (and by LSB for 0-7); what changed in
1.1 are the names for the promotable-clone codes.  The pre-1.1 MASTER names
stay as aliases so that code ported from shell agents reads naturally.
"""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    """Every exit code an OCF 1.1 resource agent may return."""

    SUCCESS = 0
    ERR_GENERIC = 1
    ERR_ARGS = 2
    ERR_UNIMPLEMENTED = 3
    ERR_PERM = 4
    ERR_INSTALLED = 5
    ERR_CONFIGURED = 6
    NOT_RUNNING = 7
    RUNNING_PROMOTED = 8
    FAILED_PROMOTED = 9
    DEGRADED = 190
    DEGRADED_PROMOTED = 191
    # Pre-1.1 names of 8 and 9 (enum aliases: same members, second name).
    RUNNING_MASTER = 8
    FAILED_MASTER = 9

    @classmethod
    def describe(cls, code: int) -> str:
        """A human name for any integer, including codes outside the standard."""
        try:
            return cls(code).name
        except ValueError:
            return f"unknown({code})"


# The names shell agents use, for people porting from ocf-shellfuncs.
OCF_SUCCESS = ExitCode.SUCCESS
OCF_ERR_GENERIC = ExitCode.ERR_GENERIC
OCF_ERR_ARGS = ExitCode.ERR_ARGS
OCF_ERR_UNIMPLEMENTED = ExitCode.ERR_UNIMPLEMENTED
OCF_ERR_PERM = ExitCode.ERR_PERM
OCF_ERR_INSTALLED = ExitCode.ERR_INSTALLED
OCF_ERR_CONFIGURED = ExitCode.ERR_CONFIGURED
OCF_NOT_RUNNING = ExitCode.NOT_RUNNING
OCF_RUNNING_PROMOTED = ExitCode.RUNNING_PROMOTED
OCF_FAILED_PROMOTED = ExitCode.FAILED_PROMOTED
OCF_DEGRADED = ExitCode.DEGRADED
OCF_DEGRADED_PROMOTED = ExitCode.DEGRADED_PROMOTED
OCF_RUNNING_MASTER = ExitCode.RUNNING_MASTER
OCF_FAILED_MASTER = ExitCode.FAILED_MASTER

VALID_CODES: frozenset[int] = frozenset(int(c) for c in ExitCode)
