"""ONC RPC (RFC 5531) over TCP: record marking, AUTH_SYS, xid matching, deadlines.

One connection, one call at a time (a lock serialises callers): that is all a
client holding a few opens and locks needs, and it keeps the stream simple.
Every call has a deadline.  A reply whose xid is not the one awaited (the
late answer to a call that timed out) is counted and skipped.  A deadline
that passes in the middle of a record leaves the stream unusable, so the
connection is closed; one that passes between records keeps it.
"""

from __future__ import annotations

import os
import socket
import struct
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Self

from ocfkit.lab.nfs4.const import (
    LAST_FRAGMENT,
    RPC_VERSION,
    AcceptStat,
    AuthFlavor,
    MsgType,
    RejectStat,
    ReplyStat,
)
from ocfkit.lab.nfs4.errors import RpcError, RpcTimeout, TransportError, XdrError
from ocfkit.lab.nfs4.xdr import Decoder, Encoder, XdrType

MAX_AUTH_BYTES = 400
MAX_MACHINE_NAME = 255
MAX_GIDS = 16
#: No reply of this client comes near this; a larger record means a broken stream.
MAX_RECORD = 16 * 1024 * 1024

#: Opens a connected TCP socket: (host, port, timeout) -> socket.
Connector = Callable[[str, int, float], socket.socket]


@dataclass(frozen=True)
class OpaqueAuth(XdrType):
    """opaque_auth: a flavor and its body."""

    flavor: int
    body: bytes = b""

    def encode(self, e: Encoder) -> None:
        e.u32(self.flavor)
        e.opaque(self.body, MAX_AUTH_BYTES)

    @classmethod
    def decode(cls, d: Decoder) -> Self:
        return cls(d.u32(), d.opaque(MAX_AUTH_BYTES))


AUTH_NONE = OpaqueAuth(AuthFlavor.AUTH_NONE)


@dataclass(frozen=True)
class AuthSys(XdrType):
    """authsys_parms: who the caller claims to be (root, for this client)."""

    machinename: bytes
    uid: int = 0
    gid: int = 0
    gids: tuple[int, ...] = ()
    stamp: int = 0

    def encode(self, e: Encoder) -> None:
        e.u32(self.stamp)
        e.opaque(self.machinename, MAX_MACHINE_NAME)
        e.u32(self.uid)
        e.u32(self.gid)
        e.array(self.gids, e.u32, limit=MAX_GIDS)

    @classmethod
    def decode(cls, d: Decoder) -> Self:
        stamp = d.u32()
        name = d.opaque(MAX_MACHINE_NAME)
        uid, gid = d.u32(), d.u32()
        return cls(name, uid, gid, tuple(d.array(d.u32, limit=MAX_GIDS)), stamp)

    def credential(self) -> OpaqueAuth:
        e = Encoder()
        self.encode(e)
        return OpaqueAuth(AuthFlavor.AUTH_SYS, e.data())


@dataclass(frozen=True)
class CallHeader(XdrType):
    """rpc_msg for a CALL, up to the procedure's arguments."""

    xid: int
    prog: int
    vers: int
    proc: int
    cred: OpaqueAuth = AUTH_NONE
    verf: OpaqueAuth = AUTH_NONE

    def encode(self, e: Encoder) -> None:
        e.u32(self.xid)
        e.u32(MsgType.CALL)
        e.u32(RPC_VERSION)
        e.u32(self.prog)
        e.u32(self.vers)
        e.u32(self.proc)
        self.cred.encode(e)
        self.verf.encode(e)

    @classmethod
    def decode(cls, d: Decoder) -> Self:
        xid, mtype, rpcvers = d.u32(), d.u32(), d.u32()
        if mtype != MsgType.CALL or rpcvers != RPC_VERSION:
            raise XdrError(f"not an RPC version 2 call (type {mtype}, version {rpcvers})")
        prog, vers, proc = d.u32(), d.u32(), d.u32()
        return cls(xid, prog, vers, proc, OpaqueAuth.decode(d), OpaqueAuth.decode(d))


def encode_call(header: CallHeader, args: bytes) -> bytes:
    e = Encoder()
    header.encode(e)
    return e.data() + args


def decode_call(data: bytes) -> tuple[CallHeader, bytes]:
    """A call's header and its argument bytes (what a test's server needs)."""
    d = Decoder(data)
    header = CallHeader.decode(d)
    return header, d.rest()


def encode_reply(xid: int, results: bytes, verf: OpaqueAuth = AUTH_NONE) -> bytes:
    """An accepted, successful reply (a test's server sends these)."""
    e = Encoder()
    e.u32(xid)
    e.u32(MsgType.REPLY)
    e.u32(ReplyStat.MSG_ACCEPTED)
    verf.encode(e)
    e.u32(AcceptStat.SUCCESS)
    return e.data() + results


def reply_xid(data: bytes) -> int:
    if len(data) < 4:
        raise XdrError(f"an RPC reply of {len(data)} bytes has no xid")
    value: int = struct.unpack(">L", data[:4])[0]
    return value


def decode_reply(data: bytes) -> tuple[int, bytes]:
    """(xid, result bytes) of a reply; a refusal at the RPC level is an :class:`RpcError`."""
    d = Decoder(data)
    xid = d.u32()
    mtype = d.u32()
    if mtype != MsgType.REPLY:
        raise XdrError(f"message type {mtype} where a reply was expected")
    stat = d.u32()
    if stat == ReplyStat.MSG_DENIED:
        reason = d.u32()
        if reason == RejectStat.RPC_MISMATCH:
            low, high = d.u32(), d.u32()
            raise RpcError(f"RPC_MISMATCH: the server speaks RPC versions {low} to {high}")
        if reason == RejectStat.AUTH_ERROR:
            raise RpcError(f"AUTH_ERROR: auth_stat {d.u32()}")
        raise RpcError(f"call denied (reject_stat {reason})")
    if stat != ReplyStat.MSG_ACCEPTED:
        raise XdrError(f"unknown reply_stat {stat}")
    OpaqueAuth.decode(d)  # the server's verifier: AUTH_NONE for AUTH_SYS calls
    accept = d.u32()
    if accept == AcceptStat.SUCCESS:
        return xid, d.rest()
    if accept == AcceptStat.PROG_MISMATCH:
        low, high = d.u32(), d.u32()
        raise RpcError(f"PROG_MISMATCH: the server has versions {low} to {high} of the program")
    try:
        name = AcceptStat(accept).name
    except ValueError:
        name = f"accept_stat {accept}"
    raise RpcError(f"{name}")


def record(message: bytes) -> bytes:
    """The message as one record-marking fragment (RFC 5531 section 11)."""
    if len(message) > MAX_RECORD:
        raise XdrError(f"a message of {len(message)} bytes is too large to send")
    return struct.pack(">L", LAST_FRAGMENT | len(message)) + message


def tcp_connect(host: str, port: int, timeout: float) -> socket.socket:
    return socket.create_connection((host, port), timeout=timeout)


def default_machine_name() -> bytes:
    return os.uname().nodename.encode()[:MAX_MACHINE_NAME]


class RpcClient:
    """Calls over one TCP connection to ``host:port``, opened on first use."""

    def __init__(
        self,
        host: str,
        port: int = 2049,
        *,
        timeout: float = 10.0,
        connector: Connector = tcp_connect,
        credential: OpaqueAuth | None = None,
    ) -> None:
        self.host = host
        self.port = port
        self.timeout = timeout
        self.connector = connector
        self.credential = credential or AuthSys(default_machine_name()).credential()
        #: Replies read and dropped because their xid was not the one awaited.
        self.stale_replies = 0
        self._sock: socket.socket | None = None
        self._lock = threading.Lock()
        self._xid = int.from_bytes(os.urandom(4), "big")

    @property
    def connected(self) -> bool:
        return self._sock is not None

    def connect(self) -> None:
        with self._lock:
            self._connect()

    def _connect(self) -> None:
        if self._sock is not None:
            return
        try:
            self._sock = self.connector(self.host, self.port, self.timeout)
        except OSError as error:
            raise TransportError(f"connect to {self.host}:{self.port}: {error}") from None
        self._sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def close(self) -> None:
        with self._lock:
            self._drop()

    def _drop(self) -> None:
        sock, self._sock = self._sock, None
        if sock is not None:
            sock.close()

    def call(
        self, prog: int, vers: int, proc: int, args: bytes, timeout: float | None = None
    ) -> bytes:
        """The result bytes of one call; :class:`RpcTimeout` when none came in time."""
        limit = self.timeout if timeout is None else timeout
        with self._lock:
            deadline = time.monotonic() + limit
            self._connect()
            self._xid = (self._xid + 1) & 0xFFFFFFFF
            xid = self._xid
            header = CallHeader(xid, prog, vers, proc, self.credential)
            self._send(record(encode_call(header, args)), deadline)
            while True:
                message = self._receive(deadline)
                if reply_xid(message) != xid:
                    self.stale_replies += 1
                    continue
                return decode_reply(message)[1]

    def _socket(self) -> socket.socket:
        if self._sock is None:
            raise TransportError(f"not connected to {self.host}:{self.port}")
        return self._sock

    def _send(self, data: bytes, deadline: float) -> None:
        sock = self._socket()
        try:
            sock.settimeout(max(deadline - time.monotonic(), 0.001))
            sock.sendall(data)
        except TimeoutError:
            self._drop()
            raise RpcTimeout(f"sending to {self.host}:{self.port} timed out") from None
        except OSError as error:
            self._drop()
            raise TransportError(f"send to {self.host}:{self.port}: {error}") from None

    def _receive(self, deadline: float) -> bytes:
        """One whole record; a deadline that passes mid-record closes the connection."""
        parts: list[bytes] = []
        size = 0
        last = False
        started = False
        while not last:
            header = self._read(4, deadline, started)
            started = True
            (mark,) = struct.unpack(">L", header)
            last = bool(mark & LAST_FRAGMENT)
            length = mark & ~LAST_FRAGMENT
            size += length
            if size > MAX_RECORD:
                self._drop()
                raise TransportError(f"a record of more than {MAX_RECORD} bytes: stream broken")
            parts.append(self._read(length, deadline, True))
        return b"".join(parts)

    def _read(self, count: int, deadline: float, mid_record: bool) -> bytes:
        sock = self._socket()
        chunks: list[bytes] = []
        have = 0
        while have < count:
            remaining = deadline - time.monotonic()
            try:
                if remaining <= 0:
                    raise TimeoutError
                sock.settimeout(remaining)
                chunk = sock.recv(min(count - have, 1 << 20))
            except TimeoutError:
                if mid_record or have:
                    self._drop()
                raise RpcTimeout(f"no reply from {self.host}:{self.port} in time") from None
            except OSError as error:
                self._drop()
                raise TransportError(f"receive from {self.host}:{self.port}: {error}") from None
            if not chunk:
                self._drop()
                raise TransportError(f"{self.host}:{self.port} closed the connection")
            chunks.append(chunk)
            have += len(chunk)
        return b"".join(chunks)
