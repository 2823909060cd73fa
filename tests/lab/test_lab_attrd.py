"""The attribute backend against a real Pacemaker: attrd_updater as the agents run it.

The unit tests replay outputs captured from Pacemaker 2.1.5; this runs the
real tool inside a lab node, through the same CommandRunner the agents use,
so a change in the tool's behaviour shows here first.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest

from ocfkit.lab import Lab

pytestmark = [pytest.mark.real, pytest.mark.lab]

SRC = str(Path(__file__).resolve().parents[2] / "src")

PROGRAM = """
import json, sys
from ganesha_agents.backends.attrd import AttrdAttributeStore
from ocfkit.clock import SystemClock
from ocfkit.deadline import Deadline
from ocfkit.runner import CommandRunner

store = AttrdAttributeStore(CommandRunner(Deadline(SystemClock(), 20.0)))
name, odd = sys.argv[1], sys.argv[2]
seen = {}
seen["never set"] = store.query(name)
store.set(name, "1")
seen["after set"] = store.query(name)
seen["named node"] = store.query(name, node=sys.argv[3])
store.delete(name)
seen["after delete"] = store.query(name)
store.set(name, odd)
seen["odd value"] = store.query(name)
store.delete(name)
seen["unknown node"] = store.query(name, node="no-such-node-anywhere")
print(json.dumps(seen))
"""


def test_attribute_store_against_real_attrd(ganesha_cluster: Lab) -> None:
    lab = ganesha_cluster
    name = f"ocfkit-test-{os.getpid()}"
    odd = 'a "quoted" value; $(touch /tmp/x) `id` -n x'
    done = lab.exec(
        "node1",
        [sys.executable, "-c", PROGRAM, name, odd, "node1"],
        env={"PYTHONPATH": SRC},
        timeout=60,
        check=True,
    )
    seen = json.loads(done.stdout.strip().splitlines()[-1])
    assert seen["never set"] is None
    assert seen["after set"] == "1"
    assert seen["named node"] == "1"
    assert seen["after delete"] == "", "attrd keeps a deleted name with an empty value"
    assert seen["odd value"] == odd, "values travel as one argv element and come back intact"
    # attrd cannot tell a node it never heard of from a deletion there (2.1.5).
    assert seen["unknown node"] == ""


def test_attribute_store_reports_attrd_down(ganesha_cluster: Lab) -> None:
    lab = ganesha_cluster
    lab.stop_pacemaker("node3")
    try:
        done = lab.exec(
            "node3",
            [sys.executable, "-c", PROGRAM, "ocfkit-down", "x", "node3"],
            env={"PYTHONPATH": SRC},
            timeout=60,
        )
    finally:
        lab.start_pacemaker("node3")
    assert done.returncode != 0
    assert "attrd_updater could not query" in done.stderr
    assert "exit 102" in done.stderr or "Connection refused" in done.stderr
