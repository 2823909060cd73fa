"""A three-node cluster comes up, runs a notify clone of an ocfkit agent, and leaves no trace."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from ocfkit.lab import Lab, network, processes
from ocfkit.lab.progress import Progress

pytestmark = [pytest.mark.real, pytest.mark.lab]

CLONE = """\
<clone id="dummy-clone">
  <meta_attributes id="dummy-clone-meta">
    <nvpair id="dummy-clone-notify" name="notify" value="true"/>
    <nvpair id="dummy-clone-interleave" name="interleave" value="true"/>
  </meta_attributes>
  <primitive id="dummy" class="ocf" provider="ocfkit" type="dummy">
    <operations>
      <op id="dummy-monitor" name="monitor" interval="10s" timeout="20s"/>
    </operations>
  </primitive>
</clone>
"""


def _mounts_mentioning(*needles: str) -> list[str]:
    text = Path("/proc/self/mountinfo").read_text()
    return [line for line in text.splitlines() if any(n in line for n in needles)]


def test_cluster_runs_a_notify_clone_and_down_leaves_nothing(
    workdir: Path, up: Callable[[Lab], Lab]
) -> None:
    host_sbin = sorted(os.listdir("/usr/sbin"))
    host_providers = sorted(os.listdir("/usr/lib/ocf/resource.d"))
    lab = Lab(workdir, 3, progress=Progress())
    started = time.monotonic()
    up(lab)
    try:
        up_seconds = time.monotonic() - started
        status = lab.status()
        assert sorted(status.online()) == ["node1", "node2", "node3"]
        assert status.dc in lab.nodes
        assert status.quorate
        assert all(lab.membership(node) == 3 for node in lab.nodes)
        for node in lab.nodes:
            assert lab.exec(node, ["hostname"], check=True).stdout.strip() == node
            # each node has its own network: its address and nothing of the host's
            shown = lab.exec(node, ["ip", "-4", "-o", "addr", "show", "dev", "eth0"]).stdout
            assert f" {lab.node_address(node)}/24 " in shown

        lab.install_agents("ocfkit", ["dummy"])
        lab.load_cib(CLONE)
        lab.wait_for(
            lambda: lab.status().started_on("dummy-clone") == list(lab.nodes),
            30,
            "dummy-clone started on every node",
        )
        # Once the transition is over, the start notifications went through the
        # shim on every node.
        lab.wait_for(lab.idle, 30, "the DC idle")
        for node in lab.nodes:
            log = (lab.node_dir(node) / "log-pacemaker" / "pacemaker.log").read_text()
            assert "Result of notify operation for dummy on" in log, lab.logs(node)
        records = lab.state().processes
        inodes = list(lab.state().namespaces.values())
        assert records and all(processes.is_alive(r.id) for r in records)
    finally:
        started = time.monotonic()
        lab.down()
        down_seconds = time.monotonic() - started

    assert network.existing(lab.layout.prefix) == []
    assert [r for r in records if processes.is_alive(r.id)] == []
    assert processes.in_namespaces(inodes) == []
    assert _mounts_mentioning(str(workdir), lab.layout.prefix) == []
    assert sorted(os.listdir("/usr/sbin")) == host_sbin
    assert sorted(os.listdir("/usr/lib/ocf/resource.d")) == host_providers
    # A second down finds nothing to do and does not fail.
    lab.down()
    print(f"up {up_seconds:.2f}s, down {down_seconds:.2f}s")


def test_another_process_can_take_the_lab_down(workdir: Path) -> None:
    """``down`` through a fresh :class:`Lab` works from the state file alone."""
    with Lab(workdir, 2, fencing=False, progress=Progress()) as lab:
        holders = [r for r in lab.state().processes if r.role == "holder"]
        assert len(holders) == 2
        Lab.attach(workdir).down(graceful=False)
        assert network.existing(lab.layout.prefix) == []
        assert not any(processes.is_alive(r.id) for r in holders)
    # leaving the block took down a lab that was already down: nothing to do, no error
