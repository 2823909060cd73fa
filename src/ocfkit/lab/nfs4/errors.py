"""What can go wrong, as types a caller can tell apart.

A server's refusal is an :class:`Nfs4Error` carrying the NFS4ERR name and the
operation that failed (with the conflicting lock for NFS4ERR_DENIED); a reply
that cannot be decoded is an :class:`XdrError`, never a bare ``struct.error``
or ``EOFError``; a connection that breaks or a call that gets no answer in
time is a :class:`TransportError`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ocfkit.lab.nfs4.const import status_name

if TYPE_CHECKING:
    from ocfkit.lab.nfs4.xdr import LockDenied


class NfsClientError(Exception):
    """Anything this client raises."""


class XdrError(NfsClientError):
    """Bytes that do not decode as the type expected (or a value that cannot be encoded)."""


class TransportError(NfsClientError):
    """No connection, a connection that broke, or a reply that did not come in time."""


class RpcTimeout(TransportError):
    """A call got no reply before its deadline."""


class RpcError(NfsClientError):
    """The server's RPC layer refused the call (RFC 5531 accept_stat or reject_stat)."""


class Nfs4Error(NfsClientError):
    """An NFSv4 operation answered with a status other than NFS4_OK.

    ``name`` is the status as the RFCs spell it (``NFS4ERR_GRACE``), ``op`` the
    operation that failed (``OPEN``), ``denied`` the lock that stood in the way
    when the status is NFS4ERR_DENIED for LOCK or LOCKT.
    """

    def __init__(self, status: int, op: str, denied: LockDenied | None = None) -> None:
        self.status = status
        self.name = status_name(status)
        self.op = op
        self.denied = denied
        detail = f" (held: {denied})" if denied is not None else ""
        super().__init__(f"{op}: {self.name}{detail}")
