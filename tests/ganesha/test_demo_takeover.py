"""The takeover demo: every path keeps the invariant, in Pacemaker's order; a break is caught."""

from __future__ import annotations

import itertools
import re
import time
from collections.abc import Iterator

import attrs
import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from ganesha_agents.cli import main
from ganesha_agents.config.plan import failover_targets
from ganesha_agents.demo import costs, takeover_render
from ganesha_agents.demo.graph import Graph, Op
from ganesha_agents.demo.takeover_model import TakeoverModel
from ganesha_agents.demo.takeover_scenario import (
    PATHS,
    Driver,
    TakeoverOutcome,
    check,
    node_names,
    run,
)
from ganesha_agents.fakes import FakeAddressRecords
from ganesha_agents.takeover import GaneshaTakeover
from ocfkit import ExitCode


def moving_graph(outcome: TakeoverOutcome, phase: int = 0) -> Graph:
    """The transition that started the phase's first VIP."""
    return outcome.phases[phase].verdicts[0].start.graph


def ops(graph: Graph, home: str) -> Iterator[Op]:
    return (op for op in graph.ops if op.home == home and not op.pseudo)


# ------------------------------------------------------------------ every path


@pytest.mark.parametrize("path", PATHS)
def test_every_path_and_its_failback_keep_the_invariant_on_4_nodes(path: str) -> None:
    outcome = run(path, 4, failback=True)
    assert outcome.holds, takeover_render.text(outcome)
    assert len(outcome.phases) == 2
    for phase in outcome.phases:
        assert phase.verdicts, f"{phase.name}: no VIP moved"
        assert not phase.missing
    for verdict in outcome.verdicts:
        start = verdict.start
        assert start.source is not None and start.source != start.target
        assert verdict.takeover is not None
        assert verdict.takeover.argument == f"5:{start.ip}"
        assert verdict.takeover.records == FakeAddressRecords.root_of(start.source)
        assert verdict.takeover.time <= start.begun
        for node, call in verdict.others.items():
            assert call is not None and call.time <= start.begun, node


def test_a_vip_goes_where_the_generated_scores_send_it() -> None:
    outcome = run("kill", 6, fail=["node1"])
    model = outcome.model
    home = next(n for n in model.node_addresses if n.name == "node1")
    (verdict,) = outcome.verdicts
    assert verdict.start.target == failover_targets(model.node_addresses, home)[0] == "node6"


def test_a_move_follows_the_operators_constraint_then_comes_home() -> None:
    outcome = run("move", 4, failback=True)
    assert [(v.start.source, v.start.target) for v in outcome.verdicts] == [
        ("node4", "node1"),
        ("node1", "node4"),
    ]


# ------------------------------------------------------------------ Pacemaker's order


def test_a_move_runs_in_the_order_crm_simulate_shows() -> None:
    outcome = run("kill", 4)
    graph = moving_graph(outcome)
    seen = [(op.operation, op.notify, op.node) for op in ops(graph, "node2")]
    first: dict[tuple[str, tuple[str, str] | None], float] = {}
    last: dict[tuple[str, tuple[str, str] | None], float] = {}
    for op in ops(graph, "node2"):
        key = (op.operation, op.notify)
        assert op.started is not None and op.ended is not None
        first[key] = min(first.get(key, op.started), op.started)
        last[key] = max(last.get(key, op.ended), op.ended)
    # The address stops while the pre-demote round runs: Pacemaker orders neither after the other.
    assert first[("stop", None)] == first[("notify", ("pre", "demote"))]
    sequence = [
        ("notify", ("pre", "demote")),
        ("demote", None),
        ("notify", ("post", "demote")),
        ("notify", ("pre", "promote")),
        ("promote", None),
        ("notify", ("post", "promote")),
        ("start", None),
    ]
    assert [key for key in first if key != ("stop", None)] == sequence, seen
    assert last[("stop", None)] <= first[("demote", None)]
    for before, after in itertools.pairwise(sequence):
        assert last[before] <= first[after], (before, after)
    pre_promote = [op.node for op in ops(graph, "node2") if op.notify == ("pre", "promote")]
    assert pre_promote == ["node1", "node2", "node3", "node4"], "every active instance"


def test_standby_stops_the_instance_before_the_promote_and_notifies_the_rest() -> None:
    outcome = run("standby", 4)
    graph = moving_graph(outcome)
    kinds = list(dict.fromkeys((op.operation, op.notify) for op in ops(graph, "node1")))
    assert kinds.index(("stop", None)) < kinds.index(("promote", None))
    pre_promote = [op.node for op in ops(graph, "node1") if op.notify == ("pre", "promote")]
    assert pre_promote == ["node2", "node3", "node4"]
    demote = next(op for op in ops(graph, "node1") if op.operation == "demote")
    assert [c.argument for c in demote.calls] == ["2:192.0.2.1"], "released where it was"


@pytest.fixture
def notifications(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, object]]:
    """What every pre-demote or pre-promote notification it acted on told ganesha_takeover."""
    seen: list[dict[str, object]] = []
    original = GaneshaTakeover.notify

    def notify(self: GaneshaTakeover) -> ExitCode:
        note = self.notification
        if note.event in ("pre-demote", "pre-promote"):
            seen.append(
                {
                    "event": note.event,
                    "node": self.node_name,
                    "ip": self.params.ip,
                    "promote": note.unames(note.promote),
                    "demote": note.unames(note.demote),
                    "promoted": note.unames(note.promoted),
                }
            )
        return original(self)

    monkeypatch.setattr(GaneshaTakeover, "notify", notify)
    return seen


def test_external_fencing_has_no_demote_and_names_no_previous_holder(
    notifications: list[dict[str, object]],
) -> None:
    outcome = run("fence", 4)
    graph = moving_graph(outcome)
    assert not [op for op in graph.ops if op.operation in ("demote", "stop")]
    told = [n for n in notifications if n["ip"] == "192.0.2.2" and n["promote"] == ("node1",)]
    assert sorted(str(n["node"]) for n in told) == ["node1", "node3", "node4"]
    assert all(n["demote"] == () and n["promoted"] == () for n in told)
    (verdict,) = outcome.phases[0].verdicts
    assert verdict.takeover is not None
    assert verdict.takeover.records == FakeAddressRecords.root_of("node2"), "from the record"


def test_cluster_fencing_notifies_the_demote_of_the_lost_node(
    notifications: list[dict[str, object]],
) -> None:
    outcome = run("link", 4)
    graph = moving_graph(outcome)
    fence = next(op for op in graph.ops if op.operation == "fence")
    demote = next(op for op in graph.ops if op.operation == "demote")
    assert demote.pseudo and demote.node == "node3"
    assert fence.ended is not None and demote.started is not None
    assert fence.ended <= demote.started
    told = [n for n in notifications if n["ip"] == "192.0.2.3" and n["promote"] == ("node2",)]
    assert sorted(str(n["node"]) for n in told) == ["node1", "node2", "node4"]
    assert {n["event"] for n in told} == {"pre-demote"}, "the pre-promote round is settled"
    assert all(n["demote"] == ("node3",) and n["promoted"] == ("node3",) for n in told)


def test_a_lost_node_is_noticed_after_corosyncs_timeouts() -> None:
    outcome = run("link", 4)
    (verdict,) = outcome.verdicts
    lost = costs.membership_loss(4)
    assert 5.0 < lost < 5.2, "the lab measured about 5.1 s"
    assert verdict.fault_to_up is not None and verdict.decision_to_up is not None
    expected = lost + costs.TRANSITION_DELAY + verdict.decision_to_up
    assert verdict.fault_to_up == pytest.approx(expected)


# ------------------------------------------------------------------ figures


def test_kill_to_vip_up_adds_up_from_the_documented_durations() -> None:
    (verdict,) = run("kill", 4).verdicts
    detection = costs.DETECTION + costs.AGENT_PROCESS + 2 * costs.ATTRIBUTE_UPDATE
    chain = (
        max(costs.VIP_ACTION, costs.AGENT_PROCESS + costs.GRACE_CALL)  # stop | pre-demote, 0:
        + costs.AGENT_PROCESS  # demote: no daemon to release
        + costs.AGENT_PROCESS  # post-demote
        + costs.AGENT_PROCESS  # pre-promote, settled by the demote
        + costs.AGENT_PROCESS
        + costs.GRACE_CALL  # promote with 5:
        + costs.AGENT_PROCESS  # post-promote
        + costs.VIP_ACTION  # start
    )
    assert verdict.decision_to_up == pytest.approx(chain)
    assert verdict.fault_to_up == pytest.approx(detection + costs.TRANSITION_DELAY + chain)
    assert verdict.fault_to_up is not None and verdict.fault_to_up < 1.0


@pytest.mark.parametrize("nodes", [3, 4, 8])
def test_grace_calls_per_move_grow_with_the_cluster(nodes: int) -> None:
    kill = run("kill", nodes).verdicts[0]
    assert kill.grace_calls == nodes - 1, "0: on each of N-2 others, 5: on the new node"
    move = run("move", nodes).verdicts[0]
    assert move.grace_calls == nodes, "and 2: on the old holder, which lives"


def test_16_nodes_run_in_a_few_seconds() -> None:
    began = time.perf_counter()
    outcome = run("kill", 16, failback=True)
    elapsed = time.perf_counter() - began
    assert outcome.holds
    assert outcome.verdicts[0].grace_calls == 15
    assert elapsed < 20, f"{elapsed:.1f} s"


def test_refused_promote_sends_the_vip_on_with_the_first_holders_records() -> None:
    outcome = run("refuse", 4)
    first, later = outcome.phases[0].verdicts
    assert first.start.target == "node4" and first.start.source == "node2"
    assert first.takeover is not None
    assert first.takeover.records == FakeAddressRecords.root_of("node2")
    refused = next(op for op in first.start.graph.ops if op.operation == "promote")
    failed = next(
        op
        for g in outcome.model.graphs
        for op in g.ops
        if op.operation == "promote" and op.node == "node1" and op.failed
    )
    assert refused.node == "node4" and "cannot take over" in failed.reason
    assert failed.ended is not None and failed.started is not None
    assert failed.ended - failed.started >= 3.0, "the grace budget was spent first"
    assert later.start.target == "node1", "failure-timeout: the scores bring it back"
    assert outcome.holds


def test_an_address_back_where_it_was_released_takes_its_clients_over_again() -> None:
    model = TakeoverModel(node_names(4))
    model.start()
    driver = Driver(model)

    def refused_move() -> None:
        model.nodes["node1"].daemon.fail_next(1)
        model.move("node4", "node1")

    driver.phase("move", "move node4's VIP to node1, which refuses", refused_move, [])
    back = driver.phases[0].verdicts[0]
    assert (back.start.source, back.start.target) == ("node4", "node4")
    assert back.holds, back.problems


# ------------------------------------------------------------------ the check


def test_the_check_catches_missing_pre_demote_notifications() -> None:
    outcome = run("kill", 4, drop=["pre-demote"])
    assert not outcome.holds
    (verdict,) = outcome.verdicts
    assert sorted(p.split()[0] for p in verdict.problems) == ["node3", "node4"]
    assert all("accepted no grace call" in p for p in verdict.problems)


def test_the_check_catches_a_takeover_of_the_wrong_records() -> None:
    outcome = run("kill", 4)
    (verdict,) = outcome.verdicts
    wrong = attrs.evolve(verdict.start, source="node3")
    again = check(outcome.model, "kill", wrong, verdict.fault_at)
    assert not again.holds
    assert any("not the previous holder's records" in p for p in again.problems)


def test_the_check_catches_a_survivor_out_of_grace() -> None:
    outcome = run("kill", 4)
    (verdict,) = outcome.verdicts
    grace = dict(verdict.start.in_grace, node3=False)
    again = check(
        outcome.model, "kill", attrs.evolve(verdict.start, in_grace=grace), verdict.fault_at
    )
    assert again.problems == ("node3 was not in grace when node2-cluster_ip-1 started on node1",)


@settings(max_examples=12)
@given(
    path=st.sampled_from([p for p in PATHS if p != "move"]),
    nodes=st.integers(min_value=3, max_value=7),
    data=st.data(),
)
def test_any_victim_on_any_small_cluster_keeps_the_invariant(
    path: str, nodes: int, data: st.DataObject
) -> None:
    names = node_names(nodes)
    count = 2 if path == "two" else 1
    victims = data.draw(
        st.lists(st.sampled_from(names), min_size=count, max_size=count, unique=True)
    )
    outcome = run(path, nodes, fail=victims, failback=True)
    assert outcome.holds, takeover_render.text(outcome)


def test_the_model_does_not_restate_the_scores() -> None:
    model = TakeoverModel(node_names(5))
    model.start()
    for address in model.addresses.values():
        assert address.promoted == address.location == address.home
    live = [n for n in model.names if n != "node3"]
    assert model.target(model.addresses["node3"], live) == "node2"


# ------------------------------------------------------------------ output


def test_text_names_the_steps_and_durations() -> None:
    outcome = run("kill", 4, failback=True)
    out = takeover_render.text(outcome)
    assert "Durations (virtual time)" in out and "Measured on the project's lab" in out
    for step in range(1, 7):
        assert f"[{step}]" in out
    assert 'grace("5:192.0.2.2") accepted, reading /shared/nfs-ganesha/node2/nfs/ganesha' in out
    assert "Invariant holds." in out and "VIOLATED" not in out


MERMAID_LINE = re.compile(
    r"^(sequenceDiagram|    participant \w+( as .+)?|    Note over \w+(,\w+)?: [^;#\n]+"
    r"|    \w+->>\w+: [^;#\n]+)$"
)


def test_mermaid_draws_the_new_sequence() -> None:
    outcome = run("kill", 4)
    lines = takeover_render.mermaid(outcome).splitlines()
    assert lines[0] == "sequenceDiagram"
    assert all(MERMAID_LINE.match(line) for line in lines), [
        line for line in lines if not MERMAID_LINE.match(line)
    ]

    def where(fragment: str) -> int:
        return next(i for i, line in enumerate(lines) if fragment in line)

    order = [
        where("PM->>node2: [2] stop node2-cluster_ip-1"),
        where("notify pre-demote"),
        where('node3->>node3: [3] grace("0:") accepted'),
        where("PM->>node2: [4] demote"),
        where("notify pre-promote"),
        where("PM->>node1: [5] promote"),
        where('node1->>node1: [5] grace("5:192.0.2.2") accepted'),
        where("PM->>node1: [6] start node2-cluster_ip-1"),
    ]
    assert order == sorted(order)
    assert lines[-1].endswith("before the VIP started")


# ------------------------------------------------------------------ the command


def test_cli_default_is_the_takeover_layout() -> None:
    result = CliRunner().invoke(main, ["demo"])
    assert result.exit_code == 0, result.output
    assert "takeover layout" in result.output
    assert "Invariant holds." in result.output


def test_cli_exits_1_and_says_violated_when_notifications_are_dropped() -> None:
    result = CliRunner().invoke(main, ["demo", "--drop-notification", "pre-demote"])
    assert result.exit_code == 1
    assert "INVARIANT VIOLATED" in result.output


@pytest.mark.parametrize("path", PATHS)
def test_cli_runs_every_path_with_failback(path: str) -> None:
    result = CliRunner().invoke(main, ["demo", "--path", path, "--failback", "--mermaid"])
    assert result.exit_code == 0, result.output
    assert result.output.startswith("sequenceDiagram")


def test_cli_scale_reports_time_and_grace_calls_per_move() -> None:
    result = CliRunner().invoke(main, ["demo", "--scale", "3,5"])
    assert result.exit_code == 0, result.output
    rows = [line.split() for line in result.output.splitlines() if line.startswith("kill ")]
    assert [(r[1], r[-2]) for r in rows] == [("3", "2"), ("5", "4")]
    assert "The invariant held on every move." in result.output
    for path in PATHS:
        assert any(line.startswith(path) for line in result.output.splitlines()), path


@pytest.mark.parametrize(
    ("argv", "says"),
    [
        (["--path", "link", "--nodes", "2"], "at least 3 nodes"),
        (["--fail", "node9"], "no such node"),
        (["--path", "move", "--fail", "node1"], "takes no --fail"),
        (["--path", "link", "--fail", "node1", "--fail", "node2"], "breaks one node"),
        (["--scale", "4,x"], "not a list of node counts"),
        (["--scale", "64"], "node counts from 3 to 32"),
        (["--layout", "3.7", "--path", "fence"], "knows kill and two"),
        (["--layout", "3.7", "--nodes", "20"], "up to 16 nodes"),
    ],
)
def test_cli_rejects_requests_that_make_no_sense(argv: list[str], says: str) -> None:
    result = CliRunner().invoke(main, ["demo", *argv])
    assert result.exit_code == 2
    assert says in result.output
