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
"""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

from ocfkit.lab.nfs4.client import Nfs4Client
from ocfkit.lab.nfs4.errors import NfsClientError
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
    """One client, inside ``node``, holding an open and a write lock on ``path`` at ``server``.

    A thread reads through the state every :data:`INTERVAL` and recovers
    whenever the server lost it, like ``ocfkit lab nfs-client hold``; a
    refused recovery ends the thread (the client knows it lost the lock).
    """

    def __init__(self, ha: HaCluster, name: str, node: str, server: str, path: str) -> None:
        self.name = name
        self.node = node
        self.path = path
        self.state = HeldState(
            server,
            path,
            client_owner=f"Linux NFSv4.1 {node} {name}",
            connector=connector(ha, node),
            timeout=CALL_TIMEOUT,
            length=LENGTH,
        )
        self.recoveries: list[RecoveryReport] = []
        self.refused: list[RecoveryReport] = []
        #: (seconds since the epoch, how the read failed) for each loss noticed.
        self.losses: list[tuple[float, str]] = []
        self._changed = threading.Condition()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"holder-{name}", daemon=True)

    def start(self, data: bytes, wait: float = 30.0) -> None:
        """Open, lock, write ``data``; then keep reading in the background."""
        self.state.establish(data, wait=wait)
        self._thread.start()

    @property
    def holds(self) -> bool:
        """The client believes it holds its lock: established and no recovery refused."""
        return self.state.held is not None and not self.refused

    def outcomes(self) -> int:
        """Recoveries that ended so far, granted or refused."""
        return len(self.recoveries) + len(self.refused)

    def wait_outcomes(self, count: int, timeout: float) -> bool:
        """Until ``count`` recoveries have ended (granted or refused), or ``timeout`` passed."""
        with self._changed:
            return self._changed.wait_for(lambda: self.outcomes() >= count, timeout)

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
                return
            with self._changed:
                self.recoveries.append(report)
                self._changed.notify_all()

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
