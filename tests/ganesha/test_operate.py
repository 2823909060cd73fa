"""``ganesha-agents setup``, ``teardown``, ``add``, ``delete``, on a CIB file.

Pacemaker's tools honour ``CIB_file``: cibadmin, crm_diff, crm_simulate and
crm_attribute then read and write that file as they would the live CIB, so
the commands run end to end, exactly as on a cluster, against a CIB made by
:class:`~ganesha_agents.config.offline.OfflineCluster` (the ``real`` tests).
What a file cannot give (a DC, so a ready verdict; this node's agents and
ganesha.nfsd) is left out with ``--no-wait`` and ``--skip-check``, and
tested on its own with fakes below.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from lxml import etree

from ganesha_agents.cli import main
from ganesha_agents.config import ClusterSpec, Layout, NfsdMode, NodeAddress, Timing, cib, plan
from ganesha_agents.config.moves import numbered_spec
from ganesha_agents.config.offline import FENCE_ID, OfflineCluster
from ganesha_agents.operate import cibedit, pacemaker, predict, preflight, wait
from ganesha_agents.status.model import IN_GRACE, NOT_READY, READY, ClusterState, Instance, Verdict
from ocfkit import __version__
from ocfkit.clock import SystemClock
from ocfkit.deadline import Deadline
from ocfkit.testing.fakes import FakeClock

NODES = ("node1", "node2", "node3", "node4")
ATTRIBUTES = ("ganesha-active", "grace-active", "ganesha-grace")
OFFLINE = ("--skip-check", "agents", "--skip-check", "ganesha")


def node_args(spec: ClusterSpec) -> list[str]:
    return [arg for node in spec.nodes for arg in ("--node", f"{node.name}={node.ip}")]


def invoke(cluster: OfflineCluster, *args: str) -> Result:
    return CliRunner().invoke(main, list(args), env={"CIB_file": str(cluster.path)})


def configuration(cluster: OfflineCluster) -> tuple[object, ...]:
    """The configuration section without the version attributes, for comparing."""
    root = etree.parse(str(cluster.path)).getroot()
    section = root.find("configuration")
    assert section is not None
    return cibedit.canonical(section)


def sorted_configuration(cluster: OfflineCluster) -> dict[str, list[str]]:
    """Each configuration section's elements, in no particular order."""
    return {
        str(section.tag): sorted(repr(cibedit.canonical(e)) for e in section)
        for section in cluster.xpath("/cib/configuration/*")
    }


def plan_sections(spec: ClusterSpec) -> dict[str, tuple[object, ...]]:
    document = cib.build(plan(spec))
    return {
        name: tuple(cibedit.canonical(child) for child in document.iterfind(f"{name}/*"))
        for name in ("resources", "constraints")
    }


def live_sections(cluster: OfflineCluster) -> dict[str, tuple[object, ...]]:
    return {
        name: tuple(
            cibedit.canonical(e)
            for e in cluster.xpath(f"/cib/configuration/{name}/*")
            if e.get("id") != FENCE_ID
        )
        for name in ("resources", "constraints")
    }


def unordered(sections: dict[str, tuple[object, ...]]) -> dict[str, list[str]]:
    return {name: sorted(map(repr, elements)) for name, elements in sections.items()}


def running(directory: Path, spec: ClusterSpec) -> OfflineCluster:
    """``spec`` loaded on four nodes, every ganesha.nfsd up, the cluster settled."""
    cluster = OfflineCluster(directory, NODES)
    cluster.load(cib.render(plan(spec)))
    cluster.add_fencing()
    cluster.everywhere(*ATTRIBUTES)
    cluster.settle()
    return cluster


# --- end to end on a CIB file ----------------------------------------------------------


@pytest.mark.real
@pytest.mark.parametrize(
    ("layout", "volume"),
    [(Layout.TAKEOVER, None), (Layout.GLUSTER_37, None), (Layout.TAKEOVER, "/srv/state")],
)
def test_setup_then_teardown_gives_back_the_original(
    tmp_path: Path, layout: Layout, volume: str | None
) -> None:
    cluster = OfflineCluster(tmp_path, NODES)
    original = configuration(cluster)
    spec = numbered_spec(3, layout=layout, ha_vol_mnt=volume)
    with_volume = ["--ha-vol-mnt", volume, "--skip-check", "volume"] if volume else []
    result = invoke(
        cluster,
        "setup",
        *node_args(spec),
        "--layout",
        layout.value,
        *with_volume,
        *OFFLINE,
        "--no-wait",
    )
    assert result.exit_code == 0, result.output
    assert "applied in one CIB update" in result.output
    # Exactly the generated configuration, nothing else changed.
    assert live_sections(cluster) == plan_sections(spec)
    assert cluster.xpath("//nodes/node") and len(cluster.xpath("//nodes/node")) == 4
    # What ganesha_mon would have published meanwhile.
    cluster.everywhere(*ATTRIBUTES)

    result = invoke(cluster, "teardown", "--timeout", "5")
    assert result.exit_code == 0, result.output
    assert configuration(cluster) == original
    for name in ATTRIBUTES:
        assert cluster.attributes(name) == {}
    diff = pacemaker_diff(tmp_path, cluster)
    assert "resources" not in diff and "constraints" not in diff and "nvpair" not in diff


def pacemaker_diff(tmp_path: Path, cluster: OfflineCluster) -> str:
    """crm_diff from a fresh CIB of the same nodes to the cluster's (versions apart)."""
    fresh = OfflineCluster(tmp_path / "fresh", NODES)
    from ganesha_agents.config.offline import run

    try:
        return run(["crm_diff", "--original", str(fresh.path), "--new", str(cluster.path)])
    except Exception as error:  # crm_diff exits 1 when the documents differ
        return str(error)


@pytest.mark.real
@pytest.mark.parametrize("layout", [Layout.TAKEOVER, Layout.GLUSTER_37])
def test_add_then_delete_returns_to_the_original(tmp_path: Path, layout: Layout) -> None:
    spec = numbered_spec(3, layout=layout)
    cluster = running(tmp_path, spec)
    before = configuration(cluster)
    sorted_before = sorted_configuration(cluster)

    result = invoke(cluster, "add", "node4=10.77.0.4", "--no-wait")
    assert result.exit_code == 0, result.output
    bigger = numbered_spec(4, layout=layout)
    # The plan's elements; new ones are appended, so only the order may differ.
    assert unordered(live_sections(cluster)) == unordered(plan_sections(bigger))
    if layout is Layout.TAKEOVER:
        assert "promote node4-takeover on node4" not in result.output  # not a dry run
    cluster.settle()
    assert cluster.xpath("//lrm_resource[@id='node4-cluster_ip-1']")

    result = invoke(cluster, "delete", "node4", "--no-wait")
    assert result.exit_code == 0, result.output
    assert "pcs cluster node remove node4" in result.output
    if layout is Layout.TAKEOVER:
        assert configuration(cluster) == before
    else:
        # 3.7's node scores carry the score in their ids: the recomputed ones are
        # new elements, appended, so the same elements come back in another order.
        assert sorted_configuration(cluster) == sorted_before


@pytest.mark.real
def test_add_predicts_the_new_address_at_home(tmp_path: Path) -> None:
    cluster = running(tmp_path, numbered_spec(3))
    saved = cluster.path.read_bytes()
    result = invoke(cluster, "add", "node4=10.77.0.4", "--dry-run")
    assert result.exit_code == 0, result.output
    assert "<diff" in result.output
    assert "promote node4-takeover on node4" in result.output
    assert "start node4-cluster_ip-1 on node4" in result.output
    assert cluster.path.read_bytes() == saved


@pytest.mark.real
def test_delete_moves_nothing_else_and_stops_its_address(tmp_path: Path) -> None:
    cluster = running(tmp_path, numbered_spec(4))
    result = invoke(cluster, "delete", "node2", "--dry-run")
    assert result.exit_code == 0, result.output
    assert "stop node2-cluster_ip-1 on node2" in result.output
    for other in ("node1", "node3", "node4"):
        assert f"{other}-cluster_ip-1 on" not in result.output


@pytest.mark.real
@pytest.mark.parametrize("command", ["setup", "teardown", "add", "delete"])
def test_dry_run_changes_nothing(tmp_path: Path, command: str) -> None:
    spec = numbered_spec(3)
    cluster = running(tmp_path, spec) if command != "setup" else OfflineCluster(tmp_path, NODES)
    saved = cluster.path.read_bytes()
    args = {
        "setup": ["setup", *node_args(spec), *OFFLINE],
        "teardown": ["teardown"],
        "add": ["add", "node4=10.77.0.4"],
        "delete": ["delete", "node3"],
    }[command]
    result = invoke(cluster, *args, "--dry-run")
    assert result.exit_code == 0, result.output
    assert "<diff" in result.output and "what crm_simulate predicts" in result.output
    assert cluster.path.read_bytes() == saved


@pytest.mark.real
def test_a_conflicting_id_refuses_and_changes_nothing(tmp_path: Path) -> None:
    cluster = OfflineCluster(tmp_path, NODES)
    cluster.add(
        "resources",
        '<primitive id="node2-cluster_ip-1" class="ocf" provider="pacemaker" type="Dummy"/>',
    )
    saved = cluster.path.read_bytes()
    spec = numbered_spec(3)
    result = invoke(cluster, "setup", *node_args(spec), *OFFLINE, "--no-wait")
    assert result.exit_code == 3
    assert "id node2-cluster_ip-1 is already in the configuration" in result.output
    assert "nothing was changed" in result.output
    assert cluster.path.read_bytes() == saved


@pytest.mark.real
def test_an_address_in_use_refuses(tmp_path: Path) -> None:
    cluster = OfflineCluster(tmp_path, NODES)
    cluster.add(
        "resources",
        '<primitive id="old-ip" class="ocf" provider="heartbeat" type="IPaddr2">'
        '<instance_attributes id="old-ip-ia"><nvpair id="old-ip-ip" name="ip" value="10.77.0.3"/>'
        "</instance_attributes></primitive>",
    )
    result = invoke(cluster, "setup", *node_args(numbered_spec(3)), *OFFLINE, "--no-wait")
    assert result.exit_code == 3
    assert "the address 10.77.0.3 (for node3) is already in use by old-ip" in result.output


@pytest.mark.real
def test_setup_refuses_a_node_that_is_not_in_the_cluster(tmp_path: Path) -> None:
    cluster = OfflineCluster(tmp_path, NODES)
    spec = numbered_spec(5)
    result = invoke(cluster, "setup", *node_args(spec), *OFFLINE, "--no-wait")
    assert result.exit_code == 3
    assert "not cluster nodes: node5" in result.output


@pytest.mark.real
def test_a_move_constraint_blocks_teardown_and_delete(tmp_path: Path) -> None:
    cluster = running(tmp_path, numbered_spec(3))
    cluster.move("node2-cluster_ip-1", "node1")
    saved = cluster.path.read_bytes()
    for args in (["teardown"], ["delete", "node2", "--no-wait"]):
        result = invoke(cluster, *args)
        assert result.exit_code == 3, result.output
        assert "crm_resource --clear --resource node2-cluster_ip-1" in result.output
        assert cluster.path.read_bytes() == saved


@pytest.mark.real
def test_a_hand_edited_element_blocks_add(tmp_path: Path) -> None:
    cluster = running(tmp_path, numbered_spec(3))
    cluster.modify(
        '<op id="node2-cluster_ip-1-monitor-interval-15s" name="monitor" interval="15s" '
        'timeout="99s"/>'
    )
    saved = cluster.path.read_bytes()
    result = invoke(cluster, "add", "node4=10.77.0.4", "--no-wait")
    assert result.exit_code == 3
    assert "node2-cluster_ip-1 differs from what ganesha-agents generates" in result.output
    assert cluster.path.read_bytes() == saved


@pytest.mark.real
@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["add", "node5=10.77.0.5"], "node5 is not a node of the cluster"),
        (["add", "node2=10.77.0.9"], "node2 is already in the configuration"),
        (["add", "node4=10.77.0.2"], "the address 10.77.0.2 is already"),
        (["delete", "node9"], "node9 is not in the configuration"),
    ],
)
def test_add_and_delete_refuse(tmp_path: Path, args: list[str], message: str) -> None:
    cluster = running(tmp_path, numbered_spec(3))
    saved = cluster.path.read_bytes()
    result = invoke(cluster, *args, "--no-wait")
    assert result.exit_code == 3, result.output
    assert message in result.output
    assert cluster.path.read_bytes() == saved


@pytest.mark.real
def test_without_a_configuration_teardown_says_so(tmp_path: Path) -> None:
    cluster = OfflineCluster(tmp_path, NODES)
    result = invoke(cluster, "teardown")
    assert result.exit_code == 3
    assert "NFS-Ganesha HA is not configured here" in result.output


@pytest.mark.real
def test_a_stale_update_is_refused_by_the_cib_and_recomputed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Something else changes the CIB between the read and the patch: nothing is lost."""
    cluster = OfflineCluster(tmp_path, NODES)
    spec = numbered_spec(3)
    calls = []

    def compute(live: etree._Element) -> cibedit.Change:
        calls.append(live.get("epoch"))
        if len(calls) == 1:
            cluster.set_property("other-change", "kept")  # after the read
        return cibedit.setup(live, spec)

    monkeypatch.setenv("CIB_file", str(cluster.path))
    with pacemaker.workspace() as workdir:
        tools = pacemaker.Pacemaker(Deadline(SystemClock(), 60), workdir)
        diff = pacemaker.commit(tools, compute, lambda _change: None)
    assert diff and len(calls) == 2
    assert cluster.xpath("//nvpair[@name='other-change'][@value='kept']")
    assert live_sections(cluster) == plan_sections(spec)


# --- the spec, recovered from the CIB (no tools) --------------------------------------


def cib_with(spec: ClusterSpec) -> etree._Element:
    root = etree.fromstring(
        b'<cib epoch="1" num_updates="0" admin_epoch="0"><configuration><crm_config/><nodes>'
        + b"".join(f'<node id="{i}" uname="node{i}"/>'.encode() for i in range(1, 9))
        + b"</nodes><resources/><constraints/></configuration><status/></cib>"
    )
    return cibedit.setup(root, spec).after


@pytest.mark.parametrize(
    "spec",
    [
        numbered_spec(3),
        numbered_spec(5, layout=Layout.GLUSTER_37),
        numbered_spec(2, layout=Layout.GLUSTER_37, grace_delay=3, failure_timeout=0),
        numbered_spec(
            4,
            provider="other",
            vip_agent="ocf:other:IP",
            cidr_netmask=24,
            nic="eth1",
            ganesha_active="ga",
            grace_active="gra",
            mon_monitor=Timing(7, 9),
            vip_monitor=Timing(11, 12),
            takeover_monitor=Timing(13, 8),
            failure_timeout=30,
            ha_vol_mnt="/srv/state",
            grace_budget=6,
        ),
        ClusterSpec(
            nodes=[NodeAddress("node3", "fd00::3"), NodeAddress("node1", "fd00::1")],
            grace_monitor=Timing(4, 6),
            layout=Layout.GLUSTER_37,
        ),
        # With the state volume: ganesha_nfsd's clone in each mode, and none.
        numbered_spec(3, ha_vol_mnt="/var/run/gluster/shared_storage"),
        numbered_spec(3, ha_vol_mnt="/srv/state", nfsd_mode=NfsdMode.DIRECT),
        numbered_spec(3, ha_vol_mnt="/srv/state", nfsd_mode=NfsdMode.NONE),
        numbered_spec(3, layout=Layout.GLUSTER_37, ha_vol_mnt="/srv/state"),
    ],
)
def test_the_spec_is_recovered_from_its_configuration(spec: ClusterSpec) -> None:
    root = cib_with(spec)
    derived = cibedit.derive_spec(root)
    assert cibedit.differences(root, derived) == []
    assert [n.name for n in derived.nodes] == [n.name for n in spec.nodes]
    assert derived.layout is spec.layout


def test_setup_adds_exactly_the_plan_and_keeps_the_rest() -> None:
    spec = numbered_spec(3, properties=True, stonith_enabled=False)
    root = cib_with(spec)
    assert root.get("epoch") == "2"
    properties = root.findall("configuration/crm_config/cluster_property_set/nvpair")
    assert {(p.get("name"), p.get("value")) for p in properties} == {("stonith-enabled", "false")}
    assert len(root.findall("configuration/nodes/node")) == 8


def test_delete_takes_every_rule_naming_the_node_out() -> None:
    root = cib_with(numbered_spec(4))
    change = cibedit.delete(root, "node2")
    after = etree.tostring(change.after).decode()
    assert "node2" not in after.split("<status")[0].split("</nodes>")[1]
    assert change.removed == ("node2-takeover", "node2-cluster_ip-1")
    assert change.removed_node == "node2"


def test_delete_refuses_the_last_node() -> None:
    root = cib_with(numbered_spec(1))
    with pytest.raises(cibedit.Refused, match="use ganesha-agents teardown"):
        cibedit.delete(root, "node1")


# --- the prediction's verdict (no tools) ------------------------------------------------


def prediction(before: dict[str, set[str]], after: dict[str, set[str]]) -> predict.Prediction:
    class Final:
        def placement(self, resource: str) -> set[str]:
            return after.get(resource, set())

    return predict.Prediction((Final(),), before, True)  # type: ignore[arg-type]


def test_a_running_address_that_would_stop_is_a_problem() -> None:
    change = cibedit.add(cib_with(numbered_spec(3)), NodeAddress("node4", "10.77.0.4"))
    found, notes = predict.problems(
        change,
        prediction(
            {"node1-cluster_ip-1": {"node1"}},
            {"node2-cluster_ip-1": {"node2", "node3"}},
        ),
    )
    assert "node1-cluster_ip-1 runs on node1 and would be stopped" in found
    assert "node2-cluster_ip-1 would be active on node2, node3 at once" in found
    assert "node4-cluster_ip-1 would not start yet (no node can hold it now)" in notes


def test_an_address_left_on_the_deleted_node_is_a_problem() -> None:
    change = cibedit.delete(cib_with(numbered_spec(3)), "node3")
    found, _ = predict.problems(
        change,
        prediction(
            {"node1-cluster_ip-1": {"node3"}},
            {"node1-cluster_ip-1": {"node3"}, "node3-cluster_ip-1": {"node3"}},
        ),
    )
    assert "node1-cluster_ip-1 would stay on node3, which is being deleted" in found
    assert "node3-cluster_ip-1 would still be active on node3" in found


def test_an_unsettled_prediction_is_a_problem() -> None:
    change = cibedit.add(cib_with(numbered_spec(3)), NodeAddress("node4", "10.77.0.4"))
    unsettled = predict.Prediction((), {}, False)
    found, _ = predict.problems(change, unsettled)
    assert any("does not settle" in problem for problem in found)


# --- waiting for the verdict (fakes) ---------------------------------------------------


def test_waiting_prints_each_new_verdict_until_ready() -> None:
    verdicts = iter(
        [
            Verdict(NOT_READY, "NOT ready: 1 problem", ("node1-cluster_ip-1 is not running",)),
            Verdict(NOT_READY, "NOT ready: 1 problem", ("node1-cluster_ip-1 is not running",)),
            Verdict(IN_GRACE, "not ready yet: in NFS grace on node1"),
        ]
    )
    lines: list[str] = []
    clock = FakeClock()
    verdict = wait.until_ready(lambda: next(verdicts), 60, lines.append, clock)
    assert verdict.state == IN_GRACE
    assert lines == [
        "    0s  NOT ready: 1 problem",
        "        - node1-cluster_ip-1 is not running",
        "    4s  not ready yet: in NFS grace on node1",
    ]


def test_waiting_stops_at_the_timeout() -> None:
    clock = FakeClock()
    verdict = wait.until_ready(
        lambda: Verdict(NOT_READY, "NOT ready: no DC"), 10, lambda _line: None, clock
    )
    assert verdict.state == NOT_READY
    assert clock.now - 1_000_000.0 == pytest.approx(10)


def test_waiting_for_resources_to_stop() -> None:
    states = iter(
        [
            ClusterState(
                None, True, (), (Instance("nfs-mon", "x", "Started", nodes=("n1",)),), {}, ()
            ),
            ClusterState(None, True, (), (Instance("nfs-mon", "x", "Stopped"),), {}, ()),
        ]
    )
    lines: list[str] = []
    left = wait.until_stopped(lambda: next(states), {"nfs-mon"}, 30, lines.append, FakeClock())
    assert left == []
    assert "still running: nfs-mon" in lines[0] and "still running: nothing" in lines[1]
    assert READY == "ready"


# --- this node's checks ----------------------------------------------------------------


def bound() -> Deadline:
    return Deadline(SystemClock(), 30)


def test_missing_agents_say_how_to_install_them(tmp_path: Path) -> None:
    found = preflight.check_agents(numbered_spec(3), str(tmp_path), bound())
    assert len(found) == 2
    assert "ocf:ganesha:ganesha_mon" in found[0] and "is not installed" in found[0]
    assert "ocfkit install --provider ganesha ganesha_mon ganesha_takeover" in found[0]


def test_an_agent_of_another_version_is_refused(tmp_path: Path) -> None:
    directory = tmp_path / "resource.d" / "ganesha"
    directory.mkdir(parents=True)
    for agent in ("ganesha_mon", "ganesha_grace"):
        shim = directory / agent
        shim.write_text(
            "#!/usr/bin/python3 -IS\n# ocfkit-shim: ocf:ganesha:x runs "
            "ganesha_agents.mon:GaneshaMon (made by ocfkit 0.0.1; `ocfkit uninstall` removes it)\n"
        )
    found = preflight.check_agents(
        numbered_spec(3, layout=Layout.GLUSTER_37), str(tmp_path), bound()
    )
    assert len(found) == 2
    assert f"was installed by ocfkit 0.0.1, this is {__version__}" in found[0]


def test_a_file_that_is_not_a_shim_is_refused(tmp_path: Path) -> None:
    directory = tmp_path / "resource.d" / "ganesha"
    directory.mkdir(parents=True)
    (directory / "ganesha_mon").write_text("#!/bin/sh\necho\n")
    found = preflight.check_agents(numbered_spec(3), str(tmp_path), bound())
    assert "is not an ocfkit shim" in found[0]


def test_a_missing_state_volume_is_a_problem(tmp_path: Path) -> None:
    spec = numbered_spec(3, ha_vol_mnt=str(tmp_path / "absent"))
    found = preflight.check_volume(spec)
    assert found and "state volume" in found[0]
    assert preflight.check_volume(numbered_spec(3)) == []


def test_a_dead_ganesha_is_a_problem(tmp_path: Path) -> None:
    found = preflight.check_ganesha(bound(), (str(tmp_path / "ganesha.pid"),))
    assert found and "ganesha.nfsd is not running on this node" in found[0]
    assert "systemctl start nfs-ganesha" in found[0]


def test_setup_refuses_when_a_check_fails(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        main,
        [
            "setup",
            *node_args(numbered_spec(2)),
            "--ocf-root",
            str(tmp_path),
            "--skip-check",
            "ganesha",
            "--no-wait",
        ],
        env={"CIB_file": str(tmp_path / "never-read.xml")},
    )
    assert result.exit_code == 3
    assert "is not installed" in result.output and "nothing was changed" in result.output
    assert not (tmp_path / "never-read.xml").exists()


@pytest.mark.real
def test_setup_waits_for_the_status_verdict_and_says_when_it_is_not_ready(tmp_path: Path) -> None:
    """A CIB file has no DC, so the verdict never gets ready: exit 1, the change stays."""
    cluster = OfflineCluster(tmp_path, NODES)
    spec = numbered_spec(3)
    result = invoke(
        cluster,
        "setup",
        *node_args(spec),
        *OFFLINE,
        "--timeout",
        "1",
        "--node-name",
        "node1",
        "--pid-file",
        str(tmp_path / "ganesha.pid"),
    )
    assert result.exit_code == 1, result.output
    assert "waiting up to 1s for the cluster" in result.output
    assert "no DC" in result.output
    assert "the change is in place, but the cluster is not ready after 1s" in result.output
    assert live_sections(cluster) == plan_sections(spec)
