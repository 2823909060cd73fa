"""The generated cluster configuration in GlusterFS 3.7's layout, and what is common to both.

Its text, and what Pacemaker's scheduler does with it.  The takeover layout's
own tests are in ``test_takeover_config.py``.

The ``real`` tests load the XML the documented way into a CIB file and run
Pacemaker 2.1.5's own scheduler on it (crm_verify, crm_simulate), node
attributes and failures included; see :mod:`ganesha_agents.config.offline`.
"""

from __future__ import annotations

import shlex
from pathlib import Path

import pytest
from click.testing import CliRunner
from lxml import etree

from ganesha_agents.config import (
    ClusterSpec,
    Layout,
    NodeAddress,
    Timing,
    cib,
    failover_targets,
    pcs,
    plan,
    preferences,
)
from ganesha_agents.config.offline import OfflineCluster, Transition, iso
from ganesha_agents.config_cli import config_command

DATA = Path(__file__).parent.parent / "data" / "cluster-config"
NODES = ("node1", "node2", "node3", "node4")
GA, GRA = "ganesha-active", "grace-active"
F = pcs.DEFAULT_CIB_FILE


def spec_for(count: int = 4, **options: object) -> ClusterSpec:
    """``count`` nodes in the 3.7 layout, unless ``layout`` says otherwise."""
    nodes = [NodeAddress(f"node{i}", f"192.168.77.{200 + i}") for i in range(1, count + 1)]
    options.setdefault("layout", Layout.GLUSTER_37)
    return ClusterSpec(nodes=nodes, **options)  # type: ignore[arg-type]


def vip(node: str) -> str:
    return f"{node}-cluster_ip-1"


# --- the failover order ------------------------------------------------------------------


def test_scores_follow_ganesha_ha_sh() -> None:
    spec = spec_for()
    node2 = spec.nodes[1]
    # Rotated order after node2: node3, node4, then node1; node2 itself highest.
    assert preferences(spec.nodes, node2) == (
        ("node3", 1000),
        ("node4", 2000),
        ("node1", 3000),
        ("node2", 4000),
    )
    assert failover_targets(spec.nodes, node2) == ("node1", "node4", "node3")


@pytest.mark.parametrize(
    ("home", "target"),
    [("node1", "node4"), ("node2", "node1"), ("node3", "node2"), ("node4", "node3")],
)
def test_first_failover_target_is_the_node_listed_before_home(home: str, target: str) -> None:
    spec = spec_for()
    node = next(n for n in spec.nodes if n.name == home)
    assert failover_targets(spec.nodes, node)[0] == target


# --- the XML ------------------------------------------------------------------------------


def test_xml_is_deterministic_well_formed_and_ids_are_unique() -> None:
    text = cib.render(plan(spec_for()))
    assert text == cib.render(plan(spec_for()))
    root = etree.fromstring(text.encode())
    assert root.tag == "configuration"
    assert [child.tag for child in root] == ["resources", "constraints"]
    ids = [element.get("id") for element in root.iter() if element.get("id") is not None]
    assert len(ids) == len(set(ids))


def test_xml_matches_the_golden_file() -> None:
    spec = spec_for(3, properties=True, stonith_enabled=False)
    assert cib.render(plan(spec)) == (DATA / "three-nodes-3.7.xml").read_text()


def test_notify_is_on_the_clone_not_the_primitive() -> None:
    root = cib.build(plan(spec_for()))
    owners = root.xpath("//nvpair[@name='notify']/../..")
    assert isinstance(owners, list) and len(owners) == 1
    owner = owners[0]
    assert isinstance(owner, etree._Element)
    assert (owner.tag, owner.get("id")) == ("clone", "nfs-grace-clone")


def test_rules_ban_missing_or_other_values() -> None:
    root = cib.build(plan(spec_for(2)))
    rules = {
        loc.get("rsc"): [
            (e.get("attribute"), e.get("operation"), e.get("value")) for e in loc.iter("expression")
        ]
        for loc in root.iter("rsc_location")
        if loc.find("rule") is not None
    }
    assert rules == {
        "nfs-grace-clone": [(GRA, "not_defined", None), (GRA, "ne", "1")],
        vip("node1"): [(GA, "not_defined", None), (GA, "ne", "1")],
        vip("node2"): [(GA, "not_defined", None), (GA, "ne", "1")],
    }
    assert {r.get("boolean-op") for r in root.iter("rule")} == {"or"}
    assert {r.get("score") for r in root.iter("rule")} == {"-INFINITY"}


def test_failure_timeout_and_stickiness() -> None:
    root = cib.build(plan(spec_for(2)))
    assert root.xpath("string(//primitive[@id='nfs-grace']//nvpair/@value)") == "60s"
    assert root.xpath("//nvpair[@name='resource-stickiness']/@value") == ["0", "0"]
    no_timeout = cib.build(plan(spec_for(2, failure_timeout=0)))
    assert not no_timeout.xpath("//nvpair[@name='failure-timeout']")


def test_other_attribute_names_reach_both_agents_and_the_rules() -> None:
    root = cib.build(plan(spec_for(2, ganesha_active="ga", grace_active="gr", grace_delay=3)))
    params = {
        p.get("id"): {nv.get("name"): nv.get("value") for nv in p.iter("nvpair")}
        for p in root.iter("primitive")
        if p.get("type", "").startswith("ganesha_")
    }
    assert params["nfs-mon"] == {"ganesha_active": "ga", "grace_active": "gr", "grace_delay": "3"}
    assert params["nfs-grace"]["grace_active"] == "gr"
    assert {e.get("attribute") for e in root.iter("expression")} == {"ga", "gr"}


@pytest.mark.parametrize(("count", "quorum"), [(2, True), (3, False)])
def test_properties_only_when_asked(count: int, quorum: bool) -> None:
    assert plan(spec_for(count)).properties == ()
    properties = dict(plan(spec_for(count, properties=True)).properties)
    assert properties.pop("stonith-enabled") == "true"
    assert properties == ({"no-quorum-policy": "ignore"} if quorum else {})


def test_ipv6_defaults_to_a_host_prefix() -> None:
    spec = ClusterSpec(nodes=[NodeAddress("a", "fd00::10"), NodeAddress("b", "fd00::11")])
    root = cib.build(plan(spec))
    assert root.xpath("//nvpair[@name='cidr_netmask']/@value") == ["128", "128"]


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"nodes": [NodeAddress("a", "10.0.0.1"), NodeAddress("a", "10.0.0.2")]}, "node a"),
        ({"nodes": [NodeAddress("a", "10.0.0.1"), NodeAddress("b", "10.0.0.1")]}, "10.0.0.1"),
        ({"nodes": []}, "at least one"),
        ({"cidr_netmask": 33}, "does not fit"),
        ({"grace_delay": 9}, "between 0 and 8s"),
        ({"grace_delay": 14, "mon_monitor": Timing(10, 15)}, "between 0 and 13s"),
        ({"vip_agent": "IPaddr2"}, "is not an agent"),
        ({"ganesha_active": "x", "grace_active": "x"}, "different"),
        ({"failure_timeout": -1}, "negative"),
    ],
)
def test_spec_rejects(options: dict[str, object], message: str) -> None:
    arguments: dict[str, object] = {"nodes": [NodeAddress("a", "10.0.0.1")], **options}
    with pytest.raises(ValueError, match=message):
        ClusterSpec(**arguments)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "text", ["node1", "=10.0.0.1", "node1=", "node1=10.0.0.300", "1x=10.0.0.1"]
)
def test_node_address_rejects(text: str) -> None:
    with pytest.raises(ValueError):
        NodeAddress.parse(text)


# --- pcs ----------------------------------------------------------------------------------


def test_pcs_edits_a_copy_and_pushes_it_once() -> None:
    argvs = pcs.commands(plan(spec_for()))
    assert argvs[0] == ("pcs", "cluster", "cib", F)
    assert argvs[-1] == ("pcs", "cluster", "cib-push", F, "--config")
    assert all(argv[:3] == ("pcs", "-f", F) for argv in argvs[1:-1])


def test_pcs_commands() -> None:
    lines = pcs.script(plan(spec_for())).splitlines()
    expected = [
        f"pcs -f {F} resource create nfs-grace ocf:ganesha:ganesha_grace op start interval=0s "
        "timeout=40s stop interval=0s timeout=40s notify interval=0s timeout=10s monitor "
        "interval=5s timeout=10s meta failure-timeout=60s --no-default-ops",
        f"pcs -f {F} resource clone nfs-grace",
        f"pcs -f {F} resource meta nfs-grace-clone notify=true",
        f"pcs -f {F} resource create node1-cluster_ip-1 ocf:heartbeat:IPaddr2 ip=192.168.77.201 "
        "cidr_netmask=32 op start interval=0s timeout=20s stop interval=0s timeout=20s monitor "
        "interval=15s timeout=20s meta resource-stickiness=0 --no-default-ops",
        f"pcs -f {F} constraint location nfs-grace-clone rule "
        "constraint-id=location-nfs-grace-clone-grace-active score=-INFINITY "
        "not_defined grace-active or grace-active ne 1",
        f"pcs -f {F} constraint location node2-cluster_ip-1 prefers "
        "node3=1000 node4=2000 node1=3000 node2=4000",
        f"pcs -f {F} constraint order start nfs-grace-clone then start node2-cluster_ip-1 "
        "kind=Optional id=order-nfs-grace-clone-node2-cluster_ip-1",
        f"pcs -f {F} constraint order stop nfs-grace-clone then start node2-cluster_ip-1 "
        "kind=Optional symmetrical=false id=order-stop-nfs-grace-clone-start-node2-cluster_ip-1",
    ]
    for line in expected:
        assert line in lines
    assert lines.index(expected[1]) == lines.index(expected[0]) + 1


def test_pcs_matches_the_golden_file() -> None:
    spec = spec_for(3, properties=True, stonith_enabled=False)
    assert pcs.script(plan(spec)) == (DATA / "three-nodes-3.7.pcs.sh").read_text()


def test_pcs_quotes_for_the_shell() -> None:
    line = pcs.script(plan(spec_for(1)), "my cib.xml").splitlines()[0]
    assert line == "pcs cluster cib 'my cib.xml'"
    assert shlex.split(line)[-1] == "my cib.xml"


def _pcs_constraint_ids(argvs: tuple[tuple[str, ...], ...]) -> set[str]:
    """The constraint ids pcs gives what these commands create (as pcs 0.10-0.12 name them)."""
    ids: set[str] = set()
    for argv in argvs:
        if argv[3:4] != ("constraint",):
            continue
        if argv[4] == "order":
            ids.update(a.removeprefix("id=") for a in argv if a.startswith("id="))
        elif argv[6] == "rule":
            ids.update(a.split("=", 1)[1] for a in argv if a.startswith("constraint-id="))
        else:
            ids.update(f"location-{argv[5]}-{a.replace('=', '-')}" for a in argv[7:])
    return ids


def test_pcs_creates_the_constraints_of_the_xml() -> None:
    config = plan(spec_for())
    root = cib.build(config)
    xml_ids = {c.get("id") for c in root.find("constraints")}  # type: ignore[union-attr]
    assert _pcs_constraint_ids(pcs.commands(config)) == xml_ids


# --- the command --------------------------------------------------------------------------


def test_command_prints_the_xml_and_the_pcs_lines() -> None:
    runner = CliRunner()
    nodes = [f"--node=node{i}=192.168.77.{200 + i}" for i in (1, 2, 3, 4)] + ["--layout=3.7"]
    as_xml = runner.invoke(config_command, nodes)
    as_pcs = runner.invoke(config_command, [*nodes, "--format", "pcs"])
    assert as_xml.exit_code == 0, as_xml.output
    assert as_xml.output == cib.render(plan(spec_for()))
    assert as_pcs.output == pcs.script(plan(spec_for()))


def test_command_options_reach_the_spec(tmp_path: Path) -> None:
    out = tmp_path / "conf.xml"
    result = CliRunner().invoke(
        config_command,
        [
            "--node",
            "a=10.0.0.1",
            "--node",
            "b=10.0.0.2",
            "--layout",
            "3.7",
            "--nic",
            "eth1",
            "--cidr-netmask",
            "24",
            "--failure-timeout",
            "120",
            "--provider",
            "heartbeat",
            "--properties",
            "--no-stonith",
            "-o",
            str(out),
        ],
    )
    assert result.exit_code == 0, result.output
    root = etree.parse(str(out)).getroot()
    assert root.xpath("//primitive[@id='nfs-mon']/@provider") == ["heartbeat"]
    assert root.xpath("//nvpair[@name='nic']/@value") == ["eth1", "eth1"]
    assert root.xpath("//nvpair[@name='cidr_netmask']/@value") == ["24", "24"]
    assert root.xpath("//nvpair[@name='failure-timeout']/@value") == ["120s"]
    assert root.xpath("//nvpair[@name='stonith-enabled']/@value") == ["false"]


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--node", "node1"], "is not NODE=IP"),
        (["--node", "a=10.0.0.1", "--node", "b=10.0.0.1"], "given twice"),
        (["--node", "a=10.0.0.1", "--grace-delay", "9"], "between 0 and 8s"),
        ([], "Missing option"),
    ],
)
def test_command_rejects(arguments: list[str], message: str) -> None:
    result = CliRunner().invoke(config_command, arguments)
    assert result.exit_code == 2
    assert message in result.output


# --- Pacemaker's scheduler on the loaded configuration ---------------------------------------


def loaded(tmp_path: Path, spec: ClusterSpec | None = None) -> OfflineCluster:
    spec = spec or spec_for()
    cluster = OfflineCluster(tmp_path, [node.name for node in spec.nodes])
    cluster.load(cib.render(plan(spec)))
    return cluster


def running(tmp_path: Path, spec: ClusterSpec | None = None) -> tuple[OfflineCluster, Transition]:
    """A cluster where every ganesha.nfsd runs, after the transitions that start everything."""
    cluster = loaded(tmp_path, spec)
    cluster.everywhere(GA, GRA)
    return cluster, cluster.settle()


def kinds(transition: Transition) -> set[tuple[str | None, str, str | None]]:
    """(resource, operation, node) of every change but notifications."""
    return {
        (a.resource and a.resource.split(":")[0], a.operation, a.node)
        for a in transition.changes()
        if a.operation != "notify"
    }


@pytest.mark.real
def test_crm_verify_accepts_it(tmp_path: Path) -> None:
    cluster = loaded(tmp_path, spec_for(4, properties=True, stonith_enabled=False))
    assert cluster.verify() == ""
    assert len(cluster.xpath("//configuration/nodes/node")) == 4


@pytest.mark.real
def test_loading_keeps_what_is_there_and_can_be_repeated(tmp_path: Path) -> None:
    cluster = OfflineCluster(tmp_path, NODES)
    cluster.add("resources", '<primitive id="fence" class="stonith" type="fence_dummy"/>')
    document = cib.render(plan(spec_for()))
    cluster.load(document)
    cluster.load(document)
    assert cluster.xpath("//primitive[@id='fence']")
    assert len(cluster.xpath("//rsc_location[@id='location-nfs-grace-clone-grace-active']")) == 1
    assert len(cluster.xpath("//rsc_order")) == 8
    assert len(cluster.xpath("//configuration/nodes/node")) == 4


@pytest.mark.real
def test_everything_runs_and_each_ip_is_home(tmp_path: Path) -> None:
    cluster, start = running(tmp_path)
    for node in NODES:
        assert start.placement(vip(node)) == {node}
        (vip_start,) = start.find(vip(node), "start", node)
        assert start.waits_for(vip_start, "nfs-grace-clone_confirmed-post_notify_running_0")
    assert start.placement("nfs-mon") == set(NODES)
    assert start.placement("nfs-grace") == set(NODES)
    assert not cluster.step().changes()


@pytest.mark.real
def test_nothing_but_nfs_mon_starts_before_the_attributes_exist(tmp_path: Path) -> None:
    cluster = loaded(tmp_path)
    start = cluster.settle()
    assert start.placement("nfs-mon") == set(NODES)
    assert start.placement("nfs-grace") == set()
    assert all(start.placement(vip(node)) == set() for node in NODES)


@pytest.mark.real
def test_grace_active_gone_stops_that_instance_and_notifies_the_others(tmp_path: Path) -> None:
    cluster, _ = running(tmp_path)
    cluster.delete("node2", GRA)
    stop = cluster.step()
    assert kinds(stop) == {("nfs-grace", "stop", "node2")}
    assert set(stop.notified("pre", "stop")) == set(NODES)
    post = stop.notified("post", "stop")
    assert set(post) == {"node1", "node3", "node4"}
    assert {env["CRM_meta_notify_stop_uname"] for env in post.values()} == {"node2"}


@pytest.mark.real
@pytest.mark.parametrize(
    ("home", "target"),
    [("node1", "node4"), ("node2", "node1"), ("node3", "node2"), ("node4", "node3")],
)
def test_ganesha_active_gone_moves_the_ip_to_the_node_before(
    tmp_path: Path, home: str, target: str
) -> None:
    cluster, _ = running(tmp_path)
    cluster.delete(home, GRA)
    cluster.step()
    cluster.delete(home, GA)
    move = cluster.step()
    assert kinds(move) == {(vip(home), "stop", home), (vip(home), "start", target)}
    assert move.placement(vip(home)) == {target}


@pytest.mark.real
def test_second_failure_goes_to_the_next_best_node(tmp_path: Path) -> None:
    cluster, _ = running(tmp_path)
    for node in ("node2", "node1"):
        cluster.delete(node, GRA)
        cluster.delete(node, GA)
        moved = cluster.step()
    assert moved.placement(vip("node1")) == {"node4"}
    assert moved.placement(vip("node2")) == {"node4"}


@pytest.mark.real
def test_failback_grace_first_then_the_ip_comes_home(tmp_path: Path) -> None:
    cluster, _ = running(tmp_path)
    cluster.delete("node2", GRA)
    cluster.step()
    cluster.delete("node2", GA)
    cluster.step()
    cluster.everywhere(GA, GRA)
    back = cluster.step()
    assert back.placement(vip("node2")) == {"node2"}
    assert back.placement("nfs-grace") == set(NODES)
    pre_start = back.notified("pre", "start")
    assert set(pre_start) == {"node1", "node3", "node4"}
    assert {env["CRM_meta_notify_start_uname"] for env in pre_start.values()} == {"node2"}
    (home,) = back.find(vip("node2"), "start", "node2")
    assert back.waits_for(home, "nfs-grace-clone_confirmed-pre_notify_start_0")
    assert not cluster.step().changes()
    assert not cluster.xpath("//lrm_rsc_op[contains(@id, '_last_failure_')]")


@pytest.mark.real
def test_ip_waits_for_grace_when_both_attributes_go_at_once(tmp_path: Path) -> None:
    cluster, _ = running(tmp_path)
    cluster.delete("node2", GRA)
    cluster.delete("node2", GA)
    both = cluster.step()
    (moved,) = both.find(vip("node2"), "start", "node1")
    assert both.waits_for(moved, "nfs-grace-clone_confirmed-post_notify_stopped_0")


@pytest.mark.real
@pytest.mark.parametrize("with_stop_order", [True, False])
def test_fenced_node_ip_waits_for_the_survivors_grace(
    tmp_path: Path, with_stop_order: bool
) -> None:
    cluster = loaded(tmp_path)
    cluster.add("resources", '<primitive id="fence" class="stonith" type="fence_dummy"/>')
    cluster.set_property("stonith-enabled", "true")
    if not with_stop_order:  # the 3.7 configuration's ordering
        for node in NODES:
            cluster.remove(f'<rsc_order id="order-stop-nfs-grace-clone-start-{vip(node)}"/>')
    cluster.everywhere(GA, GRA)
    cluster.settle()
    lost = cluster.step("--node-fail", "node2")
    post = lost.notified("post", "stop")
    assert set(post) == {"node1", "node3", "node4"}
    assert {env["CRM_meta_notify_stop_uname"] for env in post.values()} == {"node2"}
    (moved,) = lost.find(vip("node2"), "start", "node1")
    waits = lost.waits_for(moved, "nfs-grace-clone_confirmed-post_notify_stopped_0")
    assert waits is with_stop_order


@pytest.mark.real
def test_without_fencing_a_lost_node_notifies_nobody(tmp_path: Path) -> None:
    cluster, _ = running(tmp_path)
    lost = cluster.step("--node-fail", "node2")
    assert lost.placement(vip("node2")) == {"node1"}
    assert lost.notified("post", "stop") == {}


def fail_start_on_failback(cluster: OfflineCluster) -> int:
    """node2's daemon dies and comes back, but nfs-grace's start answers 7: when it failed."""
    cluster.delete("node2", GRA)
    cluster.step()
    cluster.delete("node2", GA)
    cluster.step()
    cluster.everywhere(GA, GRA)
    cluster.step("--op-fail", "nfs-grace_start_0@node2=7")
    return cluster.record_start_failure("nfs-grace", "node2")


@pytest.mark.real
def test_failed_start_is_forgotten_after_the_failure_timeout(tmp_path: Path) -> None:
    cluster, _ = running(tmp_path)
    failed = fail_start_on_failback(cluster)
    banned = cluster.step("--set-datetime", iso(failed + 1))
    assert ("nfs-grace", "stop", "node2") in kinds(banned)
    assert "node2" not in banned.placement("nfs-grace")
    assert banned.recheck_by is not None and failed + 60 <= banned.recheck_by <= failed + 61
    assert not cluster.step("--set-datetime", iso(failed + 30)).changes()
    expired = cluster.step("--set-datetime", iso(failed + 61))
    assert kinds(expired) == {
        ("nfs-grace", "clear_failcount", "node2"),
        ("nfs-grace", "start", "node2"),
    }
    assert expired.placement("nfs-grace") == set(NODES)
    assert expired.placement(vip("node2")) == {"node2"}


@pytest.mark.real
def test_expired_failure_brings_no_start_while_grace_active_is_missing(tmp_path: Path) -> None:
    cluster, _ = running(tmp_path)
    failed = fail_start_on_failback(cluster)
    cluster.step("--set-datetime", iso(failed + 1))
    cluster.delete("node2", GRA)
    later = cluster.step("--set-datetime", iso(failed + 3600))
    assert not later.find("nfs-grace", "start")
    assert later.notified("pre", "start") == {}


@pytest.mark.real
def test_without_failure_timeout_the_failed_start_needs_a_cleanup(tmp_path: Path) -> None:
    cluster, _ = running(tmp_path, spec_for(failure_timeout=0))
    failed = fail_start_on_failback(cluster)
    cluster.step("--set-datetime", iso(failed + 1))
    day_later = cluster.step("--set-datetime", iso(failed + 86400))
    assert "node2" not in day_later.placement("nfs-grace")
    assert day_later.recheck_by is None


@pytest.mark.real
def test_nfs_grace_restarting_does_not_restart_the_ip(tmp_path: Path) -> None:
    cluster, _ = running(tmp_path)
    cluster.delete("node3", GRA)
    cluster.step()
    cluster.set("node3", GRA, "1")
    again = cluster.step()
    assert kinds(again) == {("nfs-grace", "start", "node3")}


@pytest.mark.real
def test_ip_comes_home_whatever_the_default_stickiness(tmp_path: Path) -> None:
    cluster, _ = running(tmp_path)
    cluster.load(
        '<configuration><rsc_defaults><meta_attributes id="rsc-options">'
        '<nvpair id="rsc-options-resource-stickiness" name="resource-stickiness" '
        'value="INFINITY"/></meta_attributes></rsc_defaults></configuration>'
    )
    cluster.delete("node2", GA)
    assert cluster.step().placement(vip("node2")) == {"node1"}
    cluster.set("node2", GA, "1")
    assert cluster.step().placement(vip("node2")) == {"node2"}


@pytest.mark.real
def test_ne_alone_also_matches_a_missing_attribute(tmp_path: Path) -> None:
    """Why the rules say not_defined OR ne 1: ``ne`` alone works on 2.1.5, undocumented."""
    cluster, _ = running(tmp_path)
    rule = f"location-{vip('node2')}-{GA}-rule"
    cluster.remove(f'<expression id="{rule}-expr"/>')
    assert [e.get("operation") for e in cluster.xpath(f"//rule[@id='{rule}']/expression")] == ["ne"]
    cluster.delete("node2", GA)
    assert cluster.step().placement(vip("node2")) == {"node1"}


@pytest.mark.real
def test_notify_on_the_primitive_would_notify_nobody(tmp_path: Path) -> None:
    """The 3.7 bug (BZ 1461019), shown on the generated configuration moved back to it."""
    cluster, _ = running(tmp_path)
    cluster.remove('<nvpair id="nfs-grace-clone-meta_attributes-notify"/>')
    cluster.modify(
        '<primitive id="nfs-grace"><meta_attributes id="nfs-grace-meta_attributes">'
        '<nvpair id="nfs-grace-meta_attributes-notify" name="notify" value="true"/>'
        "</meta_attributes></primitive>"
    )
    cluster.delete("node2", GRA)
    stop = cluster.step()
    assert kinds(stop) == {("nfs-grace", "stop", "node2")}
    assert not [a for a in stop.actions if a.operation == "notify"]
