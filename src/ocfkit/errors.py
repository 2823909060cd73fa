"""Exceptions that carry an OCF exit code and an exit reason.

An action either returns an exit code or raises one of these; the dispatcher
turns the exception into the code plus an ``ocf-exit-reason:`` line, so agent
code never has to remember to print the reason before exiting.
"""

from __future__ import annotations

from ocfkit.codes import ExitCode

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterable


class OCFError(Exception):
    """An action failed with a known OCF exit code and a one-line reason.

    ``parameters`` names the OCF parameters the error is about.  It matters
    for stop and probes: an error about parameters that locate the resource
    (declared with ``parameter(locates=True)``) means the resource cannot be
    running here, so stop answers 0 and a probe 7; see
    ``docs/writing-agents.md``, "Stop and probe with a broken configuration".
    """

    code: ExitCode = ExitCode.ERR_GENERIC

    def __init__(
        self,
        reason: str,
        *,
        code: ExitCode | None = None,
        parameters: Iterable[str] = (),
    ) -> None:
        super().__init__(reason)
        self.reason = reason
        self.parameters: tuple[str, ...] = tuple(parameters)
        if code is not None:
            self.code = code


class GenericError(OCFError):
    """1: the action failed; Pacemaker recovers the resource (restart or move)."""

    code = ExitCode.ERR_GENERIC


class InvalidArgumentError(OCFError):
    """2: the configuration is wrong for this node only (hard error here)."""

    code = ExitCode.ERR_ARGS


class UnimplementedError(OCFError):
    """3: the agent does not implement the requested action."""

    code = ExitCode.ERR_UNIMPLEMENTED


class InsufficientPrivilegeError(OCFError):
    """4: the agent lacks the privilege the action needs."""

    code = ExitCode.ERR_PERM


class NotInstalledError(OCFError):
    """5: software the agent needs is missing on this node."""

    code = ExitCode.ERR_INSTALLED


class ConfigurationError(OCFError):
    """6: the resource's configuration is wrong everywhere (fatal, cluster-wide)."""

    code = ExitCode.ERR_CONFIGURED


class NotRunningError(OCFError):
    """7: the resource is cleanly stopped (meaningful for monitor only)."""

    code = ExitCode.NOT_RUNNING


class DeadlineExceeded(GenericError):
    """The action ran out of the time Pacemaker gave it."""


class AgentDefinitionError(Exception):
    """An agent class is declared wrongly: a programming error, found at import or in tests."""
