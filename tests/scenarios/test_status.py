"""``ganesha-agents status`` on a real cluster: ready, then a ganesha.nfsd killed, then ready again.

Three lab nodes with real ganesha.nfsd, the takeover configuration
``ganesha-agents config`` generates, the agents as installed shims.  The
command runs inside a node, as an operator runs it there: one crm_mon
call, the node's own pid file and D-Bus system bus.

Run as root: ``PYTHONPATH=src python -m pytest tests/scenarios/test_status.py -s``.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Iterator
from typing import Any

import pytest

from tests.scenarios.conftest import scenario_cluster
from tests.scenarios.ha import HaCluster, vip_resource
from tests.scenarios.operating import verdict_line, wait_verdict
from tests.scenarios.stack import TAKEOVER

pytestmark = [pytest.mark.real, pytest.mark.lab]

NODES = 3
#: How long the status may take to see the dead daemon and the moved address.
NOTICE = 60.0
#: How long the cluster may take to be ready again (the servers' 10 s grace included).
READY = 150.0
NOT_READY = "Verdict: NOT ready to survive the loss of any one node: "
#: How long another node's grace may take to show where it is published (a 2 s poll).
PUBLISHED = 5.0


@pytest.fixture(scope="module")
def small() -> Iterator[HaCluster]:
    """Three nodes with the takeover configuration, healthy."""
    with scenario_cluster(TAKEOVER, count=NODES, prefix="olab-st-", what="the status cluster") as (
        cluster,
        _,
    ):
        yield cluster


def status(ha: HaCluster, node: str, *options: str) -> tuple[int, str]:
    """``ganesha-agents status`` run inside ``node``: its exit code and output."""
    argv = [sys.executable, "-m", "ganesha_agents", "status", "--no-colour"]
    argv += ["--pid-file", ha.stack.ganesha_pid_file, *options]
    done = ha.lab.exec(node, argv, timeout=60)
    assert "Traceback" not in done.stderr, done.stderr
    return done.returncode, done.stdout


def document(ha: HaCluster, node: str) -> tuple[int, dict[str, Any]]:
    code, out = status(ha, node, "--json")
    parsed = json.loads(out)
    assert isinstance(parsed, dict)
    return code, parsed


def test_status_follows_a_killed_ganesha_and_its_recovery(small: HaCluster) -> None:
    ha = small
    # Fresh from the fixture, the other servers may still be in their start-up grace,
    # which node1 now sees as they publish it.
    healthy, _ = wait_verdict(ha, "node1", "ready", READY, "ready, seen from node1")
    assert healthy["ok"] is True, healthy["verdict"]
    assert (
        healthy["cluster"]["local_node"] == "node1" and healthy["cluster"]["layout"] == "takeover"
    )
    node1 = healthy["nodes"][0]
    assert node1["ganesha"]["alive"] is True and node1["ganesha"]["source"] == "pid-file"
    assert node1["grace"] == {
        "in_grace": False, "source": "dbus", "detail": "get_grace over D-Bus", "since": None,
    }  # fmt: skip
    assert [v["at_home"] for v in healthy["vips"]] == [True] * NODES
    code, text = status(ha, "node2")
    print(f"\n--- healthy, asked on node2 (exit {code})\n{text}")
    assert code == 0 and "Verdict: ready to survive the loss of any one node" in text, text

    ha.lab.kill_ganesha("node2")
    target = ha.failover_target("node2")
    seen: list[dict[str, Any]] = []
    killed = time.monotonic()
    deadline = killed + NOTICE
    while time.monotonic() < deadline:
        code, now = document(ha, target)
        now["_after"] = round(time.monotonic() - killed, 2)
        seen.append(now)
        problems = now["verdict"]["problems"]
        moved = any(p.startswith(f"node2-cluster_ip-1 runs on {target}") for p in problems)
        if moved and not now["nodes"][ha.nodes.index(target)]["grace"]["in_grace"]:
            break
        time.sleep(0.5)
    states = [
        (s["verdict"]["state"], s["verdict"]["problems"], s["verdict"]["waiting"]) for s in seen
    ]
    last = seen[-1]
    assert code == 1 and last["verdict"]["state"] == "not-ready", states
    assert any(
        p.startswith("node2: ganesha.nfsd is not running") for p in last["verdict"]["problems"]
    ), states
    # The new holder took the address over in grace, and the status, asked there, said so.
    assert any(f"{target}: ganesha.nfsd is in grace" in s["verdict"]["waiting"] for s in seen), (
        states
    )
    dead = next(s["_after"] for s in seen if "node2: ganesha.nfsd is not running" in str(s))
    away = next(s["_after"] for s in seen if "node2-cluster_ip-1 runs on" in str(s))
    print(f"\nseconds after the kill (returned by): daemon dead {dead}, address away {away}")
    code, text = status(ha, target)
    print(f"\n--- node2's ganesha.nfsd killed, asked on {target} (exit {code})\n{text}")
    assert code == 1 and verdict_line(text).startswith(NOT_READY), text
    assert "  - node2: ganesha.nfsd is not running" in text, text
    # On node2 itself the pid file is the answer.
    code, there = document(ha, "node2")
    node2 = there["nodes"][1]
    assert code == 1 and (node2["ganesha"]["alive"], node2["ganesha"]["source"]) == (
        False,
        "pid-file",
    )

    ha.restore()
    # Every server is out of grace by D-Bus; what the others published follows within a poll.
    again, _ = wait_verdict(ha, "node3", "ready", PUBLISHED, "ready again, from node3")
    assert again["ok"] is True, again["verdict"]


def ready_again(ha: HaCluster) -> None:
    """Back to healthy by the cluster's own means, and the status says so."""
    ha.restore(timeout=READY)
    wait_verdict(ha, "node1", "ready", READY, "ready again")
    code, text = status(ha, "node1")
    assert code == 0 and verdict_line(text).endswith("ready to survive the loss of any one node")


def test_status_names_the_server_in_grace(small: HaCluster) -> None:
    """Nothing missing but a server in grace: "not ready yet", naming it, until grace ends.

    Asked on node3, from its own server; asked on node1, from what node3's
    ganesha_mon watcher publishes (``ganesha-grace``), within a few seconds.
    """
    ha = small
    ready_again(ha)
    grace = ["dbus-send", "--system", "--print-reply", "--dest=org.ganesha.nfsd",
             "/org/ganesha/nfsd/admin", "org.ganesha.nfsd.admin.grace", "string:0:"]  # fmt: skip
    started = time.monotonic()
    done = ha.lab.exec("node3", grace, timeout=30)
    assert done.returncode == 0, done.stderr
    seen, _ = wait_verdict(ha, "node3", "in-grace", 30, "in grace on node3")
    assert seen["ok"] is False and seen["verdict"]["problems"] == []
    assert seen["verdict"]["waiting"] == ["node3: ganesha.nfsd is in grace"]
    assert seen["nodes"][2]["grace"] == {
        "in_grace": True, "source": "dbus", "detail": "get_grace over D-Bus", "since": None,
    }  # fmt: skip

    # Asked on node1: node3's grace, as node3's watcher published it.
    def published() -> dict[str, Any] | None:
        _, now = document(ha, "node1")
        return now if now["nodes"][2]["grace"]["in_grace"] else None

    elsewhere = ha.lab.wait_for(published, 30, "node3's grace seen from node1", interval=0.2)
    after = time.monotonic() - started
    print(f"\n--- node3's grace seen from node1 {after:.2f}s after the grace call")
    grace = elsewhere["nodes"][2]["grace"]
    assert grace["source"] == "attribute" and "ganesha-grace=" in grace["detail"], grace
    assert abs(grace["since"] - time.time()) < 60, grace
    assert after <= PUBLISHED, f"published {after:.2f}s after the grace call"
    waiting = elsewhere["verdict"]["waiting"]
    assert "node3: ganesha.nfsd is in grace (as its watcher published)" in waiting, waiting
    assert elsewhere["verdict"]["state"] == "in-grace" and elsewhere["nodes"][0]["local"]
    code, text = status(ha, "node3")
    # The grace period may have ended in between: then the verdict is ready again.
    if time.monotonic() - started < 8:
        assert code == 1 and verdict_line(text) == (
            "Verdict: not ready yet: in NFS grace on node3 (clients reclaim); ready when it ends"
        ), text
    print(f"\n--- node3's ganesha.nfsd in grace, asked there (exit {code})\n{text}")
    over, _ = wait_verdict(ha, "node3", "ready", 60, "grace over on node3")
    print(f"grace over, ready again {over['_after']}s later")
    # The end of the grace is published too: node1 says ready, node3 out of grace.
    there, _ = wait_verdict(ha, "node1", "ready", PUBLISHED, "node3's grace over, from node1")
    assert there["nodes"][2]["grace"]["in_grace"] is False, there["nodes"][2]["grace"]
    assert there["nodes"][2]["grace"]["source"] == "attribute", there["nodes"][2]["grace"]


def test_status_names_a_fenced_node(small: HaCluster) -> None:
    ha = small
    ready_again(ha)
    target = ha.failover_target("node3")
    ha.lab.fence("node3", via="node1")
    ha.lab.wait_for(
        lambda: any(e.target == "node3" and e.succeeded for e in ha.lab.fence_history("node1")),
        60,
        "node3 fenced",
    )

    def moved() -> dict[str, Any] | None:
        code, now = document(ha, "node1")
        vip = next(v for v in now["vips"] if v["resource"] == vip_resource("node3"))
        return now if code == 1 and vip["holders"] == [target] else None

    seen = ha.lab.wait_for(moved, NOTICE, "node3's address moved", interval=0.5)
    node3 = next(n for n in seen["nodes"] if n["name"] == "node3")
    assert node3["membership"] == "offline", node3
    problems = seen["verdict"]["problems"]
    assert seen["verdict"]["state"] == "not-ready" and "node3 is offline" in problems, problems
    assert any(
        p.startswith(f"node3-cluster_ip-1 runs on {target}, away from its home node3 (back when")
        for p in problems
    ), problems
    code, text = status(ha, "node1")
    print(f"\n--- node3 fenced, asked on node1 (exit {code})\n{text}")
    assert code == 1 and verdict_line(text).startswith(NOT_READY), text
    assert "  - node3 is offline" in text, text
    ready_again(ha)


def test_status_names_an_address_moved_by_hand(small: HaCluster) -> None:
    ha = small
    ready_again(ha)
    resource = vip_resource("node2")

    def crm_resource(*args: str) -> None:
        done = ha.lab.exec("node1", ["crm_resource", *args, "--resource", resource], timeout=30)
        assert done.returncode == 0, done.stderr

    crm_resource("--move", "--node", "node3")
    try:

        def away() -> dict[str, Any] | None:
            _, now = document(ha, "node1")
            vip = next(v for v in now["vips"] if v["resource"] == resource)
            return now if vip["holders"] == ["node3"] and not now["verdict"]["waiting"] else None

        seen = ha.lab.wait_for(away, NOTICE + 30, f"{resource} on node3", interval=0.5)
        problems = seen["verdict"]["problems"]
        assert seen["verdict"]["state"] == "not-ready", seen["verdict"]
        assert problems == [
            f"{resource} runs on node3, away from its home node2 (is a crm_resource --move "
            "(cli-prefer) constraint left? crm_resource --clear)"
        ], problems
        code, text = status(ha, "node1")
        print(f"\n--- {resource} moved to node3 by hand, asked on node1 (exit {code})\n{text}")
        assert code == 1 and verdict_line(text) == NOT_READY + "1 problem", text
    finally:
        crm_resource("--clear")
    ready_again(ha)
