"""The failover demo with GlusterFS 3.7's layout: the seed's five steps, and its invariant."""

from __future__ import annotations

from click.testing import CliRunner

from ganesha_agents.cli import main
from ganesha_agents.demo.scenario import run


def test_failover_follows_the_five_steps_in_order() -> None:
    outcome = run(4, ["node2"])
    seen = [e.step for e in outcome.timeline.events if e.step is not None]
    assert seen == [1, 2, 3, 4, 4, 4, 5, 5]
    first = {
        step: min(e.time for e in outcome.timeline.events if e.step == step) for step in range(1, 6)
    }
    assert first[1] <= first[2] <= first[3] <= first[4] < first[5]
    assert outcome.holds


def test_every_survivor_is_in_grace_before_the_vip_moves_by_grace_delay() -> None:
    outcome = run(4, ["node2"], grace_delay=5)
    (verdict,) = outcome.verdicts
    assert set(verdict.grace_times) == {"node1", "node3", "node4"}
    assert verdict.vip_up is not None
    last_grace = max(t for t in verdict.grace_times.values() if t is not None)
    assert 4.9 < verdict.vip_up - last_grace < 5.1
    assert verdict.vip_node == "node1", "ganesha-ha.sh's scores: the node before the failed one"


def test_the_checker_reports_a_violation_when_nothing_separates_grace_and_vip() -> None:
    outcome = run(4, ["node2"], grace_delay=0)
    assert not outcome.holds
    assert "VIOLATED" in outcome.verdicts[0].describe()


def test_two_daemons_dying_give_each_survivor_one_grace_per_dead_node() -> None:
    outcome = run(4, ["node2", "node4"])
    assert outcome.holds
    for survivor in ("node1", "node3"):
        arguments = [e.detail for e in outcome.timeline.find(node=survivor, actor="ganesha_grace")]
        assert sorted(arguments) == ['grace("5:node2")', 'grace("5:node4")']


def test_failback_brings_the_vip_home_after_plain_grace_on_the_survivors() -> None:
    outcome = run(4, ["node2"], failback=True)
    restart = outcome.timeline.find(actor="operator", action="restart ganesha.nfsd")[0].time
    later = [e for e in outcome.timeline.events if e.time > restart]
    plain = [e for e in later if e.detail == 'grace("0:")']
    assert sorted(e.node for e in plain) == ["node1", "node3", "node4"]
    home = [e for e in later if e.action == "start node2-cluster_ip-1"]
    assert [e.node for e in home] == ["node2"]
    assert max(e.time for e in plain) <= home[0].time


def test_cli_prints_the_timeline_and_exits_0_when_the_invariant_holds() -> None:
    result = CliRunner().invoke(main, ["demo", "--layout", "3.7"])
    assert result.exit_code == 0, result.output
    assert (
        "[4]" in result.output
        and "Every survivor entered grace before the VIP moved." in result.output
    )


def test_cli_exits_1_when_the_invariant_is_violated() -> None:
    result = CliRunner().invoke(main, ["demo", "--layout", "3.7", "--grace-delay", "0"])
    assert result.exit_code == 1
    assert "INVARIANT VIOLATED" in result.output


def test_cli_mermaid_output_is_a_sequence_diagram() -> None:
    result = CliRunner().invoke(
        main, ["demo", "--layout", "3.7", "--mermaid", "--nodes", "3", "--fail", "node3"]
    )
    assert result.exit_code == 0
    lines = result.output.splitlines()
    assert lines[0] == "sequenceDiagram"
    assert any(line.strip().startswith("node1->>node1: grace(") for line in lines)


def test_cli_37_layout_runs_two_at_once() -> None:
    result = CliRunner().invoke(main, ["demo", "--layout", "3.7", "--path", "two"])
    assert result.exit_code == 0, result.output
    assert "node2: survivors in grace" in result.output
    assert "node4: survivors in grace" in result.output


def test_cli_rejects_an_unknown_node() -> None:
    result = CliRunner().invoke(main, ["demo", "--layout", "3.7", "--fail", "node9"])
    assert result.exit_code == 2
    assert "no such node" in result.output
