"""Every XDR type decodes back to what it encoded, and no bytes decode to a crash."""

from __future__ import annotations

import contextlib
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ocfkit.lab.nfs4.const import DelegationType, Op
from ocfkit.lab.nfs4.errors import XdrError
from ocfkit.lab.nfs4.rpc import AuthSys, CallHeader, OpaqueAuth, decode_call, encode_call
from ocfkit.lab.nfs4.xdr import (
    ARGS,
    RESULTS,
    Ace,
    Attributes,
    ChangeInfo,
    ChannelAttrs,
    ClientOwner,
    CloseArgs,
    CompoundArgs,
    CompoundRes,
    CreateSessionArgs,
    CreateSessionRes,
    Delegation,
    DestroyClientidArgs,
    DestroySessionArgs,
    ExchangeIdArgs,
    ExchangeIdRes,
    ExistLockOwner,
    Fattr,
    GetattrArgs,
    GetattrRes,
    GetFhArgs,
    GetFhRes,
    ImplId,
    LockArgs,
    LockDenied,
    LocktArgs,
    LockuArgs,
    LookupArgs,
    NfsTime,
    OpenArgs,
    OpenRes,
    OpenToLockOwner,
    OpResult,
    PutFhArgs,
    PutRootFhArgs,
    ReadArgs,
    ReadRes,
    ReclaimCompleteArgs,
    SequenceArgs,
    SequenceRes,
    ServerOwner,
    SpaceLimit,
    Stateid,
    StateidRes,
    StateOwner,
    WriteArgs,
    WriteRes,
    XdrType,
    decode,
    encode,
)

u32 = st.integers(0, 2**32 - 1)
u64 = st.integers(0, 2**64 - 1)
i64 = st.integers(-(2**63), 2**63 - 1)
small = st.binary(max_size=40)
sessionid = st.binary(min_size=16, max_size=16)
verifier = st.binary(min_size=8, max_size=8)
fh = st.binary(max_size=128)
stateid = st.builds(Stateid, u32, st.binary(min_size=12, max_size=12))
owner = st.builds(StateOwner, u64, st.binary(max_size=64))
channel = st.builds(ChannelAttrs, u32, u32, u32, u32, u32, u32,
                    st.lists(u32, max_size=1).map(tuple))  # fmt: skip
impl = st.builds(ImplId, small, small, st.builds(NfsTime, i64, u32))
fattr = st.builds(Fattr, st.lists(u32, max_size=3).map(tuple), small)
ace = st.builds(Ace, u32, u32, u32, small)
limit = st.one_of(
    st.builds(SpaceLimit, st.just(1), filesize=u64),
    st.builds(SpaceLimit, st.just(2), num_blocks=u32, bytes_per_block=u32),
)
delegation = st.one_of(
    st.just(Delegation()),
    st.builds(Delegation, st.just(DelegationType.READ), stateid, st.booleans(),
              st.none(), ace),
    st.builds(Delegation, st.just(DelegationType.WRITE), stateid, st.booleans(), limit, ace),
    st.builds(Delegation, st.just(DelegationType.NONE_EXT), why_none=st.sampled_from([0, 1, 9])),
    st.builds(Delegation, st.just(DelegationType.NONE_EXT), why_none=st.sampled_from([7, 8]),
              server_will=st.booleans()),
)  # fmt: skip
open_args = st.one_of(
    st.builds(OpenArgs, u32, u32, owner, st.just(1), delegate_type=u32, seqid=u32),
    st.builds(OpenArgs, u32, u32, owner, st.just(0), name=small, create=st.just(False)),
    st.builds(OpenArgs, u32, u32, owner, st.just(0), name=small, create=st.just(True),
              createmode=st.sampled_from([0, 1]), createattrs=fattr),
    st.builds(OpenArgs, u32, u32, owner, st.just(0), name=small, create=st.just(True),
              createmode=st.just(2), verifier=verifier),
    st.builds(OpenArgs, u32, u32, owner, st.just(0), name=small, create=st.just(True),
              createmode=st.just(3), verifier=verifier, createattrs=fattr),
)  # fmt: skip
locker = st.one_of(
    st.builds(OpenToLockOwner, stateid, owner, u32, u32),
    st.builds(ExistLockOwner, stateid, u32),
)

OP_ARGS: dict[int, st.SearchStrategy[Any]] = {
    Op.SEQUENCE: st.builds(SequenceArgs, sessionid, u32, u32, u32, st.booleans()),
    Op.EXCHANGE_ID: st.builds(ExchangeIdArgs, st.builds(ClientOwner, verifier, small), u32,
                              st.none() | impl),
    Op.CREATE_SESSION: st.builds(CreateSessionArgs, u64, u32, u32, channel, channel, u32,
                                 st.lists(st.just(0), max_size=2).map(tuple)),
    Op.DESTROY_SESSION: st.builds(DestroySessionArgs, sessionid),
    Op.DESTROY_CLIENTID: st.builds(DestroyClientidArgs, u64),
    Op.RECLAIM_COMPLETE: st.builds(ReclaimCompleteArgs, st.booleans()),
    Op.PUTROOTFH: st.builds(PutRootFhArgs),
    Op.PUTFH: st.builds(PutFhArgs, fh),
    Op.LOOKUP: st.builds(LookupArgs, small),
    Op.GETFH: st.builds(GetFhArgs),
    Op.OPEN: open_args,
    Op.LOCK: st.builds(LockArgs, u32, st.booleans(), u64, u64, locker),
    Op.LOCKT: st.builds(LocktArgs, u32, u64, u64, owner),
    Op.LOCKU: st.builds(LockuArgs, u32, stateid, u64, u64, u32),
    Op.READ: st.builds(ReadArgs, stateid, u64, u32),
    Op.WRITE: st.builds(WriteArgs, stateid, u64, u32, small),
    Op.CLOSE: st.builds(CloseArgs, stateid, u32),
    Op.GETATTR: st.builds(GetattrArgs, st.lists(u32, max_size=3).map(tuple)),
}  # fmt: skip

OP_RESULTS: dict[int, st.SearchStrategy[Any]] = {
    Op.SEQUENCE: st.builds(SequenceRes, sessionid, u32, u32, u32, u32, u32),
    Op.EXCHANGE_ID: st.builds(ExchangeIdRes, u64, u32, u32, st.builds(ServerOwner, u64, small),
                              small, st.none() | impl),
    Op.CREATE_SESSION: st.builds(CreateSessionRes, sessionid, u32, u32, channel, channel),
    Op.GETFH: st.builds(GetFhRes, fh),
    Op.OPEN: st.builds(OpenRes, stateid, st.builds(ChangeInfo, st.booleans(), u64, u64), u32,
                       st.lists(u32, max_size=3).map(tuple), delegation),
    Op.LOCK: st.builds(StateidRes, stateid),
    Op.LOCKU: st.builds(StateidRes, stateid),
    Op.CLOSE: st.builds(StateidRes, stateid),
    Op.READ: st.builds(ReadRes, st.booleans(), small),
    Op.WRITE: st.builds(WriteRes, u32, u32, verifier),
    Op.GETATTR: st.builds(GetattrRes, fattr),
}  # fmt: skip

denied = st.builds(LockDenied, u64, u64, u32, owner)


@st.composite
def op_result(draw: st.DrawFn) -> OpResult:
    op = draw(st.sampled_from(sorted(RESULTS)))
    status = draw(st.sampled_from([0, 10010, 10013, 10033, 10052]))
    if status == 0:
        value = draw(OP_RESULTS[op]) if RESULTS[op] is not None else None
        return OpResult(op, 0, value)
    if status == 10010 and op in (Op.LOCK, Op.LOCKT):
        return OpResult(op, status, denied=draw(denied))
    return OpResult(op, status)


any_args = st.sampled_from(sorted(OP_ARGS)).flatmap(lambda op: OP_ARGS[op])
VALUES: list[st.SearchStrategy[Any]] = [
    stateid, owner, channel, impl, fattr, ace, limit, delegation, denied,
    st.builds(ChangeInfo, st.booleans(), u64, u64),
    st.builds(AuthSys, st.binary(max_size=255), u32, u32, st.lists(u32, max_size=16).map(tuple),
              u32),
    st.builds(OpaqueAuth, u32, st.binary(max_size=400)),
    st.builds(CompoundArgs, st.lists(any_args, max_size=5).map(tuple), small, u32),
    st.builds(CompoundRes, u32, st.lists(op_result(), max_size=5).map(tuple), small),
    *OP_ARGS.values(),
    *OP_RESULTS.values(),
]  # fmt: skip


def test_every_operation_has_a_strategy() -> None:
    assert set(OP_ARGS) == set(ARGS)
    assert {op for op, kind in RESULTS.items() if kind is not None} == set(OP_RESULTS)


@pytest.mark.parametrize("strategy", VALUES)
@given(data=st.data())
def test_round_trip(strategy: st.SearchStrategy[XdrType], data: st.DataObject) -> None:
    value = data.draw(strategy)
    encoded = encode(value)
    assert len(encoded) % 4 == 0
    assert decode(type(value), encoded) == value


@given(st.builds(CallHeader, u32, u32, u32, u32, st.builds(OpaqueAuth, u32, small)), small)
def test_call_round_trip(header: CallHeader, args: bytes) -> None:
    padded = args + bytes(-len(args) % 4)
    assert decode_call(encode_call(header, padded)) == (header, padded)


@given(st.builds(Attributes, st.none() | u32, st.none() | u64, st.none() | u64, st.none() | u32,
                 st.none() | u64, st.none() | u32))  # fmt: skip
def test_attributes_round_trip(attributes: Attributes) -> None:
    assert Attributes.from_fattr(attributes.to_fattr()) == attributes


DECODABLE: set[type[XdrType]] = {CompoundArgs, CompoundRes, OpResult, *ARGS.values()}
DECODABLE |= {k for k in RESULTS.values() if k is not None}
KINDS = sorted(DECODABLE, key=lambda k: k.__name__)


@pytest.mark.parametrize("kind", KINDS, ids=lambda k: k.__name__)
@given(data=st.binary(max_size=200))
def test_arbitrary_bytes_decode_or_raise_xdr_error(kind: type[XdrType], data: bytes) -> None:
    with contextlib.suppress(XdrError):
        decode(kind, data)
