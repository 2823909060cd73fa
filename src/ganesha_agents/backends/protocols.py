"""What the ganesha agents need from the world, as Protocols.

The agents hold only decisions; these interfaces are their whole view of
Pacemaker's attribute manager, of the local ganesha.nfsd and of the file
systems they change.  Only type checkers import this module.
"""

from __future__ import annotations

from typing import Protocol

from ganesha_agents.backends.v4clients import AddressUse
from ganesha_agents.nfs_state import Entry


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


class AddressClients(Protocol):
    """Who used an address on this node: the peers of its sockets, and every recorded client.

    Raises an ``ocfkit.OCFError`` when the records cannot be read.
    """

    def use_of(self, address: str) -> AddressUse:
        """The TCP peers of ``address`` here, and the clients in this node's recovery records."""


class NFSDirectory(Protocol):
    """``/var/lib/nfs`` and the two names ganesha_nfsd keeps beside it, in ``/var/lib``.

    Names are the three of :mod:`ganesha_agents.nfs_state`; nothing else in
    the directory is ever looked at or changed.  Every method raises an
    ``ocfkit.OCFError`` when the step cannot be taken (or not safely).
    """

    def inspect(self, name: str) -> Entry:
        """What ``name`` is, without following it."""

    def symlink(self, name: str, target: str) -> None:
        """Make ``name`` a link to ``target``; ``name`` must not exist."""

    def exchange(self, name: str, other: str) -> bool:
        """Swap the two names atomically; False when the file system cannot."""

    def rename(self, name: str, new_name: str) -> None:
        """Rename ``name``; never replaces ``new_name``."""

    def replace_link(self, name: str, link: str) -> None:
        """Rename the link ``name`` over the link ``link`` (atomically)."""

    def unlink(self, name: str) -> None:
        """Remove ``name``, which must be a link (never what it points at)."""

    def mark(self, name: str) -> None:
        """Create the empty marker file ``name``."""

    def unmark(self, name: str) -> None:
        """Remove the marker file ``name`` (only an empty file ganesha_nfsd made)."""

    def sync(self) -> None:
        """Make the steps taken so far durable."""


class NodeVolume(Protocol):
    """One node's directories on the shared state volume (``ha_vol_mnt``).

    ``nfs-ganesha/<node>/nfs/ganesha/{v4recov,v4old}``: each a directory of
    root, not writable by group or others, on the volume's file system.
    """

    def node_nfs(self, node: str) -> str:
        """``<ha_vol_mnt>/nfs-ganesha/<node>/nfs``: where ``/var/lib/nfs`` leads in link mode."""

    def usable(self) -> str:
        """Raise unless the volume is mounted, safe to walk and writable; says what it is."""

    def prepare(self, node: str) -> list[str]:
        """Make the node's directories exist and be right; what was done (empty: nothing)."""

    def problems(self, node: str) -> list[str]:
        """What is wrong with the node's directories (the volume's mount included); [] if none."""


class StateLock(Protocol):
    """Serialises ganesha_mon's signalling between its actions and its watcher process.

    Whoever holds it reads what was signalled, signals, and records it, so
    the watcher and a monitor running at the same moment never both delete
    or set an attribute.  Held only around attribute updates, never across
    a wait.
    """

    def acquire(self, timeout: float) -> bool:
        """Take the lock, waiting at most ``timeout`` seconds; whether it was taken."""

    def release(self) -> None:
        """Give it back (a no-op when not held)."""

    def holder(self) -> int | None:
        """The pid holding it, when another process does and the kernel says which."""

    def remove(self) -> None:
        """Delete what backs it (stop does, when nothing else can want the lock)."""


class WatcherStatus(Protocol):
    """What a look at the watcher process found (see :class:`WatcherControl`)."""

    kind: str
    """``running``, ``absent``, ``hung`` or ``foreign`` (the lock is held by a process
    that is not our watcher, which is then neither trusted nor killed)."""
    pid: int | None
    detail: str


class WatcherControl(Protocol):
    """The long-lived process that notices ganesha.nfsd's death at once.

    ganesha_mon's start launches it, its monitor checks it (and relaunches a
    dead one, kills and relaunches a hung one), its stop ends it.  Every
    kill is of a pid verified to be this instance's watcher.
    """

    def check(self) -> WatcherStatus:
        """Whether our watcher runs and beats."""

    def launch(self, environ: dict[str, str]) -> int:
        """Start a watcher detached from the calling action; its pid.

        ``environ`` is the action's environment, from which the watcher
        reads the instance's parameters and where to log.  Raises an
        ``ocfkit.OCFError`` when it cannot be started.
        """

    def stop(self, timeout: float) -> int | None:
        """Kill our watcher, if one runs, and wait up to ``timeout`` for it to go; its pid."""

    def remove(self) -> None:
        """Delete the watcher's file (stop does, after :meth:`stop`)."""


class AttrdTracker(Protocol):
    """Which pacemaker-attrd serves this node, to notice that it restarted (and forgot)."""

    def identity(self) -> str:
        """``PID:START`` of the node's attrd, or ``""`` when it cannot be told."""


class DaemonWatch(Protocol):
    """How the watcher waits on ganesha.nfsd: find it, then sleep until it ends."""

    def find(self) -> int | None:
        """The pid of the live daemon, found as ``NFSDaemon.is_alive`` finds it; None if none."""

    def wait_exit(self, pid: int, timeout: float) -> bool:
        """Wait up to ``timeout`` seconds for ``pid`` to end; whether it has (or is gone)."""
