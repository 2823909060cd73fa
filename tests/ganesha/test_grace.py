"""ganesha_grace's decisions, on a fake node."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

import pytest

from ganesha_agents.backends.ganesha import REFUSAL_ATTEMPTS, GaneshaDaemon
from ganesha_agents.backends.protocols import NFSDaemon
from ganesha_agents.grace import NOTIFY_BUDGET, GaneshaGrace
from ganesha_agents.standins import ganesha_pid_holder
from ocfkit import ExitCode, GenericError
from ocfkit.testing import AgentRunner, OCFEnv
from tests.ganesha.conftest import World
from tests.ganesha.dbus_script import (
    Fail,
    Script,
    ganesha_refuses,
    service_unknown,
    steady_backoff,
)

MONITOR = {"interval": 5_000, "timeout": 10_000}


def healthy(world: World) -> None:
    world.attributes.set("node1", "grace-active", "1")


def started(world: World, env: OCFEnv) -> None:
    healthy(world)
    assert world.run_grace("start", env).code == ExitCode.SUCCESS


def calls(world: World) -> list[str]:
    return [c.argument for c in world.daemon.grace_calls]


# ---------------------------------------------------------------- start


def test_start_returns_at_once_when_grace_active_is_1(world: World, grace_env: OCFEnv) -> None:
    healthy(world)
    assert world.run_grace("start", grace_env).code == ExitCode.SUCCESS
    assert world.clock.sleeps == [], "no fixed 5 s sleep any more"


def test_start_waits_for_the_attribute_and_returns_when_it_appears(
    world: World, grace_env: OCFEnv
) -> None:
    world.clock.schedule(1.0, lambda: world.attributes.set("node1", "grace-active", "1"))
    result = world.run_grace("start", grace_env)
    assert result.code == ExitCode.SUCCESS
    assert 1.0 <= sum(world.clock.sleeps) < 1.5


def test_start_with_the_attribute_still_missing_succeeds_after_the_wait(
    world: World, grace_env: OCFEnv
) -> None:
    result = world.run_grace("start", grace_env)
    assert result.code == ExitCode.SUCCESS
    assert sum(world.clock.sleeps) == pytest.approx(5.0)
    assert result.logged("coming up")


def test_start_on_an_unhealthy_node_answers_7_with_a_reason(
    world: World, grace_env: OCFEnv
) -> None:
    world.attributes.set("node1", "grace-active", "1")
    world.attributes.delete("node1", "grace-active")
    result = world.run_grace("start", grace_env)
    assert result.code == ExitCode.NOT_RUNNING
    assert (
        result.exit_reason is not None and "ganesha.nfsd is not running here" in result.exit_reason
    )
    assert world.run_grace("monitor", grace_env.probe()).code == ExitCode.NOT_RUNNING


# -------------------------------------------------------------- monitor


def test_probe_of_a_never_started_instance_answers_7(world: World, grace_env: OCFEnv) -> None:
    healthy(world)
    assert world.run_grace("monitor", grace_env.probe()).code == ExitCode.NOT_RUNNING


def test_monitor_with_the_local_daemon_running_asks_attrd_nothing(
    world: World, grace_env: OCFEnv
) -> None:
    started(world, grace_env)
    world.attributes.calls.clear()
    assert world.run_grace("monitor", grace_env.meta(**MONITOR)).code == ExitCode.SUCCESS
    world.attributes.failure = GenericError("attrd_updater exited 102: not connected")
    assert world.run_grace("monitor", grace_env.meta(**MONITOR)).code == ExitCode.SUCCESS
    assert world.attributes.calls == []


@pytest.mark.parametrize(("value", "code"), [(None, ExitCode.SUCCESS), ("1", ExitCode.SUCCESS)])
def test_monitor_is_happy_while_the_attribute_is_1_or_not_yet_known(
    world: World, grace_env: OCFEnv, value: str | None, code: ExitCode
) -> None:
    started(world, grace_env)
    world.daemon.kill()
    world.attributes.values.pop(("node1", "grace-active"))
    if value is not None:
        world.attributes.set("node1", "grace-active", value)
    assert world.run_grace("monitor", grace_env.meta(**MONITOR)).code == code


@pytest.mark.parametrize("value", ["", "0", "yes"])
def test_monitor_fails_with_generic_error_otherwise(
    world: World, grace_env: OCFEnv, value: str
) -> None:
    started(world, grace_env)
    world.daemon.kill()
    world.attributes.set("node1", "grace-active", value)
    result = world.run_grace("monitor", grace_env.meta(**MONITOR))
    assert result.code == ExitCode.ERR_GENERIC
    assert result.exit_reason is not None and "ganesha.nfsd is down here" in result.exit_reason


def test_monitor_reports_an_attribute_tool_failure(world: World, grace_env: OCFEnv) -> None:
    started(world, grace_env)
    world.daemon.kill()
    world.attributes.failure = GenericError("attrd_updater exited 102: not connected")
    result = world.run_grace("monitor", grace_env.meta(**MONITOR))
    assert result.code == ExitCode.ERR_GENERIC
    assert result.exit_reason == "attrd_updater exited 102: not connected"


def test_stop_answers_0_and_forgets(world: World, grace_env: OCFEnv) -> None:
    started(world, grace_env)
    assert world.run_grace("stop", grace_env).code == ExitCode.SUCCESS
    assert world.run_grace("monitor", grace_env.meta(**MONITOR)).code == ExitCode.NOT_RUNNING
    assert world.run_grace("stop", grace_env).code == ExitCode.SUCCESS


# --------------------------------------------------------------- notify

ACTIVE = ["node1", "node2", "node3", "node4"]


def notify(world: World, env: OCFEnv, *args: str, **lists: object) -> int:
    result = world.run_grace("notify", env.notification(*args, all=ACTIVE, **lists))  # type: ignore[arg-type]
    return result.exit_code


def test_post_stop_of_one_node_sends_one_take_over_grace(world: World, grace_env: OCFEnv) -> None:
    assert notify(world, grace_env, "post", "stop", stop=["node2"], active=ACTIVE) == 0
    assert calls(world) == ["5:node2"]


def test_post_stop_of_several_nodes_sends_one_call_per_node(
    world: World, grace_env: OCFEnv
) -> None:
    stop = [("nfs-grace:3", "node4"), ("nfs-grace:1", "node2")]
    assert notify(world, grace_env, "post", "stop", stop=stop, active=ACTIVE) == 0
    assert calls(world) == ["5:node4", "5:node2"], "never one malformed joined argument"


def test_post_stop_after_fencing_sends_grace_too(world: World, grace_env: OCFEnv) -> None:
    env = grace_env.notification(
        "post", "stop", stop=["node3"], active=ACTIVE, key_operation="stonith"
    )
    assert world.run_grace("notify", env).code == ExitCode.SUCCESS
    assert calls(world) == ["5:node3"]


def test_post_stop_never_names_the_local_node(world: World, grace_env: OCFEnv) -> None:
    assert notify(world, grace_env, "post", "stop", stop=["node1", "node2"], active=ACTIVE) == 0
    assert calls(world) == ["5:node2"]


def test_local_node_comes_from_crm_node_when_pacemaker_does_not_say(
    world: World, grace_env: OCFEnv
) -> None:
    env = grace_env.set(OCF_RESKEY_CRM_meta_on_node=None)
    assert notify(world, env, "post", "stop", stop=["node1", "node2"], active=ACTIVE) == 0
    assert calls(world) == ["5:node2"]
    assert world.commands.calls == [("crm_node", "-n")]


def test_pre_start_puts_the_local_server_into_plain_grace(world: World, grace_env: OCFEnv) -> None:
    assert notify(world, grace_env, "pre", "start", start=["node2"], active=["node1", "node3"]) == 0
    assert calls(world) == ["0:"]


def test_pre_start_of_the_local_node_alone_sends_nothing(world: World, grace_env: OCFEnv) -> None:
    assert notify(world, grace_env, "pre", "start", start=["node1"], active=["node2"]) == 0
    assert calls(world) == []


@pytest.mark.parametrize(
    ("when", "operation"), [("pre", "stop"), ("post", "start"), ("pre", "promote")]
)
def test_other_notifications_are_ignored(
    world: World, grace_env: OCFEnv, when: str, operation: str
) -> None:
    assert (
        notify(world, grace_env, when, operation, stop=["node2"], start=["node2"], active=ACTIVE)
        == 0
    )
    assert calls(world) == []


def test_empty_lists_are_a_single_space_and_send_nothing(world: World, grace_env: OCFEnv) -> None:
    env = grace_env.notification("post", "stop")
    assert env["OCF_RESKEY_CRM_meta_notify_stop_uname"] == " "
    assert world.run_grace("notify", env).code == ExitCode.SUCCESS
    assert calls(world) == []


def test_hostile_node_names_reach_nothing_but_the_grace_argument(
    world: World, grace_env: OCFEnv
) -> None:
    names = ["n'1", 'n"2', "n;3", "$(touch${IFS}x)", "a:b"]
    assert notify(world, grace_env, "post", "stop", stop=names, active=ACTIVE) == 0
    assert calls(world) == [f"5:{name}" for name in names]
    assert world.commands.calls == [], "no program was run"


def test_a_failing_grace_call_is_logged_the_rest_still_sent_and_notify_answers_0(
    world: World, grace_env: OCFEnv
) -> None:
    world.daemon.fail_next(1, "org.freedesktop.DBus.Error.NoReply: timed out")
    result = world.run_grace(
        "notify", grace_env.notification("post", "stop", stop=["node2", "node3"], active=ACTIVE)
    )
    assert result.code == ExitCode.SUCCESS
    assert calls(world) == ["5:node3"]
    assert result.logged("grace for node2 failed")


def test_notify_with_the_local_daemon_dead_answers_0_at_once(
    world: World, grace_env: OCFEnv
) -> None:
    world.daemon.kill()
    env = grace_env.notification("post", "stop", stop=["node2", "node3"], active=ACTIVE)
    result = world.run_grace("notify", env)
    assert result.code == ExitCode.SUCCESS
    assert result.logged("no ganesha.nfsd runs on node1")
    assert not result.logged("grace for node2 failed"), "not running is nothing to do"
    assert world.clock.sleeps == []


def test_every_grace_call_of_a_notification_gets_the_rest_of_one_budget(
    world: World, grace_env: OCFEnv
) -> None:
    env = grace_env.notification("post", "stop", stop=["node2", "node3"], active=ACTIVE)
    assert world.run_grace("notify", env).code == ExitCode.SUCCESS
    assert [c.budget for c in world.daemon.grace_calls] == [NOTIFY_BUDGET, NOTIFY_BUDGET]


def test_a_hung_daemon_holds_a_notification_no_longer_than_its_budget(
    world: World, grace_env: OCFEnv
) -> None:
    world.daemon.hung = True
    started = world.clock.monotonic()
    env = grace_env.notification("post", "stop", stop=["node2", "node3", "node4"], active=ACTIVE)
    result = world.run_grace("notify", env)
    assert result.code == ExitCode.SUCCESS
    assert world.clock.monotonic() - started == pytest.approx(NOTIFY_BUDGET)
    assert NOTIFY_BUDGET < 10 / 2, "well inside the notify operation's 10 s timeout"
    assert result.logged("grace failed for node2 node3 node4")


def test_pre_start_with_the_local_daemon_dead_answers_0_at_once(
    world: World, grace_env: OCFEnv
) -> None:
    world.daemon.kill()
    env = grace_env.notification("pre", "start", start=["node2"], active=["node1", "node3"])
    result = world.run_grace("notify", env)
    assert result.code == ExitCode.SUCCESS
    assert result.logged("no ganesha.nfsd runs on node1")
    assert calls(world) == []


# ---------------------------------------------------- with the real backend


class AcceptingAdmin:
    """ganesha's admin object answering every grace call as 4.3 does."""

    def grace(self, argument: str, *, timeout: float) -> tuple[bool, str]:
        return True, "Started grace period"

    def get_grace(self, *, timeout: float) -> tuple[bool, bool, str]:
        return False, True, "get grace success"

    def close(self) -> None:
        pass


class GraceOverRealBackend(GaneshaGrace):
    """ganesha_grace with GaneshaDaemon wired as the agent wires it, over a stand-in bus."""

    @property
    def daemon(self) -> NFSDaemon:
        return GaneshaDaemon(
            self.deadline,
            self.clock,
            log=self.log,
            bus_address="unix:path=/nonexistent",
            connect=lambda _address, _timeout: AcceptingAdmin(),
        )


def test_each_grace_call_is_logged_once(world: World, grace_env: OCFEnv) -> None:
    # The scenarios on a real cluster count grace calls in the agents' log:
    # the agent and the backend both logged each call, so each appeared twice.
    def agent() -> GaneshaGrace:
        return GraceOverRealBackend(
            attributes=world.attributes.for_node("node1"),
            clock=world.clock,
            state_store=world.state,
            runner=world.commands,
        )

    env = grace_env.notification("post", "stop", stop=["node2", "node3"], active=ACTIVE)
    result = AgentRunner(agent).invoke("notify", env)
    assert result.code == ExitCode.SUCCESS
    assert [m for m in result.messages if m.startswith("grace(")] == [
        "grace('5:node2'): Started grace period",
        "grace('5:node3'): Started grace period",
    ]


def over_real_backend(
    world: World, script: Script, pid_files: Sequence[Path] = ()
) -> Callable[[], GaneshaGrace]:
    """ganesha_grace whose daemon is GaneshaDaemon on a scripted bus, in the world's time."""

    class Wired(GaneshaGrace):
        @property
        def daemon(self) -> NFSDaemon:
            return GaneshaDaemon(
                self.deadline,
                self.clock,
                log=self.log,
                pid_files=[str(path) for path in pid_files],
                bus_address="unix:path=/nonexistent",
                connect=script,
                backoff=steady_backoff(),
            )

    def agent() -> GaneshaGrace:
        return Wired(
            attributes=world.attributes.for_node("node1"),
            clock=world.clock,
            state_store=world.state,
            runner=world.commands,
        )

    return agent


THREE_STOPPED = {"stop": ["node2", "node3", "node4"], "active": ACTIVE}


def test_absent_ganesha_with_no_live_pid_file_ends_the_notification_at_once(
    world: World, grace_env: OCFEnv, stale_pid_file: Path
) -> None:
    script = Script(world.clock, Fail(service_unknown()))
    env = grace_env.notification("post", "stop", **THREE_STOPPED)  # type: ignore[arg-type]
    started = world.clock.monotonic()
    result = AgentRunner(over_real_backend(world, script, [stale_pid_file])).invoke("notify", env)
    assert result.code == ExitCode.SUCCESS
    assert world.clock.monotonic() == started
    assert len(script.connects) == 1, "one look: no ganesha runs, so no other node is tried"
    assert result.logged("no ganesha.nfsd runs here")
    assert result.logged("stale pid")


def test_absent_ganesha_that_lives_holds_the_notification_at_most_its_budget(
    world: World, grace_env: OCFEnv, live_pid_file: Path
) -> None:
    script = Script(world.clock, Fail(service_unknown()))
    env = grace_env.notification("post", "stop", **THREE_STOPPED)  # type: ignore[arg-type]
    started = world.clock.monotonic()
    result = AgentRunner(over_real_backend(world, script, [live_pid_file])).invoke("notify", env)
    assert result.code == ExitCode.SUCCESS
    assert world.clock.monotonic() - started <= NOTIFY_BUDGET
    assert result.logged("grace failed for node2 node3 node4")


def test_a_refusing_ganesha_is_asked_three_times_per_node(world: World, grace_env: OCFEnv) -> None:
    script = Script(world.clock, Fail(ganesha_refuses()))
    env = grace_env.notification("post", "stop", stop=["node2", "node3"], active=ACTIVE)
    started = world.clock.monotonic()
    result = AgentRunner(over_real_backend(world, script)).invoke("notify", env)
    assert result.code == ExitCode.SUCCESS
    assert len(script.connects) == 2 * REFUSAL_ATTEMPTS
    assert world.clock.monotonic() - started == pytest.approx(2 * (0.05 + 0.1))
    assert result.logged("grace failed for node2 node3")


def test_the_monitor_looks_at_the_configured_pid_file(
    world: World, grace_env: OCFEnv, tmp_path: Path
) -> None:
    pid_file = tmp_path / "ganesha.pid"
    env = grace_env.params(pid_file=str(pid_file))

    def real_daemon() -> GaneshaGrace:
        return GaneshaGrace(
            attributes=world.attributes.for_node("node1"),
            clock=world.clock,
            state_store=world.state,
            runner=world.commands,
        )

    started(world, env)
    world.attributes.calls.clear()
    with ganesha_pid_holder(pid_file):
        assert AgentRunner(real_daemon).invoke("monitor", env.meta(**MONITOR)).code == 0
        assert world.attributes.calls == []
    assert AgentRunner(real_daemon).invoke("monitor", env.meta(**MONITOR)).code == 0
    assert world.attributes.calls == [("query", "node1", "grace-active")]
    relative = AgentRunner(real_daemon).invoke(
        "monitor", grace_env.params(pid_file="g.pid").meta(**MONITOR)
    )
    assert relative.code == ExitCode.ERR_CONFIGURED
