"""A scripted NFSv4.1 server on 127.0.0.1, for tests of the client's own logic.

It speaks real ONC RPC with record marking over TCP (the client under test
cannot tell), decodes each call with the project's XDR types, and asks the
test's ``answer`` function what to do: reply with a COMPOUND result, with
raw bytes, or not at all, or close the connection.
"""

from __future__ import annotations

import socket
import struct
import threading
from collections.abc import Callable
from dataclasses import dataclass, field

from ocfkit.lab.nfs4.const import LAST_FRAGMENT
from ocfkit.lab.nfs4.rpc import CallHeader, decode_call, encode_reply, record
from ocfkit.lab.nfs4.xdr import CompoundArgs, CompoundRes, decode, encode


@dataclass(frozen=True)
class Raw:
    """Send these bytes as they are (records made by the test)."""

    data: bytes


CLOSE = "close"  # close the connection instead of answering
SILENT = "silent"  # read the call, never answer
Answer = CompoundRes | Raw | str | None  # None: an empty successful reply (NULL)


@dataclass
class FakeServer:
    answer: Callable[[CallHeader, CompoundArgs | None], Answer]
    calls: list[tuple[CallHeader, CompoundArgs | None]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._listener.settimeout(0.05)
        self.port: int = self._listener.getsockname()[1]
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def close(self) -> None:
        self._stop.set()
        self._thread.join(5)
        self._listener.close()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            conn.settimeout(None)
            threading.Thread(target=self._connection, args=(conn,), daemon=True).start()

    def _connection(self, conn: socket.socket) -> None:
        with conn:
            while True:
                message = _read_record(conn)
                if message is None:
                    return
                header, args = decode_call(message)
                compound = decode(CompoundArgs, args) if header.proc == 1 else None
                self.calls.append((header, compound))
                answer = self.answer(header, compound)
                if answer == CLOSE:
                    return
                if answer == SILENT:
                    continue
                if isinstance(answer, Raw):
                    conn.sendall(answer.data)
                    continue
                body = encode(answer) if isinstance(answer, CompoundRes) else b""
                conn.sendall(record(encode_reply(header.xid, body)))


def _read_record(conn: socket.socket) -> bytes | None:
    parts = []
    while True:
        head = _read(conn, 4)
        if head is None:
            return None
        (mark,) = struct.unpack(">L", head)
        body = _read(conn, mark & ~LAST_FRAGMENT)
        if body is None:
            return None
        parts.append(body)
        if mark & LAST_FRAGMENT:
            return b"".join(parts)


def _read(conn: socket.socket, count: int) -> bytes | None:
    data = b""
    while len(data) < count:
        try:
            chunk = conn.recv(count - len(data))
        except OSError:
            return None
        if not chunk:
            return None
        data += chunk
    return data
