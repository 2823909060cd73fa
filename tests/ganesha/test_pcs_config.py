"""The pcs commands, run by pcs itself against a CIB file, give the CIB the XML gives.

pcs 0.11 (Debian 12) edits a copy of the CIB with ``pcs -f FILE``, no
cluster needed; it reads each agent's meta-data, so it runs in a private
mount namespace where the ganesha agents are installed
(:mod:`tests.ganesha.pcs_namespace`).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from ganesha_agents.config import ClusterSpec, Layout, NodeAddress, cib, pcs, plan
from ganesha_agents.config.offline import OfflineCluster
from ocfkit.shims import install

ROOT = Path(__file__).resolve().parent.parent.parent
NODES = ("node1", "node2")


pytestmark = [
    pytest.mark.real,
    pytest.mark.skipif(os.geteuid() != 0, reason="a mount namespace needs root"),
    pytest.mark.skipif(shutil.which("pcs") is None, reason="pcs absent (./dev installs it)"),
]


def providers(directory: Path) -> Path:
    """The ganesha provider: the package's agents, installed as shims."""
    install(
        "ganesha",
        ["ganesha_mon", "ganesha_grace", "ganesha_takeover", "ganesha_nfsd"],
        ocf_root=directory,
    )
    return directory / "resource.d"


def run_pcs(tmp_path: Path, spec: ClusterSpec, config_of=plan) -> OfflineCluster:  # type: ignore[no-untyped-def]
    """The pcs lines for ``spec`` run against a CIB file of a cluster with its nodes."""
    target = OfflineCluster(tmp_path / "pcs", [node.name for node in spec.nodes])
    argvs = pcs.commands(config_of(spec), str(target.path))
    assert argvs[0][:3] == ("pcs", "cluster", "cib") and argvs[-1][:3] == (
        "pcs",
        "cluster",
        "cib-push",
    )
    commands = tmp_path / "commands.json"
    commands.write_text(json.dumps([list(argv) for argv in argvs[1:-1]]))
    namespace = ["unshare", "--mount", "--propagation", "private", "--"]
    driver = [sys.executable, "-m", "tests.ganesha.pcs_namespace"]
    done = subprocess.run(
        [*namespace, *driver, str(providers(tmp_path / "ocf")), str(commands)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    results = json.loads(done.stdout)
    failed = [r for r in results if r["rc"] != 0]
    assert not failed, failed
    assert len(results) == len(argvs) - 2
    return target


def by_cibadmin(tmp_path: Path, spec: ClusterSpec, config_of=plan) -> OfflineCluster:  # type: ignore[no-untyped-def]
    cluster = OfflineCluster(tmp_path / "xml", [node.name for node in spec.nodes])
    cluster.load(cib.render(config_of(spec)))
    return cluster


def configuration(cluster: OfflineCluster) -> set[tuple[str, str, tuple[tuple[str, str], ...]]]:
    """(tag, parent id, attributes) of every element under resources and constraints."""
    found = set()
    for section in ("resources", "constraints", "crm_config"):
        (root,) = cluster.xpath(f"/cib/configuration/{section}")
        for element in root.iter():
            parent = element.getparent()
            found.add(
                (
                    str(element.tag),
                    str(parent.get("id", parent.tag) if parent is not None else ""),
                    tuple(sorted((str(k), str(v)) for k, v in element.attrib.items())),
                )
            )
    return found


@pytest.mark.parametrize(
    ("layout", "state"),
    [
        # The volume given to ganesha_takeover alone.
        (Layout.TAKEOVER, {"nfsd_mode": "none"}),
        (Layout.GLUSTER_37, {}),
        # The nfs-state clone (ganesha_nfsd), its orders and colocations.
        (Layout.TAKEOVER, {"ha_vol_mnt": "/srv/ganesha", "nfsd_mode": "direct"}),
        (Layout.GLUSTER_37, {"ha_vol_mnt": "/srv/ganesha"}),
    ],
)
def test_pcs_builds_the_same_cib_as_the_xml(
    tmp_path: Path, layout: Layout, state: dict[str, object]
) -> None:
    takeover_options: dict[str, object] = dict(state)
    if layout is Layout.TAKEOVER:
        takeover_options |= {"ha_vol_mnt": "/srv/ganesha", "grace_budget": 4}
    spec = ClusterSpec(
        nodes=[NodeAddress(name, f"192.168.77.{201 + i}") for i, name in enumerate(NODES)],
        layout=layout,
        properties=True,
        stonith_enabled=False,
        **takeover_options,  # type: ignore[arg-type]
    )
    by_pcs = run_pcs(tmp_path, spec)
    assert by_pcs.verify() == ""
    built = configuration(by_pcs)
    assert len(built) > 60
    assert built == configuration(by_cibadmin(tmp_path, spec))
