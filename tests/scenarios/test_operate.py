"""The operator's commands on a real cluster: setup, teardown, add, delete, refresh-config.

Four lab nodes with real ganesha.nfsd and the agents installed as shims,
but no resource of ours in the CIB: ``ganesha-agents setup`` configures it,
inside a node, as an operator would.  The tests share the lab and run in
file order; each first makes the state it needs (configured or not) with
the commands themselves.

Run as root: ``PYTHONPATH=src python -m pytest tests/scenarios/test_operate.py -s``.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from lxml import etree

from ganesha_agents import published_grace
from ganesha_agents.config import NodeAddress, cib, failover_targets
from ocfkit.lab.recorder import address_probe
from tests.scenarios import operating
from tests.scenarios.conftest import scenario_cluster
from tests.scenarios.ha import HaCluster
from tests.scenarios.operating import Reader, RuleWatch, ganesha_agents, wait_verdict
from tests.scenarios.paths import wait_out_of_grace
from tests.scenarios.stack import TAKEOVER

pytestmark = [pytest.mark.real, pytest.mark.lab]

STACK = TAKEOVER
NODES = 4
#: Where the commands run, as an operator would run them: on one cluster node.
OPERATOR = "node1"
#: The longest a client may fail to read through an address around a move: the daemon's
#: death noticed (ganesha_mon's monitor), every server in grace (10 s in the lab), the
#: address up elsewhere; on a shared two-core machine.
MAX_GAP = 60.0
#: How long a change may take to reach "ready" (grace periods included).
READY = 180.0
#: How late another node may learn a grace's end: the watcher's poll, a write, a margin.
PUBLISHED_LAG = published_grace.POLL_INTERVAL + 4.0


@pytest.fixture(scope="module")
def bare() -> Iterator[HaCluster]:
    """Four nodes, ganesha running, the agents installed, no configuration loaded."""
    with scenario_cluster(
        STACK, count=NODES, prefix="olab-op-", what="the operations cluster", configure=False
    ) as (cluster, _):
        yield cluster


def setup_arguments(ha: HaCluster) -> list[str]:
    """``setup``'s options for the configuration the scenarios load themselves."""
    spec = ha.spec
    args = ["setup"]
    for node in spec.nodes:
        args += ["--node", f"{node.name}={node.ip}"]
    args += ["--layout", spec.layout.value, "--provider", spec.provider]
    args += ["--cidr-netmask", "24", "--nic", "eth0", "--properties", "--stonith"]
    assert spec.ha_vol_mnt is not None and spec.nfsd_mode is not None
    args += ["--ha-vol-mnt", spec.ha_vol_mnt, "--nfsd-mode", spec.nfsd_mode.value]
    # The lab's state volume is a directory every node sees, not a mount point, which the
    # volume check requires of a real one.
    args += ["--skip-check", "volume", "--pid-file", ha.stack.ganesha_pid_file]
    return [*args, "--timeout", "240"]


def configured(ha: HaCluster) -> bool:
    return any(
        r.get("id") == "nfs-mon-clone" or r.get("type") == "ganesha_mon"
        for r in operating.cib(ha, OPERATOR).iter("primitive", "clone")
    )


def set_up(ha: HaCluster) -> operating.Ran:
    ran = ganesha_agents(ha, OPERATOR, *setup_arguments(ha))
    assert ran.code == 0, ran.out + ran.err
    return ran


def sections(root: etree._Element, *names: str) -> dict[str, set[str]]:
    """Each named configuration section's children, canonical, order left out."""
    return {
        name: {
            etree.tostring(e, method="c14n").decode()
            for e in root.iterfind(f"configuration/{name}/*")
        }
        for name in names
    }


def ids(root: etree._Element, section: str) -> set[str]:
    return {str(e.get("id")) for e in root.iterfind(f"{section}/*")}


def test_setup_from_nothing_to_ready_then_teardown_leaves_nothing(bare: HaCluster) -> None:
    ha = bare
    if configured(ha):
        assert ganesha_agents(ha, OPERATOR, "teardown").code == 0
    before = operating.cib(ha, OPERATOR)
    assert operating.ours_left(before, ha.vips.values()) == []

    ran = set_up(ha)
    print(f"\n--- setup ({ran.seconds:.1f}s, exit {ran.code})\n{ran.out}")
    ready, _ = wait_verdict(ha, "node2", "ready", READY, "ready after setup")
    print(f"ready {ready['_after']}s after setup returned")
    assert ready["cluster"]["layout"] == "takeover"
    assert [v["at_home"] for v in ready["vips"]] == [True] * NODES
    # What setup loaded is exactly the configuration ganesha-agents config generates.
    loaded = operating.cib(ha, OPERATOR)
    plan = etree.fromstring(cib.render(ha.configuration).encode())
    for section in ("resources", "constraints"):
        wanted = ids(plan, section)
        assert ids(loaded, f"configuration/{section}") - {"lab-fence"} == wanted, section
    # Another node sees node2's grace through what node2's watcher publishes,
    # which may lag the server by one poll interval plus an attribute write:
    # it must agree within that bound, not at the same instant.
    wait_verdict(ha, "node3", "ready", PUBLISHED_LAG, "node3 agrees once published")
    code, text = operating.status(ha, "node3")
    assert code == 0, text
    assert operating.verdict_line(text) == "Verdict: ready to survive the loss of any one node"
    ha.restore(timeout=READY)  # every node, address, attribute and server as the scenarios want

    ran = ganesha_agents(ha, OPERATOR, "teardown", "--timeout", "120")
    print(f"\n--- teardown ({ran.seconds:.1f}s, exit {ran.code})\n{ran.out}")
    assert ran.code == 0, ran.out + ran.err
    for node in ha.nodes:
        after = operating.cib(ha, node)
        assert operating.ours_left(after, ha.vips.values()) == [], node
        kept = ("resources", "constraints", "nodes")
        assert sections(after, *kept) == sections(before, *kept), node
    done = ha.lab.exec("node4", ["crm_mon", "-1", "--output-as=xml", "--include=all"], timeout=30)
    shown = etree.fromstring(done.stdout.encode())
    assert [r.get("id") for r in shown.iter("resource")] == ["lab-fence"]
    assert not [
        a.get("name") for a in shown.iter("attribute") if a.get("name") in operating.ATTRIBUTES
    ], done.stdout
    # No address is left on any interface.
    assert set(address_probe(ha.lab, ha.vips.values())().values()) == {()}


def test_add_a_fifth_node_and_delete_it_while_a_client_reads_through_every_vip(
    bare: HaCluster,
) -> None:
    ha = bare
    if not configured(ha):
        set_up(ha)
    ha.restore(timeout=READY)
    homes = {vip: node for node, vip in ha.vips.items()}
    original = operating.cib(ha, OPERATOR)

    with RuleWatch(ha, "node2") as rules, Reader(ha, OPERATOR, ha.vips.values()) as reader:
        ha.lab.wait_for(lambda: len(reader.reads) >= 2 * NODES, 60, "two rounds of reads")
        node5 = ha.add_node()
        vip5 = ha.vip_of(node5)
        ran = ganesha_agents(ha, OPERATOR, "add", f"{node5}={vip5}", "--timeout", "240")
        print(f"\n--- add ({ran.seconds:.1f}s, exit {ran.code})\n{ran.out}")
        assert ran.code == 0, ran.out + ran.err

        def holders() -> tuple[str, ...]:
            held = address_probe(ha.lab, [vip5])()[vip5]
            assert isinstance(held, tuple)
            return tuple(map(str, held))

        ha.lab.wait_for(lambda: holders() == (node5,), 120, f"{vip5} up on {node5}")
        wait_verdict(ha, OPERATOR, "ready", READY, "ready with five nodes")
        reader.read_also(vip5)
        ha.lab.wait_for(
            lambda: f"served by {node5}" in reader.served(vip5), 60, f"a read through {vip5}"
        )

        # The new address moves as the others do: its server dies, a survivor takes it over.
        nodes5 = (*ha.spec.nodes, NodeAddress(node5, vip5))
        target = failover_targets(nodes5, nodes5[-1])[0]
        killed = time.time()
        ha.lab.kill_ganesha(node5)
        ha.lab.wait_for(lambda: holders() == (target,), 120, f"{vip5} moved to {target}")
        ha.lab.wait_for(
            lambda: f"served by {target}" in reader.served(vip5, since=killed),
            120,
            f"a read through {vip5} served by {target}",
        )
        moved = time.time()

        reader.read_no_more(vip5)
        ran = ganesha_agents(ha, OPERATOR, "delete", node5, "--no-wait")
        print(f"\n--- delete ({ran.seconds:.1f}s, exit {ran.code})\n{ran.out}")
        assert ran.code == 0, ran.out + ran.err
        ha.lab.wait_for(lambda: holders() == (), 120, f"{vip5} gone")
        ha.lab.remove_node()
        ha.restore(timeout=READY)
        ready, _ = wait_verdict(ha, OPERATOR, "ready", READY, "ready with four nodes again")
        ha.lab.wait_for(
            lambda: all(r.ok for r in reader.reads[-NODES:]) and len(reader.reads) > NODES,
            60,
            "a full round of good reads",
        )

    assert [n["name"] for n in ready["nodes"]] == list(ha.nodes)
    assert reader.errors == [] and rules.errors == [], (reader.errors, rules.errors)
    assert rules.violations == [], rules.violations
    assert f"{node5}-cluster_ip-1" in rules.vips_seen and rules.samples > 10, rules.samples
    figures = {}
    for vip, home in homes.items():
        gaps = reader.gaps(vip)
        figures[vip] = [(round(g.start - killed, 1), round(g.seconds, 1)) for g in gaps]
        assert all(g.seconds <= MAX_GAP for g in gaps), (vip, gaps)
        assert reader.served(vip) == [f"served by {home}"], (vip, reader.served(vip))
    vip5_gaps = [g for g in reader.gaps(vip5) if g.start < moved]
    figures[vip5] = [(round(g.start - killed, 1), round(g.seconds, 1)) for g in vip5_gaps]
    assert all(g.seconds <= MAX_GAP for g in vip5_gaps), vip5_gaps
    assert reader.served(vip5) == [f"served by {node5}", f"served by {target}"]
    print(f"\nreads: {len(reader.reads)}; CIB samples: {rules.samples}")
    print(f"failed-read gaps (start after the kill, length), seconds: {figures}")
    # add then delete leave the configuration as it was.
    after = operating.cib(ha, OPERATOR)
    kept = ("resources", "constraints")
    assert sections(after, *kept) == sections(original, *kept)


def _export_block(export_id: int, path: Path, pseudo: str) -> str:
    return f"""
EXPORT {{
    Export_Id = {export_id};
    Path = {path};
    Pseudo = {pseudo};
    Protocols = 4;
    Transports = TCP;
    Squash = No_Root_Squash;
    SecType = sys;
    Access_Type = None;
    CLIENT {{
        Clients = 192.168.77.0/24;
        Access_Type = RW;
    }}
    FSAL {{
        Name = VFS;
    }}
}}
"""


def test_refresh_config_on_every_node(bare: HaCluster) -> None:
    ha = bare
    # A read through an export is refused while the server is in grace (a new lab starts so).
    wait_out_of_grace(ha, list(ha.nodes))
    outputs: dict[str, list[str]] = {}
    for node in ha.nodes:
        home = ha.lab.node_dir(node) / "ganesha"
        second = home / "export2"
        second.mkdir(exist_ok=True)
        (second / "who2").write_text(f"export 3 of {node}\n")
        # What the lab exports (1: the shared directory, 2: the node's own), and a third.
        shared = _export_block(1, ha.shared, "/export")
        own = _export_block(2, home / "export", "/node")
        every = home / "exports.conf"
        every.write_text(shared + own + _export_block(3, second, "/export2"))
        first = home / "exports-as-started.conf"
        first.write_text(shared + own)
        moved = home / "export1-moved.conf"
        moved.write_text(_export_block(1, second, "/export"))
        url = f"nfs://{ha.lab.node_address(node)}/export2/who2?version=4"
        client = ha.client_for(node)

        outputs[node] = []

        def refresh(*args: str, node: str = node) -> operating.Ran:
            ran = ganesha_agents(ha, node, "refresh-config", *args, timeout=60)
            outputs[node].extend(ran.out.splitlines())
            return ran

        ran = refresh("--exports", str(every))
        assert ran.code == 0, ran.out + ran.err
        lines = ran.out.splitlines()
        assert [line.split(":")[0:2] for line in lines] == [
            [node, " export 1 updated"],
            [node, " export 2 updated"],
            [node, " export 3 added"],
        ], lines
        read = ha.lab.exec(client, ["nfs-cat", url], timeout=30)
        assert (read.returncode, read.stdout) == (0, f"export 3 of {node}\n"), read.stderr
        # Again: all three exist now, all three are updated.
        ran = refresh("--exports", str(every))
        assert ran.code == 0 and [ln.split(":")[1] for ln in ran.out.splitlines()] == [
            " export 1 updated",
            " export 2 updated",
            " export 3 updated",
        ], ran.out
        # A Path cannot change live: ganesha refuses, and says so.
        ran = refresh("--exports", str(moved))
        assert ran.code == 1 and ran.out.startswith(f"{node}: export 1 NOT updated"), ran.out
        ran = refresh("--exports", str(first), "--remove", "3")
        assert ran.code == 0, ran.out + ran.err
        assert [ln.split(":")[1] for ln in ran.out.splitlines()] == [
            " export 1 updated",
            " export 2 updated",
            " export 3 removed",
        ], ran.out
        gone = ha.lab.exec(client, ["nfs-cat", url], timeout=30)
        assert gone.returncode != 0, gone.stdout
        # The lab's own exports still serve.
        kept = ha.nfs_read(client, ha.lab.node_address(node))
        assert (kept.returncode, kept.stdout) == (0, f"served by {node}\n"), kept.stderr
    for node, lines in outputs.items():
        print(f"\n--- refresh-config on {node}\n" + "\n".join(lines))
