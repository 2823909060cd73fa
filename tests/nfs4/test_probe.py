"""``probe``: a second client's statuses, step by step, against a scripted server."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from ocfkit.lab.nfs4.client import Nfs4Client
from ocfkit.lab.nfs4.const import STATUS_CODES, Op
from ocfkit.lab.nfs4.errors import TransportError
from ocfkit.lab.nfs4.probe import probe
from ocfkit.lab.nfs4.rpc import CallHeader, RpcClient
from ocfkit.lab.nfs4.xdr import (
    ChangeInfo,
    CompoundArgs,
    CompoundRes,
    Delegation,
    OpenRes,
    OpResult,
    Stateid,
)

from .fake_server import CLOSE, Answer, FakeServer
from .test_rpc_client import Script

OPENED = OpenRes(Stateid(1, bytes(12)), ChangeInfo(True, 0, 1), 0, (), Delegation())


class Opening(Script):
    """The scripted server, granting OPEN with a stateid (the plain script has no OPEN result)."""

    def __call__(self, header: CallHeader, compound: CompoundArgs | None) -> Answer:
        answer = super().__call__(header, compound)
        if not isinstance(answer, CompoundRes):
            return answer
        results = tuple(
            OpResult(Op.OPEN, 0, OPENED) if r.op == Op.OPEN and r.status == 0 else r
            for r in answer.results
        )
        return CompoundRes(answer.status, results)


@pytest.fixture
def script() -> Iterator[tuple[Script, FakeServer]]:
    answers = Opening()
    fake = FakeServer(answers)
    yield answers, fake
    fake.close()


def client_of(fake: FakeServer) -> Nfs4Client:
    return Nfs4Client(RpcClient("127.0.0.1", fake.port, timeout=2), b"probe test")


def test_a_held_range_is_denied_and_the_holder_named(script: tuple[Script, FakeServer]) -> None:
    answers, fake = script
    answers.op_status[Op.LOCKT] = STATUS_CODES["NFS4ERR_DENIED"]
    answers.op_status[Op.LOCK] = STATUS_CODES["NFS4ERR_DENIED"]
    found = probe(client_of(fake), "/export/f")
    assert {k: found[k] for k in ("client", "lookup", "lockt", "open", "lock", "close")} == {
        "client": "ok", "lookup": "ok", "lockt": "NFS4ERR_DENIED", "open": "ok",
        "lock": "NFS4ERR_DENIED", "close": "ok",
    }  # fmt: skip
    assert "other" in found["lock-held-by"]
    assert "unlock" not in found  # nothing granted, nothing to give back


def test_a_granted_lock_is_given_back(script: tuple[Script, FakeServer]) -> None:
    _, fake = script
    found = probe(client_of(fake), "/export/f")
    assert (found["lock"], found["unlock"], found["close"]) == ("ok", "ok", "ok")


def test_what_was_answered_before_the_connection_broke_is_kept(
    script: tuple[Script, FakeServer],
) -> None:
    answers, fake = script
    answers.op_status[Op.LOCKT] = STATUS_CODES["NFS4ERR_GRACE"]
    client = client_of(fake)
    into: dict[str, str] = {}

    def close_at_open(header: CallHeader, compound: CompoundArgs | None) -> Answer:
        if compound is not None and any(op.op == Op.OPEN for op in compound.ops):
            return CLOSE
        return answers(header, compound)

    fake.answer = close_at_open
    with pytest.raises(TransportError):
        probe(client, "/export/f", into=into)
    assert into == {"client": "ok", "reclaim-complete": "ok", "lookup": "ok",
                    "lockt": "NFS4ERR_GRACE"}  # fmt: skip
