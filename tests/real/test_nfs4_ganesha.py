"""The NFSv4.1 client against a real ganesha.nfsd 4.3 that is killed and started again.

ganesha runs as tests/real runs it (its own network and mount namespaces,
loopback only), with the lab's configuration (NFSv4 only, ``Enable_NLM =
true``, ``Graceless = false``) plus an explicit ``Clustered``.  The client
lives in this process; its TCP connections are opened inside the node's
network namespace.  A kill -9 and a start with the same RecoveryRoot is a
server restart: ganesha enters grace and reads the client records it wrote.
"""

from __future__ import annotations

import json
import os
import queue
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from ocfkit.lab.nfs4.client import Nfs4Client
from ocfkit.lab.nfs4.errors import Nfs4Error, TransportError
from ocfkit.lab.nfs4.held import HeldState, RecoveryFailed
from ocfkit.lab.nfs4.netns import netns_connector
from ocfkit.lab.nfs4.rpc import Connector, RpcClient

from .conftest import require_ganesha_programs
from .ganesha_node import GaneshaNode

pytestmark = pytest.mark.real

GRACE = 10  # long enough for every step that must happen in grace, on a loaded machine
LEASE = 5
PATH = "/export/held"


def with_clustered(conf: str, clustered: bool) -> str:
    """The lab's ganesha.conf with ``Clustered`` set explicitly in NFS_CORE_PARAM."""
    value = "true" if clustered else "false"
    changed, count = re.subn(
        r"NFS_CORE_PARAM \{\n", f"NFS_CORE_PARAM {{\n    Clustered = {value};\n", conf
    )
    assert count == 1
    return changed


def start_node(root: Path, clustered: bool, export: Path | None = None) -> GaneshaNode:
    """A node of tests/real with ``Clustered`` set; ``export``: another node's directory."""
    node = GaneshaNode(root, grace_period=GRACE, lease_lifetime=LEASE)
    node.start_namespaces()
    conf = root / "ganesha.conf"
    text = with_clustered(conf.read_text(), clustered)
    if export is not None:
        own = f"Path = {root / 'export'};"
        assert own in text
        text = text.replace(own, f"Path = {export};")
    conf.write_text(text)
    node.start_bus()
    node.start_ganesha()
    return node


@pytest.fixture(params=[False, True], ids=["clustered-false", "clustered-true"])
def clustered(request: pytest.FixtureRequest) -> bool:
    value: bool = request.param
    return value


@pytest.fixture
def node(clustered: bool, short_tmp: Path) -> Iterator[GaneshaNode]:
    require_ganesha_programs()
    node = start_node(short_tmp / "node1", clustered)
    try:
        yield node
    finally:
        node.stop()


def connector(node: GaneshaNode) -> Connector:
    assert node.holder is not None
    return netns_connector(f"/proc/{node.holder.pid}/ns/net")


def new_client(node: GaneshaNode, owner: str) -> Nfs4Client:
    return Nfs4Client(RpcClient("127.0.0.1", timeout=5, connector=connector(node)), owner.encode())


def status_of(action: Any) -> str:
    try:
        action()
    except Nfs4Error as error:
        return error.name
    return "NFS4_OK"


def records(node: GaneshaNode) -> list[str]:
    """The recovery directory's entries, relative to RecoveryRoot."""
    base = node.root / "recov"
    return sorted(str(p.relative_to(base)) for p in base.rglob("*"))


def restart(node: GaneshaNode) -> None:
    node.kill_ganesha(signal.SIGKILL)
    node.start_ganesha()


def test_reclaim_after_restart(node: GaneshaNode, clustered: bool) -> None:
    """Open + lock + write + read; DENIED for a second client; kill -9 and start again;
    the first client reclaims open and lock and reads its data; during grace a second
    client gets NFS4ERR_GRACE for a new open, lock or LOCKT; a reclaim by a client the
    server never saw is refused; after grace the reclaimed range is still denied."""
    answers: dict[str, str] = {}
    node.wait_out_of_grace()
    held = HeldState("127.0.0.1", PATH, client_owner="Linux NFSv4.1 held-client",
                     connector=connector(node), length=16)  # fmt: skip
    held.establish(b"written before")
    assert held.check() == b"written before"

    second = new_client(node, "Linux NFSv4.1 second-client")
    second.establish()
    second.reclaim_complete()
    opened = second.open(PATH, b"second-open")
    with pytest.raises(Nfs4Error) as denied:
        second.lock(opened.fh, opened.stateid, b"second-lock", offset=4, length=1)
    assert denied.value.name == "NFS4ERR_DENIED"
    assert denied.value.denied is not None and denied.value.denied.owner.owner == b"held-lock"
    answers["lockt-before"] = status_of(lambda: second.lockt(opened.fh, b"x", offset=0, length=1))
    where = "v4recov/node0/" if clustered else "v4recov/"
    on_disk = records(node)
    assert f"{where}::ffff:127.0.0.1-(25:Linux NFSv4.1 held-client)" in on_disk, on_disk
    assert f"{where}::ffff:127.0.0.1-(27:Linux NFSv4.1 second-client)" in on_disk, on_disk

    restart(node)
    with pytest.raises(TransportError):
        held.check()
    assert node.in_grace()
    report = held.recover(deadline=30)
    assert report.ok and report.mode == "reclaimed"
    assert report.old_session_answer == "NFS4ERR_BADSESSION"
    assert report.data_intact is True
    assert [s.name for s in report.steps] == [
        "connect", "old-session", "exchange-id", "create-session", "reclaim-open",
        "reclaim-lock", "reclaim-complete", "read", "write", "read-back",
    ]  # fmt: skip
    assert report.outage is not None and 0 < report.outage < 30

    # The second client comes back as the same client: its open can be reclaimed,
    # but nothing new is granted in grace.
    again = new_client(node, "Linux NFSv4.1 second-client")
    again.establish()
    keeper = again.keeper(1.0)
    reclaimed = again.reclaim_open(opened.fh, b"second-open")
    answers["second-new-lock-in-grace"] = status_of(
        lambda: again.lock(opened.fh, reclaimed.stateid, b"second-lock", offset=40, length=1)
    )
    answers["second-lock-reclaim-never-held"] = status_of(
        lambda: again.lock(opened.fh, reclaimed.stateid, b"second-lock", offset=100, length=1,
                           reclaim=True)
    )  # fmt: skip
    again.reclaim_complete()
    answers["second-new-open-in-grace"] = status_of(lambda: again.open(PATH, b"second-open-2"))
    answers["second-lockt-in-grace"] = status_of(
        lambda: again.lockt(opened.fh, b"probe", offset=4, length=1)
    )
    stranger = new_client(node, "Linux NFSv4.1 never-seen")
    stranger.establish()
    answers["stranger-reclaim-open"] = status_of(
        lambda: stranger.reclaim_open(opened.fh, b"stranger-open")
    )
    assert node.in_grace(), f"grace ended before the checks were done: {answers}"

    assert answers["second-new-lock-in-grace"] == "NFS4ERR_GRACE"
    assert answers["second-new-open-in-grace"] == "NFS4ERR_GRACE"
    assert answers["second-lockt-in-grace"] == "NFS4ERR_GRACE"
    # ganesha 4.3 refuses a reclaim from a client it has no record of with NO_GRACE
    # (not RECLAIM_BAD): its records are per client, not per open or lock...
    assert answers["stranger-reclaim-open"] == "NFS4ERR_NO_GRACE"
    # ...so a lock "reclaim" by a known client is granted even though it never held it.
    assert answers["second-lock-reclaim-never-held"] == "NFS4_OK"

    node.wait_out_of_grace()
    assert keeper.error is None
    after = again.open(PATH, b"second-open-3")
    with pytest.raises(Nfs4Error) as denied_after:
        again.lock(after.fh, after.stateid, b"second-lock-3", offset=4, length=1)
    assert denied_after.value.name == "NFS4ERR_DENIED"
    assert denied_after.value.denied is not None
    assert denied_after.value.denied.owner.owner == b"held-lock"
    late = new_client(node, "Linux NFSv4.1 late")
    late.establish()
    answers["reclaim-after-grace"] = status_of(lambda: late.reclaim_open(opened.fh, b"late"))
    assert answers["reclaim-after-grace"] == "NFS4ERR_NO_GRACE"
    assert held.check() == b"erofeb nettirw"  # what recover() wrote through the reclaimed lock
    keeper.stop()
    held.release()
    print(json.dumps({"clustered": clustered, "answers": answers, "records": on_disk,
                      "recovery": report.to_dict()}, indent=1))  # fmt: skip


def test_released_state_leaves_no_record_to_reclaim(short_tmp: Path) -> None:
    """DESTROY_CLIENTID removes the client's record: after a restart it cannot reclaim."""
    require_ganesha_programs()
    node = start_node(short_tmp / "node1", clustered=False)
    try:
        node.wait_out_of_grace()
        held = HeldState("127.0.0.1", PATH, client_owner="Linux NFSv4.1 leaver",
                         connector=connector(node))  # fmt: skip
        held.establish(b"x")
        fh = held._state().fh
        held.release()
        assert not [r for r in records(node) if "leaver" in r]
        restart(node)
        back = new_client(node, "Linux NFSv4.1 leaver")
        back.establish()
        assert status_of(lambda: back.reclaim_open(fh, b"held-open")) == "NFS4ERR_NO_GRACE"
    finally:
        node.stop()


def test_reclaim_on_the_server_that_takes_the_address_over(
    short_tmp: Path, clustered: bool
) -> None:
    """The address moves: node1 dies, node2 (same export, node1's records linked into
    its RecoveryRoot as GlusterFS 3.7's state volume does) is told ``grace 5:node1``,
    and the client reclaims there.  ganesha 4.3 finds the records only when they are
    not under ``node0`` (``Clustered = false``)."""
    require_ganesha_programs()
    node1 = start_node(short_tmp / "node1", clustered)
    node2 = start_node(short_tmp / "node2", clustered, export=node1.root / "export")
    try:
        (node2.root / "recov" / "node1").symlink_to(node1.root / "recov")
        node1.wait_out_of_grace()
        node2.wait_out_of_grace()
        held = HeldState("127.0.0.1", PATH, client_owner="Linux NFSv4.1 mover",
                         connector=connector(node1))  # fmt: skip
        held.establish(b"before the move")
        node1.kill_ganesha(signal.SIGKILL)
        assert node2.dbus_send("grace", "string:5:node1")[0] == "boolean true"
        assert node2.in_grace()
        held.connector = connector(node2)  # the address is now node2's
        if clustered:
            with pytest.raises(RecoveryFailed) as failed:
                held.recover(deadline=20)
            report = failed.value.report
            assert (report.failed_step, report.error) == (
                "reclaim-open", "OPEN: NFS4ERR_NO_GRACE",
            )  # fmt: skip
        else:
            report = held.recover(deadline=20)
            assert report.ok and report.data_intact
            assert report.old_session_answer == "NFS4ERR_BADSESSION"
            held.release()
        print(json.dumps({"clustered": clustered, "records": records(node1),
                          "recovery": report.to_dict()}, indent=1))  # fmt: skip
    finally:
        node2.stop()
        node1.stop()


def ocfkit_program() -> str:
    program = Path(sys.executable).with_name("ocfkit")
    if not program.exists():
        pytest.skip(f"{program} is not installed (./dev installs it)")
    return str(program)


class Lines:
    """A process's stdout, one JSON object per line, read in the background."""

    def __init__(self, process: subprocess.Popen[str]) -> None:
        self.queue: queue.Queue[dict[str, Any]] = queue.Queue()
        assert process.stdout is not None
        stdout = process.stdout
        threading.Thread(target=self._read, args=(stdout,), daemon=True).start()

    def _read(self, stream: Any) -> None:
        for line in stream:
            self.queue.put(json.loads(line))

    def until(self, event: str, timeout: float) -> dict[str, Any]:
        end = time.monotonic() + timeout
        seen = []
        while time.monotonic() < end:
            try:
                item = self.queue.get(timeout=max(end - time.monotonic(), 0.01))
            except queue.Empty:
                break
            seen.append(item)
            if item["event"] == event:
                return item
        raise AssertionError(f"no {event!r} event in {timeout:g}s; saw {seen}")


def test_cli_hold_and_probe(short_tmp: Path) -> None:
    """By hand: ``hold`` recovers across a restart; ``probe`` sees GRACE, then DENIED."""
    require_ganesha_programs()
    program = ocfkit_program()
    node = start_node(short_tmp / "node1", clustered=False)
    assert node.holder is not None
    netns = f"/proc/{node.holder.pid}/ns/net"
    base = ["--server", "127.0.0.1", "--netns", netns, "--json", "--path", PATH]
    hold = subprocess.Popen(
        [program, "lab", "nfs-client", "hold", *base, "--owner", "Linux NFSv4.1 cli",
         "--interval", "0.1", "--duration", "60", "--recover-deadline", "30"],
        stdout=subprocess.PIPE, text=True, env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )  # fmt: skip

    def probe(*extra: str) -> dict[str, Any]:
        done = subprocess.run(
            [program, "lab", "nfs-client", "probe", *base, *extra],
            capture_output=True, text=True, timeout=60, check=False,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr
        result: dict[str, Any] = json.loads(done.stdout)
        return result

    try:
        lines = Lines(hold)
        held = lines.until("held", 30)  # started during the start-up grace: retried until it ended
        assert [s["outcome"] for s in held["steps"]][-2:] == ["ok", "ok"]
        assert not node.in_grace()
        before = probe()
        assert (before["lockt"], before["open"], before["lock"]) == (
            "NFS4ERR_DENIED", "ok", "NFS4ERR_DENIED",
        )  # fmt: skip
        restart(node)
        lost = lines.until("lost", 10)
        assert lost["outcome"] == "transport"
        recovered = lines.until("recovered", 40)
        assert recovered["ok"] and recovered["mode"] == "reclaimed" and recovered["data_intact"]
        in_grace = probe()
        assert node.in_grace()
        assert (in_grace["lockt"], in_grace["open"]) == ("NFS4ERR_GRACE", "NFS4ERR_GRACE")
        assert probe("--reclaim")["reclaim-open"] == "NFS4ERR_NO_GRACE"
        node.wait_out_of_grace()
        after = probe()
        assert (after["open"], after["lock"]) == ("ok", "NFS4ERR_DENIED")
        hold.send_signal(signal.SIGTERM)
        done = lines.until("done", 20)
        assert done == {**done, "recoveries": 1, "failed": False}
        assert hold.wait(10) == 0
        print(json.dumps({"before": before, "in_grace": in_grace, "after": after,
                          "recovered": recovered}, indent=1))  # fmt: skip
    finally:
        if hold.poll() is None:
            hold.kill()
            hold.wait(10)
        node.stop()
