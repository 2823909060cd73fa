"""ganesha_mon's decisions, on a fake node."""

from __future__ import annotations

import pytest

from ocfkit import ExitCode, GenericError
from ocfkit.testing import OCFEnv
from tests.ganesha.conftest import World

MONITOR = {"interval": 10_000, "timeout": 10_000}


def started(world: World, env: OCFEnv) -> None:
    assert world.run_mon("start", env).code == ExitCode.SUCCESS


def test_probe_and_monitor_of_a_never_started_instance_answer_7(
    world: World, mon_env: OCFEnv
) -> None:
    assert world.run_mon("monitor", mon_env.probe()).code == ExitCode.NOT_RUNNING
    assert world.run_mon("monitor", mon_env.meta(**MONITOR)).code == ExitCode.NOT_RUNNING
    assert world.attributes.calls == [], "a stopped instance must not touch the attributes"


def test_start_with_a_live_daemon_sets_both_attributes(world: World, mon_env: OCFEnv) -> None:
    started(world, mon_env)
    assert world.value("ganesha-active") == "1"
    assert world.value("grace-active") == "1"
    assert world.run_mon("monitor", mon_env.probe()).code == ExitCode.SUCCESS


def test_healthy_monitor_sets_the_attributes_with_two_calls_and_no_wait(
    world: World, mon_env: OCFEnv
) -> None:
    started(world, mon_env)
    world.attributes.calls.clear()
    result = world.run_mon("monitor", mon_env.meta(**MONITOR))
    assert result.code == ExitCode.SUCCESS
    assert world.attributes.calls == [
        ("set", "node1", "grace-active"),
        ("set", "node1", "ganesha-active"),
    ]
    assert world.clock.sleeps == []


def test_dead_daemon_deletes_grace_active_waits_then_deletes_ganesha_active(
    world: World, mon_env: OCFEnv
) -> None:
    started(world, mon_env)
    world.daemon.kill()
    before = world.clock.now
    result = world.run_mon("monitor", mon_env.meta(**MONITOR).params(grace_delay=3))
    assert result.code == ExitCode.SUCCESS, "the monitor never fails because of the daemon"
    deletions = [c for c in world.attributes.history if c.value is None]
    assert [(c.name, c.time - before) for c in deletions] == [
        ("grace-active", 0.0),
        ("ganesha-active", 3.0),
    ]
    assert world.value("grace-active") == ""  # attrd keeps a deleted name with an empty value


def test_the_wait_runs_once_per_failure_not_on_every_monitor(world: World, mon_env: OCFEnv) -> None:
    started(world, mon_env)
    world.daemon.kill()
    env = mon_env.meta(**MONITOR)
    world.run_mon("monitor", env)
    world.run_mon("monitor", env)
    world.run_mon("monitor", env)
    assert world.clock.sleeps == [5.0]


def test_daemon_coming_back_sets_the_attributes_again_and_rearms_the_wait(
    world: World, mon_env: OCFEnv
) -> None:
    started(world, mon_env)
    env = mon_env.meta(**MONITOR)
    world.daemon.kill()
    world.run_mon("monitor", env)
    world.daemon.revive()
    world.run_mon("monitor", env)
    assert world.value("ganesha-active") == "1" and world.value("grace-active") == "1"
    world.daemon.kill()
    world.run_mon("monitor", env)
    assert world.clock.sleeps == [5.0, 5.0]


def test_start_with_a_dead_daemon_runs_the_same_logic_and_succeeds(
    world: World, mon_env: OCFEnv
) -> None:
    world.daemon.kill()
    world.attributes.set("node1", "ganesha-active", "1")
    world.attributes.set("node1", "grace-active", "1")
    assert world.run_mon("start", mon_env.params(grace_delay=0)).code == ExitCode.SUCCESS
    assert world.value("ganesha-active") == "" and world.value("grace-active") == ""


def test_stop_forgets_the_instance_and_leaves_the_attributes(world: World, mon_env: OCFEnv) -> None:
    started(world, mon_env)
    assert world.run_mon("stop", mon_env).code == ExitCode.SUCCESS
    assert world.run_mon("monitor", mon_env.meta(**MONITOR)).code == ExitCode.NOT_RUNNING
    assert world.value("ganesha-active") == "1"
    assert world.run_mon("stop", mon_env).code == ExitCode.SUCCESS, "stop is idempotent"


def test_grace_delay_is_cut_to_fit_the_deadline_and_ganesha_active_still_goes(
    world: World, mon_env: OCFEnv
) -> None:
    started(world, mon_env)
    world.daemon.kill()
    result = world.run_mon(
        "monitor", mon_env.meta(interval=10_000, timeout=6_000).params(grace_delay=8)
    )
    assert result.code == ExitCode.SUCCESS
    (slept,) = world.clock.sleeps
    assert slept < 6 - 2 + 0.01, "two seconds stay for the attribute updates"
    assert world.value("ganesha-active") == ""
    assert result.logged("does not fit")


def test_custom_attribute_names_are_used(world: World, mon_env: OCFEnv) -> None:
    env = mon_env.params(ganesha_active="nfs up", grace_active="g;$(x)")
    started(world, env)
    assert world.value("nfs up") == "1" and world.value("g;$(x)") == "1"


@pytest.mark.parametrize(
    ("params", "fragment"),
    [
        ({"grace_delay": "soon"}, "'grace_delay': 'soon' is not an integer"),
        ({"grace_delay": "-1"}, "less than the minimum 0"),
        ({"pid_file": "relative/ganesha.pid"}, "pid_file must be an absolute path"),
        ({"ganesha_active": "x", "grace_active": "x"}, "must name different attributes"),
    ],
)
def test_bad_parameters_give_a_clear_reason_and_the_right_code(
    world: World, mon_env: OCFEnv, params: dict[str, str], fragment: str
) -> None:
    env = mon_env.params(**params)
    for action in ("start", "validate-all"):
        result = world.run_mon(action, env)
        assert result.code == ExitCode.ERR_CONFIGURED
        assert result.exit_reason is not None and fragment in result.exit_reason
    recurring = world.run_mon("monitor", env.meta(**MONITOR))
    assert recurring.code == ExitCode.ERR_CONFIGURED
    assert world.run_mon("monitor", env.probe()).code == ExitCode.NOT_RUNNING
    assert world.run_mon("stop", env).code == ExitCode.SUCCESS


def test_validate_all_says_when_grace_delay_does_not_fit_the_monitor(
    world: World, mon_env: OCFEnv
) -> None:
    assert world.run_mon("validate-all", mon_env.params(grace_delay=8)).code == ExitCode.SUCCESS
    result = world.run_mon("validate-all", mon_env.params(grace_delay=9))
    assert result.code == ExitCode.ERR_CONFIGURED
    assert result.exit_reason is not None and "10s monitor timeout" in result.exit_reason


def test_attribute_tool_failure_is_reported_not_swallowed(world: World, mon_env: OCFEnv) -> None:
    started(world, mon_env)
    world.attributes.failure = GenericError("attrd_updater exited 1: connection refused")
    result = world.run_mon("monitor", mon_env.meta(**MONITOR))
    assert result.code == ExitCode.ERR_GENERIC
    assert result.exit_reason == "attrd_updater exited 1: connection refused"


def test_both_deletions_are_attempted_when_the_first_fails(world: World, mon_env: OCFEnv) -> None:
    started(world, mon_env)
    world.daemon.kill()
    failing = {"grace-active"}
    store = world.attributes

    original = store.delete

    def delete(node: str, name: str) -> None:
        if name in failing:
            raise GenericError(f"attrd_updater -D -n {name} failed")
        original(node, name)

    store.delete = delete  # type: ignore[method-assign]
    result = world.run_mon("monitor", mon_env.meta(**MONITOR))
    assert result.code == ExitCode.ERR_GENERIC
    assert world.value("ganesha-active") == "", "the VIP must move even when grace-active is stuck"


def test_meta_data_keeps_the_37_names_defaults_and_timeouts(world: World) -> None:
    result = world.run_mon("meta-data", OCFEnv())
    assert result.code == ExitCode.SUCCESS
    for fragment in (
        '<parameter name="ganesha_active">',
        '<content type="string" default="ganesha-active"/>',
        '<content type="string" default="grace-active"/>',
        '<content type="integer" default="5"/>',
        '<action name="start" timeout="40s"/>',
        '<action name="stop" timeout="40s"/>',
        '<action name="monitor" timeout="10s" interval="10s" depth="0"/>',
        '<action name="status" timeout="20s" interval="60s"/>',
        '<action name="meta-data" timeout="20s"/>',
    ):
        assert fragment in result.stdout
