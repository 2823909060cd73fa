"""Fixtures of the scenarios: one four-node cluster per module, healthy before each scenario.

These tests exist to run on the real engine.  Where they cannot (not root,
a program missing, a cluster that does not come up), they fail with the
reason and the nodes' logs; they are never skipped.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from ocfkit.lab import LabError
from tests.scenarios.ha import HaCluster, new_lab
from tests.scenarios.report import Report
from tests.scenarios.stack import COMPAT, Stack

PROGRAMS = (
    "ip", "unshare", "nsenter", "setpriv", "corosync", "pacemakerd", "crm_mon", "crm_resource",
    "attrd_updater", "stonith_admin", "dbus-daemon", "dbus-send", "ganesha.nfsd", "nfs-cat",
    "ocf-tester", "xmllint",
)  # fmt: skip
SEARCH_PATH = "/usr/sbin:/usr/bin:/sbin:/bin"
#: Set to keep the lab's working directory (every node's logs) after the session.
KEEP = "OCFKIT_SCENARIO_KEEP"


def _cannot_run() -> str | None:
    if os.geteuid() != 0:
        return "the scenarios need root (namespaces, mounts, cluster daemons)"
    absent = [p for p in PROGRAMS if shutil.which(p, path=SEARCH_PATH) is None]
    return f"not installed: {' '.join(absent)}" if absent else None


def _fail(what: str, error: LabError) -> None:
    notes = "\n".join(getattr(error, "__notes__", []))
    pytest.fail(f"{what}: {error}\n{notes}", pytrace=False)


@pytest.fixture(scope="session")
def report() -> Iterator[Report]:
    """The figures of every scenario that ran, written when the session ends."""
    collected = Report()
    yield collected
    if collected.timelines:
        json_path, md_path = collected.write()
        print(f"\nscenario figures: {json_path} and {md_path}")


@pytest.fixture(scope="module")
def stack(request: pytest.FixtureRequest) -> Stack:
    """What the module's scenarios run: its ``STACK``, or the 3.7 layout with the new agents."""
    chosen = getattr(request.module, "STACK", COMPAT)
    assert isinstance(chosen, Stack)
    return chosen


@contextmanager
def scenario_cluster(
    stack: Stack, *, count: int = 4, prefix: str = "olab-sc-", what: str = "the scenario cluster"
) -> Iterator[tuple[HaCluster, float]]:
    """A lab of ``count`` nodes running ``stack``, up and configured, and how long that took.

    The lab goes down afterwards, whatever happened; its working directory
    (every node's logs) is removed unless ``OCFKIT_SCENARIO_KEEP`` is set.
    """
    reason = _cannot_run()
    if reason:
        pytest.fail(f"cannot run the scenarios here: {reason}", pytrace=False)
    workdir = Path(tempfile.mkdtemp(prefix=prefix, dir="/var/tmp"))
    workdir.chmod(0o755)
    cluster = HaCluster(new_lab(str(workdir), stack, count=count), stack)
    try:
        try:
            seconds = cluster.bring_up()
        except LabError as error:
            _fail(f"{what} did not come up", error)
        yield cluster, seconds
    finally:
        try:
            cluster.lab.down(graceful=False)
        finally:
            if os.environ.get(KEEP):
                print(f"\n{what}'s logs are kept in {workdir}")
            else:
                shutil.rmtree(workdir, ignore_errors=True)


@pytest.fixture(scope="module")
def ha(report: Report, stack: Stack) -> Iterator[HaCluster]:
    """Four nodes, real ganesha.nfsd on each, the agents as shims, the generated configuration."""
    with scenario_cluster(stack) as (cluster, seconds):
        report.extra["bring_up_seconds"] = round(seconds, 2)
        yield cluster


@pytest.fixture
def healthy(ha: HaCluster, report: Report) -> HaCluster:
    """The shared cluster, healthy again; rebuilt if it cannot get there by itself."""
    try:
        seconds = ha.restore()
    except LabError as first:
        report.extra.setdefault("rebuilds", []).append(str(first))
        try:
            ha.rebuild()
            seconds = ha.restore()
        except LabError as error:
            error.add_note(f"(rebuilt after: {first})")
            _fail("the scenario cluster could not be made healthy", error)
    report.extra.setdefault("restore_seconds", []).append(round(seconds, 2))
    return ha
