"""In-memory backends for the ganesha agents: attrd, ganesha.nfsd, /var/lib, the state volume.

These are what the project's tests and the demo use, and what an operator can
use to try a configuration idea without a cluster.  They keep timestamped
records of everything done to them, so a test (or the demo's timeline) can
check not just the end state but the order of events.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import attrs

from ganesha_agents.backends.errors import GaneshaDBusError, GaneshaNotRunning, GraceNotConfirmed
from ganesha_agents.backends.v4clients import AddressUse, RecordedClient
from ocfkit import GenericError

if TYPE_CHECKING:
    from ganesha_agents.nfs_state import Entry
    from ocfkit.clock import Clock


@attrs.frozen
class AttributeChange:
    """One update of a node attribute; ``value`` is None for a deletion."""

    time: float
    node: str
    name: str
    value: str | None


class FakeAttributeStore:
    """The cluster's attribute manager, shared between simulated nodes.

    Like attrd, a deleted attribute keeps its name with an empty value until
    the store is reset (``query`` answers "" for it, None for a name never
    set).  ``listeners`` are called after every change that alters a value
    (attrd only writes to the CIB when a value changes).  ``failure`` makes
    every call raise it, as if attrd were unreachable.
    """

    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self.values: dict[tuple[str, str], str] = {}
        self.history: list[AttributeChange] = []
        self.listeners: list[Callable[[AttributeChange], None]] = []
        self.failure: Exception | None = None
        self.calls: list[tuple[str, str, str]] = []

    def for_node(self, node: str) -> NodeAttributes:
        """The view one node's agents get: calls without ``node=`` act on that node."""
        return NodeAttributes(self, node)

    def set(self, node: str, name: str, value: str) -> None:
        self._call("set", node, name)
        self._change(node, name, value)

    def delete(self, node: str, name: str) -> None:
        self._call("delete", node, name)
        self._change(node, name, "")

    def query(self, node: str, name: str) -> str | None:
        self._call("query", node, name)
        return self.values.get((node, name))

    def value(self, node: str, name: str) -> str | None:
        """Peek without recording a call (for tests and the demo's model)."""
        return self.values.get((node, name))

    def forget_node(self, node: str) -> None:
        """A node's attributes vanish when its Pacemaker stops or it is fenced."""
        for key in [k for k in self.values if k[0] == node]:
            del self.values[key]

    def _call(self, kind: str, node: str, name: str) -> None:
        self.calls.append((kind, node, name))
        if self.failure is not None:
            raise self.failure

    def _change(self, node: str, name: str, value: str) -> None:
        if self.values.get((node, name)) == value:
            return
        self.values[(node, name)] = value
        change = AttributeChange(self.clock.monotonic(), node, name, value or None)
        self.history.append(change)
        for listener in list(self.listeners):
            listener(change)


class NodeAttributes:
    """A node's view of :class:`FakeAttributeStore`; satisfies ``AttributeStore``."""

    def __init__(self, store: FakeAttributeStore, node: str) -> None:
        self.store = store
        self.node = node

    def set(self, name: str, value: str, *, node: str | None = None) -> None:
        self.store.set(node or self.node, name, value)

    def delete(self, name: str, *, node: str | None = None) -> None:
        self.store.delete(node or self.node, name)

    def query(self, name: str, *, node: str | None = None) -> str | None:
        return self.store.query(node or self.node, name)


@attrs.frozen
class GraceCall:
    """One grace call the server accepted: its budget, and ``records`` a takeover read."""

    time: float
    node: str
    argument: str
    budget: float | None = None
    records: str | None = None


class FakeNFSDaemon:
    """A ganesha.nfsd that can be killed, revived and made to fail; satisfies ``NFSDaemon``.

    A successful grace call starts a grace period of ``grace_period`` seconds
    (virtual time, from the clock), as the real server does, unless the
    server is ``graceless`` (configured to lift grace at once).  A ``hung``
    server answers nothing: each call takes its whole budget (or
    ``hang_without_budget`` seconds) and then fails as a timeout.  A killed
    server raises ``GaneshaNotRunning`` at once, as the real backend does
    when the daemon is neither on the bus nor alive by its pid file.
    """

    def __init__(
        self,
        node: str,
        clock: Clock,
        *,
        grace_period: float = 90.0,
        records: Callable[[str], str | None] | None = None,
    ) -> None:
        self.node = node
        self.clock = clock
        self.grace_period = grace_period
        # What ``5:<ADDR>`` reads (the address's records), as ganesha follows the links.
        self.records = records
        self.alive = True
        self.hung = False
        self.hang_without_budget = 10.0
        self.graceless = False
        self.grace_calls: list[GraceCall] = []
        # Called with the answer of every liveness check (the demo marks step 1 with it).
        self.check_listeners: list[Callable[[bool], None]] = []
        self.failures_left = 0
        self.failure_reason = "org.freedesktop.DBus.Error.NoReply: timed out"
        self._grace_until: float | None = None
        #: The NFSv4 clients holding state here, by owner string, and what each holds.
        self.clients: dict[str, str] = {}
        #: Owners a ``2:`` call expired, in order.
        self.released: list[str] = []

    def kill(self) -> None:
        self.alive = False
        self._grace_until = None

    def revive(self) -> None:
        """A restarted server begins in grace, as ganesha.nfsd does."""
        self.alive = True
        self._grace_until = self.clock.monotonic() + self.grace_period

    def fail_next(self, count: int = 1, reason: str | None = None) -> None:
        self.failures_left = count
        if reason is not None:
            self.failure_reason = reason

    def is_alive(self) -> bool:
        for listener in list(self.check_listeners):
            listener(self.alive)
        return self.alive

    def grace(self, argument: str, *, budget: float | None = None) -> str:
        what = f"grace({argument!r})"
        self._answerable(what, budget)
        if self.failures_left > 0:
            self.failures_left -= 1
            raise GaneshaDBusError(f"{what} failed: {self.failure_reason}")
        event, _, address = argument.partition(":")
        read = self.records(address) if event == "5" and self.records is not None else None
        self.grace_calls.append(
            GraceCall(self.clock.monotonic(), self.node, argument, budget, records=read)
        )
        if not self.graceless:
            self._grace_until = self.clock.monotonic() + self.grace_period
        if event == "2":
            self._release(address)
        return "Started grace period"

    def _release(self, text: str) -> None:
        """As ganesha 4.3's ``ip_match``: every owner containing ``text``; all for an empty one."""
        for owner in [o for o in self.clients if text in o]:
            del self.clients[owner]
            self.released.append(owner)

    def in_grace(self, *, budget: float | None = None) -> bool:
        self._answerable("get_grace()", budget)
        return self._grace_until is not None and self.clock.monotonic() < self._grace_until

    def enter_grace(self, argument: str, *, budget: float) -> str:
        end = self.clock.monotonic() + budget
        message = self.grace(argument, budget=budget)
        if not self.in_grace(budget=max(0.0, end - self.clock.monotonic())):
            raise GraceNotConfirmed(
                f"grace({argument!r}) was accepted ({message}) but get_grace() says the "
                f"server on {self.node} is not in grace"
            )
        return message

    def _answerable(self, what: str, budget: float | None) -> None:
        """Raise as the real backend would for a server that is gone or hung."""
        if not self.alive:
            raise GaneshaNotRunning(
                f"{what}: no ganesha.nfsd runs on {self.node} (not on the bus, no live "
                "daemon by its pid file)"
            )
        if self.hung:
            waited = self.hang_without_budget if budget is None else budget
            self.clock.sleep(waited)
            raise GaneshaDBusError(
                f"{what} failed: ganesha.nfsd on {self.node} did not reply within {waited:g}s"
            )


class FakeAddressRecords:
    """The address records on a simulated shared state volume, one per cluster.

    ``holders`` maps an address to the recovery root recorded for it;
    ``history`` keeps every claim, so a test can follow an address from
    holder to holder.  ``failure`` makes every call raise it (shared storage
    unreachable).
    """

    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self.holders: dict[str, str] = {}
        self.links: set[tuple[str, str]] = set()
        self.history: list[tuple[float, str, str]] = []
        self.failure: Exception | None = None

    @staticmethod
    def root_of(node: str) -> str:
        return f"/shared/nfs-ganesha/{node}/nfs/ganesha"

    def for_node(self, node: str) -> NodeAddressRecords:
        return NodeAddressRecords(self, node)

    def read(self, node: str, address: str) -> str | None:
        """What ganesha on ``node`` reads for ``5:<address>``: the holder, if linked there."""
        return self.holders.get(address) if (node, address) in self.links else None

    def check(self) -> None:
        if self.failure is not None:
            raise self.failure


class NodeAddressRecords:
    """One node's view of :class:`FakeAddressRecords`; satisfies ``AddressRecords``."""

    def __init__(self, store: FakeAddressRecords, node: str) -> None:
        self.store = store
        self.node = node

    def holder(self, address: str) -> str | None:
        self.store.check()
        return self.store.holders.get(address)

    def own_root(self) -> str:
        self.store.check()
        return self.store.root_of(self.node)

    def lead_to_record(self, address: str) -> None:
        self.store.check()
        self.store.links.add((self.node, address))

    def claim(self, address: str, root: str) -> None:
        self.store.check()
        self.store.holders[address] = root
        self.store.history.append((self.store.clock.monotonic(), address, root))


class FakeAddressClients:
    """A node's sockets and recovery records, as lists; satisfies ``AddressClients``.

    ``connect(client, address)`` records a client host's connection to an
    address; ``record(client, owner)`` a recovery record.  ``failure`` makes
    :meth:`use_of` raise it; ``delay`` makes it take that long (clock time).
    """

    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self.connections: set[tuple[str, str]] = set()
        self.recorded: list[RecordedClient] = []
        self.failure: Exception | None = None
        self.delay = 0.0
        self.asked: list[str] = []

    def connect(self, client: str, address: str) -> None:
        self.connections.add((client, address))

    def record(self, client: str, owner: str | bytes) -> None:
        raw = owner.encode() if isinstance(owner, str) else owner
        self.recorded.append(RecordedClient(client, raw))

    def use_of(self, address: str) -> AddressUse:
        self.asked.append(address)
        if self.delay:
            self.clock.sleep(self.delay)
        if self.failure is not None:
            raise self.failure
        peers = {client for client, local in self.connections if local == address}
        return AddressUse(peers=peers, records=list(self.recorded))


class Crash(BaseException):
    """The agent's process dies here: killed at its timeout, or the node lost power.

    A BaseException, so that nothing in the agent catches it, as nothing
    catches SIGKILL; the test that arranged it does.
    """


@attrs.define
class FakeEntry:
    """Something at one name of the simulated ``/var/lib``; ``ident`` follows it through renames."""

    kind: str
    target: str | None = None
    ident: str = ""


class FakeNFSDirectory:
    """The three names ganesha_nfsd uses in ``/var/lib``, in memory (an ``NFSDirectory``).

    Starts with the node's own ``/var/lib/nfs`` directory (``ident``
    "local-nfs"), or with ``nfs`` as given.  ``steps`` records every change;
    ``crash_after = n`` lets n more changes happen, then raises :class:`Crash`
    instead of the next one; ``exchange_supported = False`` is a file system
    without ``RENAME_EXCHANGE``; ``missing_nfs`` counts the changes after
    which ``/var/lib/nfs`` did not exist; ``failure`` makes every call raise
    it.  Only the three names are accepted: anything else is an error the
    tests look for.
    """

    def __init__(self, nfs: FakeEntry | None = None, *, exchange_supported: bool = True) -> None:
        from ganesha_agents import nfs_state

        self.names = nfs_state.NAMES
        self.entries: dict[str, FakeEntry] = {}
        start = FakeEntry(nfs_state.DIRECTORY, ident="local-nfs") if nfs is None else nfs
        if start.kind != nfs_state.ABSENT:
            self.entries[nfs_state.NFS] = start
        self.exchange_supported = exchange_supported
        self.crash_after: int | None = None
        self.steps: list[str] = []
        self.missing_nfs = 0
        self.failure: Exception | None = None
        self.foreign: list[str] = []

    def at(self, name: str) -> FakeEntry | None:
        return self.entries.get(name)

    def inspect(self, name: str) -> Entry:
        from ganesha_agents.nfs_state import ABSENT, Entry

        self._check(name)
        entry = self.entries.get(name)
        if entry is None:
            return Entry(ABSENT)
        return Entry(entry.kind, entry.target, entry.ident if entry.kind == "other" else "")

    def symlink(self, name: str, target: str) -> None:
        self._change(f"symlink {name} -> {target}", name)
        self._absent(name)
        self.entries[name] = FakeEntry("link", target, ident=f"link:{target}")
        self._after()

    def exchange(self, name: str, other: str) -> bool:
        self._check(name, other)
        if not self.exchange_supported:
            return False
        self._change(f"exchange {name} {other}", name, other)
        first, second = self.entries.pop(name, None), self.entries.pop(other, None)
        if first is not None:
            self.entries[other] = first
        if second is not None:
            self.entries[name] = second
        self._after()
        return True

    def rename(self, name: str, new_name: str) -> None:
        self._change(f"rename {name} {new_name}", name, new_name)
        self._absent(new_name)
        self.entries[new_name] = self._present(name)
        del self.entries[name]
        self._after()

    def replace_link(self, name: str, link: str) -> None:
        self._change(f"replace {name} {link}", name, link)
        if self._present(name).kind != "link" or self._present(link).kind != "link":
            raise GenericError(f"replace {name} over {link}: both must be links")
        self.entries[link] = self.entries.pop(name)
        self._after()

    def unlink(self, name: str) -> None:
        self._change(f"unlink {name}", name)
        if self._present(name).kind != "link":
            raise GenericError(f"{name} is not a link: not removed")
        del self.entries[name]
        self._after()

    def mark(self, name: str) -> None:
        self._change(f"mark {name}", name)
        self._absent(name)
        self.entries[name] = FakeEntry("marker", ident="marker")
        self._after()

    def unmark(self, name: str) -> None:
        self._change(f"unmark {name}", name)
        if self._present(name).kind != "marker":
            raise GenericError(f"{name} is not the marker: not removed")
        del self.entries[name]
        self._after()

    def sync(self) -> None:
        if self.failure is not None:
            raise self.failure

    def _check(self, *names: str) -> None:
        if self.failure is not None:
            raise self.failure
        for name in names:
            if name not in self.names:
                self.foreign.append(name)
                raise GenericError(f"{name!r} is not one of ganesha_nfsd's names")

    def _change(self, description: str, *names: str) -> None:
        self._check(*names)
        if self.crash_after is not None:
            if self.crash_after <= 0:
                self.crash_after = None
                raise Crash(description)
            self.crash_after -= 1
        self.steps.append(description)

    def _after(self) -> None:
        if "nfs" not in self.entries:
            self.missing_nfs += 1

    def _absent(self, name: str) -> None:
        if name in self.entries:
            raise GenericError(f"{name} exists")

    def _present(self, name: str) -> FakeEntry:
        entry = self.entries.get(name)
        if entry is None:
            raise GenericError(f"{name} does not exist")
        return entry


class FakeVolume:
    """A state volume mounted on a simulated node: the directories made on it, and its health.

    ``wrong`` maps a relative directory path to what is wrong with it (a
    directory of another user, say): prepare refuses it and problems reports
    it.  ``mounted = False`` is the volume gone from under its mount point;
    ``writable = False`` a volume that refuses writes (quorum lost).
    """

    def __init__(self, path: str) -> None:
        self.path = path
        self.mounted = True
        self.writable = True
        self.directories: set[str] = set()
        self.wrong: dict[str, str] = {}
        self.created: list[str] = []

    def chain(self, node: str) -> list[str]:
        base = f"nfs-ganesha/{node}"
        root = f"{base}/nfs/ganesha"
        return [
            "nfs-ganesha", base, f"{base}/nfs", root, f"{root}/v4recov", f"{root}/v4old",
        ]  # fmt: skip


class FakeVolumes:
    """The mounts of a simulated node; called with ``ha_vol_mnt``, gives that volume's view."""

    def __init__(self) -> None:
        self.volumes: dict[str, FakeVolume] = {}

    def mount(self, path: str) -> FakeVolume:
        volume = self.volumes.setdefault(path, FakeVolume(path))
        volume.mounted = True
        return volume

    def __call__(self, path: str) -> FakeNodeVolume:
        return FakeNodeVolume(self, path)


class FakeNodeVolume:
    """One ``ha_vol_mnt`` as the agent sees it (a ``NodeVolume``)."""

    def __init__(self, volumes: FakeVolumes, path: str) -> None:
        self.volumes = volumes
        self.path = path

    def node_nfs(self, node: str) -> str:
        return f"{self.path}/nfs-ganesha/{node}/nfs"

    def usable(self) -> str:
        volume = self._mounted()
        if not volume.writable:
            raise GenericError(f"{self.path} does not take writes: Read-only file system")
        return f"{self.path} (fake), writable"

    def prepare(self, node: str) -> list[str]:
        self._node(node)
        volume = self._mounted()
        if not volume.writable:
            raise GenericError(f"{self.path} does not take writes: Read-only file system")
        done = []
        for rel in volume.chain(node):
            if rel in volume.wrong:
                raise GenericError(f"the state volume is not right for this node: {rel}: "
                                   f"{volume.wrong[rel]}")  # fmt: skip
            if rel not in volume.directories:
                volume.directories.add(rel)
                volume.created.append(f"{self.path}/{rel}")
                done.append(f"created {rel} (directory)")
        return done

    def problems(self, node: str) -> list[str]:
        self._node(node)
        volume = self.volumes.volumes.get(self.path)
        if volume is None or not volume.mounted:
            return [f"{self.path} is not a mount point: is the shared state volume mounted there?"]
        found = []
        for rel in volume.chain(node):
            if rel in volume.wrong:
                found.append(f"{rel}: {volume.wrong[rel]}")
            elif rel not in volume.directories:
                found.append(f"{rel}: missing directory")
        return found

    def _mounted(self) -> FakeVolume:
        volume = self.volumes.volumes.get(self.path)
        if volume is None or not volume.mounted:
            raise GenericError(
                f"{self.path} is not a mount point: is the shared state volume mounted there?"
            )
        return volume

    @staticmethod
    def _node(node: str) -> None:
        from ganesha_agents.state_volume import valid_node_name

        if not valid_node_name(node):
            raise GenericError(f"{node!r} cannot be a node's directory name")


class MemoryLock:
    """A state lock for one process (tests, the demo); satisfies ``StateLock``.

    ``held_by`` set to a pid makes it look held by another process, so a
    test can see an action give up at its deadline.
    """

    def __init__(self) -> None:
        self.held = False
        self.held_by: int | None = None
        self.acquisitions = 0
        self.removed = False

    def acquire(self, timeout: float) -> bool:
        if self.held_by is not None:
            return False
        self.held = True
        self.acquisitions += 1
        return True

    def release(self) -> None:
        self.held = False

    def holder(self) -> int | None:
        return self.held_by

    def remove(self) -> None:
        self.removed = True


@attrs.define
class FakeWatcherStatus:
    kind: str
    pid: int | None = None
    detail: str = ""


class FakeWatcherControl:
    """A watcher that is only a state (running, absent, hung, foreign); a ``WatcherControl``.

    ``launch`` makes it run (or raises ``launch_failure``), ``stop`` makes it
    absent; both are recorded.
    """

    def __init__(self, kind: str = "absent") -> None:
        self.kind = kind
        self.pid: int | None = None
        self.launches: list[dict[str, str]] = []
        self.stops: list[int] = []
        self.launch_failure: Exception | None = None
        self.removed = 0
        self._next_pid = 4000

    def check(self) -> FakeWatcherStatus:
        if self.kind == "absent":
            return FakeWatcherStatus("absent", None, "no watcher file")
        return FakeWatcherStatus(self.kind, self.pid, f"watcher pid {self.pid} is {self.kind}")

    def launch(self, environ: dict[str, str]) -> int:
        if self.launch_failure is not None:
            raise self.launch_failure
        self.launches.append(environ)
        self._next_pid += 1
        self.kind, self.pid = "running", self._next_pid
        return self._next_pid

    def stop(self, timeout: float) -> int | None:
        if self.kind not in ("running", "hung") or self.pid is None:
            return None
        self.stops.append(self.pid)
        self.kind = "absent"
        return self.pid

    def remove(self) -> None:
        self.removed += 1


class FakeAttrdTracker:
    """attrd's identity as a test sets it; satisfies ``AttrdTracker``."""

    def __init__(self, identity: str = "") -> None:
        self.current = identity

    def identity(self) -> str:
        return self.current


class FakeDaemonWatch:
    """The watcher's view of a :class:`FakeNFSDaemon`, in the clock's time; a ``DaemonWatch``."""

    PID = 4242
    STEP = 0.01

    def __init__(self, daemon: FakeNFSDaemon, clock: Clock) -> None:
        self.daemon = daemon
        self.clock = clock

    def find(self) -> int | None:
        return self.PID if self.daemon.alive else None

    def wait_exit(self, pid: int, timeout: float) -> bool:
        end = self.clock.monotonic() + timeout
        while self.daemon.alive:
            left = end - self.clock.monotonic()
            if left <= 0:
                return False
            self.clock.sleep(min(self.STEP, left))
        return True
