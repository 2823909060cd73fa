"""The report command's counting: runs and moves that broke the invariant, not violation lines."""

from __future__ import annotations

from tests.scenarios.campaign import markdown, summarise
from tests.scenarios.moves import Move, Verdict
from tests.scenarios.paths import PathRun
from tests.scenarios.timeline import Timeline


def run(path: str, *verdict_violations: list[str]) -> PathRun:
    timeline = Timeline(path, "fault", 0.0, figures={"fault to VIP up": 1.0})
    verdicts = [
        Verdict(Move("10.0.0.2", "node2", "node2", "node1"), violations=list(found))
        for found in verdict_violations
    ]
    return PathRun(path, "stack", timeline, verdicts)


def test_a_move_with_several_violations_counts_once() -> None:
    results = [
        run("two", ["node1 not in grace", "node3 not in grace"], []),
        run("two", [], []),
        run("two", ["node1 not in grace"], ["node3 not in grace"]),
    ]
    part = summarise(results)["stack"]["two"]
    assert (part["runs"], part["moves"]) == (3, 6)
    assert part["broken_runs"] == 2
    assert part["broken_moves"] == 3
    assert len(part["violations"]) == 4
    assert "| two | 3 | 6 | 2 | 3 | 4 | 0 |" in markdown(summarise(results), 3, 60.0)
