"""Fencing is real: a node cut off is fenced by the fake device, and the survivors see it."""

from __future__ import annotations

import pytest

from ocfkit.lab import ClusterStatus, Lab

pytestmark = [pytest.mark.real, pytest.mark.lab]


def _all_online(lab: Lab) -> bool:
    return sorted(lab.status().online()) == list(lab.nodes)


def _sees_offline(lab: Lab, observer: str, node: str) -> ClusterStatus | None:
    status = lab.status(observer)
    return status if not status.nodes[node].online else None


def _done_with(lab: Lab, node: str, observer: str) -> bool:
    """The cluster has finished acting on ``node``'s loss: nothing more will happen to it.

    ``node`` is offline and clean (fenced, nothing pending), and a DC other
    than ``node`` is idle, so its transition, any fencing included, is over.
    When the fenced node was the DC, the survivors elect another, whose first
    transition may fence it a second time (Pacemaker 2.1 does, seconds
    after the requested fencing): a node booted before that is switched off
    again.
    """
    status = lab.status(observer)
    seen = status.nodes[node]
    if seen.online or seen.unclean or seen.pending or status.dc in (None, node):
        return False
    assert status.dc is not None
    answer = lab.exec(observer, ["crmadmin", "--quiet", "--status", status.dc], timeout=15)
    return "S_IDLE" in answer.stdout + answer.stderr


def test_a_node_cut_off_is_fenced_and_comes_back(ganesha_cluster: Lab) -> None:
    lab = ganesha_cluster
    lab.link_down("node3")
    events = lab.wait_for(
        lambda: [e for e in lab.fence_history("node1") if e.target == "node3" and e.succeeded],
        30,
        "node3 fenced",
    )
    assert events[0].action in ("reboot", "off")
    for survivor in ("node1", "node2"):

        def sees_node3_off(observer: str = survivor) -> ClusterStatus | None:
            return _sees_offline(lab, observer, "node3")

        seen = lab.wait_for(sees_node3_off, 15, f"{survivor} sees node3 off")
        assert not seen.nodes["node3"].unclean
        assert sorted(seen.online()) == ["node1", "node2"]
    # The fence agent "switched node3 off": its daemons are gone, its holder is not.
    for role in ("corosync", "pacemakerd", "ganesha", "dbus"):
        assert not lab.is_running("node3", role), role
    assert lab.is_running("node3", "holder")
    assert "reboot node3: done" in lab.layout.fence_log.read_text()

    lab.boot("node3")
    lab.wait_for(lambda: _all_online(lab), 60, "node3 back online")
    assert lab.ganesha_in_grace("node3") is not None


def test_fencing_on_request(ganesha_cluster: Lab) -> None:
    lab = ganesha_cluster
    lab.fence("node2")
    assert not lab.is_running("node2", "pacemakerd")
    lab.wait_for(lambda: "node2" in lab.status("node1").offline(), 15, "node1 sees node2 off")
    assert any(e.target == "node2" and e.succeeded for e in lab.fence_history("node3"))
    lab.wait_for(lambda: _done_with(lab, "node2", "node1"), 60, "the cluster done with node2")
    # Every fencing of node2 the cluster did is over: it may have been fenced twice.
    assert all(e.succeeded for e in lab.fence_history("node1") if e.target == "node2")
    lab.boot("node2")
    lab.wait_for(lambda: _all_online(lab), 60, "node2 back online")
