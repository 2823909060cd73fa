"""The example agent, as its users see it."""

from __future__ import annotations

from pathlib import Path

import pytest

from ocfkit import ExitCode
from ocfkit.examples.dummy import Dummy
from ocfkit.testing import AgentRunner, FakeClock, OCFEnv


@pytest.fixture
def env(tmp_path: Path) -> OCFEnv:
    return OCFEnv(instance="d1", rsctmp=str(tmp_path))


def test_life_cycle_in_ha_rsctmp(env: OCFEnv, tmp_path: Path) -> None:
    runner = AgentRunner(lambda: Dummy(clock=FakeClock()))
    assert runner.invoke("monitor", env.probe()).code == ExitCode.NOT_RUNNING
    assert runner.invoke("start", env.params(fake="payload")).code == ExitCode.SUCCESS
    assert (tmp_path / "dummy-d1.state").read_text() == "payload\n"
    assert runner.invoke("monitor", env.recurring()).code == ExitCode.SUCCESS
    assert runner.invoke("stop", env).code == ExitCode.SUCCESS
    assert not (tmp_path / "dummy-d1.state").exists()
    assert runner.invoke("monitor", env.recurring()).code == ExitCode.NOT_RUNNING


def test_instances_do_not_share_state(env: OCFEnv) -> None:
    runner = AgentRunner(lambda: Dummy(clock=FakeClock()))
    runner.invoke("start", env)
    other = env.set(OCF_RESOURCE_INSTANCE="d2")
    assert runner.invoke("monitor", other.probe()).code == ExitCode.NOT_RUNNING


def test_explicit_state_file(env: OCFEnv, tmp_path: Path) -> None:
    state = tmp_path / "elsewhere" / "my.state"
    runner = AgentRunner(lambda: Dummy(clock=FakeClock()))
    assert runner.invoke("start", env.params(state=str(state))).code == 0
    assert state.read_text() == "dummy\n"
    assert runner.invoke("stop", env.params(state=str(state))).code == 0
    assert not state.exists()


def test_relative_state_file_is_a_configuration_error(env: OCFEnv) -> None:
    bad = env.params(state="relative.state")
    runner = AgentRunner(lambda: Dummy(clock=FakeClock()))
    start = runner.invoke("start", bad)
    assert start.code == ExitCode.ERR_CONFIGURED
    assert start.exit_reason == "state must be an absolute path, not 'relative.state'"
    assert runner.invoke("monitor", bad.probe()).code == ExitCode.NOT_RUNNING
    assert runner.invoke("stop", bad).code == ExitCode.SUCCESS


def test_op_sleep_waits_but_never_past_the_deadline(env: OCFEnv) -> None:
    clock = FakeClock()
    runner = AgentRunner(Dummy(clock=clock))
    assert runner.invoke("start", env.params(op_sleep=3)).code == 0
    assert clock.sleeps == [3]
    runner.invoke("stop", env.params(op_sleep=100).timeout(10_000))
    assert clock.sleeps[-1] == pytest.approx(9.0)  # 10 s less the 1 s reserve


def test_notify_logs_the_event(env: OCFEnv) -> None:
    note = env.clone(instance=0, max=3).notification("post", "start", start=["node2", "node3"])
    result = AgentRunner(Dummy(clock=FakeClock())).invoke("notify", note)
    assert result.code == ExitCode.SUCCESS
    assert result.logged("notified post-start (started: node2 node3)")


def test_usage_lists_the_actions() -> None:
    result = AgentRunner(Dummy()).invoke("usage", {})
    assert result.stdout == "usage: dummy {start|stop|monitor|notify|validate-all|meta-data}\n"
