"""XDR against byte strings worked out by hand from RFC 4506, RFC 5531 and RFC 5662.

Each expected value is written as the XDR words it is made of, with the
field it encodes beside it, so that a reader can check it against the RFC
without running anything.
"""

from __future__ import annotations

import pytest

from ocfkit.lab.nfs4.const import Claim, LockType, Op
from ocfkit.lab.nfs4.errors import RpcError, XdrError
from ocfkit.lab.nfs4.rpc import AuthSys, CallHeader, decode_reply, encode_call, record
from ocfkit.lab.nfs4.xdr import (
    Attributes,
    ChannelAttrs,
    ClientOwner,
    CompoundArgs,
    CompoundRes,
    CreateSessionArgs,
    Decoder,
    ExchangeIdArgs,
    Fattr,
    LockArgs,
    LockDenied,
    OpenArgs,
    OpenToLockOwner,
    OpResult,
    PutRootFhArgs,
    SequenceArgs,
    Stateid,
    StateOwner,
    WriteArgs,
    bitmap,
    bitmap_numbers,
    decode,
    encode,
)


def words(*parts: str) -> bytes:
    """Hex words (spaces and underscores ignored) as bytes."""
    return bytes.fromhex("".join(p.replace("_", "") for p in parts))


SESSION = bytes(range(16))
OTHER = bytes(range(0xA0, 0xAC))


def test_null_call_with_auth_none() -> None:
    """RFC 5531 rpc_msg: xid, CALL, rpcvers 2, prog 100003, vers 4, proc 0, two AUTH_NONE."""
    message = encode_call(CallHeader(0x01020304, 100003, 4, 0), b"")
    assert message == words(
        "01020304",  # xid
        "00000000",  # msg_type CALL
        "00000002",  # rpcvers
        "000186a3",  # prog 100003
        "00000004",  # vers
        "00000000",  # proc NULL
        "00000000 00000000",  # cred: AUTH_NONE, empty body
        "00000000 00000000",  # verf: AUTH_NONE, empty body
    )
    # Record marking (RFC 5531 section 11): last-fragment bit and the length, 40 bytes.
    assert record(message)[:4] == words("80000028")
    assert record(message)[4:] == message


def test_auth_sys_credential() -> None:
    """authsys_parms: stamp, machinename<255>, uid, gid, gids<16>, inside opaque_auth."""
    credential = AuthSys(b"lab", uid=0, gid=0).credential()
    assert encode(credential) == words(
        "00000001",  # flavor AUTH_SYS
        "00000018",  # body length 24
        "00000000",  # stamp
        "00000003 6c616200",  # "lab" + one byte of padding
        "00000000",  # uid 0
        "00000000",  # gid 0
        "00000000",  # no supplementary gids
    )


def test_sequence_args() -> None:
    args = SequenceArgs(SESSION, sequenceid=1, slotid=0, highest_slotid=0, cachethis=False)
    assert encode(args) == words(
        "00010203 04050607 08090a0b 0c0d0e0f",  # sessionid4: opaque[16], no length
        "00000001",  # sa_sequenceid
        "00000000",  # sa_slotid
        "00000000",  # sa_highest_slotid
        "00000000",  # sa_cachethis FALSE
    )


def test_exchange_id_args() -> None:
    owner = ClientOwner(b"\x11" * 8, b"abc")
    assert encode(ExchangeIdArgs(owner, flags=0)) == words(
        "11111111 11111111",  # co_verifier: verifier4, opaque[8]
        "00000003 61626300",  # co_ownerid<>: "abc" padded
        "00000000",  # eia_flags
        "00000000",  # eia_state_protect: SP4_NONE
        "00000000",  # eia_client_impl_id<1>: empty
    )


def test_create_session_args() -> None:
    fore = ChannelAttrs(0, 1048576, 1048576, 16384, 16, 4)
    back = ChannelAttrs(0, 4096, 4096, 0, 2, 1)
    args = CreateSessionArgs(0x0102030405060708, 1, 0, fore, back, 0x40000000)
    assert encode(args) == words(
        "01020304 05060708",  # csa_clientid (uint64, big-endian)
        "00000001",  # csa_sequence
        "00000000",  # csa_flags
        "00000000 00100000 00100000 00004000 00000010 00000004 00000000",  # fore, no rdma_ird
        "00000000 00001000 00001000 00000000 00000002 00000001 00000000",  # back
        "40000000",  # csa_cb_program
        "00000001 00000000",  # csa_sec_parms<>: one, AUTH_NONE
    )


def test_open_claim_previous() -> None:
    """OPEN4args for a reclaim: no create, CLAIM_PREVIOUS with delegate_type NONE."""
    owner = StateOwner(0x0102030405060708, b"o")
    args = OpenArgs(3, 0, owner, Claim.PREVIOUS)
    assert encode(args) == words(
        "00000000",  # seqid (ignored in 4.1)
        "00000003",  # share_access BOTH
        "00000000",  # share_deny NONE
        "01020304 05060708",  # open_owner4.clientid
        "00000001 6f000000",  # open_owner4.owner "o"
        "00000000",  # openflag4: OPEN4_NOCREATE
        "00000001",  # open_claim4: CLAIM_PREVIOUS
        "00000000",  # delegate_type OPEN_DELEGATE_NONE
    )


def test_open_claim_null_create_with_mode() -> None:
    owner = StateOwner(1, b"")
    args = OpenArgs(3, 0, owner, Claim.NULL, name=b"f", create=True,
                    createattrs=Attributes(mode=0o644).to_fattr())  # fmt: skip
    assert encode(args) == words(
        "00000000 00000003 00000000",  # seqid, access, deny
        "00000000 00000001 00000000",  # owner: clientid 1, empty name
        "00000001",  # OPEN4_CREATE
        "00000000",  # createmode UNCHECKED4
        "00000002 00000000 00000002",  # fattr4 attrmask: two words, bit 33 = word 1 bit 1
        "00000004 000001a4",  # attr_vals: 4 bytes, mode 0644
        "00000000",  # CLAIM_NULL
        "00000001 66000000",  # file "f"
    )


def test_lock_reclaim_new_owner() -> None:
    locker = OpenToLockOwner(Stateid(1, OTHER), StateOwner(2, b"l"))
    args = LockArgs(LockType.WRITE, True, 0, 0xFFFFFFFFFFFFFFFF, locker)
    assert encode(args) == words(
        "00000002",  # locktype WRITE_LT
        "00000001",  # reclaim TRUE
        "00000000 00000000",  # offset
        "ffffffff ffffffff",  # length: to end of file
        "00000001",  # locker4: new_lock_owner TRUE
        "00000000",  # open_seqid
        "00000001 a0a1a2a3 a4a5a6a7 a8a9aaab",  # open_stateid
        "00000000",  # lock_seqid
        "00000000 00000002 00000001 6c000000",  # lock_owner: clientid 2, "l"
    )


def test_write_file_sync() -> None:
    args = WriteArgs(Stateid(0, bytes(12)), 5, 2, b"hello")
    assert encode(args) == words(
        "00000000 00000000 00000000 00000000",  # stateid seqid 0, other all zero
        "00000000 00000005",  # offset
        "00000002",  # FILE_SYNC4
        "00000005 68656c6c 6f000000",  # data<>
    )


def test_compound_args_header() -> None:
    """COMPOUND4args: tag, minorversion, argarray of (opnum, args)."""
    assert encode(CompoundArgs((PutRootFhArgs(),), tag=b"", minorversion=1)) == words(
        "00000000",  # tag ""
        "00000001",  # minorversion 1
        "00000001",  # one operation
        "00000018",  # OP_PUTROOTFH (24), no arguments
    )


def test_compound_reply_with_lock_denied() -> None:
    data = words(
        "0000271a",  # status NFS4ERR_DENIED (10010)
        "00000000",  # tag ""
        "00000002",  # two results
        "00000016 00000000",  # PUTFH, NFS4_OK
        "0000000c 0000271a",  # LOCK, NFS4ERR_DENIED, then LOCK4denied:
        "00000000 00000000 00000000 00000040",  # offset 0, length 64
        "00000002",  # WRITE_LT
        "00000000 00000007 00000002 6c310000",  # owner: clientid 7, "l1"
    )
    reply = decode(CompoundRes, data)
    assert reply.status == 10010
    assert reply.results[0] == OpResult(Op.PUTFH)
    assert reply.results[1].denied == LockDenied(0, 64, 2, StateOwner(7, b"l1"))
    assert encode(reply) == data


def test_compound_reply_grace() -> None:
    data = words("0000271d 00000000 00000001 00000012 0000271d")  # OPEN: NFS4ERR_GRACE
    reply = decode(CompoundRes, data)
    assert reply.results == (OpResult(Op.OPEN, 10013),)


def test_accepted_reply() -> None:
    data = words("00000007 00000001 00000000 00000000 00000000 00000000", "cafe0000")
    assert decode_reply(data) == (7, words("cafe0000"))


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (words("00000007 00000001 00000001 00000001 00000005"), "AUTH_ERROR"),
        (words("00000007 00000001 00000001 00000000 00000002 00000002"), "RPC_MISMATCH"),
        (words("00000007 00000001 00000000 00000000 00000000 00000002 00000004 00000004"),
         "PROG_MISMATCH"),
        (words("00000007 00000001 00000000 00000000 00000000 00000004"), "GARBAGE_ARGS"),
    ],
)  # fmt: skip
def test_refused_replies_are_rpc_errors(data: bytes, message: str) -> None:
    with pytest.raises(RpcError, match=message):
        decode_reply(data)


@pytest.mark.parametrize(
    ("kind", "data"),
    [
        (Stateid, words("00000001 a0a1a2a3")),  # other cut short
        (SequenceArgs, bytes(15)),  # not even the session id
        (LockDenied, words("00000000 00000000 00000000 00000040 00000002 00000000")),
        (Fattr, words("00000001 00000000 00000008 00000000")),  # values promised, absent
        (OpResult, words("00000063 00000000")),  # result of an operation never sent
    ],
)
def test_short_or_strange_bytes_are_xdr_errors(kind: type[Stateid], data: bytes) -> None:
    with pytest.raises(XdrError):
        decode(kind, data)


def test_boolean_must_be_zero_or_one() -> None:
    with pytest.raises(XdrError, match="boolean is 2"):
        Decoder(words("00000002")).boolean()


def test_opaque_limit_is_enforced_both_ways() -> None:
    with pytest.raises(XdrError, match="limit"):
        decode(StateOwner, words("00000000 00000000 00000401") + bytes(1028))
    with pytest.raises(XdrError, match="limit"):
        encode(StateOwner(0, bytes(1025)))


def test_out_of_range_values_are_xdr_errors() -> None:
    with pytest.raises(XdrError, match="uint32"):
        encode(Stateid(-1, OTHER))
    with pytest.raises(XdrError, match="fixed opaque"):
        encode(Stateid(0, b"short"))


def test_bitmaps() -> None:
    assert bitmap([1, 4, 33]) == (0x12, 0x2)
    assert bitmap_numbers([0x12, 0x2]) == [1, 4, 33]
    assert bitmap([]) == ()


def test_attributes_in_attribute_number_order() -> None:
    fattr = Attributes(type=1, size=5, lease_time=30, mode=0o600).to_fattr()
    assert fattr == Fattr(
        (1 << 1 | 1 << 4 | 1 << 10, 1 << 1),
        words("00000001", "00000000 00000005", "0000001e", "00000180"),
    )
    assert Attributes.from_fattr(fattr) == Attributes(type=1, size=5, lease_time=30, mode=0o600)
