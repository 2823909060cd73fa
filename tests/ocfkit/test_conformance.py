"""The conformance suite: it passes good agents and, above all, fails bad ones."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

import pytest

from ocfkit import ExitCode, Integer, Parameters, Select, action, parameter
from ocfkit.examples.dummy import Dummy
from ocfkit.state import MemoryStateStore
from ocfkit.testing import FakeClock
from ocfkit.testing.conformance import (
    Check,
    ExecutableTarget,
    InProcessTarget,
    Outcome,
    Report,
    check,
)
from ocfkit.testing.startup import ImportCost, parse_importtime

from .agents import (
    HalfPromotable,
    InvalidMetadata,
    MonitorAlwaysRunning,
    NoExitReasons,
    Parameterless,
    WellBehaved,
    _InMemory,
    factory,
)


def failed(report: Report) -> set[str]:
    return {c.name for c in report.failures}


def test_a_well_behaved_agent_passes() -> None:
    report = check(factory(WellBehaved))
    assert report.ok, report.render()
    names = {c.name for c in report.checks}
    assert "probe of a stopped resource answers 7" in names
    assert "an unknown action answers 3" in names


def test_the_example_agent_passes(tmp_path: Path) -> None:
    report = check(lambda: Dummy(clock=FakeClock()), rsctmp=str(tmp_path))
    assert report.ok, report.render()
    assert "notify (post-start) answers 0" in {c.name for c in report.checks}


def test_a_monitor_that_answers_0_when_stopped_fails() -> None:
    report = check(factory(MonitorAlwaysRunning))
    assert not report.ok
    assert {
        "probe of a stopped resource answers 7",
        "a monitor without interval is a probe: answers 7",
        "monitor of a stopped resource answers 7",
        "monitor after stop answers 7",
    } <= failed(report)


def test_an_error_without_exit_reason_fails() -> None:
    report = check(factory(NoExitReasons))
    assert {"stop", "stop: error carries an exit reason"} <= failed(report)
    detail = {c.name: c.detail for c in report.checks}
    assert detail["stop: error carries an exit reason"] == "no ocf-exit-reason: line on stderr"


def test_invalid_meta_data_fails_and_stops_the_run() -> None:
    report = check(factory(InvalidMetadata))
    assert {
        "meta-data (1.1) valid against ocf-1.1-rng",
        "meta-data (1.1) valid against pacemaker-1.1-rng",
        "meta-data for OCF 1.0 callers valid against ra-api-1.dtd (ocf-tester)",
        "meta-data lists start, stop, monitor and meta-data",
    } <= failed(report)


def test_an_agent_without_parameters_fails_at_meta_data() -> None:
    report = check(Parameterless)
    assert failed(report) == {"meta-data returns 0"}
    assert len(report.checks) == 1  # nothing else can be judged


def test_promote_without_demote_fails() -> None:
    assert "promote and demote come together" in failed(check(factory(HalfPromotable)))


class ConfiguredParameters(Parameters):
    config: str = parameter(shortdesc="Configuration", locates=True)
    port: int = parameter(default=1, type=Integer(min=1), shortdesc="Port")
    mode: str = parameter(default="a", type=Select("a", "b"), shortdesc="Mode")


class Configured(_InMemory):
    name = "configured"
    parameters = ConfiguredParameters  # type: ignore[assignment]

    @action(timeout=20)
    def start(self) -> object:
        return super().start()


def test_parameter_checks_run_for_declared_types() -> None:
    store = MemoryStateStore()
    report = check(lambda: Configured(store), params={"config": "/etc/x"})
    assert report.ok, report.render()
    names = {c.name for c in report.checks}
    assert {
        "validate-all rejects port=not-a-number",
        "a probe with port=not-a-number answers 7",
        "stop with port=not-a-number answers 0",
        "validate-all rejects mode=no-such-option",
        "start without required config fails",
        "the stop after that failed start (without config) answers 0",
        "stop with port=not-a-number while running stops the resource",
        "stop with mode=no-such-option while running stops the resource",
    } <= names
    assert report.locating == ("config",)


class UnlocatedParameters(Parameters):
    config: str = parameter(shortdesc="Configuration, needed by every action")


class Unlocated(_InMemory):
    name = "unlocated"
    parameters = UnlocatedParameters  # type: ignore[assignment]


def test_a_required_parameter_stop_cannot_do_without_is_flagged() -> None:
    """Pacemaker stops after a failed start, with the same parameters: a failure fences."""
    store = MemoryStateStore()
    report = check(lambda: Unlocated(store), params={"config": "/etc/x"})
    assert failed(report) == {"the stop after that failed start (without config) answers 0"}
    (flagged,) = report.failures
    assert "declare it locates=True or give it a default" in flagged.detail
    # Told it locates the resource, the suite expects the idiom, and the agent is judged on it.
    told = check(lambda: Unlocated(store), params={"config": "/etc/x"}, locating=["config"])
    assert failed(told) == {"the stop after that failed start (without config) answers 0"}


class OldIdiom(InProcessTarget):
    """What stop did before: any broken parameter answered 0, without looking."""

    def run(
        self, action: str | None, environ: Mapping[str, str], *, user: str | None = None
    ) -> Outcome:
        if action == "stop" and "not-a-number" in environ.values():
            return Outcome("stop", 0, "", "")
        return super().run(action, environ, user=user)


def test_a_stop_that_answers_0_while_the_resource_runs_fails() -> None:
    store = MemoryStateStore()
    report = check(OldIdiom(lambda: Configured(store)), params={"config": "/etc/x"})
    assert failed(report) == {"stop with port=not-a-number while running stops the resource"}
    detail = {c.name: c.detail for c in report.checks}
    assert detail["stop with port=not-a-number while running stops the resource"] == (
        "stop answered 0 and the resource still runs"
    )


def test_a_locating_parameter_is_exempt_from_the_running_stop_check() -> None:
    store = MemoryStateStore()
    report = check(
        OldIdiom(lambda: Configured(store)), params={"config": "/etc/x"}, locating=["port"]
    )
    assert report.ok, report.render()
    skipped = {c.name for c in report.checks if c.skipped}
    assert "stop with port=not-a-number while running" in skipped


def test_start_up_cost_is_measured_for_a_real_agent(tmp_path: Path) -> None:
    report = check(Dummy, rsctmp=str(tmp_path), measure_startup=True)
    assert report.ok, report.render()
    cost = report.startup
    assert cost is not None
    assert cost.monitor_code == 0  # measured while started
    assert cost.monitor_ms > 0 and cost.meta_data_ms > 0
    assert cost.python_ms is not None and cost.imports_ms is not None and cost.imports
    text = report.render()
    assert "Start-up cost, whole processes" in text
    assert "x bare python" in text


def test_no_start_up_cost_for_test_doubles() -> None:
    report = check(factory(WellBehaved), measure_startup=True)
    assert report.startup is None
    assert "not measured on the agent's test doubles" in report.render()


def test_importtime_lines_are_parsed() -> None:
    stderr = (
        "import time: self [us] | cumulative | imported package\n"
        "import time:       120 |        120 |   posix\n"
        "import time:      1195 |       4276 |     enum\n"
        "noise\n"
        "import time:       292 |       8454 | ocfkit\n"
    )
    assert parse_importtime(stderr) == [
        ImportCost("posix", 120, 120, 1),
        ImportCost("enum", 1195, 4276, 2),
        ImportCost("ocfkit", 292, 8454, 0),
    ]


def test_report_rendering() -> None:
    report = Report("agent", [Check("good", True), Check("bad", False, "why"),
                              Check("later", True, "n/a", skipped=True)])  # fmt: skip
    assert report.render().splitlines() == [
        "Conformance of agent:",
        "  [ok  ] good",
        "  [FAIL] bad: why",
        "  [skip] later: n/a",
        "1 passed, 1 failed, 1 skipped",
    ]
    assert not report.ok
    assert [c.name for c in report.failures] == ["bad"]


def test_in_process_target_cannot_change_user() -> None:
    with pytest.raises(NotImplementedError):
        InProcessTarget(factory(WellBehaved)).run("meta-data", {}, user="nobody")


# --------------------------------------------------------------- executables

BROKEN_SCRIPT = """#!/bin/sh
# Knows meta-data, but every other action answers 3 without a reason.
case "$1" in
meta-data) cat <<'END'
<?xml version="1.0"?>
<!DOCTYPE resource-agent SYSTEM "ra-api-1.dtd">
<resource-agent name="broken">
<version>1.0</version>
<longdesc lang="en">x</longdesc><shortdesc lang="en">x</shortdesc>
<parameters><parameter name="p"><longdesc lang="en">p</longdesc><shortdesc lang="en">p</shortdesc>
<content type="string"/></parameter></parameters>
<actions><action name="start" timeout="20s"/><action name="stop" timeout="20s"/>
<action name="monitor" timeout="20s"/><action name="meta-data" timeout="5s"/></actions>
</resource-agent>
END
exit 0;;
*) exit 3;;
esac
"""


@pytest.mark.real
def test_an_executable_is_run_as_pacemaker_runs_it(world_dir: Path) -> None:
    script = world_dir / "broken"
    script.write_text(BROKEN_SCRIPT)
    script.chmod(0o755)
    target = ExecutableTarget(str(script))
    outcome = target.run("start", {"OCF_RESOURCE_INSTANCE": "x"})
    assert (outcome.action, outcome.exit_code, outcome.exit_reason) == ("start", 3, None)
    report = check(str(script))
    assert report.checks[0] == Check("meta-data returns 0", True, "")
    assert {"start", "an unknown action answers 3: error carries an exit reason",
            "probe of a stopped resource answers 7"} <= failed(report)  # fmt: skip
    if os.geteuid() == 0:
        assert "meta-data works as user nobody" not in failed(report)


@pytest.mark.real
@pytest.mark.skipif(os.geteuid() != 0, reason="runs meta-data as nobody")
def test_an_agent_nobody_can_reach_is_a_failed_check_not_a_crash(tmp_path: Path) -> None:
    """pytest's tmp_path is private to root: nobody cannot even reach the agent there."""
    hidden = tmp_path / "agent"
    hidden.write_text(BROKEN_SCRIPT)
    hidden.chmod(0o755)
    report = check(str(hidden))
    assert "meta-data works as user nobody" in failed(report)
    detail = {c.name: c.detail for c in report.checks}["meta-data works as user nobody"]
    assert "cannot run" in detail and "Permission denied" in detail


def test_a_missing_executable_is_reported() -> None:
    outcome = ExecutableTarget("/nonexistent/agent").run("meta-data", {})
    assert outcome.exit_code == ExitCode.ERR_INSTALLED
    assert "cannot run /nonexistent/agent" in outcome.stderr


def test_an_executable_that_hangs_is_reported(world_dir: Path) -> None:
    script = world_dir / "hangs"
    script.write_text("#!/bin/sh\nexec sleep 30\n")
    script.chmod(0o755)
    outcome = ExecutableTarget(str(script), timeout=0.3).run("monitor", {})
    assert outcome.exit_code == ExitCode.ERR_GENERIC
    assert outcome.stderr == "timed out after 0.3s"


@pytest.mark.real
@pytest.mark.skipif(os.geteuid() != 0, reason="runs meta-data as nobody")
def test_debian_dummy_is_judged_on_what_it_does() -> None:
    """A real shell agent: its life cycle is right, its unknown-action answer has no reason."""
    report = check("/usr/lib/ocf/resource.d/heartbeat/Dummy")
    passed = {c.name for c in report.checks if c.passed and not c.skipped}
    assert {
        "meta-data (1.1) valid against ocf-1.1-rng",
        "meta-data for OCF 1.0 callers valid against ra-api-1.dtd (ocf-tester)",
        "probe of a stopped resource answers 7",
        "start",
        "monitor of a started resource answers 0",
        "stop of a stopped resource answers 0",
    } <= passed
    assert "an unknown action answers 3: error carries an exit reason" in failed(report)
