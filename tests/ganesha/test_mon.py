"""ganesha_mon's decisions, on a fake node."""

from __future__ import annotations

import pytest

from ganesha_agents.mon import REASSERT_PERIOD, GaneshaMon
from ganesha_agents.signalled import Signalled
from ganesha_agents.watcher import WatchingMon
from ocfkit import ExitCode, GenericError
from ocfkit.testing import AgentRunner, OCFEnv
from tests.ganesha.conftest import World

MONITOR = {"interval": 10_000, "timeout": 10_000}


@pytest.fixture
def alone_env(mon_env: OCFEnv) -> OCFEnv:
    """ganesha_mon without its watcher: the monitor does everything itself, as before it."""
    return mon_env.params(watch="false")


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


def test_start_sets_both_attributes_and_launches_the_watcher(world: World, mon_env: OCFEnv) -> None:
    started(world, mon_env)
    assert world.attributes.calls == [
        ("set", "node1", "grace-active"),
        ("set", "node1", "ganesha-active"),
    ]
    (environ,) = world.watchers.launches
    assert environ["OCF_RESOURCE_INSTANCE"] == "nfs-mon", (
        "the watcher gets the action's environment"
    )
    assert world.run_mon("start", mon_env).code == ExitCode.SUCCESS
    assert len(world.watchers.launches) == 1, "a second start keeps the watcher that runs"


def test_healthy_monitor_with_its_watcher_running_calls_no_program_and_waits_not(
    world: World, mon_env: OCFEnv
) -> None:
    started(world, mon_env)
    world.attributes.calls.clear()
    for _ in range(5):
        world.clock.advance(10)
        result = world.run_mon("monitor", mon_env.meta(**MONITOR))
        assert result.code == ExitCode.SUCCESS
    assert world.attributes.calls == []
    assert world.clock.sleeps == []
    assert len(world.watchers.launches) == 1


def test_attributes_are_written_again_after_the_period_when_nobody_else_did(
    world: World, mon_env: OCFEnv
) -> None:
    env = mon_env.params(watch="false")
    started(world, env)
    assert world.watchers.launches == [], "watch=false: no watcher"
    world.attributes.calls.clear()
    world.clock.advance(REASSERT_PERIOD - 1)
    world.run_mon("monitor", env.meta(**MONITOR))
    assert world.attributes.calls == []
    world.clock.advance(1)
    world.run_mon("monitor", env.meta(**MONITOR))
    assert world.attributes.calls == [
        ("set", "node1", "grace-active"),
        ("set", "node1", "ganesha-active"),
    ]


def test_with_a_healthy_watcher_the_monitor_writes_only_after_twice_the_period(
    world: World, mon_env: OCFEnv
) -> None:
    started(world, mon_env)
    world.attributes.calls.clear()
    world.clock.advance(2 * REASSERT_PERIOD - 1)
    world.run_mon("monitor", mon_env.meta(**MONITOR))
    assert world.attributes.calls == []
    world.clock.advance(1)
    world.run_mon("monitor", mon_env.meta(**MONITOR))
    assert len(world.attributes.calls) == 2


def test_a_restarted_attrd_gets_the_attributes_again_at_once(world: World, mon_env: OCFEnv) -> None:
    world.attrd.current = "812:4400"
    started(world, mon_env)
    world.attributes.calls.clear()
    world.attrd.current = ""  # attrd respawning: unknown is no reason
    world.run_mon("monitor", mon_env.meta(**MONITOR))
    assert world.attributes.calls == []
    world.attrd.current = "1207:9913"
    result = world.run_mon("monitor", mon_env.meta(**MONITOR))
    assert len(world.attributes.calls) == 2
    assert result.logged("attrd restarted (812:4400, now 1207:9913)")
    world.run_mon("monitor", mon_env.meta(**MONITOR))
    assert len(world.attributes.calls) == 2, "recorded: the same attrd is not asked twice"


def test_a_probe_of_a_started_instance_always_writes_them(world: World, mon_env: OCFEnv) -> None:
    started(world, mon_env)
    world.attributes.calls.clear()
    assert world.run_mon("monitor", mon_env.probe()).code == ExitCode.SUCCESS
    assert len(world.attributes.calls) == 2


def test_a_state_file_of_the_earlier_agent_is_read_and_the_attributes_written(
    world: World, mon_env: OCFEnv
) -> None:
    world.state.values["ganesha_mon-nfs-mon"] = "up"
    world.run_mon("monitor", mon_env.meta(**MONITOR))
    assert len(world.attributes.calls) == 2
    assert world.state.values["ganesha_mon-nfs-mon"].startswith("phase=up ")


def test_dead_daemon_deletes_grace_active_waits_then_deletes_ganesha_active(
    world: World, alone_env: OCFEnv
) -> None:
    started(world, alone_env)
    world.daemon.kill()
    before = world.clock.now
    result = world.run_mon("monitor", alone_env.meta(**MONITOR).params(grace_delay=3))
    assert result.code == ExitCode.SUCCESS, "the monitor never fails because of the daemon"
    deletions = [c for c in world.attributes.history if c.value is None]
    assert [(c.name, c.time - before) for c in deletions] == [
        ("grace-active", 0.0),
        ("ganesha-active", 3.0),
    ]
    assert world.value("grace-active") == ""  # attrd keeps a deleted name with an empty value


def test_the_wait_runs_once_per_failure_not_on_every_monitor(
    world: World, alone_env: OCFEnv
) -> None:
    started(world, alone_env)
    world.daemon.kill()
    env = alone_env.meta(**MONITOR)
    world.run_mon("monitor", env)
    world.run_mon("monitor", env)
    world.run_mon("monitor", env)
    assert world.clock.sleeps == [5.0]


def test_daemon_coming_back_sets_the_attributes_again_and_rearms_the_wait(
    world: World, alone_env: OCFEnv
) -> None:
    started(world, alone_env)
    env = alone_env.meta(**MONITOR)
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


def test_stop_ends_the_watcher_forgets_the_instance_and_leaves_the_attributes(
    world: World, mon_env: OCFEnv
) -> None:
    started(world, mon_env)
    (watcher,) = [world.watchers.pid]
    result = world.run_mon("stop", mon_env)
    assert result.code == ExitCode.SUCCESS
    assert world.watchers.stops == [watcher]
    assert result.logged(f"watcher (pid {watcher}) stopped")
    assert world.watchers.removed == 1 and world.lock.removed
    assert world.run_mon("monitor", mon_env.meta(**MONITOR)).code == ExitCode.NOT_RUNNING
    assert world.value("ganesha-active") == "1"
    assert world.run_mon("stop", mon_env).code == ExitCode.SUCCESS, "stop is idempotent"
    assert world.watchers.stops == [watcher]


def test_grace_delay_is_cut_to_fit_the_deadline_and_ganesha_active_still_goes(
    world: World, alone_env: OCFEnv
) -> None:
    started(world, alone_env)
    world.daemon.kill()
    result = world.run_mon(
        "monitor", alone_env.meta(interval=10_000, timeout=6_000).params(grace_delay=8)
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


def test_attribute_tool_failure_is_reported_not_swallowed(world: World, alone_env: OCFEnv) -> None:
    started(world, alone_env)
    world.attributes.failure = GenericError("attrd_updater exited 1: connection refused")
    world.clock.advance(REASSERT_PERIOD)  # a monitor that writes
    result = world.run_mon("monitor", alone_env.meta(**MONITOR))
    assert result.code == ExitCode.ERR_GENERIC
    assert result.exit_reason == "attrd_updater exited 1: connection refused"


def test_both_deletions_are_attempted_when_the_first_fails(world: World, alone_env: OCFEnv) -> None:
    started(world, alone_env)
    world.daemon.kill()
    failing = {"grace-active"}
    store = world.attributes

    original = store.delete

    def delete(node: str, name: str) -> None:
        if name in failing:
            raise GenericError(f"attrd_updater -D -n {name} failed")
        original(node, name)

    store.delete = delete  # type: ignore[method-assign]
    result = world.run_mon("monitor", alone_env.meta(**MONITOR))
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
        '<parameter name="watch">',
        '<content type="boolean" default="true"/>',
        '<action name="start" timeout="40s"/>',
        '<action name="stop" timeout="40s"/>',
        '<action name="monitor" timeout="10s" interval="10s" depth="0"/>',
        '<action name="status" timeout="20s" interval="60s"/>',
        '<action name="meta-data" timeout="20s"/>',
    ):
        assert fragment in result.stdout


def test_a_monitor_that_finds_the_watcher_draining_leaves_the_wait_to_it(
    world: World, mon_env: OCFEnv
) -> None:
    started(world, mon_env)
    world.daemon.kill()
    result = world.run_mon("monitor", mon_env.meta(**MONITOR))
    assert result.code == ExitCode.SUCCESS
    assert world.value("grace-active") == "" and world.value("ganesha-active") == "1"
    assert world.clock.sleeps == [], "a healthy watcher waits grace_delay, not the monitor"
    # The watcher died during the wait: the next monitor, after grace_delay, finishes it.
    world.watchers.kind = "absent"
    world.clock.advance(10)
    world.run_mon("monitor", mon_env.meta(**MONITOR))
    assert world.value("ganesha-active") == ""
    assert len(world.watchers.launches) == 2


def test_the_watcher_and_a_monitor_never_both_signal(world: World, mon_env: OCFEnv) -> None:
    """The monitor begins the failover, the watcher finishes it, the next monitor finds it done."""
    started(world, mon_env)
    world.attributes.calls.clear()
    world.daemon.kill()
    world.run_mon("monitor", mon_env.meta(**MONITOR))
    watcher = WatchingMon(
        lock=world.lock,
        watchers=world.watchers,
        attrd=world.attrd,
        attributes=world.attributes.for_node("node1"),
        daemon=world.daemon,
        clock=world.clock,
        state_store=world.state,
    )
    watcher.bind(dict(mon_env))
    watcher.reconcile()
    assert sum(world.clock.sleeps) == 5.0, "the watcher waits, beating every second"
    for _ in range(3):
        world.run_mon("monitor", mon_env.meta(**MONITOR))
        watcher.reconcile()
    assert world.attributes.calls == [
        ("delete", "node1", "grace-active"),
        ("delete", "node1", "ganesha-active"),
    ]
    world.daemon.revive()
    world.run_mon("monitor", mon_env.meta(**MONITOR))
    watcher.reconcile()
    assert world.attributes.calls[2:] == [
        ("set", "node1", "grace-active"),
        ("set", "node1", "ganesha-active"),
    ]


def test_stop_during_a_failover_finishes_it(world: World, mon_env: OCFEnv) -> None:
    started(world, mon_env)
    world.daemon.kill()
    world.run_mon("monitor", mon_env.meta(**MONITOR))
    assert world.value("ganesha-active") == "1"
    assert world.run_mon("stop", mon_env).code == ExitCode.SUCCESS
    assert world.value("ganesha-active") == "", "a VIP must not stay on a node without a server"
    assert world.clock.sleeps == [5.0]


def test_a_dead_watcher_is_started_again_and_a_hung_one_killed_first(
    world: World, mon_env: OCFEnv
) -> None:
    started(world, mon_env)
    first = world.watchers.pid
    world.watchers.kind = "absent"
    result = world.run_mon("monitor", mon_env.meta(**MONITOR))
    assert result.logged("the watcher is not running")
    second = world.watchers.pid
    assert second != first and world.watchers.stops == []
    world.watchers.kind = "hung"
    result = world.run_mon("monitor", mon_env.meta(**MONITOR))
    assert result.code == ExitCode.SUCCESS
    assert result.logged(f"watcher pid {second} is hung: killing it")
    assert world.watchers.stops == [second]
    assert world.watchers.kind == "running" and world.watchers.pid not in (first, second)


def test_a_lock_held_by_a_stranger_is_neither_killed_nor_doubled(
    world: World, mon_env: OCFEnv
) -> None:
    started(world, mon_env)
    world.watchers.kind = "foreign"
    result = world.run_mon("monitor", mon_env.meta(**MONITOR))
    assert result.code == ExitCode.SUCCESS
    assert result.logged("not this instance's watcher")
    assert world.watchers.stops == [] and len(world.watchers.launches) == 1


def test_a_watcher_that_cannot_start_leaves_the_monitor_watching_alone(
    world: World, mon_env: OCFEnv
) -> None:
    world.watchers.launch_failure = GenericError("cannot start the watcher: No such file")
    started(world, mon_env)
    world.daemon.kill()
    result = world.run_mon("monitor", mon_env.meta(**MONITOR).params(grace_delay=2))
    assert result.code == ExitCode.SUCCESS
    assert result.logged("the monitor watches alone")
    assert world.value("ganesha-active") == "" and world.clock.sleeps == [2.0]


def test_a_failed_write_is_tried_again_at_the_next_check(world: World, mon_env: OCFEnv) -> None:
    env = mon_env.meta(**MONITOR)
    world.attributes.failure = GenericError("attrd_updater exited 1: connection refused")
    result = world.run_mon("start", mon_env)
    assert result.code == ExitCode.ERR_GENERIC
    world.attributes.failure = None
    world.attributes.calls.clear()
    assert world.run_mon("monitor", env).code == ExitCode.SUCCESS
    assert len(world.attributes.calls) == 2, "never written: written now, within the period"


def test_a_state_lock_held_past_the_deadline_fails_the_monitor_naming_the_holder(
    world: World, mon_env: OCFEnv
) -> None:
    world.state.values["ganesha_mon-nfs-mon"] = Signalled("started").dump()
    world.lock.held_by = 31337
    result = world.run_mon("monitor", mon_env.meta(**MONITOR))
    assert result.code == ExitCode.ERR_GENERIC
    assert result.exit_reason == "ganesha_mon's state lock is held by pid 31337 past the deadline"
    assert world.attributes.calls == []


def test_the_watcher_reads_the_instance_from_the_environment(mon_env: OCFEnv) -> None:
    mon = WatchingMon()
    mon.bind(dict(mon_env.params(grace_delay=3, pid_file="/x/g.pid").set(HA_RSCTMP="/r")))
    assert (mon.params.grace_delay, mon.pid_files(), mon.name) == (3, ("/x/g.pid",), "ganesha_mon")
    assert mon.instance_file("watcher") == "/r/ganesha_mon-nfs-mon.watcher"
    assert isinstance(mon, GaneshaMon)
    assert AgentRunner(mon).invoke("meta-data").code == ExitCode.SUCCESS


def test_stop_ends_the_watcher_under_the_lock_and_goes_on_without_it(
    world: World, mon_env: OCFEnv
) -> None:
    started(world, mon_env)
    before = world.lock.acquisitions
    assert world.run_mon("stop", mon_env).code == ExitCode.SUCCESS
    assert world.lock.acquisitions == before + 1 and not world.lock.held
    started(world, mon_env)
    world.lock.held_by = 4711
    result = world.run_mon("stop", mon_env)
    assert result.code == ExitCode.SUCCESS, "a failed stop would get the node fenced"
    assert result.logged("stopping without the state lock (held by pid 4711)")
    assert len(world.watchers.stops) == 2
