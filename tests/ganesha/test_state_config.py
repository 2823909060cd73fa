"""The nfs-state clone (ganesha_nfsd) in the generated configuration, in both layouts.

With a shared state volume (``ha_vol_mnt``) ganesha_nfsd keeps every node's
recovery records there; nfs-mon and every takeover need it on their node.
The ``real`` tests run Pacemaker 2.1.5's scheduler on the generated CIB
(crm_verify, crm_simulate): every move path still keeps the takeover's
promise, and a node whose ganesha_nfsd stops loses nfs-mon first and its
addresses in the same transition.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st
from lxml import etree

from ganesha_agents import nfsd
from ganesha_agents.config import ClusterSpec, Layout, NfsdMode, NodeAddress, cib, pcs, plan
from ganesha_agents.config.model import Clone, Colocation, Order
from ganesha_agents.config.moves import PATHS, Driver, run_path, violations
from ganesha_agents.config.offline import Action, OfflineCluster, Transition
from ganesha_agents.config.parts import NFSD_DEFAULTS
from ganesha_agents.config_cli import config_command

NODES = ("node1", "node2", "node3", "node4")
GA, GRA = "ganesha-active", "grace-active"
STATE, STATE_CLONE, MON_CLONE = "nfs-state", "nfs-state-clone", "nfs-mon-clone"
BAN = '<rsc_location id="ban-state-node2" rsc="nfs-state-clone" node="node2" score="-INFINITY"/>'


def spec_for(count: int = 4, **options: object) -> ClusterSpec:
    nodes = [NodeAddress(f"node{i}", f"192.168.77.{200 + i}") for i in range(1, count + 1)]
    options.setdefault("ha_vol_mnt", "/srv/state")
    return ClusterSpec(nodes=nodes, **options)  # type: ignore[arg-type]


def vip(node: str) -> str:
    return f"{node}-cluster_ip-1"


def takeover(node: str) -> str:
    return f"{node}-takeover"


def meta(config_clone: Clone) -> dict[str, str]:
    return dict(config_clone.all_meta)


def clones(spec: ClusterSpec) -> dict[str, Clone]:
    return {r.id: r for r in plan(spec).resources if isinstance(r, Clone)}


# --- what is generated -----------------------------------------------------------------------


def test_the_defaults_written_out_are_the_agents_own() -> None:
    assert NFSD_DEFAULTS == {"ha_vol_mnt": nfsd.DEFAULT_HA_VOL_MNT, "mode": nfsd.LINK}
    assert {mode.value for mode in NfsdMode} == {nfsd.LINK, nfsd.DIRECT, "none"}


@pytest.mark.parametrize("layout", list(Layout))
def test_the_state_clone_comes_first_with_only_non_default_parameters(layout: Layout) -> None:
    config = plan(spec_for(layout=layout, nfsd_mode="direct"))
    state = config.resources[0]
    assert isinstance(state, Clone) and state.id == STATE_CLONE
    assert state.primitive.type == "ganesha_nfsd" and state.primitive.provider == "ganesha"
    assert state.primitive.params == (("ha_vol_mnt", "/srv/state"), ("mode", "direct"))
    assert [(op.name, op.interval, op.timeout) for op in state.primitive.operations] == [
        ("start", 0, 30),
        ("stop", 0, 30),
        ("monitor", 20, 20),
    ]
    assert state.meta == () and not state.promotable
    default = plan(spec_for(layout=layout, ha_vol_mnt=nfsd.DEFAULT_HA_VOL_MNT)).resources[0]
    assert isinstance(default, Clone) and default.primitive.params == ()


def test_without_a_state_volume_nothing_changes() -> None:
    for layout in Layout:
        config = plan(spec_for(layout=layout, ha_vol_mnt=None))
        assert STATE_CLONE not in {r.id for r in config.resources}
        assert all("interleave" not in meta(c) for c in clones(spec_for(ha_vol_mnt=None)).values())


def test_mode_none_gives_the_volume_to_the_takeover_only() -> None:
    spec = spec_for(nfsd_mode="none")
    config = plan(spec)
    assert STATE_CLONE not in {r.id for r in config.resources}
    assert all("interleave" not in meta(c) for c in clones(spec).values())
    node1 = clones(spec)["node1-takeover-clone"]
    assert ("ha_vol_mnt", "/srv/state") in node1.primitive.params


def test_takeover_layout_constraints() -> None:
    spec = spec_for()
    config = plan(spec)
    assert Order(STATE_CLONE, MON_CLONE) in config.constraints
    assert Colocation(MON_CLONE, STATE_CLONE) in config.constraints
    for node in NODES:
        clone_id = f"{takeover(node)}-clone"
        assert Colocation(clone_id, STATE_CLONE) in config.constraints
        order = Order(STATE_CLONE, clone_id, kind="Optional", then_action="promote")
        assert order in config.constraints
    by_id = clones(spec)
    assert meta(by_id[MON_CLONE])["interleave"] == "true"
    assert all(meta(by_id[f"{takeover(n)}-clone"])["interleave"] == "true" for n in NODES)
    assert "interleave" not in meta(by_id[STATE_CLONE])


def test_layout_37_constraints() -> None:
    config = plan(spec_for(layout=Layout.GLUSTER_37))
    assert [r.id for r in config.resources[:3]] == [STATE_CLONE, MON_CLONE, "nfs-grace-clone"]
    assert Order(STATE_CLONE, MON_CLONE) in config.constraints
    assert Colocation(MON_CLONE, STATE_CLONE) in config.constraints
    assert Colocation("nfs-grace-clone", STATE_CLONE) in config.constraints
    for node in NODES:
        assert Colocation(vip(node), STATE_CLONE) in config.constraints
    # nfs-grace is not ordered after it: a restart in place would put every node in grace.
    assert not [
        c for c in config.constraints if isinstance(c, Order) and c.then == "nfs-grace-clone"
    ]


@pytest.mark.parametrize("layout", list(Layout))
def test_xml_and_pcs_name_the_same_constraints(layout: Layout) -> None:
    config = plan(spec_for(layout=layout))
    constraints = cib.build(config).find("constraints")
    assert constraints is not None
    ids = {
        argument.split("=", 1)[1]
        for argv in pcs.commands(config)
        if argv[3:4] == ("constraint",)
        for argument in argv
        if argument.startswith(("id=", "constraint-id="))
    }
    # pcs names node scores itself (``prefers``); every other constraint gets the XML's id.
    assert ids == {c.get("id") for c in constraints if c.get("node") is None}


def test_pcs_lines_for_the_state_clone() -> None:
    lines = pcs.script(plan(spec_for(nfsd_mode="direct"))).splitlines()
    f = pcs.DEFAULT_CIB_FILE
    assert lines[1] == (
        f"pcs -f {f} resource create nfs-state ocf:ganesha:ganesha_nfsd ha_vol_mnt=/srv/state "
        "mode=direct op start interval=0s timeout=30s stop interval=0s timeout=30s "
        "monitor interval=20s timeout=20s --no-default-ops"
    )
    assert lines[2] == f"pcs -f {f} resource clone nfs-state"
    assert f"pcs -f {f} resource meta nfs-mon-clone interleave=true" in lines
    for line in (
        f"pcs -f {f} constraint order start nfs-state-clone then start nfs-mon-clone "
        "kind=Mandatory id=order-nfs-state-clone-nfs-mon-clone",
        f"pcs -f {f} constraint colocation add nfs-mon-clone with nfs-state-clone INFINITY "
        "id=colocation-nfs-mon-clone-nfs-state-clone-INFINITY",
        f"pcs -f {f} constraint order start nfs-state-clone then promote node2-takeover-clone "
        "kind=Optional id=order-start-nfs-state-clone-promote-node2-takeover-clone",
    ):
        assert line in lines


def test_a_dependent_role_is_written_like_pcs_writes_it() -> None:
    from ganesha_agents.config.model import Configuration

    config = Configuration((), (Colocation("a", "b", role="Promoted"),))
    (element,) = cib.build(config).iter("rsc_colocation")
    assert (element.get("rsc-role"), element.get("with-rsc-role")) == ("Promoted", "Started")
    assert pcs.commands(config)[1][3:] == (
        "constraint",
        "colocation",
        "add",
        "Promoted",
        "a",
        "with",
        "b",
        "INFINITY",
        "id=colocation-a-b-INFINITY",
    )


def test_command_options_reach_the_spec(tmp_path: Path) -> None:
    out = tmp_path / "conf.xml"
    nodes = ["--node=a=10.0.0.1", "--node=b=10.0.0.2"]
    for layout in ("takeover", "3.7"):
        result = CliRunner().invoke(
            config_command,
            [*nodes, f"--layout={layout}", "--ha-vol-mnt=/srv/v", "--nfsd-mode=direct", f"-o{out}"],
        )
        assert result.exit_code == 0, result.output
        root = etree.parse(str(out)).getroot()
        assert root.xpath("//primitive[@id='nfs-state']//nvpair/@value") == ["/srv/v", "direct"]
    result = CliRunner().invoke(config_command, [*nodes, "--nfsd-mode=link"])
    assert result.exit_code == 2 and "needs ha_vol_mnt" in result.output
    result = CliRunner().invoke(
        config_command, [*nodes, "--layout=3.7", "--ha-vol-mnt=/srv/v", "--nfsd-mode=none"]
    )
    assert result.exit_code == 2 and "nothing to do" in result.output


@settings(max_examples=40, deadline=None)
@given(
    count=st.integers(1, 8),
    layout=st.sampled_from(list(Layout)),
    mode=st.sampled_from([None, "link", "direct"]),
    volume=st.sampled_from(["/srv/state", nfsd.DEFAULT_HA_VOL_MNT, "/mnt/a b"]),
)
def test_any_spec_with_a_volume_puts_everything_after_the_state_clone(
    count: int, layout: Layout, mode: str | None, volume: str
) -> None:
    spec = spec_for(count, layout=layout, nfsd_mode=mode, ha_vol_mnt=volume)
    config = plan(spec)
    root = cib.build(config)
    ids = [e.get("id") for e in root.iter() if e.get("id") is not None]
    assert len(ids) == len(set(ids))
    resources = {r.id for r in config.resources}
    for constraint in config.constraints:
        named = [getattr(constraint, a, None) for a in ("resource", "with_resource", "first")]
        named.append(getattr(constraint, "then", None))
        assert {n for n in named if n is not None} <= resources
    state_dependents = {
        c.then if isinstance(c, Order) else c.resource
        for c in config.constraints
        if (isinstance(c, Order) and c.first == STATE_CLONE)
        or (isinstance(c, Colocation) and c.with_resource == STATE_CLONE)
    }
    if layout is Layout.TAKEOVER:
        expected = {MON_CLONE} | {f"{spec.takeover_id(n)}-clone" for n in spec.nodes}
    else:
        expected = {MON_CLONE, "nfs-grace-clone"} | {spec.vip_id(n) for n in spec.nodes}
    assert state_dependents == expected
    assert config.resources[0].id == STATE_CLONE
    # pcs gives every constraint but the node scores the XML's id.
    pcs_ids = {
        argument.split("=", 1)[1]
        for argv in pcs.commands(config)
        if argv[3:4] == ("constraint",)
        for argument in argv
        if argument.startswith(("id=", "constraint-id="))
    }
    constraints = root.find("constraints")
    assert constraints is not None
    assert pcs_ids == {c.get("id") for c in constraints if c.get("node") is None}


# --- Pacemaker's scheduler -------------------------------------------------------------------


def running(tmp_path: Path, spec: ClusterSpec) -> tuple[OfflineCluster, Transition]:
    cluster = OfflineCluster(tmp_path, [node.name for node in spec.nodes])
    cluster.load(cib.render(plan(spec)))
    cluster.add_fencing()
    assert cluster.verify() == ""
    cluster.everywhere(GA, GRA)
    return cluster, cluster.settle()


def rsc_op(t: Transition, resource: str, operation: str, node: str) -> Action:
    (action,) = [a for a in t.find(resource, operation, node) if a.kind == "rsc_op"]
    return action


def before(t: Transition, first: tuple[str, str, str], then: tuple[str, str, str]) -> bool:
    """``then`` (resource, operation, node) waits for ``first`` in the transition graph."""
    a, b = rsc_op(t, *first), rsc_op(t, *then)
    return t.waits_for_action(b, a)


@pytest.mark.real
@pytest.mark.parametrize("layout", list(Layout))
def test_start_runs_ganesha_nfsd_first_on_every_node(tmp_path: Path, layout: Layout) -> None:
    spec = spec_for(layout=layout, properties=True)
    cluster, start = running(tmp_path, spec)
    for node in NODES:
        assert start.placement(STATE) == set(NODES)
        assert before(start, (STATE, "start", node), ("nfs-mon", "start", node))
        assert start.placement(vip(node)) == {node}
        if layout is Layout.TAKEOVER:
            assert before(start, (STATE, "start", node), (takeover(node), "promote", node))
    assert not cluster.step().changes()


@pytest.mark.real
@pytest.mark.parametrize("name", list(PATHS))
def test_every_path_keeps_the_promise_with_the_state_clone(name: str, tmp_path: Path) -> None:
    spec = spec_for()
    cluster, _ = running(tmp_path, spec)
    moves = run_path(name, spec, cluster)
    assert moves
    for move in moves:
        assert violations(move) == [], (move.phase, violations(move))
    assert moves[-1].after == {vip(node): node for node in NODES}


@pytest.mark.real
def test_ganesha_nfsd_lost_on_a_holder_moves_its_address_after_nfs_mon_stopped(
    tmp_path: Path,
) -> None:
    """ganesha_nfsd can no longer run on node2 (here: banned, as after a failed start)."""
    spec = spec_for()
    cluster, _ = running(tmp_path, spec)
    driver = Driver(spec, cluster, "state-lost")
    cluster.add("constraints", BAN)
    move = driver.step("move")
    t = move.transition
    assert violations(move) == []
    assert move.moved == {vip("node2"): ("node2", "node1")}
    assert before(t, ("nfs-mon", "stop", "node2"), (STATE, "stop", "node2"))
    assert before(t, (vip("node2"), "stop", "node2"), (STATE, "stop", "node2"))
    assert before(t, (takeover("node2"), "demote", "node2"), (STATE, "stop", "node2"))
    # The node leaves every address's clone, as in standby; nothing else moves.
    for node in NODES:
        assert "node2" not in t.placement(takeover(node))
    cluster.remove(BAN)
    failback = driver.step("failback")
    assert violations(failback) == []
    assert failback.after == {vip(node): node for node in NODES}
    t = failback.transition
    assert before(t, (STATE, "start", "node2"), ("nfs-mon", "start", "node2"))
    assert before(t, (STATE, "start", "node2"), (takeover("node2"), "promote", "node2"))


@pytest.mark.real
def test_ganesha_nfsd_restarted_in_place_restarts_nfs_mon_there_and_nothing_else(
    tmp_path: Path,
) -> None:
    """A failed monitor: Pacemaker restarts ganesha_nfsd, and nfs-mon on that node with it.
    The address stays, and no node is put in grace (a Mandatory order to the promote
    would promote it again, with every node's pre-promote notification)."""
    spec = spec_for()
    cluster, _ = running(tmp_path, spec)
    t = cluster.step("--op-inject", f"{STATE}_monitor_20000@node2=1")
    assert t.placement(vip("node2")) == {"node2"}
    assert before(t, ("nfs-mon", "stop", "node2"), (STATE, "stop", "node2"))
    assert before(t, (STATE, "stop", "node2"), (STATE, "start", "node2"))
    assert before(t, (STATE, "start", "node2"), ("nfs-mon", "start", "node2"))
    changed = {(a.base, a.operation, a.node) for a in t.changes()}
    assert {(base, node) for base, _op, node in changed} == {
        (STATE, "node2"),
        ("nfs-mon", "node2"),
    }
    assert not t.notifications("pre", "promote")
    assert not cluster.step().changes()


@pytest.mark.real
def test_layout_37_ganesha_nfsd_lost_stops_nfs_grace_and_moves_after_its_notifications(
    tmp_path: Path,
) -> None:
    spec = spec_for(layout=Layout.GLUSTER_37)
    cluster, _ = running(tmp_path, spec)
    cluster.add("constraints", BAN)
    t = cluster.step()
    assert t.placement(vip("node2")) == {"node1"}
    assert t.placement("nfs-grace") == t.placement("nfs-mon") == {"node1", "node3", "node4"}
    assert before(t, ("nfs-mon", "stop", "node2"), (STATE, "stop", "node2"))
    start = rsc_op(t, vip("node2"), "start", "node1")
    post = t.notifications("post", "stop", "nfs-grace")
    assert {a.node for a in post} == {"node1", "node3", "node4"}
    assert all(a.notify("stop_uname") == "node2" for a in post)
    assert all(t.waits_for_action(start, a) for a in post)
    cluster.remove(BAN)
    back = cluster.step()
    assert back.placement(vip("node2")) == {"node2"}
    assert before(back, (STATE, "start", "node2"), ("nfs-mon", "start", "node2"))
