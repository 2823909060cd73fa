"""An open file and a byte-range lock that outlive their server: what HA is for.

:class:`HeldState` opens a file, locks a range, writes to it, and keeps the
lease.  When the server's address moves (the connection resets, or the
session is answered NFS4ERR_BADSESSION / NFS4ERR_STALE_CLIENTID),
:meth:`HeldState.recover` does what a Linux client does after a server
restart: a new connection, a new client id for the same client owner, a new
session, OPEN with CLAIM_PREVIOUS on the remembered file handle with the
remembered share access, LOCK with ``reclaim = true`` for the remembered
range, RECLAIM_COMPLETE, then a read (is the data still there?) and a write
through the reclaimed state.

Each step is timed.  The client-visible outage is the time from the last
compound the server answered before the failure to the first successful
read on the reclaimed state, the figure an application would see as a
stall.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from typing import Any, TypeVar

from ocfkit.lab.nfs4.client import LeaseKeeper, Nfs4Client
from ocfkit.lab.nfs4.const import OPEN4_SHARE_ACCESS_BOTH, STATUS_CODES, LockType
from ocfkit.lab.nfs4.errors import Nfs4Error, NfsClientError, RpcTimeout, TransportError
from ocfkit.lab.nfs4.rpc import Connector, RpcClient, tcp_connect
from ocfkit.lab.nfs4.xdr import Stateid

T = TypeVar("T")

#: Answers that mean "try again shortly", not "no".
RETRYABLE = {STATUS_CODES["NFS4ERR_DELAY"]}
#: Answers to the old session that mean the server lost it (restart, another node).
SESSION_GONE = {
    STATUS_CODES[name]
    for name in (
        "NFS4ERR_BADSESSION",
        "NFS4ERR_DEADSESSION",
        "NFS4ERR_STALE_CLIENTID",
        "NFS4ERR_EXPIRED",
    )
}


def outcome_of(error: BaseException | None) -> str:
    """How a step ended, as a short word: ``ok``, an NFS4ERR name, ``timeout``, ``transport``."""
    if error is None:
        return "ok"
    if isinstance(error, Nfs4Error):
        return error.name
    if isinstance(error, RpcTimeout):
        return "timeout"
    if isinstance(error, TransportError):
        return "transport"
    return type(error).__name__


@dataclass
class Step:
    """One step of establishing or recovering: when, how long, how it ended."""

    name: str
    started: float  # seconds since the epoch
    duration: float
    outcome: str
    attempts: int = 1
    detail: str = ""


@dataclass
class RecoveryReport:
    """What :meth:`HeldState.recover` did, for people and for JSON."""

    server: str
    path: str
    ok: bool = False
    #: ``reclaimed`` (new client, CLAIM_PREVIOUS, lock reclaim) or ``session-intact``
    #: (the old session still answered and the state was still valid).
    mode: str = ""
    old_session_answer: str = ""
    #: Monotonic seconds from the last answered compound before the failure to the first
    #: successful read on the recovered state.
    outage: float | None = None
    #: The same two instants as seconds since the epoch (for lining up with other logs).
    last_ok_before: float | None = None
    first_ok_after: float | None = None
    data_intact: bool | None = None
    failed_step: str = ""
    error: str = ""
    steps: list[Step] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


class RecoveryFailed(NfsClientError):
    """Recovery stopped at a step the server refused (the report says which and why)."""

    def __init__(self, report: RecoveryReport, cause: NfsClientError) -> None:
        self.report = report
        self.cause = cause
        super().__init__(f"recovery failed at {report.failed_step}: {cause}")


@dataclass
class Held:
    """The remembered state, from which it can be reclaimed."""

    fh: bytes
    open_stateid: Stateid
    lock_stateid: Stateid
    share_access: int
    open_owner: bytes
    lock_owner: bytes
    locktype: int
    offset: int
    length: int
    #: What this client last wrote at ``offset`` (what a read after recovery must return).
    data: bytes = b""


class HeldState:
    """One client holding an open and a byte-range lock on ``path`` at ``server``."""

    def __init__(
        self,
        server: str,
        path: str,
        *,
        client_owner: str,
        port: int = 2049,
        connector: Connector = tcp_connect,
        timeout: float = 5.0,
        offset: int = 0,
        length: int = 64,
        locktype: int = LockType.WRITE,
        keep_lease: bool = True,
        verifier: bytes | None = None,
    ) -> None:
        self.server = server
        self.path = path
        self.client_owner = client_owner
        self.port = port
        self.connector = connector
        self.timeout = timeout
        self.offset = offset
        self.length = length
        self.locktype = locktype
        self.keep_lease = keep_lease
        #: The client's boot verifier, the same across recoveries (the client did not reboot).
        self.verifier = verifier if verifier is not None else os.urandom(8)
        self.client = self._new_client()
        self.keeper: LeaseKeeper | None = None
        self.held: Held | None = None
        self.steps: list[Step] = []
        self.last_failure: float | None = None

    def _new_client(self) -> Nfs4Client:
        rpc = RpcClient(self.server, self.port, timeout=self.timeout, connector=self.connector)
        return Nfs4Client(rpc, self.client_owner.encode(), self.verifier)

    @property
    def last_ok(self) -> float | None:
        """Monotonic time of the last compound the server answered."""
        return self.client.last_success

    # ----------------------------------------------------------- establish

    def establish(
        self,
        data: bytes,
        *,
        open_owner: bytes = b"held-open",
        lock_owner: bytes = b"held-lock",
        access: int = OPEN4_SHARE_ACCESS_BOTH,
        wait: float = 0.0,
        retry_interval: float = 0.2,
    ) -> Held:
        """New client and session, RECLAIM_COMPLETE, OPEN (create), LOCK, WRITE, READ.

        With ``wait``, a server in grace (NFS4ERR_GRACE) or starting (no
        connection, NFS4ERR_DELAY) is retried for that many seconds, as a
        Linux client retries; each retry's SEQUENCE keeps the lease.
        """
        client = self.client
        end = time.monotonic() + wait
        steps = self.steps
        grace = frozenset({STATUS_CODES["NFS4ERR_GRACE"]})

        def retrying(name: str, action: Callable[[], T], also: frozenset[int] = grace) -> T:
            return self._retrying(steps, name, end, retry_interval, action, also)

        retrying("client", client.establish)
        retrying("reclaim-complete", client.reclaim_complete)
        opened = retrying("open", lambda: client.open(self.path, open_owner, access=access))
        lock_stateid = retrying(
            "lock",
            lambda: client.lock(
                opened.fh, opened.stateid, lock_owner, locktype=self.locktype,
                offset=self.offset, length=self.length,
            ),
        )  # fmt: skip
        self.held = Held(
            opened.fh, opened.stateid, lock_stateid, access, open_owner,
            lock_owner, self.locktype, self.offset, self.length,
        )  # fmt: skip
        self.write(data)
        if self.read() != data:
            raise NfsClientError("the data read back is not what was written")
        self._start_keeper()
        return self.held

    # ------------------------------------------------------------- using it

    def _state(self) -> Held:
        if self.held is None:
            raise NfsClientError("nothing held: call establish() first")
        return self.held

    def read(self) -> bytes:
        held = self._state()
        return self._use(lambda: self.client.read(held.fh, held.open_stateid, held.offset,
                                                  max(len(held.data), 1)).data)  # fmt: skip

    def write(self, data: bytes) -> None:
        held = self._state()
        if len(data) > held.length:
            raise NfsClientError(f"{len(data)} bytes do not fit the {held.length}-byte lock")
        self._use(lambda: self.client.write(held.fh, held.lock_stateid, held.offset, data))
        held.data = data

    def check(self) -> bytes:
        """A read through the held state: what a workload does between failures."""
        return self.read()

    def _use(self, action: Callable[[], T]) -> T:
        try:
            return action()
        except NfsClientError:
            self.last_failure = time.monotonic()
            raise

    def _start_keeper(self) -> None:
        if self.keep_lease:
            self.keeper = self.client.keeper()

    def _stop_keeper(self) -> None:
        keeper, self.keeper = self.keeper, None
        if keeper is not None:
            keeper.stop()

    # --------------------------------------------------------------- recover

    def recover(self, deadline: float = 60.0, retry_interval: float = 0.1) -> RecoveryReport:
        """Get the held state back after the server lost it (or check it did not).

        Retries what a restarting server answers while it comes up (no
        connection, NFS4ERR_DELAY) until ``deadline`` seconds have passed;
        raises :class:`RecoveryFailed` when the server refuses a reclaim.
        """
        held = self._state()
        report = RecoveryReport(f"{self.server}:{self.port}", self.path)
        before = self.client.last_success
        report.last_ok_before = _epoch(before)
        self._stop_keeper()
        self.client.rpc.close()
        end = time.monotonic() + deadline
        steps = report.steps
        old = self.client
        self.client = new = self._new_client()
        try:
            self._retrying(steps, "connect", end, retry_interval, new.null)
            old_answer = self._old_session(new, old, steps)
            report.old_session_answer = old_answer
            if old_answer == "ok" and self._state_still_valid(new, old, steps):
                report.mode = "session-intact"
                self.client = old
                old.rpc = new.rpc
            else:
                report.mode = "reclaimed"
                self._retrying(steps, "exchange-id", end, retry_interval, new.exchange_id)
                self._retrying(steps, "create-session", end, retry_interval, new.create_session)
                opened = self._retrying(
                    steps, "reclaim-open", end, retry_interval,
                    lambda: new.reclaim_open(held.fh, held.open_owner, access=held.share_access),
                )  # fmt: skip
                held.open_stateid = opened.stateid
                held.lock_stateid = self._retrying(
                    steps, "reclaim-lock", end, retry_interval,
                    lambda: new.lock(
                        held.fh, held.open_stateid, held.lock_owner, locktype=held.locktype,
                        offset=held.offset, length=held.length, reclaim=True,
                    ),
                )  # fmt: skip
                self._retrying(steps, "reclaim-complete", end, retry_interval, new.reclaim_complete)
            client = self.client
            data = self._retrying(
                steps, "read", end, retry_interval,
                lambda: client.read(held.fh, held.open_stateid, held.offset,
                                    max(len(held.data), 1)).data,
            )  # fmt: skip
            after = client.last_success
            report.first_ok_after = _epoch(after)
            if before is not None and after is not None:
                report.outage = round(after - before, 6)
            report.data_intact = data == held.data
            written = held.data[::-1] if held.data else b"x"
            self._retrying(
                steps, "write", end, retry_interval,
                lambda: client.write(held.fh, held.lock_stateid, held.offset, written),
            )  # fmt: skip
            held.data = written
            back = self._retrying(
                steps, "read-back", end, retry_interval,
                lambda: client.read(held.fh, held.open_stateid, held.offset, len(written)).data,
            )  # fmt: skip
            if back != written:
                raise NfsClientError("the data read back after recovery is not what was written")
            if self.client is new and self.keep_lease and new.lease_time is None:
                new.lease_time = old.lease_time
        except NfsClientError as error:
            report.failed_step = steps[-1].name if steps else "recover"
            report.error = str(error)
            self.steps.extend(steps)
            raise RecoveryFailed(report, error) from error
        report.ok = True
        self.steps.extend(steps)
        self._start_keeper()
        return report

    def _old_session(self, new: Nfs4Client, old: Nfs4Client, steps: list[Step]) -> str:
        """SEQUENCE on the old session over the new connection: what did the server keep?"""
        if old.session is None:
            return "no-session"
        probe = Nfs4Client(new.rpc, old.ownerid, old.verifier)
        probe.session, probe.clientid = old.session, old.clientid
        started, wall = time.monotonic(), time.time()
        error: NfsClientError | None = None
        try:
            probe.sequence()
        except NfsClientError as caught:
            error = caught
        steps.append(Step("old-session", wall, time.monotonic() - started, outcome_of(error)))
        gone = isinstance(error, Nfs4Error) and error.status in SESSION_GONE
        if error is not None and not gone and not isinstance(error, TransportError):
            raise error
        old.last_success = probe.last_success if error is None else old.last_success
        return outcome_of(error)

    def _state_still_valid(self, new: Nfs4Client, old: Nfs4Client, steps: list[Step]) -> bool:
        held = self._state()
        old.rpc = new.rpc
        started, wall = time.monotonic(), time.time()
        try:
            old.read(held.fh, held.open_stateid, held.offset, 1)
        except Nfs4Error as error:
            steps.append(Step("old-state", wall, time.monotonic() - started, error.name))
            return False
        steps.append(Step("old-state", wall, time.monotonic() - started, "ok"))
        return True

    # ---------------------------------------------------------------- release

    def release(self) -> None:
        """LOCKU, CLOSE, DESTROY_SESSION, DESTROY_CLIENTID: leave nothing behind."""
        self._stop_keeper()
        held, client = self.held, self.client
        try:
            if held is not None:
                client.locku(held.fh, held.lock_stateid, locktype=held.locktype,
                             offset=held.offset, length=held.length)  # fmt: skip
                client.close(held.fh, held.open_stateid)
            if client.session is not None:
                client.destroy_session()
            if client.clientid is not None:
                client.destroy_clientid()
        finally:
            self.held = None
            client.rpc.close()

    def abandon(self) -> None:
        """Drop the connection and stop renewing, as a crashed client would."""
        self._stop_keeper()
        self.client.rpc.close()

    # ----------------------------------------------------------------- steps

    def _retrying(
        self,
        steps: list[Step],
        name: str,
        end: float,
        pause: float,
        action: Callable[[], T],
        also: frozenset[int] = frozenset(),
    ) -> T:
        """``action`` until it succeeds, is refused for good, or ``end`` passes."""
        started, wall = time.monotonic(), time.time()
        attempts = 0
        seen: list[str] = []
        while True:
            attempts += 1
            try:
                value = action()
            except (TransportError, Nfs4Error) as error:
                word = outcome_of(error)
                if not seen or seen[-1] != word:
                    seen.append(word)
                retry = isinstance(error, TransportError) or error.status in RETRYABLE | also
                if retry and time.monotonic() + pause < end:
                    time.sleep(pause)
                    continue
                steps.append(
                    Step(name, wall, time.monotonic() - started, word, attempts, " ".join(seen))
                )
                raise
            detail = " ".join(seen)
            steps.append(Step(name, wall, time.monotonic() - started, "ok", attempts, detail))
            return value


def _epoch(monotonic: float | None) -> float | None:
    """A monotonic instant as seconds since the epoch (to line up with other logs)."""
    if monotonic is None:
        return None
    return round(time.time() - (time.monotonic() - monotonic), 6)


@contextmanager
def holding(state: HeldState, data: bytes) -> Iterator[HeldState]:
    """``establish`` then ``release`` (or ``abandon`` when release is refused)."""
    state.establish(data)
    try:
        yield state
    finally:
        try:
            state.release()
        except NfsClientError:
            state.abandon()


__all__ = [
    "Held",
    "HeldState",
    "RecoveryFailed",
    "RecoveryReport",
    "Step",
    "holding",
    "outcome_of",
]
