"""Writes the crm_mon XML fixtures of ``tests/ganesha/test_status.py`` (tests/data/status).

Each fixture is what ``crm_mon -1 --output-as=xml --include=attributes,failures``
(the query ``ganesha-agents status`` makes) prints for a three-node cluster
with the generated takeover configuration (or GlusterFS 3.7's), driven into
a state by Pacemaker's own scheduler on a CIB file (``crm_simulate``, as in
:mod:`ganesha_agents.config.offline`).  A CIB file has no running
controller, so crm_mon reports no DC: the generator writes the DC a live
cluster would report (node1, with quorum), and nothing else by hand.

Run ``python -m tests.ganesha.status_fixtures DIR`` with Pacemaker's
command-line tools installed; the fixtures are committed so that the unit
tests need none.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

from lxml import etree

from ganesha_agents.config import Layout, cib, plan
from ganesha_agents.config.moves import numbered_spec
from ganesha_agents.config.offline import OfflineCluster

QUERY = ("crm_mon", "-1", "--output-as=xml", "--include=attributes,failures")
ATTRIBUTES = ("ganesha-active", "grace-active")


def crm_mon(cluster: OfflineCluster) -> bytes:
    env = dict(os.environ, CIB_file=str(cluster.path))
    done = subprocess.run(QUERY, env=env, capture_output=True, timeout=60, check=True)
    root = etree.fromstring(done.stdout)
    dc = root.find("summary/current_dc")
    if dc is not None:
        dc.attrib.clear()
        dc.attrib.update(
            {
                "present": "true",
                "version": "2.1.5-a3f44794f94",
                "name": "node1",
                "id": "1",
                "with_quorum": "true",
                "mixed_version": "false",
            }
        )
    for node in root.iterfind("nodes/node"):
        node.set("is_dc", "true" if node.get("name") == "node1" else "false")
    return etree.tostring(root) + b"\n"


def running(directory: Path, layout: Layout = Layout.TAKEOVER) -> OfflineCluster:
    spec = numbered_spec(3, properties=True, layout=layout)
    cluster = OfflineCluster(directory, [node.name for node in spec.nodes])
    cluster.load(cib.render(plan(spec)))
    cluster.add_fencing()
    cluster.everywhere(*ATTRIBUTES)
    cluster.settle()
    return cluster


def kill(cluster: OfflineCluster, node: str) -> None:
    """What ganesha_mon's watcher does when ganesha.nfsd dies."""
    for name in ATTRIBUTES:
        cluster.delete(node, name)


def generate(out: Path, work: Path) -> None:
    base = running(work / "base")
    states: dict[str, OfflineCluster] = {"healthy": base}

    dead = states["daemon-dead"] = base.copy(work / "dead")
    kill(dead, "node2")
    dead.settle()

    fenced = states["node-fenced"] = base.copy(work / "fenced")
    fenced.step("--node-fail", "node2")
    fenced.settle()

    away = states["vip-away"] = base.copy(work / "away")
    away.move("node2-cluster_ip-1", "node3")
    away.settle()

    standby = states["standby"] = base.copy(work / "standby")
    standby.standby("node3")
    standby.settle()

    failed = states["failed-action"] = base.copy(work / "failed")
    kill(failed, "node2")
    failed.step("--op-fail", "node2-takeover_promote_0@node1=1")
    failed.record_failure("node2-takeover", "node1", "promote")
    failed.settle()

    states["healthy-3.7"] = running(work / "gluster37", Layout.GLUSTER_37)

    for name, cluster in states.items():
        (out / f"{name}.xml").write_bytes(crm_mon(cluster))


def main() -> None:
    out = Path(sys.argv[1])
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as work:
        generate(out, Path(work))


if __name__ == "__main__":
    main()
