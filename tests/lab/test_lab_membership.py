"""A node added to a running lab, and removed again, as ``pcs cluster node add/remove`` do."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from ocfkit.lab import Lab, network

pytestmark = [pytest.mark.real, pytest.mark.lab]


def _host_list(lab: Lab) -> str:
    argv = ["crm_resource", "--resource", "lab-fence", "--get-parameter", "pcmk_host_list"]
    return lab.exec("node1", argv, timeout=30, check=True).stdout.strip()


def test_a_node_joins_a_running_cluster_can_be_fenced_and_leaves(
    workdir: Path, up: Callable[[Lab], Lab]
) -> None:
    lab = up(Lab(workdir, 2))
    try:
        assert lab.add_node() == "node3"
        assert list(lab.nodes) == ["node1", "node2", "node3"]
        # Every node's corosync counts it, the cluster sees it online, the fence device covers it.
        for node in lab.nodes:
            assert lab.membership(node) == 3, node
        conf = (lab.node_dir("node1") / "etc-corosync" / "corosync.conf").read_text()
        assert "name: node3" in conf and "ring0_addr: 192.168.77.13" in conf
        assert sorted(lab.status("node1").online()) == ["node1", "node2", "node3"]
        assert _host_list(lab) == "node1 node2 node3"
        # Another process finds it through the state file.
        assert Lab.attach(workdir).nodes == lab.nodes

        lab.fence("node3", via="node1")
        lab.wait_for(
            lambda: any(e.target == "node3" and e.succeeded for e in lab.fence_history("node1")),
            60,
            "node3 fenced",
        )
        lab.boot("node3")
        assert sorted(lab.status("node2").online()) == ["node1", "node2", "node3"]

        namespace = lab.layout.namespace("node3")
        assert lab.remove_node() == "node3"
        assert list(lab.nodes) == ["node1", "node2"]
        assert namespace not in network.existing(lab.layout.prefix)
        lab.wait_for(lambda: lab.membership("node1") == 2, 30, "membership of 2")
        status = lab.status("node2")
        assert sorted(status.nodes) == ["node1", "node2"], status.nodes
        assert sorted(status.online()) == ["node1", "node2"]
        assert _host_list(lab) == "node1 node2"
        assert "node3" not in (lab.node_dir("node2") / "etc-corosync" / "corosync.conf").read_text()
        assert list(Lab.attach(workdir).nodes) == ["node1", "node2"]
        assert not [r for r in lab.state().processes if r.node == "node3"]
    finally:
        lab.down()
    assert not network.existing(lab.layout.prefix)
