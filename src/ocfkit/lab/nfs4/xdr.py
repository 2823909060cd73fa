"""XDR (RFC 4506) of the NFSv4.1 types and operations this client uses (RFC 5662).

The primitive encoding is ``xdrlib3``'s: the standard library's ``xdrlib``
was deprecated in Python 3.11 and removed in 3.13, and ``xdrlib3`` is a typed
fork of it under its own module name.  (``standard-xdrlib``, the other
maintained copy, installs itself as the top-level module ``xdrlib``: on 3.11
the standard library's deprecated module comes first on ``sys.path`` and
shadows it, it warns on import, and it ships no type information.)

Every type is a frozen dataclass that encodes itself and decodes from a
:class:`Decoder`, both ways, so that a round trip can be checked for any
value and a test can play the server's part.  Decoding never raises
anything but :class:`XdrError`: short data, a boolean that is neither 0 nor
1, an opaque longer than its protocol limit, an unknown union arm.
"""

from __future__ import annotations

import struct
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import ClassVar, Self, TypeVar

import xdrlib3

from ocfkit.lab.nfs4.const import (
    EXCLUSIVE4,
    EXCLUSIVE4_1,
    FATTR4_CHANGE,
    FATTR4_FILEID,
    FATTR4_LEASE_TIME,
    FATTR4_MODE,
    FATTR4_SIZE,
    FATTR4_TYPE,
    GUARDED4,
    NFS4_FHSIZE,
    NFS4_OK,
    NFS4_OPAQUE_LIMIT,
    NFS4_OTHER_SIZE,
    NFS4_SESSIONID_SIZE,
    NFS4_VERIFIER_SIZE,
    NFS_LIMIT_BLOCKS,
    NFS_LIMIT_SIZE,
    OPEN4_CREATE,
    OPEN4_NOCREATE,
    SP4_NONE,
    STATUS_CODES,
    UNCHECKED4,
    WND4_CONTENTION,
    WND4_RESOURCE,
    AuthFlavor,
    Claim,
    DelegationType,
    Op,
)
from ocfkit.lab.nfs4.errors import XdrError

T = TypeVar("T")

U32_MAX = 0xFFFFFFFF
U64_MAX = 0xFFFFFFFFFFFFFFFF
NFS4ERR_DENIED = STATUS_CODES["NFS4ERR_DENIED"]


class Encoder:
    """Appends XDR items; values out of their type's range are an :class:`XdrError`."""

    def __init__(self) -> None:
        self._packer = xdrlib3.Packer()

    def data(self) -> bytes:
        return self._packer.get_buffer()

    def u32(self, value: int) -> None:
        _check_range(value, 0, U32_MAX, "uint32")
        self._packer.pack_uint(value)

    def i64(self, value: int) -> None:
        _check_range(value, -(2**63), 2**63 - 1, "int64")
        self._packer.pack_hyper(value)

    def u64(self, value: int) -> None:
        _check_range(value, 0, U64_MAX, "uint64")
        self._packer.pack_uhyper(value)

    def boolean(self, value: bool) -> None:
        self._packer.pack_bool(value)

    def fixed(self, data: bytes, size: int) -> None:
        """opaque[size]: exactly ``size`` bytes, padded to four."""
        if len(data) != size:
            raise XdrError(f"fixed opaque of {size} bytes given {len(data)}")
        self._packer.pack_fopaque(size, data)

    def opaque(self, data: bytes, limit: int | None = None) -> None:
        """opaque<limit>: a length, the bytes, padding to four."""
        if limit is not None and len(data) > limit:
            raise XdrError(f"opaque of {len(data)} bytes exceeds its limit of {limit}")
        self._packer.pack_opaque(data)

    def array(
        self, items: Sequence[T], encode: Callable[[T], None], limit: int | None = None
    ) -> None:
        if limit is not None and len(items) > limit:
            raise XdrError(f"array of {len(items)} items exceeds its limit of {limit}")
        self.u32(len(items))
        for item in items:
            encode(item)


class Decoder:
    """Reads XDR items from bytes; anything malformed is an :class:`XdrError`."""

    def __init__(self, data: bytes) -> None:
        self._unpacker = xdrlib3.Unpacker(data)
        self._size = len(data)

    def _guard(self, read: Callable[[], T], what: str) -> T:
        try:
            return read()
        except (EOFError, xdrlib3.Error, ValueError, struct.error) as error:
            raise XdrError(f"{what} at byte {self._unpacker.get_position()}: {error}") from None

    def u32(self) -> int:
        return self._guard(self._unpacker.unpack_uint, "uint32")

    def i64(self) -> int:
        return self._guard(self._unpacker.unpack_hyper, "int64")

    def u64(self) -> int:
        return self._guard(self._unpacker.unpack_uhyper, "uint64")

    def boolean(self) -> bool:
        value = self.u32()
        if value not in (0, 1):
            raise XdrError(f"boolean is {value}, not 0 or 1")
        return value == 1

    def fixed(self, size: int) -> bytes:
        return self._guard(lambda: self._unpacker.unpack_fopaque(size), f"opaque[{size}]")

    def opaque(self, limit: int | None = None) -> bytes:
        position = self._unpacker.get_position()
        length = self.u32()
        if limit is not None and length > limit:
            raise XdrError(f"opaque of {length} bytes exceeds its limit of {limit}")
        if length > self.remaining():
            raise XdrError(
                f"opaque of {length} bytes at byte {position}: only {self.remaining()} left"
            )
        return self.fixed(length)

    def array(self, decode: Callable[[], T], limit: int | None = None) -> list[T]:
        count = self.u32()
        if limit is not None and count > limit:
            raise XdrError(f"array of {count} items exceeds its limit of {limit}")
        if count * 4 > self.remaining():  # every item takes at least four bytes
            raise XdrError(f"array of {count} items cannot fit in {self.remaining()} bytes")
        return [decode() for _ in range(count)]

    def remaining(self) -> int:
        return self._size - self._unpacker.get_position()

    def rest(self) -> bytes:
        return self.fixed(self.remaining()) if self.remaining() else b""

    def done(self) -> None:
        if self.remaining():
            raise XdrError(f"{self.remaining()} bytes left over after decoding")


def _check_range(value: int, low: int, high: int, what: str) -> None:
    if not isinstance(value, int) or not low <= value <= high:
        raise XdrError(f"{value!r} is not a {what}")


def encode(item: XdrType) -> bytes:
    """The XDR bytes of one value."""
    encoder = Encoder()
    item.encode(encoder)
    return encoder.data()


def decode(kind: type[X], data: bytes) -> X:
    """One value of ``kind`` from exactly ``data`` (left-over bytes are an error)."""
    decoder = Decoder(data)
    value = kind.decode(decoder)
    decoder.done()
    return value


class XdrType(ABC):
    """A value that encodes itself and decodes from a :class:`Decoder`."""

    @abstractmethod
    def encode(self, e: Encoder) -> None: ...

    @classmethod
    @abstractmethod
    def decode(cls, d: Decoder) -> Self: ...


X = TypeVar("X", bound=XdrType)


# ---------------------------------------------------------------- basic types


@dataclass(frozen=True)
class Stateid(XdrType):
    """stateid4: a sequence number and twelve opaque bytes the server chose."""

    seqid: int
    other: bytes

    def encode(self, e: Encoder) -> None:
        e.u32(self.seqid)
        e.fixed(self.other, NFS4_OTHER_SIZE)

    @classmethod
    def decode(cls, d: Decoder) -> Self:
        return cls(d.u32(), d.fixed(NFS4_OTHER_SIZE))

    def __str__(self) -> str:
        return f"{self.seqid}:{self.other.hex()}"


@dataclass(frozen=True)
class StateOwner(XdrType):
    """state_owner4 (open_owner4, lock_owner4): the client id and the owner's name."""

    clientid: int
    owner: bytes

    def encode(self, e: Encoder) -> None:
        e.u64(self.clientid)
        e.opaque(self.owner, NFS4_OPAQUE_LIMIT)

    @classmethod
    def decode(cls, d: Decoder) -> Self:
        return cls(d.u64(), d.opaque(NFS4_OPAQUE_LIMIT))


@dataclass(frozen=True)
class ClientOwner(XdrType):
    """client_owner4: the boot verifier and the name that makes a client "the same"."""

    verifier: bytes
    ownerid: bytes

    def encode(self, e: Encoder) -> None:
        e.fixed(self.verifier, NFS4_VERIFIER_SIZE)
        e.opaque(self.ownerid, NFS4_OPAQUE_LIMIT)

    @classmethod
    def decode(cls, d: Decoder) -> Self:
        return cls(d.fixed(NFS4_VERIFIER_SIZE), d.opaque(NFS4_OPAQUE_LIMIT))


@dataclass(frozen=True)
class NfsTime(XdrType):
    """nfstime4."""

    seconds: int
    nseconds: int

    def encode(self, e: Encoder) -> None:
        e.i64(self.seconds)
        e.u32(self.nseconds)

    @classmethod
    def decode(cls, d: Decoder) -> Self:
        return cls(d.i64(), d.u32())


@dataclass(frozen=True)
class ImplId(XdrType):
    """nfs_impl_id4: who wrote the client (or server), for the other side's logs."""

    domain: bytes
    name: bytes
    date: NfsTime

    def encode(self, e: Encoder) -> None:
        e.opaque(self.domain)
        e.opaque(self.name)
        self.date.encode(e)

    @classmethod
    def decode(cls, d: Decoder) -> Self:
        return cls(d.opaque(), d.opaque(), NfsTime.decode(d))


@dataclass(frozen=True)
class ChannelAttrs(XdrType):
    """channel_attrs4: the sizes a session's channel is negotiated with."""

    headerpadsize: int
    maxrequestsize: int
    maxresponsesize: int
    maxresponsesize_cached: int
    maxoperations: int
    maxrequests: int
    rdma_ird: tuple[int, ...] = ()

    def encode(self, e: Encoder) -> None:
        for value in (
            self.headerpadsize,
            self.maxrequestsize,
            self.maxresponsesize,
            self.maxresponsesize_cached,
            self.maxoperations,
            self.maxrequests,
        ):
            e.u32(value)
        e.array(self.rdma_ird, e.u32, limit=1)

    @classmethod
    def decode(cls, d: Decoder) -> Self:
        pad, request, response, cached, operations, requests = (d.u32() for _ in range(6))
        ird = tuple(d.array(d.u32, limit=1))
        return cls(pad, request, response, cached, operations, requests, ird)


@dataclass(frozen=True)
class ServerOwner(XdrType):
    """server_owner4: which servers share client state (major id) and sessions (minor)."""

    minor_id: int
    major_id: bytes

    def encode(self, e: Encoder) -> None:
        e.u64(self.minor_id)
        e.opaque(self.major_id, NFS4_OPAQUE_LIMIT)

    @classmethod
    def decode(cls, d: Decoder) -> Self:
        return cls(d.u64(), d.opaque(NFS4_OPAQUE_LIMIT))


@dataclass(frozen=True)
class ChangeInfo(XdrType):
    """change_info4: the directory's change attribute around an OPEN that created."""

    atomic: bool
    before: int
    after: int

    def encode(self, e: Encoder) -> None:
        e.boolean(self.atomic)
        e.u64(self.before)
        e.u64(self.after)

    @classmethod
    def decode(cls, d: Decoder) -> Self:
        return cls(d.boolean(), d.u64(), d.u64())


@dataclass(frozen=True)
class LockDenied(XdrType):
    """LOCK4denied: the lock that conflicts, and its owner."""

    offset: int
    length: int
    locktype: int
    owner: StateOwner

    def encode(self, e: Encoder) -> None:
        e.u64(self.offset)
        e.u64(self.length)
        e.u32(self.locktype)
        self.owner.encode(e)

    @classmethod
    def decode(cls, d: Decoder) -> Self:
        return cls(d.u64(), d.u64(), d.u32(), StateOwner.decode(d))

    def __str__(self) -> str:
        return (
            f"type {self.locktype} at {self.offset}+{self.length} "
            f"by {self.owner.owner!r} of client {self.owner.clientid:#x}"
        )


@dataclass(frozen=True)
class Ace(XdrType):
    """nfsace4, as a delegation's permissions carry it."""

    type: int
    flag: int
    access_mask: int
    who: bytes

    def encode(self, e: Encoder) -> None:
        e.u32(self.type)
        e.u32(self.flag)
        e.u32(self.access_mask)
        e.opaque(self.who)

    @classmethod
    def decode(cls, d: Decoder) -> Self:
        return cls(d.u32(), d.u32(), d.u32(), d.opaque())


@dataclass(frozen=True)
class SpaceLimit(XdrType):
    """nfs_space_limit4: a size, or a number of blocks of a size."""

    limit_by: int
    filesize: int = 0
    num_blocks: int = 0
    bytes_per_block: int = 0

    def encode(self, e: Encoder) -> None:
        e.u32(self.limit_by)
        if self.limit_by == NFS_LIMIT_SIZE:
            e.u64(self.filesize)
        elif self.limit_by == NFS_LIMIT_BLOCKS:
            e.u32(self.num_blocks)
            e.u32(self.bytes_per_block)
        else:
            raise XdrError(f"unknown limit_by4 {self.limit_by}")

    @classmethod
    def decode(cls, d: Decoder) -> Self:
        limit_by = d.u32()
        if limit_by == NFS_LIMIT_SIZE:
            return cls(limit_by, filesize=d.u64())
        if limit_by == NFS_LIMIT_BLOCKS:
            return cls(limit_by, num_blocks=d.u32(), bytes_per_block=d.u32())
        raise XdrError(f"unknown limit_by4 {limit_by}")


@dataclass(frozen=True)
class Delegation(XdrType):
    """open_delegation4: what OPEN granted besides the open (this client asks for none)."""

    type: int = DelegationType.NONE
    stateid: Stateid | None = None
    recall: bool = False
    space_limit: SpaceLimit | None = None
    permissions: Ace | None = None
    why_none: int | None = None
    server_will: bool = False

    def encode(self, e: Encoder) -> None:
        e.u32(self.type)
        if self.type == DelegationType.NONE:
            return
        if self.type in (DelegationType.READ, DelegationType.WRITE):
            if self.stateid is None or self.permissions is None:
                raise XdrError("a read or write delegation needs a stateid and permissions")
            self.stateid.encode(e)
            e.boolean(self.recall)
            if self.type == DelegationType.WRITE:
                if self.space_limit is None:
                    raise XdrError("a write delegation needs a space limit")
                self.space_limit.encode(e)
            self.permissions.encode(e)
            return
        if self.type == DelegationType.NONE_EXT:
            why = self.why_none if self.why_none is not None else 0
            e.u32(why)
            if why in (WND4_CONTENTION, WND4_RESOURCE):
                e.boolean(self.server_will)
            return
        raise XdrError(f"unknown open_delegation_type4 {self.type}")

    @classmethod
    def decode(cls, d: Decoder) -> Self:
        kind = d.u32()
        if kind == DelegationType.NONE:
            return cls(kind)
        if kind in (DelegationType.READ, DelegationType.WRITE):
            stateid = Stateid.decode(d)
            recall = d.boolean()
            limit = SpaceLimit.decode(d) if kind == DelegationType.WRITE else None
            return cls(kind, stateid, recall, limit, Ace.decode(d))
        if kind == DelegationType.NONE_EXT:
            why = d.u32()
            will = d.boolean() if why in (WND4_CONTENTION, WND4_RESOURCE) else False
            return cls(kind, why_none=why, server_will=will)
        raise XdrError(f"unknown open_delegation_type4 {kind}")


@dataclass(frozen=True)
class Fattr(XdrType):
    """fattr4: a bitmap of attribute numbers and their values, packed in number order."""

    mask: tuple[int, ...] = ()
    values: bytes = b""

    def encode(self, e: Encoder) -> None:
        e.array(self.mask, e.u32)
        e.opaque(self.values)

    @classmethod
    def decode(cls, d: Decoder) -> Self:
        return cls(tuple(d.array(d.u32)), d.opaque())


def bitmap(numbers: Sequence[int]) -> tuple[int, ...]:
    """bitmap4 words with the bits of ``numbers`` set (no trailing zero words)."""
    if not numbers:
        return ()
    words = [0] * (max(numbers) // 32 + 1)
    for number in numbers:
        words[number // 32] |= 1 << (number % 32)
    return tuple(words)


def bitmap_numbers(words: Sequence[int]) -> list[int]:
    return [i * 32 + bit for i, word in enumerate(words) for bit in range(32) if word >> bit & 1]


#: The attributes :class:`Attributes` knows, in the order the protocol packs them.
_ATTRIBUTES: dict[int, tuple[str, int]] = {
    FATTR4_TYPE: ("type", 32),
    FATTR4_CHANGE: ("change", 64),
    FATTR4_SIZE: ("size", 64),
    FATTR4_LEASE_TIME: ("lease_time", 32),
    FATTR4_FILEID: ("fileid", 64),
    FATTR4_MODE: ("mode", 32),
}


@dataclass(frozen=True)
class Attributes:
    """The few attributes this client reads or sets; None means not in the fattr4."""

    type: int | None = None
    change: int | None = None
    size: int | None = None
    lease_time: int | None = None
    fileid: int | None = None
    mode: int | None = None

    def to_fattr(self) -> Fattr:
        e = Encoder()
        present = []
        for number, (name, bits) in sorted(_ATTRIBUTES.items()):
            value = getattr(self, name)
            if value is None:
                continue
            present.append(number)
            (e.u32 if bits == 32 else e.u64)(value)
        return Fattr(bitmap(present), e.data())

    @classmethod
    def from_fattr(cls, fattr: Fattr) -> Attributes:
        d = Decoder(fattr.values)
        values: dict[str, int] = {}
        for number in bitmap_numbers(fattr.mask):
            if number not in _ATTRIBUTES:
                raise XdrError(f"attribute {number} in a reply this client did not ask for")
            name, bits = _ATTRIBUTES[number]
            values[name] = d.u32() if bits == 32 else d.u64()
        d.done()
        return cls(**values)

    @staticmethod
    def request(*numbers: int) -> tuple[int, ...]:
        """The bitmap that asks for ``numbers`` (all known attributes without any)."""
        return bitmap(numbers or tuple(_ATTRIBUTES))


# ------------------------------------------------------------ operation arguments


class OpArgs(XdrType):
    """nfs_argop4's arm for one operation."""

    op: ClassVar[Op]


@dataclass(frozen=True)
class SequenceArgs(OpArgs):
    op: ClassVar[Op] = Op.SEQUENCE
    sessionid: bytes
    sequenceid: int
    slotid: int
    highest_slotid: int
    cachethis: bool = False

    def encode(self, e: Encoder) -> None:
        e.fixed(self.sessionid, NFS4_SESSIONID_SIZE)
        e.u32(self.sequenceid)
        e.u32(self.slotid)
        e.u32(self.highest_slotid)
        e.boolean(self.cachethis)

    @classmethod
    def decode(cls, d: Decoder) -> Self:
        return cls(d.fixed(NFS4_SESSIONID_SIZE), d.u32(), d.u32(), d.u32(), d.boolean())


@dataclass(frozen=True)
class ExchangeIdArgs(OpArgs):
    """EXCHANGE_ID4args with no state protection (SP4_NONE), as a Linux client sends."""

    op: ClassVar[Op] = Op.EXCHANGE_ID
    owner: ClientOwner
    flags: int = 0
    impl_id: ImplId | None = None

    def encode(self, e: Encoder) -> None:
        self.owner.encode(e)
        e.u32(self.flags)
        e.u32(SP4_NONE)
        e.array([self.impl_id] if self.impl_id else [], lambda i: i.encode(e), limit=1)

    @classmethod
    def decode(cls, d: Decoder) -> Self:
        owner = ClientOwner.decode(d)
        flags = d.u32()
        how = d.u32()
        if how != SP4_NONE:
            raise XdrError(f"state protection {how} is not supported")
        impl = d.array(lambda: ImplId.decode(d), limit=1)
        return cls(owner, flags, impl[0] if impl else None)


@dataclass(frozen=True)
class CreateSessionArgs(OpArgs):
    """CREATE_SESSION4args; callback security is AUTH_NONE (this client has no back channel)."""

    op: ClassVar[Op] = Op.CREATE_SESSION
    clientid: int
    sequence: int
    flags: int
    fore: ChannelAttrs
    back: ChannelAttrs
    cb_program: int
    cb_flavors: tuple[int, ...] = (AuthFlavor.AUTH_NONE,)

    def encode(self, e: Encoder) -> None:
        e.u64(self.clientid)
        e.u32(self.sequence)
        e.u32(self.flags)
        self.fore.encode(e)
        self.back.encode(e)
        e.u32(self.cb_program)

        def flavor(value: int) -> None:
            if value != AuthFlavor.AUTH_NONE:
                raise XdrError(f"callback flavor {value} is not supported")
            e.u32(value)

        e.array(self.cb_flavors, flavor)

    @classmethod
    def decode(cls, d: Decoder) -> Self:
        clientid, sequence, flags = d.u64(), d.u32(), d.u32()
        fore, back = ChannelAttrs.decode(d), ChannelAttrs.decode(d)
        program = d.u32()

        def flavor() -> int:
            value = d.u32()
            if value != AuthFlavor.AUTH_NONE:
                raise XdrError(f"callback flavor {value} is not supported")
            return value

        return cls(clientid, sequence, flags, fore, back, program, tuple(d.array(flavor)))


@dataclass(frozen=True)
class DestroySessionArgs(OpArgs):
    op: ClassVar[Op] = Op.DESTROY_SESSION
    sessionid: bytes

    def encode(self, e: Encoder) -> None:
        e.fixed(self.sessionid, NFS4_SESSIONID_SIZE)

    @classmethod
    def decode(cls, d: Decoder) -> Self:
        return cls(d.fixed(NFS4_SESSIONID_SIZE))


@dataclass(frozen=True)
class DestroyClientidArgs(OpArgs):
    op: ClassVar[Op] = Op.DESTROY_CLIENTID
    clientid: int

    def encode(self, e: Encoder) -> None:
        e.u64(self.clientid)

    @classmethod
    def decode(cls, d: Decoder) -> Self:
        return cls(d.u64())


@dataclass(frozen=True)
class ReclaimCompleteArgs(OpArgs):
    op: ClassVar[Op] = Op.RECLAIM_COMPLETE
    one_fs: bool = False

    def encode(self, e: Encoder) -> None:
        e.boolean(self.one_fs)

    @classmethod
    def decode(cls, d: Decoder) -> Self:
        return cls(d.boolean())


@dataclass(frozen=True)
class PutRootFhArgs(OpArgs):
    op: ClassVar[Op] = Op.PUTROOTFH

    def encode(self, e: Encoder) -> None:
        pass

    @classmethod
    def decode(cls, d: Decoder) -> Self:
        return cls()


@dataclass(frozen=True)
class GetFhArgs(OpArgs):
    op: ClassVar[Op] = Op.GETFH

    def encode(self, e: Encoder) -> None:
        pass

    @classmethod
    def decode(cls, d: Decoder) -> Self:
        return cls()


@dataclass(frozen=True)
class PutFhArgs(OpArgs):
    op: ClassVar[Op] = Op.PUTFH
    fh: bytes

    def encode(self, e: Encoder) -> None:
        e.opaque(self.fh, NFS4_FHSIZE)

    @classmethod
    def decode(cls, d: Decoder) -> Self:
        return cls(d.opaque(NFS4_FHSIZE))


@dataclass(frozen=True)
class LookupArgs(OpArgs):
    op: ClassVar[Op] = Op.LOOKUP
    name: bytes

    def encode(self, e: Encoder) -> None:
        e.opaque(self.name)

    @classmethod
    def decode(cls, d: Decoder) -> Self:
        return cls(d.opaque())


@dataclass(frozen=True)
class OpenArgs(OpArgs):
    """OPEN4args for CLAIM_NULL (by name in the current directory, optionally creating)
    and CLAIM_PREVIOUS (the current file handle, reclaimed after a server restart)."""

    op: ClassVar[Op] = Op.OPEN
    share_access: int
    share_deny: int
    owner: StateOwner
    claim: int
    name: bytes = b""
    create: bool = False
    createmode: int = UNCHECKED4
    createattrs: Fattr = field(default_factory=Fattr)
    verifier: bytes = bytes(NFS4_VERIFIER_SIZE)
    delegate_type: int = DelegationType.NONE
    seqid: int = 0  # ignored by a 4.1 server

    def encode(self, e: Encoder) -> None:
        e.u32(self.seqid)
        e.u32(self.share_access)
        e.u32(self.share_deny)
        self.owner.encode(e)
        e.u32(OPEN4_CREATE if self.create else OPEN4_NOCREATE)
        if self.create:
            e.u32(self.createmode)
            if self.createmode in (UNCHECKED4, GUARDED4):
                self.createattrs.encode(e)
            elif self.createmode == EXCLUSIVE4:
                e.fixed(self.verifier, NFS4_VERIFIER_SIZE)
            elif self.createmode == EXCLUSIVE4_1:
                e.fixed(self.verifier, NFS4_VERIFIER_SIZE)
                self.createattrs.encode(e)
            else:
                raise XdrError(f"unknown createmode4 {self.createmode}")
        e.u32(self.claim)
        if self.claim == Claim.NULL:
            e.opaque(self.name)
        elif self.claim == Claim.PREVIOUS:
            e.u32(self.delegate_type)
        else:
            raise XdrError(f"open claim {self.claim} is not supported")

    @classmethod
    def decode(cls, d: Decoder) -> Self:
        seqid, access, deny = d.u32(), d.u32(), d.u32()
        owner = StateOwner.decode(d)
        opentype = d.u32()
        if opentype not in (OPEN4_NOCREATE, OPEN4_CREATE):
            raise XdrError(f"unknown opentype4 {opentype}")
        create = opentype == OPEN4_CREATE
        createmode, attrs, verifier = UNCHECKED4, Fattr(), bytes(NFS4_VERIFIER_SIZE)
        if create:
            createmode = d.u32()
            if createmode in (UNCHECKED4, GUARDED4):
                attrs = Fattr.decode(d)
            elif createmode == EXCLUSIVE4:
                verifier = d.fixed(NFS4_VERIFIER_SIZE)
            elif createmode == EXCLUSIVE4_1:
                verifier = d.fixed(NFS4_VERIFIER_SIZE)
                attrs = Fattr.decode(d)
            else:
                raise XdrError(f"unknown createmode4 {createmode}")
        claim = d.u32()
        name, delegate_type = b"", int(DelegationType.NONE)
        if claim == Claim.NULL:
            name = d.opaque()
        elif claim == Claim.PREVIOUS:
            delegate_type = d.u32()
        else:
            raise XdrError(f"open claim {claim} is not supported")
        return cls(
            access, deny, owner, claim, name, create, createmode, attrs, verifier,
            delegate_type, seqid,
        )  # fmt: skip


@dataclass(frozen=True)
class OpenToLockOwner(XdrType):
    """open_to_lock_owner4: a lock owner's first lock, tied to an open stateid."""

    open_stateid: Stateid
    lock_owner: StateOwner
    open_seqid: int = 0
    lock_seqid: int = 0

    def encode(self, e: Encoder) -> None:
        e.u32(self.open_seqid)
        self.open_stateid.encode(e)
        e.u32(self.lock_seqid)
        self.lock_owner.encode(e)

    @classmethod
    def decode(cls, d: Decoder) -> Self:
        open_seqid = d.u32()
        stateid = Stateid.decode(d)
        lock_seqid = d.u32()
        return cls(stateid, StateOwner.decode(d), open_seqid, lock_seqid)


@dataclass(frozen=True)
class ExistLockOwner(XdrType):
    """exist_lock_owner4: a further lock of an owner that already has a lock stateid."""

    lock_stateid: Stateid
    lock_seqid: int = 0

    def encode(self, e: Encoder) -> None:
        self.lock_stateid.encode(e)
        e.u32(self.lock_seqid)

    @classmethod
    def decode(cls, d: Decoder) -> Self:
        return cls(Stateid.decode(d), d.u32())


@dataclass(frozen=True)
class LockArgs(OpArgs):
    op: ClassVar[Op] = Op.LOCK
    locktype: int
    reclaim: bool
    offset: int
    length: int
    locker: OpenToLockOwner | ExistLockOwner

    def encode(self, e: Encoder) -> None:
        e.u32(self.locktype)
        e.boolean(self.reclaim)
        e.u64(self.offset)
        e.u64(self.length)
        e.boolean(isinstance(self.locker, OpenToLockOwner))
        self.locker.encode(e)

    @classmethod
    def decode(cls, d: Decoder) -> Self:
        locktype, reclaim, offset, length = d.u32(), d.boolean(), d.u64(), d.u64()
        new_owner = d.boolean()
        locker = OpenToLockOwner.decode(d) if new_owner else ExistLockOwner.decode(d)
        return cls(locktype, reclaim, offset, length, locker)


@dataclass(frozen=True)
class LocktArgs(OpArgs):
    op: ClassVar[Op] = Op.LOCKT
    locktype: int
    offset: int
    length: int
    owner: StateOwner

    def encode(self, e: Encoder) -> None:
        e.u32(self.locktype)
        e.u64(self.offset)
        e.u64(self.length)
        self.owner.encode(e)

    @classmethod
    def decode(cls, d: Decoder) -> Self:
        return cls(d.u32(), d.u64(), d.u64(), StateOwner.decode(d))


@dataclass(frozen=True)
class LockuArgs(OpArgs):
    op: ClassVar[Op] = Op.LOCKU
    locktype: int
    stateid: Stateid
    offset: int
    length: int
    seqid: int = 0

    def encode(self, e: Encoder) -> None:
        e.u32(self.locktype)
        e.u32(self.seqid)
        self.stateid.encode(e)
        e.u64(self.offset)
        e.u64(self.length)

    @classmethod
    def decode(cls, d: Decoder) -> Self:
        locktype, seqid = d.u32(), d.u32()
        stateid = Stateid.decode(d)
        return cls(locktype, stateid, d.u64(), d.u64(), seqid)


@dataclass(frozen=True)
class ReadArgs(OpArgs):
    op: ClassVar[Op] = Op.READ
    stateid: Stateid
    offset: int
    count: int

    def encode(self, e: Encoder) -> None:
        self.stateid.encode(e)
        e.u64(self.offset)
        e.u32(self.count)

    @classmethod
    def decode(cls, d: Decoder) -> Self:
        return cls(Stateid.decode(d), d.u64(), d.u32())


@dataclass(frozen=True)
class WriteArgs(OpArgs):
    op: ClassVar[Op] = Op.WRITE
    stateid: Stateid
    offset: int
    stable: int
    data: bytes

    def encode(self, e: Encoder) -> None:
        self.stateid.encode(e)
        e.u64(self.offset)
        e.u32(self.stable)
        e.opaque(self.data)

    @classmethod
    def decode(cls, d: Decoder) -> Self:
        return cls(Stateid.decode(d), d.u64(), d.u32(), d.opaque())


@dataclass(frozen=True)
class CloseArgs(OpArgs):
    op: ClassVar[Op] = Op.CLOSE
    stateid: Stateid
    seqid: int = 0

    def encode(self, e: Encoder) -> None:
        e.u32(self.seqid)
        self.stateid.encode(e)

    @classmethod
    def decode(cls, d: Decoder) -> Self:
        seqid = d.u32()
        return cls(Stateid.decode(d), seqid)


@dataclass(frozen=True)
class GetattrArgs(OpArgs):
    op: ClassVar[Op] = Op.GETATTR
    mask: tuple[int, ...]

    def encode(self, e: Encoder) -> None:
        e.array(self.mask, e.u32)

    @classmethod
    def decode(cls, d: Decoder) -> Self:
        return cls(tuple(d.array(d.u32)))


# -------------------------------------------------------------- operation results


@dataclass(frozen=True)
class SequenceRes(XdrType):
    sessionid: bytes
    sequenceid: int
    slotid: int
    highest_slotid: int
    target_highest_slotid: int
    status_flags: int

    def encode(self, e: Encoder) -> None:
        e.fixed(self.sessionid, NFS4_SESSIONID_SIZE)
        for value in (
            self.sequenceid,
            self.slotid,
            self.highest_slotid,
            self.target_highest_slotid,
            self.status_flags,
        ):
            e.u32(value)

    @classmethod
    def decode(cls, d: Decoder) -> Self:
        return cls(d.fixed(NFS4_SESSIONID_SIZE), d.u32(), d.u32(), d.u32(), d.u32(), d.u32())


@dataclass(frozen=True)
class ExchangeIdRes(XdrType):
    """EXCHANGE_ID4resok; only SP4_NONE state protection (the only one this client asks for)."""

    clientid: int
    sequenceid: int
    flags: int
    server_owner: ServerOwner
    server_scope: bytes
    impl_id: ImplId | None = None

    def encode(self, e: Encoder) -> None:
        e.u64(self.clientid)
        e.u32(self.sequenceid)
        e.u32(self.flags)
        e.u32(SP4_NONE)
        self.server_owner.encode(e)
        e.opaque(self.server_scope, NFS4_OPAQUE_LIMIT)
        e.array([self.impl_id] if self.impl_id else [], lambda i: i.encode(e), limit=1)

    @classmethod
    def decode(cls, d: Decoder) -> Self:
        clientid, sequenceid, flags = d.u64(), d.u32(), d.u32()
        how = d.u32()
        if how != SP4_NONE:
            raise XdrError(f"state protection {how} in the reply (SP4_NONE was asked for)")
        owner = ServerOwner.decode(d)
        scope = d.opaque(NFS4_OPAQUE_LIMIT)
        impl = d.array(lambda: ImplId.decode(d), limit=1)
        return cls(clientid, sequenceid, flags, owner, scope, impl[0] if impl else None)


@dataclass(frozen=True)
class CreateSessionRes(XdrType):
    sessionid: bytes
    sequence: int
    flags: int
    fore: ChannelAttrs
    back: ChannelAttrs

    def encode(self, e: Encoder) -> None:
        e.fixed(self.sessionid, NFS4_SESSIONID_SIZE)
        e.u32(self.sequence)
        e.u32(self.flags)
        self.fore.encode(e)
        self.back.encode(e)

    @classmethod
    def decode(cls, d: Decoder) -> Self:
        sessionid, sequence, flags = d.fixed(NFS4_SESSIONID_SIZE), d.u32(), d.u32()
        return cls(sessionid, sequence, flags, ChannelAttrs.decode(d), ChannelAttrs.decode(d))


@dataclass(frozen=True)
class GetFhRes(XdrType):
    fh: bytes

    def encode(self, e: Encoder) -> None:
        e.opaque(self.fh, NFS4_FHSIZE)

    @classmethod
    def decode(cls, d: Decoder) -> Self:
        return cls(d.opaque(NFS4_FHSIZE))


@dataclass(frozen=True)
class OpenRes(XdrType):
    stateid: Stateid
    cinfo: ChangeInfo
    rflags: int
    attrset: tuple[int, ...]
    delegation: Delegation

    def encode(self, e: Encoder) -> None:
        self.stateid.encode(e)
        self.cinfo.encode(e)
        e.u32(self.rflags)
        e.array(self.attrset, e.u32)
        self.delegation.encode(e)

    @classmethod
    def decode(cls, d: Decoder) -> Self:
        stateid, cinfo, rflags = Stateid.decode(d), ChangeInfo.decode(d), d.u32()
        return cls(stateid, cinfo, rflags, tuple(d.array(d.u32)), Delegation.decode(d))


@dataclass(frozen=True)
class StateidRes(XdrType):
    """The stateid LOCK, LOCKU and CLOSE answer with."""

    stateid: Stateid

    def encode(self, e: Encoder) -> None:
        self.stateid.encode(e)

    @classmethod
    def decode(cls, d: Decoder) -> Self:
        return cls(Stateid.decode(d))


@dataclass(frozen=True)
class ReadRes(XdrType):
    eof: bool
    data: bytes

    def encode(self, e: Encoder) -> None:
        e.boolean(self.eof)
        e.opaque(self.data)

    @classmethod
    def decode(cls, d: Decoder) -> Self:
        return cls(d.boolean(), d.opaque())


@dataclass(frozen=True)
class WriteRes(XdrType):
    count: int
    committed: int
    verifier: bytes

    def encode(self, e: Encoder) -> None:
        e.u32(self.count)
        e.u32(self.committed)
        e.fixed(self.verifier, NFS4_VERIFIER_SIZE)

    @classmethod
    def decode(cls, d: Decoder) -> Self:
        return cls(d.u32(), d.u32(), d.fixed(NFS4_VERIFIER_SIZE))


@dataclass(frozen=True)
class GetattrRes(XdrType):
    attributes: Fattr

    def encode(self, e: Encoder) -> None:
        self.attributes.encode(e)

    @classmethod
    def decode(cls, d: Decoder) -> Self:
        return cls(Fattr.decode(d))


ARGS: dict[int, type[OpArgs]] = {
    kind.op: kind
    for kind in (
        SequenceArgs, ExchangeIdArgs, CreateSessionArgs, DestroySessionArgs,
        DestroyClientidArgs, ReclaimCompleteArgs, PutRootFhArgs, PutFhArgs, LookupArgs,
        GetFhArgs, OpenArgs, LockArgs, LocktArgs, LockuArgs, ReadArgs, WriteArgs, CloseArgs,
        GetattrArgs,
    )
}  # fmt: skip

#: The resok arm of each operation's result (None: the result is the status alone).
RESULTS: dict[int, type[XdrType] | None] = {
    Op.SEQUENCE: SequenceRes,
    Op.EXCHANGE_ID: ExchangeIdRes,
    Op.CREATE_SESSION: CreateSessionRes,
    Op.DESTROY_SESSION: None,
    Op.DESTROY_CLIENTID: None,
    Op.RECLAIM_COMPLETE: None,
    Op.PUTROOTFH: None,
    Op.PUTFH: None,
    Op.LOOKUP: None,
    Op.GETFH: GetFhRes,
    Op.OPEN: OpenRes,
    Op.LOCK: StateidRes,
    Op.LOCKT: None,
    Op.LOCKU: StateidRes,
    Op.READ: ReadRes,
    Op.WRITE: WriteRes,
    Op.CLOSE: StateidRes,
    Op.GETATTR: GetattrRes,
    Op.ILLEGAL: None,
}


# ------------------------------------------------------------------- COMPOUND


@dataclass(frozen=True)
class CompoundArgs(XdrType):
    ops: tuple[OpArgs, ...]
    tag: bytes = b""
    minorversion: int = 1

    def encode(self, e: Encoder) -> None:
        e.opaque(self.tag)
        e.u32(self.minorversion)
        e.u32(len(self.ops))
        for op in self.ops:
            e.u32(op.op)
            op.encode(e)

    @classmethod
    def decode(cls, d: Decoder) -> Self:
        tag, minorversion = d.opaque(), d.u32()

        def one() -> OpArgs:
            number = d.u32()
            kind = ARGS.get(number)
            if kind is None:
                raise XdrError(f"operation {number} is not one this client knows")
            return kind.decode(d)

        return cls(tuple(d.array(one)), tag, minorversion)


@dataclass(frozen=True)
class OpResult(XdrType):
    """One nfs_resop4: the operation, its status, and its resok (or LOCK4denied)."""

    op: int
    status: int = NFS4_OK
    value: XdrType | None = None
    denied: LockDenied | None = None

    def encode(self, e: Encoder) -> None:
        e.u32(self.op)
        e.u32(self.status)
        if self.status == NFS4_OK:
            if RESULTS.get(self.op) is not None:
                if self.value is None:
                    raise XdrError(f"{_op_name(self.op)} needs its result")
                self.value.encode(e)
        elif self.status == NFS4ERR_DENIED and self.op in (Op.LOCK, Op.LOCKT):
            if self.denied is None:
                raise XdrError(f"{_op_name(self.op)} NFS4ERR_DENIED needs the conflicting lock")
            self.denied.encode(e)

    @classmethod
    def decode(cls, d: Decoder) -> Self:
        number = d.u32()
        if number not in RESULTS:
            raise XdrError(f"result of operation {number}, which this client does not send")
        status = d.u32()
        if status == NFS4_OK:
            kind = RESULTS[number]
            return cls(number, status, kind.decode(d) if kind is not None else None)
        if status == NFS4ERR_DENIED and number in (Op.LOCK, Op.LOCKT):
            return cls(number, status, denied=LockDenied.decode(d))
        return cls(number, status)


@dataclass(frozen=True)
class CompoundRes(XdrType):
    status: int
    results: tuple[OpResult, ...]
    tag: bytes = b""

    def encode(self, e: Encoder) -> None:
        e.u32(self.status)
        e.opaque(self.tag)
        e.array(self.results, lambda r: r.encode(e))

    @classmethod
    def decode(cls, d: Decoder) -> Self:
        status, tag = d.u32(), d.opaque()
        return cls(status, tuple(d.array(lambda: OpResult.decode(d))), tag)


def _op_name(number: int) -> str:
    try:
        return Op(number).name
    except ValueError:
        return f"op {number}"


def op_name(number: int) -> str:
    """The operation's name as the RFC spells it (``OPEN``), or ``op N``."""
    return _op_name(number)
