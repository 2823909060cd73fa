"""The takeover layout: its text, and every move path through Pacemaker 2.1.5's scheduler.

The ``real`` tests load the XML the documented way into a CIB file and run
crm_verify and crm_simulate on it (:mod:`ganesha_agents.config.offline`),
one transition at a time, as :mod:`ganesha_agents.config.moves` drives the
paths; each test also says what it expects in its own words.
"""

from __future__ import annotations

from collections.abc import Callable
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
    gluster37,
    pcs,
    plan,
    preferences,
    takeover,
)
from ganesha_agents.config.model import Colocation, NodePreference, Order, RuleLocation
from ganesha_agents.config.moves import (
    PATHS,
    Driver,
    Move,
    cost,
    run_path,
    violations,
)
from ganesha_agents.config.offline import OfflineCluster, SimulationError, Transition, iso
from ganesha_agents.config.split import SplitCluster, independent_parts
from ganesha_agents.config_cli import config_command

DATA = Path(__file__).parent.parent / "data" / "cluster-config"
NODES = ("node1", "node2", "node3", "node4")
GA, GRA = "ganesha-active", "grace-active"
F = pcs.DEFAULT_CIB_FILE


def spec_for(count: int = 4, **options: object) -> ClusterSpec:
    nodes = [NodeAddress(f"node{i}", f"192.168.77.{200 + i}") for i in range(1, count + 1)]
    return ClusterSpec(nodes=nodes, **options)  # type: ignore[arg-type]


def vip(node: str) -> str:
    return f"{node}-cluster_ip-1"


def clone(node: str) -> str:
    return f"{node}-takeover-clone"


def xml(spec: ClusterSpec | None = None) -> etree._Element:
    return cib.build(plan(spec or spec_for()))


def one(root: etree._Element, path: str) -> etree._Element:
    found = root.xpath(path)
    assert isinstance(found, list) and len(found) == 1
    (element,) = found
    assert isinstance(element, etree._Element)
    return element


def nvpairs(element: etree._Element, path: str) -> dict[str, str]:
    found = element.xpath(path)
    assert isinstance(found, list)
    return {
        str(nv.get("name")): str(nv.get("value")) for nv in found if isinstance(nv, etree._Element)
    }


# --- the text -----------------------------------------------------------------------------


def test_takeover_is_the_default_layout() -> None:
    assert spec_for().layout is Layout.TAKEOVER
    result = CliRunner().invoke(
        config_command, [f"--node=node{i}=192.168.77.20{i}" for i in (1, 2)]
    )
    assert result.exit_code == 0, result.output
    assert result.output == cib.render(plan(spec_for(2)))
    assert "ganesha_takeover" in result.output
    assert "nfs-grace" not in result.output


def test_layout_37_is_still_there_on_request() -> None:
    nodes = [f"--node=node{i}=192.168.77.20{i}" for i in (1, 2, 3)]
    result = CliRunner().invoke(config_command, [*nodes, "--layout", "3.7", "--format", "pcs"])
    assert result.exit_code == 0, result.output
    assert result.output == pcs.script(plan(spec_for(3, layout=Layout.GLUSTER_37)))
    assert "ganesha_takeover" not in result.output


def test_xml_matches_the_golden_file() -> None:
    spec = spec_for(3, properties=True, stonith_enabled=False)
    assert cib.render(plan(spec)) == (DATA / "three-nodes-takeover.xml").read_text()


def test_pcs_matches_the_golden_file() -> None:
    spec = spec_for(3, properties=True, stonith_enabled=False)
    assert pcs.script(plan(spec)) == (DATA / "three-nodes-takeover.pcs.sh").read_text()


def test_ids_are_unique_and_resources_are_what_the_design_says() -> None:
    root = xml()
    ids = [e.get("id") for e in root.iter() if e.get("id") is not None]
    assert len(ids) == len(set(ids))
    resources = root.find("resources")
    assert resources is not None
    assert [(r.tag, r.get("id")) for r in resources] == [
        ("clone", "nfs-mon-clone"),
        *[pair for node in NODES for pair in (("clone", clone(node)), ("primitive", vip(node)))],
    ]
    assert not root.xpath("//primitive[@type='ganesha_grace']")


def test_nfs_mon_gets_grace_delay_0_unless_told() -> None:
    assert nvpairs(xml(), "//primitive[@id='nfs-mon']//nvpair") == {"grace_delay": "0"}
    assert nvpairs(xml(spec_for(grace_delay=3)), "//primitive[@id='nfs-mon']//nvpair") == {
        "grace_delay": "3"
    }


def test_takeover_clone_meta_params_and_operations() -> None:
    root = xml(spec_for(ha_vol_mnt="/srv/state/nfs-ganesha", grace_budget=4))
    base = f"//clone[@id='{clone('node2')}']"
    assert nvpairs(root, f"{base}/meta_attributes/nvpair") == {
        "promotable": "true",
        "notify": "true",
        "promoted-max": "1",
        "promoted-node-max": "1",
        # With a state volume, tied to the ganesha_nfsd instance of its node.
        "interleave": "true",
    }
    primitive = f"{base}/primitive[@id='node2-takeover']"
    assert root.xpath(f"string({primitive}/@type)") == "ganesha_takeover"
    assert root.xpath(f"string({primitive}/@provider)") == "ganesha"
    assert nvpairs(root, f"{primitive}/instance_attributes/nvpair") == {
        "ip": "192.168.77.202",
        "ha_vol_mnt": "/srv/state/nfs-ganesha",
        "grace_budget": "4",
    }
    assert nvpairs(root, f"{primitive}/meta_attributes/nvpair") == {
        "migration-threshold": "1",
        "failure-timeout": "60s",
    }
    ops = root.xpath(f"{primitive}/operations/op")
    assert isinstance(ops, list)
    assert [
        (o.get("name"), o.get("interval"), o.get("timeout"), o.get("role"))
        for o in ops
        if isinstance(o, etree._Element)
    ] == [
        ("start", "0s", "20s", None),
        ("stop", "0s", "20s", None),
        ("promote", "0s", "20s", None),
        ("demote", "0s", "20s", None),
        ("notify", "0s", "20s", None),
        ("monitor", "30s", "10s", "Promoted"),
        ("monitor", "31s", "10s", "Unpromoted"),
    ]


def test_optional_takeover_settings() -> None:
    root = xml(spec_for(failure_timeout=0, takeover_monitor=Timing(20, 5)))
    primitive = "//primitive[@id='node1-takeover']"
    assert nvpairs(root, f"{primitive}/meta_attributes/nvpair") == {"migration-threshold": "1"}
    assert nvpairs(root, f"{primitive}/instance_attributes/nvpair") == {"ip": "192.168.77.201"}
    monitors = root.xpath(f"{primitive}/operations/op[@name='monitor']")
    assert isinstance(monitors, list)
    assert [
        (m.get("interval"), m.get("timeout")) for m in monitors if isinstance(m, etree._Element)
    ] == [
        ("20s", "5s"),
        ("21s", "5s"),
    ]


def test_constraints_of_one_address() -> None:
    config = plan(spec_for())
    mine = [
        c
        for c in config.constraints
        if getattr(c, "resource", None) in (vip("node2"), clone("node2"))
        or getattr(c, "first", None) == clone("node2")
    ]
    rules = [c for c in mine if isinstance(c, RuleLocation)]
    assert [(r.resource, r.role, r.score) for r in rules] == [
        (clone("node2"), "Promoted", "-INFINITY"),
        (clone("node2"), "Promoted", "1000"),
        (clone("node2"), "Promoted", "2000"),
        (clone("node2"), "Promoted", "3000"),
        (clone("node2"), "Promoted", "4000"),
        (vip("node2"), None, "-INFINITY"),
    ]
    # 3.7's scores: the rotated order node3, node4, node1, then home.
    assert [r.expressions[0].value for r in rules[1:5]] == ["node3", "node4", "node1", "node2"]
    assert {r.expressions[0].attribute for r in rules[1:5]} == {"#uname"}
    assert [e.attribute for e in rules[0].expressions + rules[5].expressions] == [GA] * 4
    assert Colocation(vip("node2"), clone("node2"), "INFINITY", "Promoted") in mine
    assert Order(clone("node2"), vip("node2"), "Mandatory", "promote", "start", True) in mine
    assert not [c for c in config.constraints if isinstance(c, NodePreference)]


def test_colocation_and_order_in_xml() -> None:
    root = xml()
    colocation = one(root, f"//rsc_colocation[@rsc='{vip('node3')}']")
    assert {str(k): str(v) for k, v in colocation.attrib.items()} == {
        "id": f"colocation-{vip('node3')}-{clone('node3')}-INFINITY",
        "rsc": vip("node3"),
        "with-rsc": clone("node3"),
        "score": "INFINITY",
        "rsc-role": "Started",
        "with-rsc-role": "Promoted",
    }
    order = one(root, f"//rsc_order[@then='{vip('node3')}']")
    assert (order.get("first-action"), order.get("then-action"), order.get("kind")) == (
        "promote",
        "start",
        "Mandatory",
    )
    assert order.get("symmetrical") is None


def test_pcs_lines_for_the_takeover_elements() -> None:
    lines = pcs.script(plan(spec_for())).splitlines()
    expected = [
        f"pcs -f {F} resource promotable node2-takeover",
        f"pcs -f {F} resource meta {clone('node2')} notify=true promoted-max=1 promoted-node-max=1",
        f"pcs -f {F} constraint location {clone('node2')} rule "
        f"constraint-id=location-{clone('node2')}-prefers-node3 role=Promoted score=1000 "
        "'#uname' eq node3",
        f"pcs -f {F} constraint location {clone('node2')} rule "
        f"constraint-id=location-{clone('node2')}-ganesha-active role=Promoted score=-INFINITY "
        "not_defined ganesha-active or ganesha-active ne 1",
        f"pcs -f {F} constraint colocation add {vip('node2')} with Promoted {clone('node2')} "
        f"INFINITY id=colocation-{vip('node2')}-{clone('node2')}-INFINITY",
        f"pcs -f {F} constraint order promote {clone('node2')} then start {vip('node2')} "
        f"kind=Mandatory id=order-promote-{clone('node2')}-start-{vip('node2')}",
    ]
    for line in expected:
        assert line in lines
    create = next(line for line in lines if "resource create node2-takeover" in line)
    assert "monitor interval=30s timeout=10s role=Promoted" in create
    assert "monitor interval=31s timeout=10s role=Unpromoted" in create
    assert create.endswith("meta migration-threshold=1 failure-timeout=60s --no-default-ops")
    assert lines.index(expected[1]) == lines.index(expected[0]) + 1


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"ha_vol_mnt": "var/lib"}, "absolute path"),
        ({"grace_budget": 0}, "between 1 and 15s"),
        ({"grace_budget": 16}, "between 1 and 15s"),
        ({"layout": "3.7", "ha_vol_mnt": "/srv/v", "nfsd_mode": "none"}, "nothing to do"),
        ({"nfsd_mode": "direct"}, "needs ha_vol_mnt"),
        ({"ha_vol_mnt": "/srv/v", "nfsd_mode": "bind"}, "is not a valid NfsdMode"),
        ({"layout": "3.7", "grace_budget": 3}, "use layout takeover"),
        ({"layout": "4.0"}, "is not a valid Layout"),
    ],
)
def test_spec_rejects(options: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        spec_for(2, **options)


def test_command_options_reach_the_takeover_spec(tmp_path: Path) -> None:
    out = tmp_path / "conf.xml"
    result = CliRunner().invoke(
        config_command,
        [
            "--node=a=10.0.0.1",
            "--node=b=10.0.0.2",
            "--ha-vol-mnt=/srv/ganesha",
            "--grace-budget=5",
            "--grace-delay=2",
            "--takeover-monitor-interval=40",
            "--takeover-monitor-timeout=15",
            "--failure-timeout=90",
            f"--output={out}",
        ],
    )
    assert result.exit_code == 0, result.output
    root = etree.parse(str(out)).getroot()
    assert nvpairs(root, "//primitive[@id='a-takeover']/instance_attributes/nvpair") == {
        "ip": "10.0.0.1",
        "ha_vol_mnt": "/srv/ganesha",
        "grace_budget": "5",
    }
    assert root.xpath("//nvpair[@name='grace_delay']/@value") == ["2"]
    assert root.xpath("//nvpair[@name='failure-timeout']/@value") == ["90s", "90s"]
    assert root.xpath("//primitive[@id='b-takeover']//op[@name='monitor']/@interval") == [
        "40s",
        "41s",
    ]


def test_command_rejects_takeover_options_with_the_37_layout() -> None:
    result = CliRunner().invoke(
        config_command, ["--node=a=10.0.0.1", "--layout=3.7", "--grace-budget=3"]
    )
    assert result.exit_code == 2
    assert "use layout takeover" in result.output


def _pcs_ids(argvs: tuple[tuple[str, ...], ...]) -> set[str]:
    """The constraint ids these pcs commands give (their id= and constraint-id= options)."""
    return {
        argument.split("=", 1)[1]
        for argv in argvs
        if argv[3:4] == ("constraint",)
        for argument in argv
        if argument.startswith(("id=", "constraint-id="))
    }


def test_pcs_creates_the_constraints_of_the_xml() -> None:
    config = plan(spec_for())
    constraints = cib.build(config).find("constraints")
    assert constraints is not None
    assert _pcs_ids(pcs.commands(config)) == {c.get("id") for c in constraints}


def test_the_configuration_falls_into_independent_parts() -> None:
    parts = independent_parts(plan(spec_for()))
    assert [[r.id for r in part.resources] for part in parts] == [
        ["nfs-mon-clone"],
        *[[clone(node), vip(node)] for node in NODES],
    ]
    assert sum(len(part.constraints) for part in parts) == len(plan(spec_for()).constraints)


# --- Pacemaker's scheduler: loading and starting ---------------------------------------------


def loaded(tmp_path: Path, spec: ClusterSpec | None = None) -> OfflineCluster:
    spec = spec or spec_for()
    cluster = OfflineCluster(tmp_path, [node.name for node in spec.nodes])
    cluster.load(cib.render(plan(spec)))
    return cluster


def running(tmp_path: Path, spec: ClusterSpec | None = None) -> tuple[OfflineCluster, Transition]:
    """Fencing on, ganesha.nfsd running everywhere, everything started: one crm_simulate run."""
    cluster = loaded(tmp_path, spec)
    cluster.add_fencing()
    cluster.everywhere(GA, GRA)
    return cluster, cluster.settle()


@pytest.mark.real
def test_crm_verify_accepts_it(tmp_path: Path) -> None:
    cluster = loaded(tmp_path, spec_for(4, properties=True, stonith_enabled=False))
    assert cluster.verify() == ""


@pytest.mark.real
def test_loading_twice_changes_nothing(tmp_path: Path) -> None:
    cluster = loaded(tmp_path)
    before = cluster.xpath("//configuration")[0]
    first = etree.tostring(before)
    cluster.load(cib.render(plan(spec_for())))
    assert etree.tostring(cluster.xpath("//configuration")[0]) == first


@pytest.mark.real
def test_roles_need_schema_37_so_an_older_cib_is_upgraded_first(tmp_path: Path) -> None:
    cluster = OfflineCluster(tmp_path, NODES)
    cluster.modify('<cib validate-with="pacemaker-3.0"/>')
    with pytest.raises(SimulationError, match=r"[Vv]alidat|schema"):
        cluster.load(cib.render(plan(spec_for())))
    cluster.upgrade()
    cluster.load(cib.render(plan(spec_for())))
    assert cluster.verify() == ""


@pytest.mark.real
def test_start_promotes_at_home_and_each_address_waits_for_its_promote(tmp_path: Path) -> None:
    cluster, start = running(tmp_path)
    for node in NODES:
        assert start.placement(vip(node)) == {node}
        assert start.promoted(f"{node}-takeover") == {node}
        assert start.placement(f"{node}-takeover") == set(NODES)
        (address,) = start.find(vip(node), "start", node)
        (promote,) = start.find(f"{node}-takeover", "promote", node)
        assert start.waits_for_action(address, promote)
    assert not cluster.step().changes()


@pytest.mark.real
def test_before_ganesha_runs_nothing_is_promoted_and_no_address_starts(
    tmp_path: Path, moves_of: Callable[[str], list[Move]]
) -> None:
    cluster = loaded(tmp_path)
    start = cluster.settle()
    for node in NODES:
        assert start.placement(f"{node}-takeover") == set(NODES)
        assert start.promoted(f"{node}-takeover") == set()
        assert start.placement(vip(node)) == set()
    cluster.everywhere(GA)
    up = cluster.step()
    assert {n: up.placement(vip(n)) for n in NODES} == {n: {n} for n in NODES}


# --- every move path at 4 nodes ----------------------------------------------------------------


def path_moves(tmp_path: Path, name: str) -> list[Move]:
    cluster, _ = running(tmp_path)
    return run_path(name, spec_for(), cluster)


@pytest.fixture(scope="module")
def moves_of(tmp_path_factory: pytest.TempPathFactory) -> Callable[[str], list[Move]]:
    """Each path's moves at 4 nodes, run once for the whole module (crm_simulate on the whole)."""
    done: dict[str, list[Move]] = {}

    def moves(name: str) -> list[Move]:
        if name not in done:
            done[name] = path_moves(tmp_path_factory.mktemp(name), name)
        return done[name]

    return moves


def by_phase(moves: list[Move]) -> dict[str, Move]:
    return {move.phase: move for move in moves}


def pre_promote(move: Move, node: str) -> dict[str, dict[str, str | None]]:
    """Node -> the variables the agent reads, at the pre-promote notifications of one clone."""
    return {
        a.node or "": {
            name: a.notify(name) for name in ("promote_uname", "demote_uname", "promoted_uname")
        }
        for a in move.transition.notifications("pre", "promote", f"{node}-takeover")
    }


@pytest.mark.real
@pytest.mark.parametrize("name", list(PATHS))
def test_every_path_keeps_the_promise(name: str, moves_of: Callable[[str], list[Move]]) -> None:
    """The address starts after the promote, the promote after every pre-promote notification,
    the variables name the holders, nothing runs without ganesha, nothing is left stopped,
    and the failback goes home."""
    moves = moves_of(name)
    assert moves
    for move in moves:
        assert violations(move) == [], (move.phase, violations(move))
    failback = by_phase(moves)["failback"]
    assert failback.after == {vip(node): node for node in NODES}
    assert all(move.moved for move in moves if move.phase != "rejoin")
    assert not any(move.moved for move in moves if move.phase == "rejoin")


@pytest.mark.real
def test_ganesha_killed_moves_to_the_node_before_with_a_release_and_a_takeover(
    moves_of: Callable[[str], list[Move]],
) -> None:
    move = by_phase(moves_of("ganesha-killed"))["move"]
    assert move.moved == {vip("node2"): ("node2", "node1")}
    assert {a.node for a in move.transition.find("node2-takeover", "demote")} == {"node2"}
    variables = pre_promote(move, "node2")
    assert set(variables) == set(NODES)
    assert set(map(str, variables.values())) == {
        str({"promote_uname": "node1", "demote_uname": "node2", "promoted_uname": "node2"})
    }
    (stop,) = move.transition.find(vip("node2"), "stop", "node2")
    (demote,) = move.transition.find("node2-takeover", "demote", "node2")
    assert move.transition.waits_for_action(demote, stop)
    assert cost(move).grace_calls == 2 + 1 + 1, "node3 and node4, 5: on node1, 2: on node2"


@pytest.mark.real
def test_cluster_fencing_demotes_the_lost_node_without_running_anything_there(
    moves_of: Callable[[str], list[Move]],
) -> None:
    move = by_phase(moves_of("cluster-fencing"))["move"]
    t = move.transition
    assert [(a.operation, a.node) for a in t.executed() if a.kind == "crm_event"] == [
        ("stonith", "node2")
    ]
    assert not [a for a in t.executed() if a.node == "node2" and a.kind == "rsc_op"]
    variables = pre_promote(move, "node2")
    assert set(variables) == {"node1", "node3", "node4"}
    assert {v["demote_uname"] for v in variables.values()} == {"node2"}
    assert {v["promoted_uname"] for v in variables.values()} == {"node2"}
    (promote,) = t.find("node2-takeover", "promote", "node1")
    (fencing,) = [a for a in t.executed() if a.operation == "stonith"]
    assert t.waits_for_action(promote, fencing)


@pytest.mark.real
def test_external_fencing_has_no_demote_and_blank_previous_holder(
    moves_of: Callable[[str], list[Move]],
) -> None:
    moves = by_phase(moves_of("external-fencing"))
    move = moves["move"]
    assert not move.transition.find("node2-takeover", "demote")
    variables = pre_promote(move, "node2")
    assert set(variables) == {"node1", "node3", "node4"}
    for values in variables.values():
        assert values["promote_uname"] == "node1"
        assert (values["demote_uname"] or "").strip() == ""
        assert (values["promoted_uname"] or "").strip() == ""
    # Back: the node joins without its attributes (nothing moves), then ganesha_mon sets them.
    assert not moves["rejoin"].moved
    assert moves["failback"].moved == {vip("node2"): ("node1", "node2")}


@pytest.mark.real
def test_manual_move_and_clear(moves_of: Callable[[str], list[Move]]) -> None:
    moves = by_phase(moves_of("manual-move"))
    assert moves["move"].moved == {vip("node2"): ("node2", "node3")}
    assert pre_promote(moves["move"], "node2")["node4"] == {
        "promote_uname": "node3",
        "demote_uname": "node2",
        "promoted_uname": "node2",
    }
    assert moves["failback"].moved == {vip("node2"): ("node3", "node2")}


@pytest.mark.real
def test_standby_stops_the_instances_there_after_the_address_moved(
    moves_of: Callable[[str], list[Move]],
) -> None:
    moves = by_phase(moves_of("standby"))
    move = moves["move"]
    assert move.moved == {vip("node2"): ("node2", "node1")}
    assert set(pre_promote(move, "node2")) == {"node1", "node3", "node4"}
    assert {a.base for a in move.transition.find("node3-takeover", "stop", "node2")} == {
        "node3-takeover"
    }
    back = moves["failback"]
    # The instance on node2 starts and is notified before it is promoted.
    assert set(pre_promote(back, "node2")) == set(NODES)
    (started,) = back.transition.find("node2-takeover", "start", "node2")
    (promote,) = back.transition.find("node2-takeover", "promote", "node2")
    assert back.transition.waits_for_action(promote, started)


@pytest.mark.real
def test_two_addresses_in_one_transition(moves_of: Callable[[str], list[Move]]) -> None:
    move = by_phase(moves_of("two-at-once"))["move"]
    assert move.moved == {vip("node2"): ("node2", "node1"), vip("node3"): ("node3", "node1")}
    for node in ("node2", "node3"):
        assert {v["promote_uname"] for v in pre_promote(move, node).values()} == {"node1"}
    assert cost(move).promotes == 2


@pytest.mark.real
def test_a_failed_promote_moves_the_address_on(moves_of: Callable[[str], list[Move]]) -> None:
    moves = by_phase(moves_of("promote-fails"))
    first = moves["move"]
    # The promote on node1 failed: the address did not start there.
    assert first.moved == {vip("node2"): ("node2", None)}
    second = moves["second move"]
    assert second.moved == {vip("node2"): (None, "node4")}
    assert "node1" not in second.transition.placement("node2-takeover")
    # Pacemaker names the node whose promote failed as the previous holder.
    assert {v["demote_uname"] for v in pre_promote(second, "node2").values()} == {"node1"}
    assert {v["promoted_uname"] for v in pre_promote(second, "node2").values()} == {"node1"}
    assert moves["failback"].moved == {vip("node2"): ("node4", "node2")}


@pytest.mark.real
def test_the_failed_promote_is_forgotten_after_the_failure_timeout(tmp_path: Path) -> None:
    cluster, _ = running(tmp_path)
    driver = Driver(spec_for(), cluster, "promote-fails")
    driver.kill("node2")
    driver.step("move", "--op-fail", "node2-takeover_promote_0@node1=1", settled=False)
    failed = cluster.record_failure("node2-takeover", "node1", "promote")
    banned = driver.step("second move", "--set-datetime", iso(failed + 1)).transition
    assert "node1" not in banned.placement("node2-takeover")
    assert banned.recheck_by is not None and failed + 60 <= banned.recheck_by <= failed + 61
    # Forgotten: node1 runs its instance again, and as the better failover target it gets
    # the address back, through a takeover like any other move.
    back = driver.step("expired", "--set-datetime", iso(failed + 61))
    assert "node1" in back.transition.placement("node2-takeover")
    assert back.moved == {vip("node2"): ("node4", "node1")}
    assert violations(back) == []


@pytest.mark.real
def test_the_new_holder_lost_too_moves_both_its_addresses(
    moves_of: Callable[[str], list[Move]],
) -> None:
    moves = by_phase(moves_of("target-lost"))
    second = moves["second move"]
    assert second.moved == {vip("node1"): ("node1", "node4"), vip("node2"): ("node1", "node4")}
    for node in ("node1", "node2"):
        assert {v["demote_uname"] for v in pre_promote(second, node).values()} == {"node1"}
    assert moves["failback"].after == {vip(node): node for node in NODES}


@pytest.mark.real
@pytest.mark.parametrize("name", list(PATHS))
def test_split_simulation_agrees_with_the_plain_one(
    tmp_path: Path, name: str, moves_of: Callable[[str], list[Move]]
) -> None:
    """What the report uses at 16 and 32 nodes gives the same moves as crm_simulate on the whole."""
    plain = moves_of(name)
    spec = spec_for()
    split = run_path(name, spec, SplitCluster.start(spec, tmp_path / "split"))
    assert [(m.phase, m.moved) for m in split] == [(m.phase, m.moved) for m in plain]
    assert [cost(m) for m in split] == [cost(m) for m in plain]
    assert [violations(m) for m in split] == [[] for _ in split]


# --- what each element is for: take it away and see ---------------------------------------------


def killed(tmp_path: Path, *, change: str | None = None, remove: str | None = None) -> Move:
    cluster, _ = running(tmp_path)
    if change:
        cluster.load(change)
    if remove:
        cluster.remove(remove)
    driver = Driver(spec_for(), cluster, "ganesha-killed")
    driver.kill("node2")
    return driver.step("move")


@pytest.mark.real
def test_without_notify_nobody_is_put_in_grace(tmp_path: Path) -> None:
    move = killed(tmp_path, remove=f'<nvpair id="{clone("node2")}-meta_attributes-notify"/>')
    assert move.moved == {vip("node2"): ("node2", "node1")}
    assert move.transition.notifications("pre", "promote") == []


@pytest.mark.real
def test_without_the_order_the_address_does_not_wait_for_the_takeover(tmp_path: Path) -> None:
    order = f"order-promote-{clone('node2')}-start-{vip('node2')}"
    move = killed(tmp_path, remove=f'<rsc_order id="{order}"/>')
    (start,) = move.transition.find(vip("node2"), "start", "node1")
    (promote,) = move.transition.find("node2-takeover", "promote", "node1")
    assert not move.transition.waits_for_action(start, promote)
    assert "without waiting for the promote" in " ".join(violations(move))


@pytest.mark.real
def test_without_the_colocation_the_address_goes_elsewhere(tmp_path: Path) -> None:
    cluster, _ = running(tmp_path)
    colocation = f"colocation-{vip('node2')}-{clone('node2')}-INFINITY"
    cluster.remove(f'<rsc_colocation id="{colocation}"/>')
    driver = Driver(spec_for(), cluster, "no colocation")
    driver.kill("node2")
    move = driver.step("move")
    assert move.transition.promoted("node2-takeover") == {"node1"}
    assert move.after[vip("node2")] not in ("node1", None)
    driver.revive("node2")
    back = driver.step("failback")
    assert back.transition.promoted("node2-takeover") == {"node2"}
    assert back.after[vip("node2")] == move.after[vip("node2")]
    assert "not home" in " ".join(violations(back))


@pytest.mark.real
def test_the_ganesha_rule_only_for_the_promoted_role_keeps_the_other_clones_still(
    tmp_path: Path,
) -> None:
    """For every role, a node's dead ganesha would stop every clone's instance there."""
    cluster, _ = running(tmp_path)
    for node in NODES:
        location = f"location-{clone(node)}-{GA}"
        cluster.remove(f'<rsc_location id="{location}"/>')
        cluster.add(
            "constraints",
            f'<rsc_location id="{location}" rsc="{clone(node)}"><rule id="{location}-rule" '
            f'score="-INFINITY" boolean-op="or"><expression id="{location}-rule-expr" '
            f'attribute="{GA}" operation="not_defined"/><expression '
            f'id="{location}-rule-expr-1" attribute="{GA}" operation="ne" value="1"/>'
            "</rule></rsc_location>",
        )
    driver = Driver(spec_for(), cluster, "no role")
    driver.kill("node2")
    move = driver.step("move")
    stopped = {a.base for a in move.transition.executed() if a.operation == "stop"}
    assert stopped >= {f"{node}-takeover" for node in NODES}
    normal = killed(tmp_path / "normal")
    assert cost(move).actions > 2 * cost(normal).actions - 10
    assert not [
        a
        for a in normal.transition.executed()
        if a.operation == "stop" and "takeover" in (a.base or "")
    ]


@pytest.mark.real
def test_without_migration_threshold_the_address_comes_back_to_the_failed_node(
    tmp_path: Path,
) -> None:
    cluster, _ = running(tmp_path)
    cluster.remove('<nvpair id="node2-takeover-meta_attributes-migration-threshold"/>')
    driver = Driver(spec_for(), cluster, "promote-fails")
    driver.kill("node2")
    driver.step("move", "--op-fail", "node2-takeover_promote_0@node1=1", settled=False)
    cluster.record_failure("node2-takeover", "node1", "promote")
    driver.step("second move")
    again = driver.step("third")
    assert again.moved == {vip("node2"): ("node4", "node1")}


@pytest.mark.real
def test_without_the_ip_stickiness_a_sticky_default_stops_failback(tmp_path: Path) -> None:
    defaults = (
        '<configuration><rsc_defaults><meta_attributes id="rsc-options">'
        '<nvpair id="rsc-options-resource-stickiness" name="resource-stickiness" '
        'value="INFINITY"/></meta_attributes></rsc_defaults></configuration>'
    )
    for keep, home in ((True, "node2"), (False, "node1")):
        cluster, _ = running(tmp_path / str(keep))
        cluster.load(defaults)
        if not keep:
            cluster.remove(f'<nvpair id="{vip("node2")}-meta_attributes-resource-stickiness"/>')
        driver = Driver(spec_for(), cluster, "sticky")
        driver.kill("node2")
        driver.step("move")
        driver.revive("node2")
        assert driver.step("failback").after[vip("node2")] == home


# --- upgrading a 3.7-layout cluster ------------------------------------------------------------


def _configuration(
    cluster: OfflineCluster,
) -> set[tuple[str, str | None, tuple[tuple[str, str], ...]]]:
    """Every element with an id in <configuration>, order aside (crm_config's own set aside)."""
    (root,) = cluster.xpath("/cib/configuration")
    return {
        (str(e.tag), e.get("id"), tuple(sorted((str(k), str(v)) for k, v in e.attrib.items())))
        for e in root.iter()
        if e.get("id") is not None and not str(e.get("id")).startswith("cib-bootstrap")
    }


@pytest.mark.real
def test_upgrade_from_the_37_layout_without_moving_an_address(tmp_path: Path) -> None:
    old, new = spec_for(layout=Layout.GLUSTER_37), spec_for()
    cluster, _ = running(tmp_path, old)
    # Step 1: the takeover clones alone; they are promoted where the addresses are.
    cluster.load(cib.render(takeover.clones_only(plan(new))))
    first = cluster.step()
    assert {a.base for a in first.changes()} == {f"{node}-takeover" for node in NODES}
    for node in NODES:
        assert first.promoted(f"{node}-takeover") == {node}
        (promote,) = first.find(f"{node}-takeover", "promote", node)
        for notification in first.notifications("pre", "promote", f"{node}-takeover"):
            assert first.waits_for_action(promote, notification)
    assert not cluster.step().changes()
    # Step 2: the whole layout; only nfs-mon restarts (its grace_delay changed).
    cluster.load(cib.render(plan(new)))
    second = cluster.step()
    assert {(a.operation, a.base) for a in second.changes()} == {
        ("stop", "nfs-mon"),
        ("start", "nfs-mon"),
    }
    assert {n: second.placement(vip(n)) for n in NODES} == {n: {n} for n in NODES}
    # Step 3: what 3.7 had and the takeover layout has not, in one update.
    cluster.remove_all(gluster37.LEFTOVERS_XPATH)
    third = cluster.step()
    assert {(a.operation, a.base) for a in third.changes()} <= {
        ("stop", "nfs-grace"),
        ("delete", "nfs-grace"),
    }
    cluster.erase_history("nfs-grace")
    assert not cluster.step().changes()
    assert cluster.verify() == ""
    fresh = loaded(tmp_path / "fresh", new)
    fresh.add_fencing()
    assert _configuration(cluster) == _configuration(fresh)
    for move in run_path("ganesha-killed", new, cluster):
        assert violations(move) == []


@pytest.mark.real
def test_loading_the_whole_layout_at_once_restarts_every_address(tmp_path: Path) -> None:
    """Why the upgrade loads the clones first: at once, each address stops until its promote."""
    cluster, _ = running(tmp_path, spec_for(layout=Layout.GLUSTER_37))
    cluster.load(cib.render(plan(spec_for())))
    at_once = cluster.step()
    for node in NODES:
        (stop,) = at_once.find(vip(node), "stop", node)
        (start,) = at_once.find(vip(node), "start", node)
        (promote,) = at_once.find(f"{node}-takeover", "promote", node)
        assert at_once.waits_for_action(start, promote)
        assert at_once.waits_for_action(start, stop)


def test_the_docs_give_the_same_leftovers_xpath() -> None:
    docs = (Path(__file__).parent.parent.parent / "docs" / "cluster-config.md").read_text()
    assert f'--xpath "{gluster37.LEFTOVERS_XPATH}"' in " ".join(docs.split())


def test_takeover_clones_only_from_the_command() -> None:
    result = CliRunner().invoke(
        config_command, ["--node=a=10.0.0.1", "--node=b=10.0.0.2", "--takeover-clones-only"]
    )
    assert result.exit_code == 0, result.output
    root = etree.fromstring(result.output.encode())
    assert root.xpath("//resources/*/@id") == ["a-takeover-clone", "b-takeover-clone"]
    assert {c.tag for c in root.iterfind("constraints/*")} == {"rsc_location"}
    refused = CliRunner().invoke(
        config_command, ["--node=a=10.0.0.1", "--layout=3.7", "--takeover-clones-only"]
    )
    assert refused.exit_code == 2


def test_the_leftovers_xpath_finds_37s_elements_whoever_made_them() -> None:
    old = cib.build(plan(spec_for(layout=Layout.GLUSTER_37)))
    new = cib.build(plan(spec_for()))
    constraints = old.find("constraints")
    assert constraints is not None
    # What ganesha-ha.sh's pcs calls named them, and what crm_resource --move/--ban write.
    for attributes in (
        {"id": "order-nfs-grace-clone-node1-cluster_ip-1-mandatory", "first": "nfs-grace-clone"},
        {"id": "location-node1-cluster_ip-1-node2-1000", "rsc": vip("node1"), "node": "node2"},
        {"id": "cli-prefer-node1-cluster_ip-1", "rsc": vip("node1"), "node": "node3"},
        {"id": "cli-ban-node1-cluster_ip-1-on-node4", "rsc": vip("node1"), "node": "node4"},
    ):
        tag = "rsc_order" if "first" in attributes else "rsc_location"
        etree.SubElement(constraints, tag, attrib=attributes)
    root = etree.Element("cib")
    etree.SubElement(root, "configuration").extend([old.find("resources"), constraints])  # type: ignore[list-item]
    found = root.xpath(gluster37.LEFTOVERS_XPATH)
    assert isinstance(found, list)
    selected = {e.get("id") for e in found if isinstance(e, etree._Element)}
    expected = {
        "nfs-grace-clone",
        "location-nfs-grace-clone-grace-active",
        "order-nfs-grace-clone-node1-cluster_ip-1-mandatory",
        "location-node1-cluster_ip-1-node2-1000",
        *(f"order-nfs-grace-clone-{vip(n)}" for n in NODES),
        *(f"order-stop-nfs-grace-clone-start-{vip(n)}" for n in NODES),
        *(
            f"location-{vip(n)}-{name}-{score}"
            for n in NODES
            for name, score in preferences(spec_for().nodes, spec_for().nodes[NODES.index(n)])
        ),
    }
    assert selected == expected
    assert not set(new.xpath("//@id")) & selected  # type: ignore[arg-type]


# --- the checks themselves find what they look for ------------------------------------------------


@pytest.mark.real
def test_violations_finds_an_address_left_stopped(tmp_path: Path) -> None:
    cluster, _ = running(tmp_path)
    for node in ("node1", "node3", "node4"):
        cluster.add(
            "constraints",
            f'<rsc_location id="not-{node}" rsc="{vip("node2")}" score="-INFINITY" node="{node}"/>',
        )
    move = killed_with(cluster, "node2")
    assert move.after[vip("node2")] is None
    assert f"{vip('node2')} left stopped (was on node2)" in violations(move)


@pytest.mark.real
def test_violations_finds_an_address_where_ganesha_is_not_running(tmp_path: Path) -> None:
    cluster, _ = running(tmp_path)
    for location in (f"location-{clone('node2')}-{GA}", f"location-{vip('node2')}-{GA}"):
        cluster.remove(f'<rsc_location id="{location}"/>')
    move = killed_with(cluster, "node2")
    assert move.after[vip("node2")] == "node2"
    assert f"{vip('node2')} runs on node2, where ganesha-active is not 1" in violations(move)


def killed_with(cluster: OfflineCluster, *nodes: str) -> Move:
    """ganesha.nfsd killed on ``nodes`` of a running cluster, in one transition."""
    driver = Driver(spec_for(), cluster, "check")
    driver.kill(*nodes)
    return driver.step("move")
