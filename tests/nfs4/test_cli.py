"""``ocfkit lab nfs-client`` through the top-level command, against a scripted server."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from click.testing import CliRunner

from ocfkit.cli import main
from ocfkit.lab.nfs4.const import Op
from ocfkit.lab.nfs4.rpc import CallHeader
from ocfkit.lab.nfs4.xdr import CompoundArgs, CompoundRes, OpResult

from .fake_server import Answer, FakeServer
from .test_rpc_client import Script


@pytest.fixture
def server() -> Iterator[FakeServer]:
    fake = FakeServer(Script())
    yield fake
    fake.close()


def run(*args: str) -> tuple[int, list[dict[str, object]]]:
    result = CliRunner().invoke(main, ["lab", "nfs-client", *args])
    lines = [json.loads(line) for line in result.output.splitlines() if line.startswith("{")]
    return result.exit_code, lines


def test_help_lists_the_commands() -> None:
    result = CliRunner().invoke(main, ["lab", "nfs-client", "--help"])
    assert result.exit_code == 0
    for command in ("hold", "probe", "ping"):
        assert command in result.output
    assert "nfs-client" in CliRunner().invoke(main, ["lab", "--help"]).output


def test_ping(server: FakeServer) -> None:
    code, lines = run("ping", "--server", "127.0.0.1", "--port", str(server.port), "--json")
    assert code == 0
    assert lines[0]["event"] == "ping" and lines[0]["outcome"] == "ok"


def test_probe_reports_each_status(server: FakeServer) -> None:
    script = server.answer
    assert isinstance(script, Script)
    script.op_status[Op.OPEN] = 10013  # NFS4ERR_GRACE
    script.op_status[Op.LOCKT] = 10013
    code, lines = run(
        "probe", "--server", "127.0.0.1", "--port", str(server.port), "--path", "/export/f",
        "--json",
    )  # fmt: skip
    assert code == 0, lines
    assert {k: lines[0][k] for k in ("client", "lookup", "lockt", "open")} == {
        "client": "ok", "lookup": "ok", "lockt": "NFS4ERR_GRACE", "open": "NFS4ERR_GRACE",
    }  # fmt: skip
    assert "lock" not in lines[0]


def test_unreachable_server_is_exit_2() -> None:
    fake = FakeServer(lambda header, compound: None)
    port = fake.port
    fake.close()
    code, lines = run("probe", "--server", "127.0.0.1", "--port", str(port), "--path", "/f",
                      "--json", "--timeout", "1")  # fmt: skip
    assert code == 2
    assert "connect" in str(lines[0]["error"])


def test_hold_that_cannot_start_says_why() -> None:
    def refuse(header: CallHeader, compound: CompoundArgs | None) -> Answer:
        return CompoundRes(10022, (OpResult(Op.EXCHANGE_ID, 10022),))  # STALE_CLIENTID

    fake = FakeServer(refuse)
    try:
        code, lines = run("hold", "--server", "127.0.0.1", "--port", str(fake.port), "--path",
                          "/export/f", "--owner", "x", "--json")  # fmt: skip
    finally:
        fake.close()
    assert code == 1
    assert lines[0]["event"] == "establish" and lines[0]["outcome"] == "NFS4ERR_STALE_CLIENTID"
