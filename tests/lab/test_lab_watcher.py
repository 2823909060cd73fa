"""ganesha_mon's watcher in a lab node: a real ganesha.nfsd, a real attrd, Pacemaker's log.

The agent is a resource of the lab's cluster, placed on node1: Pacemaker's
executor runs its installed shim (``-IS``, its output captured: a start
whose child kept the pipes would hang), and the watcher learns where
pacemakerd (and so attrd) is.  Its instance uses attribute names of its
own, so the lab's other users are not disturbed.  The executor passes no
``HA_LOGFILE``: the watcher's lines must reach Pacemaker's log through
``PCMK_logfile``.  What is measured, on every run:

- from ``kill -9`` of ganesha.nfsd to attrd answering that grace-active is
  gone (a poller inside the node asks attrd in a loop, so the figure is late
  by at most one query);
- from the daemon's restart to both attributes back at 1.

A second test kills the node's pacemaker-attrd and checks that the watcher
writes the attributes again as soon as the respawned attrd answers.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from ocfkit.lab import Lab

pytestmark = [pytest.mark.real, pytest.mark.lab]

NODE = "node1"
PROVIDER = "watchtest"
SHIM = f"/usr/lib/ocf/resource.d/{PROVIDER}/ganesha_mon"
GRACE_ACTIVE = "wt-grace-active"
GANESHA_ACTIVE = "wt-ganesha-active"
RUNS = 5
DETECTION_LIMIT = 0.2
PACEMAKER_LOG = "/var/log/pacemaker/pacemaker.log"

RESOURCE = "watch-test"
PRIMITIVE = f"""
<primitive id="{RESOURCE}" class="ocf" provider="{PROVIDER}" type="ganesha_mon">
  <instance_attributes id="{RESOURCE}-params">
    <nvpair id="{RESOURCE}-ga" name="ganesha_active" value="{GANESHA_ACTIVE}"/>
    <nvpair id="{RESOURCE}-gr" name="grace_active" value="{GRACE_ACTIVE}"/>
    <nvpair id="{RESOURCE}-gd" name="grace_delay" value="1"/>
  </instance_attributes>
  <operations>
    <op id="{RESOURCE}-monitor" name="monitor" interval="10s" timeout="10s"/>
  </operations>
</primitive>
"""
PLACEMENT = (
    f'<rsc_location id="{RESOURCE}-on-{NODE}" rsc="{RESOURCE}" node="{NODE}" score="INFINITY"/>'
)

# Inside the node: ask attrd in a loop; print "ready" after the first answer,
# then the time at which the attribute first reads as argv[2] wants it.
POLLER = """
import subprocess, sys, time
from xml.etree import ElementTree
name, wanted = sys.argv[1], sys.argv[2]
def value():
    done = subprocess.run(["attrd_updater", "-Q", "-n", name, "--output-as=xml"],
                          capture_output=True, text=True, timeout=10)
    found = ElementTree.fromstring(done.stdout).find("attribute")
    return None if found is None else found.get("value")
first = True
while True:
    current = value()
    if (current == "1") == (wanted == "set"):
        print(time.time(), flush=True)
        break
    if first:
        print("ready", flush=True)
        first = False
"""


def attribute(lab: Lab, name: str) -> str | None:
    done = lab.exec(NODE, ["attrd_updater", "-Q", "-n", name], timeout=15)
    if done.returncode != 0:
        return None
    return done.stdout.rpartition('value="')[2].rstrip('"\n') or ""


def wait_value(lab: Lab, name: str, value: str, timeout: float = 20.0) -> None:
    lab.wait_for(lambda: attribute(lab, name) == value, timeout, f"{name}={value!r}")


def log_lines(lab: Lab, fragment: str) -> list[str]:
    """The node's Pacemaker log lines with this instance's tag that hold ``fragment``."""
    text = (lab.node_dir(NODE) / "log-pacemaker" / "pacemaker.log").read_text(errors="replace")
    return [
        line
        for line in text.splitlines()
        if f"ganesha_mon({RESOURCE})" in line and fragment in line
    ]


class Poller:
    """A poller in the node, started before the event it times."""

    def __init__(self, lab: Lab, name: str, wanted: str) -> None:
        argv = lab.in_node(NODE, [sys.executable, "-I", "-S", "-c", POLLER, name, wanted])
        self.process = subprocess.Popen(argv, stdout=subprocess.PIPE, text=True)
        assert self.process.stdout is not None
        self.first = self.process.stdout.readline().strip()

    def when(self, timeout: float = 20.0) -> float:
        if self.first != "ready":
            return float(self.first)
        assert self.process.stdout is not None
        try:
            out, _ = self.process.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
            raise
        return float(out.strip())


@pytest.fixture
def watched(ganesha_cluster: Lab) -> Iterator[Lab]:
    """ganesha_mon started by Pacemaker on node1 (so its watcher runs there); removed after."""
    lab = ganesha_cluster
    lab.install_agents(PROVIDER, ["ganesha_mon"])
    lab.load_cib(PRIMITIVE)
    lab.load_cib(PLACEMENT)
    try:
        lab.wait_for(lambda: lab.status().started_on(RESOURCE) == [NODE], 60, f"{RESOURCE} up")
        wait_value(lab, GRACE_ACTIVE, "1")
        wait_value(lab, GANESHA_ACTIVE, "1")
        yield lab
    finally:
        lab.start_ganesha(NODE)
        query = lab.query_node()
        lab.exec(query, ["cibadmin", "--delete", "--xml-text", PLACEMENT], timeout=30)
        lab.exec(
            query,
            ["crm_resource", "-r", RESOURCE, "--meta", "-p", "target-role", "-v", "Stopped"],
            timeout=30,
        )
        lab.wait_for(lambda: not lab.status().running_on(RESOURCE), 60, f"{RESOURCE} stopped")
        lab.exec(query, ["cibadmin", "--delete", "--xml-text", PRIMITIVE], timeout=30)
        for name in (GRACE_ACTIVE, GANESHA_ACTIVE):
            lab.exec(NODE, ["attrd_updater", "-D", "-n", name], timeout=15)
        assert not log_lines(lab, "ERROR"), log_lines(lab, "ERROR")


def test_kill_9_is_signalled_within_0_2s_and_a_restart_sets_both_again(watched: Lab) -> None:
    lab = watched
    detections, returns = [], []
    for _ in range(RUNS):
        poller = Poller(lab, GRACE_ACTIVE, "deleted")
        killed = time.time()
        lab.kill_ganesha(NODE)
        detections.append(poller.when() - killed)
        wait_value(lab, GANESHA_ACTIVE, "")
        poller = Poller(lab, GANESHA_ACTIVE, "set")
        restarted = time.time()
        lab.start_ganesha(NODE)
        returns.append(poller.when() - restarted)
        wait_value(lab, GRACE_ACTIVE, "1")
    figures = {
        "kill -9 to grace-active gone (s)": [round(d, 3) for d in detections],
        "restart to ganesha-active back (s)": [round(r, 3) for r in returns],
    }
    print(json.dumps(figures))
    assert max(detections) <= DETECTION_LIMIT, figures
    noticed = log_lines(lab, "ganesha.nfsd is not running: deleting wt-grace-active")
    assert len(noticed) == RUNS, "each death noticed once, in Pacemaker's log, with the tag"
    assert len(log_lines(lab, "deleted wt-ganesha-active 1.")) == RUNS
    assert len(log_lines(lab, "ganesha.nfsd runs: wt-ganesha-active and")) >= RUNS


def attrd_of(lab: Lab) -> int | None:
    record = lab.state().latest(NODE, "pacemakerd")
    assert record is not None
    children = Path(f"/proc/{record.pid}/task/{record.pid}/children").read_text().split()
    for child in children:
        try:
            if Path(f"/proc/{child}/comm").read_text().strip() == "pacemaker-attrd":
                return int(child)
        except OSError:
            continue
    return None


def test_a_restarted_attrd_gets_the_attributes_back_at_once(watched: Lab) -> None:
    lab = watched
    old = attrd_of(lab)
    assert old is not None
    before = len(log_lines(lab, "attrd restarted"))
    killed = time.time()
    os.kill(old, signal.SIGKILL)
    new = lab.wait_for(lambda: (p := attrd_of(lab)) not in (None, old) and p, 30, "a new attrd")
    lab.wait_for(lambda: len(log_lines(lab, "attrd restarted")) > before, 15, "the rewrite")
    wait_value(lab, GRACE_ACTIVE, "1", timeout=30)
    wait_value(lab, GANESHA_ACTIVE, "1", timeout=30)
    back = time.time() - killed
    print(json.dumps({"attrd": [old, new], "kill to both attributes back (s)": round(back, 3)}))
    assert back < 15
