"""The scenarios' holder thread on its own, with a scripted state: no lab, no server.

What the kill path concludes from a refused reclaim rests on this thread:
the refusal is recorded, the evidence is gathered before anyone reads it,
and a retry that wins keeps reading (so the lease is kept and a lock given
to another client afterwards is a real conflict, not an expired lease).
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass, field

from ocfkit.lab.nfs4.client import Nfs4Client
from ocfkit.lab.nfs4.const import STATUS_CODES
from ocfkit.lab.nfs4.errors import Nfs4Error, TransportError
from ocfkit.lab.nfs4.held import Held, HeldState, RecoveryFailed, RecoveryReport, Step
from ocfkit.lab.nfs4.rpc import RpcClient
from ocfkit.lab.nfs4.xdr import ReadRes, SequenceRes, Stateid, WriteRes
from tests.scenarios.clients import Holder

DENIED = STATUS_CODES["NFS4ERR_DENIED"]
LOCK = Stateid(1, b"lock-after--")


@dataclass
class Written:
    """What the scripted server holds: the bytes written and the lock reclaims it took."""

    data: bytes = b""
    lock_reclaims: list[bool] = field(default_factory=list)
    refuse_lock: bool = False
    renewals: int = 0


class ScriptedClient(Nfs4Client):
    """The operations a retry sends, answered from :class:`Written`."""

    def __init__(self, server: Written) -> None:
        super().__init__(RpcClient("127.0.0.1", 9, timeout=0.1), b"scripted")
        self.server = server

    def lock(self, fh: bytes, open_stateid: Stateid, lock_owner: bytes, **kw: object) -> Stateid:
        self.server.lock_reclaims.append(bool(kw.get("reclaim")))
        if self.server.refuse_lock:
            raise Nfs4Error(DENIED, "LOCK")
        return LOCK

    def reclaim_complete(self, one_fs: bool = False) -> None:
        return None

    def write(self, fh: bytes, stateid: Stateid, offset: int, data: bytes) -> WriteRes:
        assert stateid == LOCK, "a write after the retry goes through the reclaimed lock"
        self.server.data = data
        return WriteRes(len(data), 2, bytes(8))

    def read(self, fh: bytes, stateid: Stateid, offset: int, count: int) -> ReadRes:
        return ReadRes(False, self.server.data[:count])

    def sequence(self) -> SequenceRes:
        self.server.renewals += 1
        return SequenceRes(b"s" * 16, 1, 0, 0, 0, 0)


class ScriptedState(HeldState):
    """Established at once; reads fail once when told; every recovery is refused."""

    def __init__(self, server: Written) -> None:
        super().__init__("192.0.2.1", "/export/f", client_owner="scripted", keep_lease=False)
        self.client = ScriptedClient(server)
        self.lose = threading.Event()
        self.reads = 0
        self.released = False
        self.abandoned = False

    def establish(self, data: bytes, **kw: object) -> Held:
        old = Stateid(1, b"lock-before-")
        self.held = Held(b"fh", old, old, 3, b"o", b"l", 2, 0, 64, data)
        return self.held

    def check(self) -> bytes:
        self.reads += 1
        if self.lose.is_set():
            self.lose.clear()
            raise TransportError("connection reset")
        return b""

    def recover(self, deadline: float = 60.0, retry_interval: float = 0.1) -> RecoveryReport:
        report = RecoveryReport("192.0.2.1:2049", self.path, failed_step="reclaim-lock")
        report.steps = [Step("reclaim-lock", 0.0, 0.001, "NFS4ERR_DENIED")]
        raise RecoveryFailed(report, Nfs4Error(DENIED, "LOCK"))

    def release(self) -> None:
        self.released = True

    def abandon(self) -> None:
        self.abandoned = True


def holder_of(server: Written, on_refused: Sequence[str]) -> tuple[Holder, ScriptedState]:
    """A holder whose ``on_refused`` records its name and retries when asked to."""
    state = ScriptedState(server)

    def refused(holder: Holder) -> None:
        holder.evidence["seen"] = True
        if "retry" in on_refused:
            holder.evidence["retry"] = holder.retry()

    return Holder("a", "node3", state, refused), state


def test_a_refused_reclaim_ends_the_reads_and_the_state_is_dropped() -> None:
    holder, state = holder_of(Written(), on_refused=())
    holder.start(b"before")
    state.lose.set()
    assert holder.wait_outcomes(1, 5)
    assert holder.wait_evidence(5) and holder.evidence == {"seen": True}
    assert not holder.holds
    reads = state.reads
    holder.stop()
    assert state.reads == reads and state.abandoned and not state.released


def test_a_retry_that_wins_keeps_reading_and_the_lock_is_given_back() -> None:
    server = Written()
    holder, state = holder_of(server, on_refused=("retry",))
    holder.start(b"before")
    state.lose.set()
    assert holder.wait_outcomes(1, 5)
    assert holder.wait_evidence(5)
    assert holder.evidence["retry"] == "ok"
    assert server.lock_reclaims == [True]
    assert server.data.startswith(b"written after a retried reclaim")
    assert holder.holds and len(holder.refused) == 1
    reads = state.reads
    threading.Event().wait(0.5)
    assert state.reads > reads, "the reads (and with them the lease) go on after the retry"
    holder.stop()
    assert state.released and not state.abandoned


def test_a_retry_refused_again_says_what_and_ends_the_reads() -> None:
    server = Written(refuse_lock=True)
    holder, state = holder_of(server, on_refused=("retry",))
    holder.start(b"before")
    state.lose.set()
    assert holder.wait_outcomes(1, 5) and holder.wait_evidence(5)
    assert holder.evidence["retry"] == "LOCK=NFS4ERR_DENIED"
    assert not holder.holds
    holder.stop()
    assert state.abandoned
