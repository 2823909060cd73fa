"""An NFSv4.1 client session: EXCHANGE_ID, CREATE_SESSION, and compounds under SEQUENCE.

What a Linux client does, reduced to what reclaim needs: one client owner
(``co_ownerid``, kept across reconnects so that the server recognises the
same client after a restart), one session without a back channel (so the
server grants no delegation it could not recall), a small slot table, and
the operations on files, opens and byte-range locks.  Every compound after
CREATE_SESSION starts with SEQUENCE, which also keeps the lease: there is no
RENEW in 4.1.

A non-OK status raises :class:`Nfs4Error` with the status's name and the
operation that failed; the rest of a compound after a failure is not run
(RFC 8881 section 16.2.3), so the results stop there too.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TypeVar

from ocfkit.lab.nfs4.const import (
    CB_PROGRAM,
    FATTR4_LEASE_TIME,
    MINOR_VERSION,
    NFS4_OK,
    NFS_PROGRAM,
    NFS_V4,
    OPEN4_SHARE_ACCESS_BOTH,
    OPEN4_SHARE_DENY_NONE,
    PROC_COMPOUND,
    PROC_NULL,
    STATUS_CODES,
    UNCHECKED4,
    Claim,
    LockType,
    StableHow,
)
from ocfkit.lab.nfs4.errors import Nfs4Error, NfsClientError, TransportError
from ocfkit.lab.nfs4.rpc import RpcClient
from ocfkit.lab.nfs4.xdr import (
    Attributes,
    ChannelAttrs,
    ClientOwner,
    CloseArgs,
    CompoundArgs,
    CompoundRes,
    CreateSessionArgs,
    CreateSessionRes,
    Decoder,
    DestroyClientidArgs,
    DestroySessionArgs,
    ExchangeIdArgs,
    ExchangeIdRes,
    ExistLockOwner,
    GetattrArgs,
    GetattrRes,
    GetFhArgs,
    GetFhRes,
    ImplId,
    LockArgs,
    LocktArgs,
    LockuArgs,
    LookupArgs,
    NfsTime,
    OpArgs,
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
    Stateid,
    StateidRes,
    StateOwner,
    WriteArgs,
    WriteRes,
    XdrType,
    encode,
    op_name,
)

#: SEQUENCE answers after which the slot's sequence id did not advance.
_RETRY_ANSWERS = {
    STATUS_CODES["NFS4ERR_RETRY_UNCACHED_REP"],
    STATUS_CODES["NFS4ERR_SEQ_FALSE_RETRY"],
}
V = TypeVar("V", bound=XdrType)
IMPL_ID = ImplId(b"ocfkit.invalid", b"ocfkit NFSv4.1 lab client", NfsTime(0, 0))


class SlotTable:
    """The client's half of a session's slots: each slot's next sequence id.

    A compound takes a free slot and gives it back with what happened: the
    server processed SEQUENCE (the id advances), refused it (it stays), or
    nobody knows (the connection broke): then the next use repeats the id,
    and an answer that it was a retry advances it and sends again.
    """

    def __init__(self, count: int) -> None:
        self.next_seqid = [1] * count
        self.in_doubt = [False] * count
        self._free = list(range(count))
        self._cond = threading.Condition()

    def __len__(self) -> int:
        return len(self.next_seqid)

    def take(self, timeout: float) -> int:
        with self._cond:
            if not self._cond.wait_for(lambda: bool(self._free), timeout):
                raise TransportError(f"no free session slot within {timeout:g}s")
            return self._free.pop(0)

    def give_back(self, slot: int, *, advanced: bool | None) -> None:
        """``advanced``: True processed, False refused, None unknown."""
        with self._cond:
            if advanced is None:
                self.in_doubt[slot] = True
            else:
                self.in_doubt[slot] = False
                if advanced:
                    self.next_seqid[slot] = (self.next_seqid[slot] + 1) & 0xFFFFFFFF
            self._free.append(slot)
            self._free.sort()
            self._cond.notify()

    def highest_in_use(self) -> int:
        with self._cond:
            busy = [s for s in range(len(self.next_seqid)) if s not in self._free]
        return max(busy, default=0)


@dataclass
class Session:
    sessionid: bytes
    clientid: int
    fore: ChannelAttrs
    slots: SlotTable


@dataclass(frozen=True)
class Opened:
    """What OPEN gave: the file's handle and the open stateid."""

    fh: bytes
    stateid: Stateid
    result: OpenRes


def split_path(path: str) -> list[bytes]:
    """``/export/dir/f`` as its components; empty ones (``//``) are dropped."""
    return [part.encode() for part in path.split("/") if part]


@dataclass
class Nfs4Client:
    """One NFSv4.1 client (an EXCHANGE_ID identity) over one :class:`RpcClient`."""

    rpc: RpcClient
    ownerid: bytes
    #: The client's boot verifier: the same value tells the server "not rebooted".
    verifier: bytes = field(default_factory=lambda: os.urandom(8))
    slot_count: int = 4
    clock: Callable[[], float] = time.monotonic
    clientid: int | None = None
    session: Session | None = None
    exchange: ExchangeIdRes | None = None
    lease_time: int | None = None
    #: Monotonic time of the last compound the server answered NFS4_OK.
    last_success: float | None = None
    #: SEQUENCE's sr_status_flags from the last reply.
    status_flags: int = 0

    # ------------------------------------------------------------ plumbing

    def null(self, timeout: float | None = None) -> None:
        """The NULL procedure: is an NFSv4 server answering at all?"""
        self.rpc.call(NFS_PROGRAM, NFS_V4, PROC_NULL, b"", timeout)

    def call(self, ops: Sequence[OpArgs], timeout: float | None = None) -> CompoundRes:
        """One COMPOUND as given (no SEQUENCE added); statuses are not checked."""
        args = encode(CompoundArgs(tuple(ops), minorversion=MINOR_VERSION))
        data = self.rpc.call(NFS_PROGRAM, NFS_V4, PROC_COMPOUND, args, timeout)
        decoder = Decoder(data)
        reply = CompoundRes.decode(decoder)
        decoder.done()
        return reply

    def sessionless(self, op: OpArgs, timeout: float | None = None) -> OpResult:
        """A compound of one operation that may stand alone (EXCHANGE_ID, CREATE_SESSION...)."""
        reply = self.call([op], timeout)
        result = _check(reply, [op])[0]
        self.last_success = self.clock()
        return result

    def compound(self, ops: Sequence[OpArgs], timeout: float | None = None) -> list[OpResult]:
        """``ops`` under SEQUENCE; the results of ``ops`` (SEQUENCE's own is kept aside)."""
        session = self._session()
        for _ in range(2):
            slot = session.slots.take(self.rpc.timeout if timeout is None else timeout)
            retried = session.slots.in_doubt[slot]
            sequence = SequenceArgs(
                session.sessionid,
                session.slots.next_seqid[slot],
                slot,
                max(session.slots.highest_in_use(), slot),
            )
            try:
                reply = self.call([sequence, *ops], timeout)
            except NfsClientError:
                session.slots.give_back(slot, advanced=None)
                raise
            first = reply.results[0] if reply.results else None
            if first is None or first.status != NFS4_OK:
                status = first.status if first is not None else reply.status
                if retried and status in _RETRY_ANSWERS:
                    session.slots.give_back(slot, advanced=True)
                    continue  # the in-doubt call had been processed: send again
                session.slots.give_back(slot, advanced=False)
                raise Nfs4Error(status, "SEQUENCE")
            session.slots.give_back(slot, advanced=True)
            if isinstance(first.value, SequenceRes):
                self.status_flags = first.value.status_flags
            results = _check(reply, [sequence, *ops])
            self.last_success = self.clock()
            return results[1:]
        raise Nfs4Error(STATUS_CODES["NFS4ERR_SEQ_FALSE_RETRY"], "SEQUENCE")

    def _session(self) -> Session:
        if self.session is None:
            raise NfsClientError("no session: call establish() first")
        return self.session

    # ------------------------------------------------------ client and session

    def exchange_id(self, flags: int = 0) -> ExchangeIdRes:
        op = ExchangeIdArgs(ClientOwner(self.verifier, self.ownerid), flags, IMPL_ID)
        result = _value(self.sessionless(op), ExchangeIdRes)
        self.exchange = result
        self.clientid = result.clientid
        return result

    def create_session(self) -> Session:
        if self.exchange is None or self.clientid is None:
            raise NfsClientError("no client id: call exchange_id() first")
        fore = ChannelAttrs(0, 1 << 20, 1 << 20, 16384, 16, self.slot_count)
        back = ChannelAttrs(0, 4096, 4096, 0, 2, 1)
        op = CreateSessionArgs(self.clientid, self.exchange.sequenceid, 0, fore, back, CB_PROGRAM)
        result = _value(self.sessionless(op), CreateSessionRes)
        slots = max(1, min(self.slot_count, result.fore.maxrequests))
        self.session = Session(result.sessionid, self.clientid, result.fore, SlotTable(slots))
        return self.session

    def establish(self) -> Session:
        """EXCHANGE_ID, CREATE_SESSION, and the server's lease time (for the keeper)."""
        self.exchange_id()
        session = self.create_session()
        self.lease_time = self.getattr_root(FATTR4_LEASE_TIME).lease_time
        return session

    def sequence(self) -> SequenceRes:
        """A compound of SEQUENCE alone: renews the lease."""
        session = self._session()
        slot = session.slots.take(self.rpc.timeout)
        args = SequenceArgs(session.sessionid, session.slots.next_seqid[slot], slot, slot)
        try:
            reply = self.call([args])
        except NfsClientError:
            session.slots.give_back(slot, advanced=None)
            raise
        first = reply.results[0] if reply.results else None
        status = first.status if first is not None else reply.status
        session.slots.give_back(slot, advanced=status == NFS4_OK)
        if first is None or status != NFS4_OK:
            raise Nfs4Error(status, "SEQUENCE")
        self.last_success = self.clock()
        result = _value(first, SequenceRes)
        self.status_flags = result.status_flags
        return result

    def renew(self) -> SequenceRes:
        """Keep the lease now (what RENEW did in 4.0): SEQUENCE alone."""
        return self.sequence()

    def reclaim_complete(self, one_fs: bool = False) -> None:
        self.compound([ReclaimCompleteArgs(one_fs)])

    def destroy_session(self) -> None:
        session = self._session()
        self.sessionless(DestroySessionArgs(session.sessionid))
        self.session = None

    def destroy_clientid(self) -> None:
        if self.clientid is None:
            raise NfsClientError("no client id to destroy")
        self.sessionless(DestroyClientidArgs(self.clientid))
        self.clientid = None
        self.exchange = None

    def owner(self, name: bytes) -> StateOwner:
        if self.clientid is None:
            raise NfsClientError("no client id: call establish() first")
        return StateOwner(self.clientid, name)

    # -------------------------------------------------------------- files

    def lookup(self, path: str) -> bytes:
        """The file handle of ``path`` from the server's root (``/export`` in the lab)."""
        ops: list[OpArgs] = [PutRootFhArgs(), *(LookupArgs(p) for p in split_path(path))]
        return _value(self.compound([*ops, GetFhArgs()])[-1], GetFhRes).fh

    def getattr(self, fh: bytes, *numbers: int) -> Attributes:
        results = self.compound([PutFhArgs(fh), GetattrArgs(Attributes.request(*numbers))])
        return Attributes.from_fattr(_value(results[-1], GetattrRes).attributes)

    def getattr_root(self, *numbers: int) -> Attributes:
        results = self.compound([PutRootFhArgs(), GetattrArgs(Attributes.request(*numbers))])
        return Attributes.from_fattr(_value(results[-1], GetattrRes).attributes)

    def open(
        self,
        path: str,
        owner: bytes,
        *,
        access: int = OPEN4_SHARE_ACCESS_BOTH,
        deny: int = OPEN4_SHARE_DENY_NONE,
        create: bool = True,
        mode: int = 0o644,
    ) -> Opened:
        """OPEN with CLAIM_NULL by path (UNCHECKED4 create: an existing file is opened)."""
        parts = split_path(path)
        if not parts:
            raise NfsClientError(f"{path!r} names no file")
        op = OpenArgs(
            access,
            deny,
            self.owner(owner),
            Claim.NULL,
            name=parts[-1],
            create=create,
            createmode=UNCHECKED4,
            createattrs=Attributes(mode=mode).to_fattr() if create else Attributes().to_fattr(),
        )
        lookups = [LookupArgs(p) for p in parts[:-1]]
        results = self.compound([PutRootFhArgs(), *lookups, op, GetFhArgs()])
        opened = _value(results[-2], OpenRes)
        return Opened(_value(results[-1], GetFhRes).fh, opened.stateid, opened)

    def reclaim_open(
        self,
        fh: bytes,
        owner: bytes,
        *,
        access: int = OPEN4_SHARE_ACCESS_BOTH,
        deny: int = OPEN4_SHARE_DENY_NONE,
    ) -> Opened:
        """OPEN with CLAIM_PREVIOUS on the file handle: an open held before the restart."""
        op = OpenArgs(access, deny, self.owner(owner), Claim.PREVIOUS)
        opened = _value(self.compound([PutFhArgs(fh), op])[-1], OpenRes)
        return Opened(fh, opened.stateid, opened)

    def lock(
        self,
        fh: bytes,
        open_stateid: Stateid,
        lock_owner: bytes,
        *,
        locktype: int = LockType.WRITE,
        offset: int = 0,
        length: int = 1,
        reclaim: bool = False,
    ) -> Stateid:
        """LOCK by a new lock owner, tied to the open; the lock stateid."""
        locker = OpenToLockOwner(open_stateid, self.owner(lock_owner))
        op = LockArgs(locktype, reclaim, offset, length, locker)
        return _value(self.compound([PutFhArgs(fh), op])[-1], StateidRes).stateid

    def lock_more(
        self, fh: bytes, lock_stateid: Stateid, *, locktype: int, offset: int, length: int
    ) -> Stateid:
        """LOCK by a lock owner that already holds a lock on the file."""
        op = LockArgs(locktype, False, offset, length, ExistLockOwner(lock_stateid))
        return _value(self.compound([PutFhArgs(fh), op])[-1], StateidRes).stateid

    def lockt(
        self, fh: bytes, lock_owner: bytes, *, locktype: int = LockType.WRITE, offset: int = 0,
        length: int = 1,
    ) -> None:  # fmt: skip
        """LOCKT: returns when the lock could be had; NFS4ERR_DENIED says who holds it."""
        self.compound([PutFhArgs(fh), LocktArgs(locktype, offset, length, self.owner(lock_owner))])

    def locku(
        self, fh: bytes, lock_stateid: Stateid, *, locktype: int = LockType.WRITE, offset: int = 0,
        length: int = 1,
    ) -> Stateid:  # fmt: skip
        op = LockuArgs(locktype, lock_stateid, offset, length)
        return _value(self.compound([PutFhArgs(fh), op])[-1], StateidRes).stateid

    def read(self, fh: bytes, stateid: Stateid, offset: int, count: int) -> ReadRes:
        return _value(self.compound([PutFhArgs(fh), ReadArgs(stateid, offset, count)])[-1], ReadRes)

    def write(self, fh: bytes, stateid: Stateid, offset: int, data: bytes) -> WriteRes:
        """WRITE with FILE_SYNC: on stable storage when it returns, no COMMIT needed."""
        op = WriteArgs(stateid, offset, StableHow.FILE_SYNC, data)
        result = _value(self.compound([PutFhArgs(fh), op])[-1], WriteRes)
        if result.count != len(data):
            raise NfsClientError(f"WRITE wrote {result.count} of {len(data)} bytes")
        return result

    def close(self, fh: bytes, stateid: Stateid) -> Stateid:
        return _value(self.compound([PutFhArgs(fh), CloseArgs(stateid)])[-1], StateidRes).stateid

    # -------------------------------------------------------------- lease

    def keeper(self, interval: float | None = None) -> LeaseKeeper:
        """A started background thread renewing the lease with SEQUENCE."""
        if interval is None:
            interval = max(0.2, (self.lease_time or 30) / 3)
        keeper = LeaseKeeper(self, interval)
        keeper.start()
        return keeper


class LeaseKeeper:
    """Sends SEQUENCE every ``interval`` seconds until stopped or refused.

    It stops by itself on the first failure and keeps it in :attr:`error`:
    a client whose session is gone has to recover, not to keep knocking.
    """

    def __init__(self, client: Nfs4Client, interval: float) -> None:
        self.client = client
        self.interval = interval
        self.renewals = 0
        self.error: NfsClientError | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="nfs4-lease", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        if self._thread.is_alive() and self._thread is not threading.current_thread():
            self._thread.join(timeout)

    @property
    def running(self) -> bool:
        return self._thread.is_alive()

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                self.client.sequence()
            except NfsClientError as error:
                self.error = error
                return
            self.renewals += 1


def _check(reply: CompoundRes, ops: Sequence[OpArgs]) -> list[OpResult]:
    """The results, or :class:`Nfs4Error` for the first that failed."""
    for result in reply.results:
        if result.status != NFS4_OK:
            raise Nfs4Error(result.status, op_name(result.op), result.denied)
    if reply.status != NFS4_OK:
        failed = (
            op_name(ops[len(reply.results)].op) if len(reply.results) < len(ops) else "COMPOUND"
        )
        raise Nfs4Error(reply.status, failed)
    if len(reply.results) != len(ops):
        raise NfsClientError(f"{len(reply.results)} results for {len(ops)} operations")
    for result, op in zip(reply.results, ops, strict=True):
        if result.op != op.op:
            raise NfsClientError(f"result of {op_name(result.op)} where {op_name(op.op)} was sent")
    return list(reply.results)


def _value(result: OpResult, kind: type[V]) -> V:
    if not isinstance(result.value, kind):
        raise NfsClientError(f"{op_name(result.op)} result is not a {kind.__name__}")
    return result.value
