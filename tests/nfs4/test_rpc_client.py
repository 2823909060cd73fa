"""The RPC transport and the session logic against a scripted server on loopback."""

from __future__ import annotations

import struct
import time
from collections.abc import Iterator

import pytest

from ocfkit.lab.nfs4.client import Nfs4Client, SlotTable
from ocfkit.lab.nfs4.const import LAST_FRAGMENT, Op
from ocfkit.lab.nfs4.errors import Nfs4Error, RpcTimeout, TransportError
from ocfkit.lab.nfs4.rpc import CallHeader, RpcClient, encode_reply, record
from ocfkit.lab.nfs4.xdr import (
    Attributes,
    ChannelAttrs,
    CompoundArgs,
    CompoundRes,
    CreateSessionRes,
    ExchangeIdRes,
    GetattrRes,
    GetFhRes,
    LockDenied,
    OpResult,
    SequenceArgs,
    SequenceRes,
    ServerOwner,
    Stateid,
    StateidRes,
    StateOwner,
)

from .fake_server import CLOSE, SILENT, Answer, FakeServer, Raw

SESSION = bytes(range(16))
CHANNEL = ChannelAttrs(0, 1 << 20, 1 << 20, 16384, 16, 2)


def ok(*results: OpResult) -> CompoundRes:
    return CompoundRes(0, results)


def failed(*results: OpResult) -> CompoundRes:
    return CompoundRes(results[-1].status, results)


def sequence_ok(args: SequenceArgs) -> OpResult:
    res = SequenceRes(args.sessionid, args.sequenceid, args.slotid, 1, 1, 0)
    return OpResult(Op.SEQUENCE, 0, res)


class Script:
    """A minimal server: a client id, a session, and whatever the test adds per operation."""

    def __init__(self) -> None:
        self.seen_seqids: list[tuple[int, int]] = []
        self.sequence_answers: list[int] = []  # statuses to answer SEQUENCE with, in turn
        self.op_status: dict[int, int] = {}
        self.close_next = False

    def __call__(self, header: CallHeader, compound: CompoundArgs | None) -> Answer:
        if compound is None:
            return None
        if self.close_next:
            self.close_next = False
            return CLOSE
        first = compound.ops[0]
        if first.op == Op.EXCHANGE_ID:
            return ok(
                OpResult(Op.EXCHANGE_ID, 0, ExchangeIdRes(42, 1, 0, ServerOwner(0, b"s"), b""))
            )
        if first.op == Op.CREATE_SESSION:
            return ok(
                OpResult(Op.CREATE_SESSION, 0, CreateSessionRes(SESSION, 1, 0, CHANNEL, CHANNEL))
            )
        if first.op in (Op.DESTROY_SESSION, Op.DESTROY_CLIENTID):
            return ok(OpResult(first.op))
        assert isinstance(first, SequenceArgs)
        self.seen_seqids.append((first.slotid, first.sequenceid))
        if self.sequence_answers:
            status = self.sequence_answers.pop(0)
            if status:
                return failed(OpResult(Op.SEQUENCE, status))
        results = [sequence_ok(first)]
        for op in compound.ops[1:]:
            status = self.op_status.get(op.op, 0)
            if status == 10010:
                denied = LockDenied(0, 10, 2, StateOwner(9, b"other"))
                return failed(*results, OpResult(op.op, status, denied=denied))
            if status:
                return failed(*results, OpResult(op.op, status))
            if op.op == Op.GETATTR:
                value = GetattrRes(Attributes(lease_time=30).to_fattr())
                results.append(OpResult(op.op, 0, value))
            elif op.op in (Op.LOCK, Op.LOCKU, Op.CLOSE):
                results.append(OpResult(op.op, 0, StateidRes(Stateid(1, bytes(12)))))
            elif op.op == Op.GETFH:
                results.append(OpResult(op.op, 0, GetFhRes(b"fh")))
            else:
                results.append(OpResult(op.op))
        return ok(*results)


@pytest.fixture
def script() -> Script:
    return Script()


@pytest.fixture
def server(script: Script) -> Iterator[FakeServer]:
    fake = FakeServer(script)
    yield fake
    fake.close()


def client_for(server: FakeServer, timeout: float = 2.0) -> Nfs4Client:
    return Nfs4Client(RpcClient("127.0.0.1", server.port, timeout=timeout), b"test-owner")


def test_null_and_auth_sys_as_root(server: FakeServer) -> None:
    client = client_for(server)
    client.null()
    header, compound = server.calls[0]
    assert (header.prog, header.vers, header.proc, compound) == (100003, 4, 0, None)
    assert header.cred.flavor == 1
    assert header.cred.body[-12:] == bytes(12)  # uid 0, gid 0, no gids


def test_a_reply_with_another_xid_is_skipped() -> None:
    def answer(header: CallHeader, compound: CompoundArgs | None) -> Answer:
        stale = record(encode_reply(header.xid - 1, b""))
        return Raw(stale + record(encode_reply(header.xid, b"")))

    fake = FakeServer(answer)
    try:
        rpc = RpcClient("127.0.0.1", fake.port, timeout=2)
        rpc.call(100003, 4, 0, b"")
        assert rpc.stale_replies == 1
    finally:
        fake.close()


def test_a_reply_in_two_fragments_is_reassembled() -> None:
    def answer(header: CallHeader, compound: CompoundArgs | None) -> Answer:
        reply = encode_reply(header.xid, b"\0\0\0\7")
        head, tail = reply[:8], reply[8:]
        return Raw(struct.pack(">L", len(head)) + head
                   + struct.pack(">L", LAST_FRAGMENT | len(tail)) + tail)  # fmt: skip

    fake = FakeServer(answer)
    try:
        assert RpcClient("127.0.0.1", fake.port, timeout=2).call(100003, 4, 0, b"") == b"\0\0\0\7"
    finally:
        fake.close()


def test_no_answer_is_a_timeout_within_the_deadline() -> None:
    fake = FakeServer(lambda header, compound: SILENT)
    try:
        rpc = RpcClient("127.0.0.1", fake.port, timeout=0.3)
        started = time.monotonic()
        with pytest.raises(RpcTimeout):
            rpc.call(100003, 4, 0, b"")
        assert 0.25 < time.monotonic() - started < 2
        assert rpc.connected  # nothing half-read: the stream is still usable
    finally:
        fake.close()


def test_a_deadline_in_the_middle_of_a_record_drops_the_connection() -> None:
    def answer(header: CallHeader, compound: CompoundArgs | None) -> Answer:
        return Raw(record(encode_reply(header.xid, b""))[:10])

    fake = FakeServer(answer)
    try:
        rpc = RpcClient("127.0.0.1", fake.port, timeout=0.3)
        with pytest.raises(RpcTimeout):
            rpc.call(100003, 4, 0, b"")
        assert not rpc.connected
    finally:
        fake.close()


def test_a_closed_connection_is_a_transport_error(server: FakeServer, script: Script) -> None:
    client = client_for(server)
    client.establish()
    script.close_next = True
    with pytest.raises(TransportError, match="closed"):
        client.sequence()


def test_nobody_listening_is_a_transport_error() -> None:
    fake = FakeServer(lambda header, compound: None)
    port = fake.port
    fake.close()
    with pytest.raises(TransportError, match="connect"):
        RpcClient("127.0.0.1", port, timeout=1).call(100003, 4, 0, b"")


def test_sequence_ids_advance_per_slot(server: FakeServer, script: Script) -> None:
    client = client_for(server)
    client.establish()
    assert client.lease_time == 30
    client.sequence()
    client.reclaim_complete()
    assert script.seen_seqids == [(0, 1), (0, 2), (0, 3)]
    assert client.session is not None and len(client.session.slots) == 2


def test_a_refused_sequence_does_not_advance_the_slot(server: FakeServer, script: Script) -> None:
    client = client_for(server)
    client.establish()
    script.sequence_answers = [10052]
    with pytest.raises(Nfs4Error) as caught:
        client.reclaim_complete()
    assert (caught.value.name, caught.value.op) == ("NFS4ERR_BADSESSION", "SEQUENCE")
    client.sequence()
    assert script.seen_seqids[-2:] == [(0, 2), (0, 2)]


def test_a_failed_operation_after_sequence_advances_the_slot(
    server: FakeServer, script: Script
) -> None:
    client = client_for(server)
    client.establish()
    script.op_status[Op.OPEN] = 10013
    with pytest.raises(Nfs4Error) as caught:
        client.open("/export/f", b"o")
    assert (caught.value.name, caught.value.op) == ("NFS4ERR_GRACE", "OPEN")
    client.sequence()
    assert script.seen_seqids[-2:] == [(0, 2), (0, 3)]


def test_lock_denied_carries_the_holder(server: FakeServer, script: Script) -> None:
    client = client_for(server)
    client.establish()
    script.op_status[Op.LOCK] = 10010
    with pytest.raises(Nfs4Error) as caught:
        client.lock(b"fh", Stateid(1, bytes(12)), b"l", offset=0, length=10)
    assert caught.value.name == "NFS4ERR_DENIED"
    assert caught.value.denied == LockDenied(0, 10, 2, StateOwner(9, b"other"))
    assert "other" in str(caught.value)


def test_an_in_doubt_slot_is_retried_with_the_same_id(server: FakeServer, script: Script) -> None:
    """The connection broke after the call was sent: the next compound repeats the id;
    the server's "that was a retry" answer advances it, and the compound is sent again."""
    client = client_for(server)
    client.establish()
    script.close_next = True
    with pytest.raises(TransportError):
        client.reclaim_complete()
    script.sequence_answers = [10068]  # NFS4ERR_RETRY_UNCACHED_REP
    client.reclaim_complete()
    assert script.seen_seqids[-2:] == [(0, 2), (0, 3)]


def test_slot_table_hands_out_free_slots() -> None:
    table = SlotTable(2)
    first, second = table.take(1), table.take(1)
    assert (first, second) == (0, 1)
    with pytest.raises(TransportError, match="slot"):
        table.take(0.05)
    table.give_back(first, advanced=True)
    table.give_back(second, advanced=None)
    assert table.next_seqid == [2, 1]
    assert table.in_doubt == [False, True]


def test_renew_is_a_sequence_alone(server: FakeServer, script: Script) -> None:
    client = client_for(server)
    client.establish()
    client.renew()
    _, compound = server.calls[-1]
    assert compound is not None and [op.op for op in compound.ops] == [Op.SEQUENCE]


def test_outcome_words() -> None:
    from ocfkit.lab.nfs4.held import outcome_of

    assert outcome_of(None) == "ok"
    assert outcome_of(Nfs4Error(10033, "OPEN")) == "NFS4ERR_NO_GRACE"
    assert outcome_of(RpcTimeout("no reply")) == "timeout"
    assert outcome_of(TransportError("reset")) == "transport"
