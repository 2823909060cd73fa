"""pytest fixtures for agent tests (registered through the ``pytest11`` entry point).

- ``ocf_env``: an :class:`OCFEnv` whose ``HA_RSCTMP`` is a fresh temporary directory;
- ``fake_clock``: a :class:`FakeClock`;
- ``agent_runner``: ``agent_runner(factory_or_agent)`` gives an :class:`AgentRunner`;
- ``ocf_conformance``: ``ocf_conformance(factory_or_path, params={...})`` runs the
  conformance suite and fails the test with the report when a check fails.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import pytest

from ocfkit.testing.environ import OCFEnv
from ocfkit.testing.fakes import FakeClock
from ocfkit.testing.runner import AgentRunner


@pytest.fixture
def ocf_env(tmp_path: Path) -> OCFEnv:
    rsctmp = tmp_path / "rsctmp"
    rsctmp.mkdir()
    return OCFEnv(rsctmp=str(rsctmp))


@pytest.fixture
def fake_clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def agent_runner() -> Callable[[Any], AgentRunner]:
    return AgentRunner


@pytest.fixture
def ocf_conformance(tmp_path: Path) -> Callable[..., Any]:
    from ocfkit.testing.conformance import check

    def run(
        target: Any, *, params: Mapping[str, str] | None = None, instance: str = "conformance"
    ) -> Any:
        rsctmp = tmp_path / "conformance-rsctmp"
        rsctmp.mkdir(exist_ok=True)
        report = check(target, params=params, instance=instance, rsctmp=str(rsctmp))
        if not report.ok:
            pytest.fail(report.render(), pytrace=False)
        return report

    return run
