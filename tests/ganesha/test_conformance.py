"""The agents pass the conformance suite, in-process on their test doubles."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from ganesha_agents.grace import GaneshaGrace
from ganesha_agents.mon import GaneshaMon
from ganesha_agents.nfsd import GaneshaNfsd


@pytest.mark.parametrize("agent", [GaneshaMon, GaneshaGrace])
def test_conformance_in_process(agent: Any, ocf_conformance: Callable[..., Any]) -> None:
    report = ocf_conformance(agent.conformance_factory())
    assert report.ok
    assert len(report.checks) > 25


@pytest.mark.parametrize("mode", ["link", "direct"])
def test_ganesha_nfsd_conformance_in_process(
    mode: str, ocf_conformance: Callable[..., Any]
) -> None:
    report = ocf_conformance(GaneshaNfsd.conformance_factory(), params={"mode": mode})
    assert report.ok
    assert len(report.checks) >= 25
