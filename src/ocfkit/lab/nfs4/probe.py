"""Another client's question to the server: may I have that range?  What it answers.

A client that holds a lock needs a witness: a second client that asks for
the same range and is told no.  During grace the answer must be
NFS4ERR_GRACE (nobody but a reclaiming client gets state), after grace
NFS4ERR_DENIED while the holder keeps it; a grant is a conflict, the one
thing HA must never give.  :func:`probe` asks and records each status, so
``ocfkit lab nfs-client probe`` and the scenarios ask the same way.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ocfkit.lab.nfs4.client import Nfs4Client
from ocfkit.lab.nfs4.const import LockType
from ocfkit.lab.nfs4.errors import Nfs4Error

OPEN_OWNER = b"probe-open"
LOCK_OWNER = b"probe-lock"


def probe(
    client: Nfs4Client,
    path: str,
    *,
    locktype: int = LockType.WRITE,
    offset: int = 0,
    length: int = 64,
    reclaim: bool = False,
    create: bool = False,
    into: dict[str, str] | None = None,
) -> dict[str, str]:
    """Each step's status (``ok`` or an NFS4ERR name), in ``into`` as they come.

    Steps: EXCHANGE_ID + CREATE_SESSION (``client``), RECLAIM_COMPLETE
    (unless ``reclaim``), LOOKUP, LOCKT, OPEN, LOCK, then LOCKU and CLOSE of
    whatever was granted, DESTROY_SESSION and DESTROY_CLIENTID.  With
    ``reclaim``: OPEN with CLAIM_PREVIOUS and a lock reclaim instead, then
    RECLAIM_COMPLETE.  An NFS4 refusal is an answer and goes into the
    result; anything else (no connection, no reply) raises, and ``into``
    keeps what was answered until then.  A refused lock's holder is kept
    under ``<step>-held-by``.
    """
    results = {} if into is None else into

    def attempt(step: str, action: Callable[[], Any]) -> Any:
        try:
            value = action()
        except Nfs4Error as error:
            results[step] = error.name
            if error.denied is not None:
                results[f"{step}-held-by"] = str(error.denied)
            return None
        results[step] = "ok"
        return value if value is not None else True

    client.establish()
    results["client"] = "ok"
    if not reclaim:
        attempt("reclaim-complete", client.reclaim_complete)
    fh = attempt("lookup", lambda: client.lookup(path))
    opened = None
    if reclaim and fh is not None:
        opened = attempt("reclaim-open", lambda: client.reclaim_open(fh, OPEN_OWNER))
    elif not reclaim:
        if fh is not None:
            attempt(
                "lockt",
                lambda: client.lockt(
                    fh, LOCK_OWNER, locktype=locktype, offset=offset, length=length
                ),
            )
        if fh is not None or create:
            opened = attempt("open", lambda: client.open(path, OPEN_OWNER, create=create))
    if opened is not None:
        lock = attempt(
            "reclaim-lock" if reclaim else "lock",
            lambda: client.lock(
                opened.fh,
                opened.stateid,
                LOCK_OWNER,
                locktype=locktype,
                offset=offset,
                length=length,
                reclaim=reclaim,
            ),
        )
        if reclaim:
            attempt("reclaim-complete", client.reclaim_complete)
        if lock is not None:
            attempt(
                "unlock",
                lambda: client.locku(
                    opened.fh, lock, locktype=locktype, offset=offset, length=length
                ),
            )
        attempt("close", lambda: client.close(opened.fh, opened.stateid))
    client.destroy_session()
    client.destroy_clientid()
    return results


__all__ = ["LOCK_OWNER", "OPEN_OWNER", "probe"]
