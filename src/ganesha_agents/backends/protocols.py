"""What the ganesha agents need from the world, as Protocols.

The agents hold only decisions; these interfaces are their whole view of
Pacemaker's attribute manager and of the local ganesha.nfsd.  Only type
checkers import this module.
"""

from __future__ import annotations

from typing import Protocol


class AttributeStore(Protocol):
    """Transient node attributes (Pacemaker's attrd).

    ``query`` distinguishes the two ways an attribute can be absent, because
    the agents' decisions depend on it: ``None`` means attrd has never heard
    of it on that node (the cluster is coming up), ``""`` means it was set and
    then deleted (attrd keeps the name with an empty value, and the attribute
    leaves the CIB).  Every method raises an ``ocfkit.OCFError`` when the
    store cannot be reached; failures are never swallowed.
    """

    def set(self, name: str, value: str, *, node: str | None = None) -> None:
        """Set ``name`` on ``node`` (default: the local node)."""

    def delete(self, name: str, *, node: str | None = None) -> None:
        """Delete ``name`` on ``node`` (default: the local node)."""

    def query(self, name: str, *, node: str | None = None) -> str | None:
        """The value on ``node`` (default: local), ``""`` if deleted, ``None`` if never set."""


class NFSDaemon(Protocol):
    """The local NFS server (ganesha.nfsd).

    The grace methods take a ``budget``: the most seconds the whole call may
    take, every attempt and pause included, and never more than what is left
    of the action's deadline (``None``: until the deadline).  They raise an
    ``ocfkit.OCFError`` when the call fails or runs out of time, and
    ``GaneshaNotRunning`` (one of them, from
    ``ganesha_agents.backends.errors``) at once when the server is neither on
    the bus nor running: it starts in grace when it comes back.
    """

    def is_alive(self) -> bool:
        """Whether the daemon runs.  Cheap (no D-Bus, no subprocess): the monitor calls it."""

    def grace(self, argument: str, *, budget: float | None = None) -> str:
        """Put the server into NFS grace; ``argument`` as ganesha's admin ``grace(s)`` takes it.

        ``"0:"`` is plain grace; ``"5:NAME"`` also takes over the clients of
        NAME (read from ``RecoveryRoot/NAME``).  Returns the server's message.
        """

    def in_grace(self, *, budget: float | None = None) -> bool:
        """Whether the server is in grace now (ganesha's ``get_grace()``)."""

    def enter_grace(self, argument: str, *, budget: float) -> str:
        """``grace(argument)``, then ``get_grace()`` confirming it, both within ``budget``.

        Returns the grace call's message; raises ``GraceNotConfirmed`` (an
        ``ocfkit.OCFError``) when the server is not shown to be in grace.
        """
