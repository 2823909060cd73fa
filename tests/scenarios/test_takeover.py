"""Every path that moves a virtual IP, on the real engine with the takeover configuration.

Four Pacemaker nodes, four real ganesha.nfsd keeping their recovery records
on a shared state volume, ganesha_mon and ganesha_takeover as installed
shims, the configuration ``ganesha-agents config`` generates.  Each path
runs once here with the invariant asserted on every move (see
:mod:`tests.scenarios.moves`); ``./dev scenarios --runs 20`` runs them many
times and reports the spread (:mod:`tests.scenarios.campaign`).

Run as root: ``PYTHONPATH=src python -m pytest tests/scenarios/test_takeover.py -s``.
"""

from __future__ import annotations

import pytest

from tests.scenarios.ha import HaCluster
from tests.scenarios.paths import PATHS
from tests.scenarios.report import Report
from tests.scenarios.stack import TAKEOVER

pytestmark = [pytest.mark.real, pytest.mark.lab]

STACK = TAKEOVER


@pytest.mark.parametrize("path", list(PATHS))
def test_every_move_is_in_confirmed_grace_first(
    healthy: HaCluster, report: Report, path: str
) -> None:
    runs = PATHS[path](healthy)
    for run in runs:
        report.add(run.timeline)
        print("\n" + run.timeline.render())
    for run in runs:
        assert run.verdicts, f"{run.path}: no move observed"
        assert run.violations == [], f"{run.path}: {run.violations}\n{run.timeline.render()}"
        assert run.new_failures == [], f"{run.path}: failed actions {run.new_failures}"
        assert run.client_problems == [], f"{run.path}: {run.client_problems}"
    # Back to healthy by itself (grace periods over, every VIP home): nothing to clean up.
    healthy.restore()
