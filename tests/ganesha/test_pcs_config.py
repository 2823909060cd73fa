"""The pcs commands, run by pcs itself against a CIB file, give the CIB the XML gives.

pcs 0.11 (Debian 12) edits a copy of the CIB with ``pcs -f FILE``, no
cluster needed; it reads each agent's meta-data, so it runs in a private
mount namespace where the ganesha agents are installed
(:mod:`tests.ganesha.pcs_namespace`).  ganesha_takeover is installed from the
package when it is there, otherwise as a meta-data stand-in that declares
what its design gives it (parameters ip, recovery_root, grace_budget;
start, stop, promote, demote, notify, and a monitor per role).
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
from ocfkit.registry import registered
from ocfkit.shims import install

ROOT = Path(__file__).resolve().parent.parent.parent
NODES = ("node1", "node2")

TAKEOVER_STAND_IN = '''#!/usr/bin/python3
import sys
if sys.argv[1:] != ["meta-data"]:
    sys.exit(3)
print("""<?xml version="1.0"?>
<resource-agent name="ganesha_takeover" version="0">
<version>1.1</version>
<longdesc lang="en">Meta-data stand-in.</longdesc><shortdesc lang="en">stand-in</shortdesc>
<parameters>
<parameter name="ip" unique-group="ip" required="1"><longdesc lang="en">ip</longdesc>
<shortdesc lang="en">ip</shortdesc><content type="string"/></parameter>
<parameter name="recovery_root"><longdesc lang="en">r</longdesc><shortdesc lang="en">r</shortdesc>
<content type="string" default="/var/lib/nfs/ganesha"/></parameter>
<parameter name="grace_budget"><longdesc lang="en">g</longdesc><shortdesc lang="en">g</shortdesc>
<content type="integer" default="3"/></parameter>
</parameters>
<actions>
<action name="start" timeout="20s"/><action name="stop" timeout="20s"/>
<action name="promote" timeout="20s"/><action name="demote" timeout="20s"/>
<action name="notify" timeout="20s"/>
<action name="monitor" timeout="10s" interval="30s" depth="0" role="Promoted"/>
<action name="monitor" timeout="10s" interval="31s" depth="0" role="Unpromoted"/>
<action name="validate-all" timeout="20s"/><action name="meta-data" timeout="5s"/>
</actions>
</resource-agent>""")
'''

pytestmark = [
    pytest.mark.real,
    pytest.mark.skipif(os.geteuid() != 0, reason="a mount namespace needs root"),
    pytest.mark.skipif(shutil.which("pcs") is None, reason="pcs absent (./dev installs it)"),
]


def providers(directory: Path) -> Path:
    """The ganesha provider: the package's agents as shims, ganesha_takeover or its stand-in."""
    names: list[str] = [
        name
        for name in ("ganesha_mon", "ganesha_grace", "ganesha_takeover")
        if name in registered()
    ]
    install("ganesha", names, ocf_root=directory)
    resource_d = directory / "resource.d"
    stand_in = resource_d / "ganesha" / "ganesha_takeover"
    if not stand_in.exists():
        stand_in.write_text(TAKEOVER_STAND_IN)
        stand_in.chmod(0o755)
    return resource_d


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


@pytest.mark.parametrize("layout", [Layout.TAKEOVER, Layout.GLUSTER_37])
def test_pcs_builds_the_same_cib_as_the_xml(tmp_path: Path, layout: Layout) -> None:
    takeover_options: dict[str, object] = {}
    if layout is Layout.TAKEOVER:
        takeover_options = {"recovery_root": "/srv/ganesha", "grace_budget": 4}
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
