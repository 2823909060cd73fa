"""OCF exit codes, named as the OCF Resource Agent API 1.1 names them.

The values are fixed by the standard (and by LSB for 0-7); what changed in
1.1 are the names for the promotable-clone codes.  The pre-1.1 MASTER names
stay as aliases so that code ported from shell agents reads naturally.

For the type checker :class:`ExitCode` is an ``IntEnum``.  At run time it is
a small ``int`` subclass that behaves the same way for everything agents do
with it (``ExitCode.SUCCESS``, ``ExitCode(7)``, ``ExitCode["NOT_RUNNING"]``,
``.name``, iteration, ``int`` arithmetic): ``import enum`` pulls in
``functools``, ``collections`` and ``operator`` and cost about 4 ms of every
monitor, more than half of an agent's own imports.
"""

from __future__ import annotations

# (value, name) in the order of the standard; aliases follow their code.
_TABLE = (
    (0, "SUCCESS"),
    (1, "ERR_GENERIC"),
    (2, "ERR_ARGS"),
    (3, "ERR_UNIMPLEMENTED"),
    (4, "ERR_PERM"),
    (5, "ERR_INSTALLED"),
    (6, "ERR_CONFIGURED"),
    (7, "NOT_RUNNING"),
    (8, "RUNNING_PROMOTED"),
    (9, "FAILED_PROMOTED"),
    (190, "DEGRADED"),
    (191, "DEGRADED_PROMOTED"),
)
_ALIASES = (("RUNNING_MASTER", "RUNNING_PROMOTED"), ("FAILED_MASTER", "FAILED_PROMOTED"))

TYPE_CHECKING = False
if TYPE_CHECKING:
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
        RUNNING_MASTER = 8
        FAILED_MASTER = 9

        @classmethod
        def describe(cls, code: int) -> str:
            """A human name for any integer, including codes outside the standard."""
            ...

else:

    class _ExitCodeType(type):
        """What ``IntEnum``'s metaclass gives: lookup by value and name, iteration."""

        def __call__(cls, value):
            member = cls._by_value.get(value)
            if member is None:
                raise ValueError(f"{value!r} is not a valid ExitCode")
            return member

        def __getitem__(cls, name):
            return cls._by_name[name]

        def __iter__(cls):
            return iter(cls._members)

        def __len__(cls):
            return len(cls._members)

        def __contains__(cls, value):
            return isinstance(value, int) and value in cls._by_value

        @property
        def __members__(cls):
            return dict(cls._by_name)

    class ExitCode(int, metaclass=_ExitCodeType):
        """Every exit code an OCF 1.1 resource agent may return."""

        _members: tuple[ExitCode, ...] = ()
        _by_value: dict[int, ExitCode] = {}
        _by_name: dict[str, ExitCode] = {}

        @property
        def value(self):
            return int(self)

        def __repr__(self):
            return f"<ExitCode.{self.name}: {int(self)}>"

        __str__ = int.__repr__
        __format__ = int.__format__

        def __reduce__(self):
            return (ExitCode, (int(self),))

        @classmethod
        def describe(cls, code):
            """A human name for any integer, including codes outside the standard."""
            member = cls._by_value.get(code)
            return member.name if member is not None else f"unknown({code})"

    def _build() -> None:
        members = []
        for value, name in _TABLE:
            member = int.__new__(ExitCode, value)
            member.name = name
            members.append(member)
            ExitCode._by_value[value] = member
            ExitCode._by_name[name] = member
            type.__setattr__(ExitCode, name, member)
        for alias, canonical in _ALIASES:
            member = ExitCode._by_name[canonical]
            ExitCode._by_name[alias] = member
            type.__setattr__(ExitCode, alias, member)
        ExitCode._members = tuple(members)

    _build()


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
