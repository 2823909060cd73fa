"""``ganesha-agents config-report``: every move path at 16 nodes, checked and costed.

The 32-node figures in docs/cluster-config.md come from the same command
(it takes minutes there); at 16 nodes it runs here, through the split
simulation (:mod:`ganesha_agents.config.split`) whose agreement with a
plain crm_simulate run is checked at 4 nodes in ``test_takeover_config.py``.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from ganesha_agents.config.moves import PATHS
from ganesha_agents.config.report import HEADER, Row, markdown, measure
from ganesha_agents.config_cli import config_report_command


@pytest.fixture(scope="module")
def sixteen(tmp_path_factory: pytest.TempPathFactory) -> list[Row]:
    return measure(16, tmp_path_factory.mktemp("sixteen"))


def rows_of(rows: list[Row], path: str) -> dict[str, Row]:
    return {row.phase: row for row in rows if row.path == path}


@pytest.mark.real
def test_every_path_at_16_nodes_keeps_the_promise(sixteen: list[Row]) -> None:
    assert {row.path for row in sixteen} == set(PATHS)
    assert [row for row in sixteen if row.problems] == []


@pytest.mark.real
def test_grace_calls_grow_with_the_nodes_not_with_the_addresses(sixteen: list[Row]) -> None:
    killed = rows_of(sixteen, "ganesha-killed")["move"]
    # Every other node once, the takeover on the new holder, the release on the old one.
    assert (killed.others, killed.promotes, killed.releases) == (14, 1, 1)
    assert killed.grace_calls == 16
    fenced = rows_of(sixteen, "external-fencing")["move"]
    assert (fenced.others, fenced.promotes, fenced.releases) == (14, 1, 0)
    two = rows_of(sixteen, "two-at-once")["move"]
    assert (two.moved, two.grace_calls) == (2, 2 * 16)


@pytest.mark.real
def test_a_node_leaving_or_joining_costs_a_notification_round_per_address(
    sixteen: list[Row],
) -> None:
    """Every clone has an instance on every node: one stop or start each, notified everywhere."""
    killed = rows_of(sixteen, "ganesha-killed")["move"]
    for path, phase in (
        ("standby", "move"),
        ("cluster-fencing", "move"),
        ("cluster-fencing", "rejoin"),
    ):
        row = rows_of(sixteen, path)[phase]
        assert row.actions > 5 * killed.actions
    assert rows_of(sixteen, "external-fencing")["move"].actions < killed.actions


def test_markdown_lists_rows_and_problems() -> None:
    row = Row(4, "standby", "move", 1, 4, 2, 1, 1, 54, 42, 0.123, ())
    text = markdown([row])
    assert text.splitlines()[0] == HEADER
    assert "| 4 | standby | move | 1 | 4 (2 + 1 + 1) | 54 (42) | 0.12 |" in text
    assert "No problem" in text
    bad = markdown([Row(4, "standby", "move", 1, 4, 2, 1, 1, 54, 42, 0.1, ("it broke",))])
    assert "- 4 nodes, standby, move: it broke" in bad


@pytest.mark.real
def test_the_command(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        config_report_command,
        ["--nodes", "4", "--path", "external-fencing", "--repeat", "2", "--keep", str(tmp_path)],
    )
    assert result.exit_code == 0, result.output
    assert "| 4 | external-fencing | move | 1 | 3 (2 + 1 + 0) |" in result.output
    assert (tmp_path / "4-nodes" / "external-fencing" / "whole" / "cib.xml").exists()
