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
from tests.scenarios.ha import HaCluster
from tests.scenarios.stack import TAKEOVER

pytestmark = [pytest.mark.real, pytest.mark.lab]

NODES = 3
#: How long the status may take to see the dead daemon and the moved address.
NOTICE = 60.0


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
    code, healthy = document(ha, "node1")
    assert (code, healthy["verdict"]["state"]) == (0, "ready"), healthy["verdict"]
    assert (
        healthy["cluster"]["local_node"] == "node1" and healthy["cluster"]["layout"] == "takeover"
    )
    node1 = healthy["nodes"][0]
    assert node1["ganesha"]["alive"] is True and node1["ganesha"]["source"] == "pid-file"
    assert node1["grace"] == {"in_grace": False, "source": "dbus", "detail": "get_grace over D-Bus"}
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
    # On node2 itself the pid file is the answer.
    code, there = document(ha, "node2")
    node2 = there["nodes"][1]
    assert code == 1 and (node2["ganesha"]["alive"], node2["ganesha"]["source"]) == (
        False,
        "pid-file",
    )

    ha.restore()
    code, again = document(ha, "node3")
    assert (code, again["verdict"]["state"]) == (0, "ready"), again["verdict"]
