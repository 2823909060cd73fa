"""NFSv4.1 clients in the scenarios: state held across a move of the address, and a witness.

What HA is for, seen from a client: an open file and a byte-range lock that
outlive the server behind the address.  A :class:`Holder` (the project's
client, :class:`~ocfkit.lab.nfs4.held.HeldState`) opens a file on the
export every node serves, locks a range, writes, then reads through that
state every :data:`INTERVAL`; when the address moves it recovers as a Linux
client does (new client id and session, OPEN CLAIM_PREVIOUS, LOCK
reclaim, RECLAIM_COMPLETE, read and write).  A :func:`witness` is a second
client asking for the same range: during grace the server must answer
NFS4ERR_GRACE, after grace NFS4ERR_DENIED while the holder keeps it.  A
lock granted to the witness while the holder holds the range is a
conflict, the one answer HA must never give.

Both run in the test's process; their TCP connections live in a lab node's
network namespace (:func:`~ocfkit.lab.nfs4.netns.netns_connector`) and go
through the VIP, as a client outside the cluster would.

Every node's ganesha serves one directory on one host file system, and
ganesha's VFS FSAL puts each lock it grants on that file system (an OFD
lock).  So a lock one node still holds is refused to every other node by
the kernel, as a shared volume refuses it across servers.
:func:`kernel_locks` says which node's ganesha holds a lock on a file: the
evidence when a reclaim is refused.
"""

from __future__ import annotations

import contextlib
import os
import threading
import time
from collections.abc import Callable
from pathlib import Path

from ocfkit.lab.commands import run
from ocfkit.lab.nfs4.client import Nfs4Client
from ocfkit.lab.nfs4.errors import Nfs4Error, NfsClientError
from ocfkit.lab.nfs4.held import HeldState, RecoveryFailed, RecoveryReport, outcome_of
from ocfkit.lab.nfs4.netns import netns_connector
from ocfkit.lab.nfs4.probe import probe
from ocfkit.lab.nfs4.rpc import Connector, RpcClient
from tests.scenarios.ha import SHARED_PSEUDO, HaCluster

#: Seconds per call: while the address is configured nowhere a read waits this long.
CALL_TIMEOUT = 1.5
#: Seconds between reads through the held state: the resolution of the outage figure.
INTERVAL = 0.1
#: How long one recovery may keep retrying a server that is not there yet.
RECOVER_DEADLINE = 60.0
#: The locked range: bytes 0..63 of the file.
LENGTH = 64


def connector(ha: HaCluster, node: str) -> Connector:
    """Connections from inside ``node``'s network namespace."""
    return netns_connector(ha.lab.layout.namespace(node))


def shared_file(ha: HaCluster, name: str) -> str:
    """A file on the export every node serves, made on the host; its path as clients see it."""
    path = ha.shared / name
    if not path.exists():
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_NOFOLLOW, 0o644)
        os.close(fd)
    return f"{SHARED_PSEUDO}/{Path(name).name}"


class Holder:
    """One client, inside ``node``, holding an open and a write lock (``state``).

    A thread reads through the state every :data:`INTERVAL` and recovers
    whenever the server lost it, like ``ocfkit lab nfs-client hold``.  A
    refused recovery ends the reading (the client knows it lost the lock),
    unless ``on_refused`` got the lock back with :meth:`retry`: then the
    reads go on, and keep the lease, as a client holding a lock does.
    """

    def __init__(
        self,
        name: str,
        node: str,
        state: HeldState,
        on_refused: Callable[[Holder], None] | None = None,
    ) -> None:
        """``on_refused`` runs in the holder's thread as soon as a recovery is refused."""
        self.name = name
        self.node = node
        self.state = state
        self.path = state.path
        self.on_refused = on_refused
        #: What ``on_refused`` found out, by name.
        self.evidence: dict[str, object] = {}
        #: A :meth:`retry` after a refusal got the state back.
        self.retried = False
        self.recoveries: list[RecoveryReport] = []
        self.refused: list[RecoveryReport] = []
        #: (seconds since the epoch, how the read failed) for each loss noticed.
        self.losses: list[tuple[float, str]] = []
        self._changed = threading.Condition()
        self._stop = threading.Event()
        self._settled = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"holder-{name}", daemon=True)

    def start(self, data: bytes, wait: float = 30.0) -> None:
        """Open, lock, write ``data``; then keep reading in the background."""
        self.state.establish(data, wait=wait)
        self._thread.start()

    @property
    def stopping(self) -> bool:
        return self._stop.is_set()

    @property
    def holds(self) -> bool:
        """The client holds its lock: established, and no recovery refused (or a retry won)."""
        return self.state.held is not None and (not self.refused or self.retried)

    def outcomes(self) -> int:
        """Recoveries that ended so far, granted or refused."""
        return len(self.recoveries) + len(self.refused)

    def wait_outcomes(self, count: int, timeout: float) -> bool:
        """Until ``count`` recoveries have ended (granted or refused), or ``timeout`` passed."""
        with self._changed:
            return self._changed.wait_for(lambda: self.outcomes() >= count, timeout)

    def wait_evidence(self, timeout: float) -> bool:
        """Until ``on_refused`` is done with a refusal (at once when there was none)."""
        return not self.refused or self._settled.wait(timeout)

    def _run(self) -> None:
        while not self._stop.wait(INTERVAL):
            try:
                self.state.check()
                continue
            except NfsClientError as error:
                self.losses.append((time.time(), outcome_of(error)))
            try:
                report = self.state.recover(RECOVER_DEADLINE)
            except RecoveryFailed as failed:
                with self._changed:
                    self.refused.append(failed.report)
                    self._changed.notify_all()
                try:
                    if self.on_refused is not None:
                        self.on_refused(self)
                finally:
                    self._settled.set()
                if self.retried:
                    continue
                return
            with self._changed:
                self.recoveries.append(report)
                self._changed.notify_all()

    def renew(self) -> None:
        """SEQUENCE on the session the refused recovery left, as a client keeps its lease."""
        with contextlib.suppress(NfsClientError):
            self.state.client.sequence()

    def retry(self) -> str:
        """The refused lock reclaim once more on the same session, then RECLAIM_COMPLETE,
        a write through the lock and a read back: ``ok`` or ``<op>=<status>``.

        Not what a Linux client does (it gives up a lock whose reclaim was
        refused): an experiment, to tell a refusal for good from one that
        only came too early.  The refused recovery had reclaimed the open
        and sent no RECLAIM_COMPLETE, so the lock may still be reclaimed.
        The state it gets back is given back at :meth:`stop`.
        """
        held, client = self.state.held, self.state.client
        if held is None:
            return "nothing held"
        data = b"written after a retried reclaim"[:LENGTH]
        try:
            held.lock_stateid = client.lock(
                held.fh, held.open_stateid, held.lock_owner, locktype=held.locktype,
                offset=held.offset, length=held.length, reclaim=True,
            )  # fmt: skip
            client.reclaim_complete()
            client.write(held.fh, held.lock_stateid, held.offset, data)
            back = client.read(held.fh, held.open_stateid, held.offset, len(data)).data
        except Nfs4Error as error:
            return f"{error.op}={error.name}"
        except NfsClientError as error:
            return f"{outcome_of(error)}: {error}"
        held.data = data
        self.retried = True
        return "ok" if back == data else "ok, but the data read back differs"

    @classmethod
    def through(
        cls,
        ha: HaCluster,
        name: str,
        node: str,
        server: str,
        path: str,
        on_refused: Callable[[Holder], None] | None = None,
    ) -> Holder:
        """A holder inside lab node ``node``, of ``path`` at ``server`` (a VIP)."""
        state = HeldState(
            server,
            path,
            client_owner=f"Linux NFSv4.1 {node} {name}",
            connector=connector(ha, node),
            timeout=CALL_TIMEOUT,
            length=LENGTH,
        )
        return cls(name, node, state, on_refused)

    def stop(self) -> None:
        """Stop reading; give the state back (or drop it, when it was lost)."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(RECOVER_DEADLINE + CALL_TIMEOUT * 4)
        if self.holds:
            try:
                self.state.release()
                return
            except NfsClientError:
                pass
        self.state.abandon()


def witness(ha: HaCluster, node: str, server: str, path: str) -> dict[str, str]:
    """A new client inside ``node`` asks ``server`` for a write lock on the held range.

    The statuses of :func:`ocfkit.lab.nfs4.probe.probe` (LOCKT, OPEN, LOCK
    ...); ``error`` when the server could not be asked.
    """
    rpc = RpcClient(server, 2049, timeout=CALL_TIMEOUT, connector=connector(ha, node))
    client = Nfs4Client(rpc, f"ocfkit witness {node} {time.time_ns()}".encode())
    results: dict[str, str] = {}
    try:
        probe(client, path, length=LENGTH, into=results)
    except NfsClientError as error:
        results["error"] = str(error)
    finally:
        rpc.close()
    return results


def granted(answers: dict[str, str]) -> bool:
    """The witness was given the lock."""
    return answers.get("lock") == "ok"


def handles(ha: HaCluster, node: str, path: str) -> dict[str, bytes | str]:
    """``path``'s file handle as each node's ganesha gives it (its own address, not a VIP).

    The export is one directory on one file system, with one export id
    everywhere: VFS handles (export id, file system id, the kernel's handle
    of the inode) must be byte for byte the same on every node, or a client
    could not use its open after a move.  A node that cannot be asked gives
    the error instead.
    """
    found: dict[str, bytes | str] = {}
    for server in ha.nodes:
        address = ha.lab.node_address(server)
        rpc = RpcClient(address, 2049, timeout=CALL_TIMEOUT, connector=connector(ha, node))
        client = Nfs4Client(rpc, f"ocfkit handles {node} {time.time_ns()}".encode())
        try:
            client.establish()
            found[server] = client.lookup(path)
            client.destroy_session()
            client.destroy_clientid()
        except NfsClientError as error:
            found.setdefault(server, f"{outcome_of(error)}: {error}")
        finally:
            rpc.close()
    return found


def kernel_locks(ha: HaCluster, name: str) -> dict[str, list[str]]:
    """The locks each node's ganesha.nfsd holds on the shared file ``name``, from /proc.

    For each node whose ganesha runs, every descriptor that leads to the
    file and the lock lines the kernel lists for it (``fdinfo``'s ``lock:``,
    as in /proc/locks: ``OFDLCK ADVISORY WRITE -1 <dev>:<inode> <start>
    <end>``).  Nodes holding nothing are left out.
    """
    target = os.stat(ha.shared / name)
    held: dict[str, list[str]] = {}
    for record in ha.lab.live_processes():
        if record.role != "ganesha":
            continue
        fds = Path(f"/proc/{record.pid}/fd")
        try:
            names = os.listdir(fds)
        except OSError:
            continue
        for fd in names:
            try:
                st = os.stat(fds / fd)
                if (st.st_dev, st.st_ino) != (target.st_dev, target.st_ino):
                    continue
                info = Path(f"/proc/{record.pid}/fdinfo/{fd}").read_text()
            except OSError:
                continue
            locks = [line.split(":", 1)[1].strip() for line in info.splitlines()
                     if line.startswith("lock:")]  # fmt: skip
            held.setdefault(record.node, []).extend(f"fd {fd}: {lock}" for lock in locks)
    return {node: locks for node, locks in held.items() if locks}


def lock_release_watch(
    ha: HaCluster, name: str, vip: str, timeout: float = 30.0
) -> Callable[[Holder], None]:
    """For ``on_refused``: who holds ``name`` in the kernel now, when that lock goes, and then?

    Kept in the holder's ``evidence``: ``kernel locks at the refusal``;
    ``kernel locks gone after`` (seconds after the refusal, polled every
    0.2 s up to ``timeout``; absent when they were still held then); and,
    when they went while the node holding ``vip`` was still in grace, what
    the same reclaim got then (``reclaim retried once the locks were gone``).
    """

    def watch(holder: Holder) -> None:
        refused = time.monotonic()
        found = kernel_locks(ha, name)
        holder.evidence["kernel locks at the refusal"] = found
        while found and not holder.stopping and time.monotonic() - refused < timeout:
            time.sleep(0.2)
            holder.renew()
            found = kernel_locks(ha, name)
        if found:
            return
        holder.evidence["kernel locks gone after"] = round(time.monotonic() - refused, 3)
        servers = ha.vip_holders().get(vip, ())
        grace = len(servers) == 1 and ha.lab.ganesha_in_grace(servers[0])
        holder.evidence[f"{'/'.join(servers) or 'nobody'} in grace then"] = grace
        if grace:
            holder.evidence["reclaim retried once the locks were gone"] = holder.retry()

    return watch


def ganesha_state_log(ha: HaCluster, node: str, level: str) -> bool:
    """Set ganesha's COMPONENT_STATE log level on ``node`` (``NIV_DEBUG``, ``NIV_EVENT``).

    At debug level ganesha logs each client a release (``2:<VIP>``, or
    ``2:<owner>`` as the demote sends per client of the address) compares the
    text with (``NFS Server V4 match ip <text> with (<client owner>)``): its
    own word on which clients it let go.  Through
    the node's bus from the host, org.ganesha.nfsd.log.component.
    """
    argv = [
        "dbus-send", "--system", "--print-reply", "--reply-timeout=3000",
        "--dest=org.ganesha.nfsd", "/org/ganesha/nfsd/admin",
        "org.freedesktop.DBus.Properties.Set", "string:org.ganesha.nfsd.log.component",
        "string:COMPONENT_STATE", f"variant:string:{level}",
    ]  # fmt: skip
    done = run(
        argv,
        timeout=5,
        check=False,
        env={"PATH": "/usr/bin:/bin", "DBUS_SYSTEM_BUS_ADDRESS": ha.lab.bus_address(node)},
    )
    return done.returncode == 0


def release_matches(lines: list[str]) -> list[str]:
    """What ganesha's debug log says a release compared: ``<text> with (<owner>)``."""
    marker = "NFS Server V4 match ip "
    return [line.split(marker, 1)[1] for line in lines if marker in line]
