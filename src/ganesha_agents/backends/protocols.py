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
    """The local NFS server (ganesha.nfsd)."""

    def is_alive(self) -> bool:
        """Whether the daemon runs.  Cheap (no D-Bus, no subprocess): the monitor calls it."""

    def grace(self, argument: str, *, budget: float | None = None) -> str:
        """Put the server into NFS grace; ``argument`` as ganesha's admin ``grace(s)`` takes it.

        ``"0:"`` is plain grace; ``"5:NAME"`` also takes over the clients of
        NAME (read from ``RecoveryRoot/NAME``).  Returns the server's message;
        raises an ``ocfkit.OCFError`` when the call fails or times out.
        ``budget`` bounds the whole call, retries included (seconds).
        """

    def enter_grace(self, argument: str, *, budget: float | None = None) -> str:
        """:meth:`grace`, then confirm with ``get_grace()`` that the server is in grace."""

    def in_grace(self) -> bool:
        """Whether the server is in grace now (ganesha's ``get_grace()``)."""


class AddressRecords(Protocol):
    """Which node's recovery records hold the clients of each address (shared storage).

    Paths are recovery roots, absolute and resolved, as every node sees them.
    Every method raises an ``ocfkit.OCFError`` when the records cannot be
    read or written (shared storage down, a record that is not to be trusted).
    """

    def holder(self, address: str) -> str | None:
        """The recovery root holding ``address``'s clients; None if none was ever recorded."""

    def own_root(self) -> str:
        """This node's recovery root: what :meth:`claim` records for it."""

    def lead_to_record(self, address: str) -> None:
        """Make this node's ``<RecoveryRoot>/<address>`` lead to the address's record."""

    def claim(self, address: str, root: str) -> None:
        """Record that the records under ``root`` now hold ``address``'s clients."""
