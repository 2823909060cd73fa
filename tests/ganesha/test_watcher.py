"""The watcher's loop on a fake node, in virtual time: what it signals, when, and when it stops."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from ganesha_agents.fakes import FakeDaemonWatch
from ganesha_agents.mon import REASSERT_PERIOD
from ganesha_agents.watcher import (
    DEAD_POLL,
    RETRY_FIRST,
    RETRY_MAX,
    TICK,
    Watcher,
    WatchingMon,
    log_settings,
)
from ocfkit import ExitCode, GenericError
from ocfkit.testing import OCFEnv
from tests.ganesha.conftest import World


class OwnFile:
    """The watcher's file, in memory: who holds it, how often it beat, whether it is still there."""

    def __init__(self, world: World, holder: int | None = None) -> None:
        self.world = world
        self.holder = holder
        self.beats: list[float] = []
        self.present = True
        self.closed = False

    def claim(self) -> int | None:
        return self.holder

    def beat(self) -> None:
        self.beats.append(self.world.clock.monotonic())

    def still_ours(self) -> bool:
        return self.present

    def close(self) -> None:
        self.closed = True


class Rig:
    """A started ganesha_mon instance and its watcher, sharing the node's fakes."""

    def __init__(self, world: World, env: OCFEnv) -> None:
        self.world = world
        assert world.run_mon("start", env).code == ExitCode.SUCCESS
        world.attributes.calls.clear()
        self.file = OwnFile(world)
        self.mon = WatchingMon(
            beat=self.file.beat,
            lock=world.lock,
            watchers=world.watchers,
            attrd=world.attrd,
            attributes=world.attributes.for_node("node1"),
            daemon=world.daemon,
            clock=world.clock,
            state_store=world.state,
        )
        self.mon.bind(dict(env))
        self.watcher = Watcher(
            self.mon, FakeDaemonWatch(world.daemon, world.clock), self.file, world.clock
        )

    def run_until(self, done: Callable[[], bool], limit: float = 60.0) -> None:
        """Steps until ``done()`` is true (within ``limit`` virtual seconds)."""
        end = self.world.clock.monotonic() + limit
        while not done():
            assert self.world.clock.monotonic() < end, "not reached"
            assert self.watcher.step()

    def when(self, name: str, value: str | None) -> float:
        (change,) = [
            c for c in self.world.attributes.history if c.name == name and c.value == value
        ][-1:]
        return change.time


@pytest.fixture
def rig(world: World, mon_env: OCFEnv) -> Rig:
    return Rig(world, mon_env.params(grace_delay=5))


def test_a_death_is_acted_on_at_the_next_wake_up_and_the_wait_keeps_beating(rig: Rig) -> None:
    world = rig.world
    killed = world.clock.monotonic() + 3.3
    world.clock.schedule(3.3, world.daemon.kill)
    rig.run_until(lambda: world.value("ganesha-active") == "")
    assert rig.when("grace-active", None) - killed <= FakeDaemonWatch.STEP
    assert rig.when("ganesha-active", None) - rig.when("grace-active", None) == pytest.approx(5.0)
    during = [b for b in rig.file.beats if killed < b < killed + 5]
    assert len(during) >= 4, "the heartbeat goes on during grace_delay"
    assert world.attributes.calls == [
        ("delete", "node1", "grace-active"),
        ("delete", "node1", "ganesha-active"),
    ]


def test_a_restarted_daemon_is_seen_within_the_dead_poll(rig: Rig) -> None:
    world = rig.world
    world.daemon.kill()
    rig.run_until(lambda: world.value("ganesha-active") == "")
    back = world.clock.monotonic() + 2.05
    world.clock.schedule(2.05, world.daemon.revive)
    rig.run_until(lambda: world.value("ganesha-active") == "1")
    assert rig.when("grace-active", "1") - back <= DEAD_POLL + 1e-9
    assert world.attributes.calls[-2:] == [
        ("set", "node1", "grace-active"),
        ("set", "node1", "ganesha-active"),
    ]


def test_while_nothing_happens_it_beats_every_tick_and_writes_every_period(rig: Rig) -> None:
    world = rig.world
    begin = world.clock.monotonic()
    rig.run_until(lambda: world.clock.monotonic() >= begin + 2 * REASSERT_PERIOD + 1, limit=70)
    assert len(world.attributes.calls) == 4, "two writes of two attributes in two periods"
    gaps = [b - a for a, b in zip(rig.file.beats, rig.file.beats[1:], strict=False)]
    assert max(gaps) <= TICK + 1e-9


def test_an_attrd_restart_gets_the_attributes_written_within_a_tick(rig: Rig) -> None:
    world = rig.world
    rig.watcher.step()
    assert world.attributes.calls == []
    world.attrd.current = "2001:77"
    restarted = world.clock.monotonic()
    rig.run_until(lambda: len(world.attributes.calls) == 2)
    assert world.clock.monotonic() - restarted <= TICK


def test_it_ends_when_the_instance_is_stopped(world: World, rig: Rig, mon_env: OCFEnv) -> None:
    assert rig.watcher.step()
    assert world.run_mon("stop", mon_env).code == ExitCode.SUCCESS
    assert not rig.watcher.step()


def test_it_ends_when_its_file_is_removed(rig: Rig) -> None:
    rig.file.present = False
    assert rig.watcher.run() == 0
    assert rig.file.closed
    assert rig.world.attributes.calls == []


def test_it_exits_at_once_when_another_watcher_holds_the_file(rig: Rig) -> None:
    rig.file.holder = 5150
    rig.world.daemon.kill()
    assert rig.watcher.run() == 0
    assert rig.world.attributes.calls == [], "the other watcher is the one to act"


def test_a_failing_attrd_is_tried_again_with_a_growing_pause(rig: Rig) -> None:
    world = rig.world
    world.attributes.failure = GenericError("attrd_updater exited 102: not connected")
    world.daemon.kill()
    pauses = []
    for _ in range(6):
        before = world.clock.monotonic()
        assert rig.watcher.step()
        pauses.append(round(world.clock.monotonic() - before, 3))
    assert pauses[0] >= 5.0, "the failover's wait runs even though the first deletion failed"
    assert pauses[1:] == [2.0, 4.0, 8.0, RETRY_MAX, RETRY_MAX]
    assert RETRY_FIRST == 1.0
    world.attributes.failure = None
    rig.run_until(lambda: world.value("ganesha-active") == "")
    rig.watcher.step()
    assert rig.watcher.retry == 0.0


def test_its_log_goes_where_pacemaker_logs_when_the_agent_would_use_stderr() -> None:
    base = {"OCF_RESOURCE_INSTANCE": "nfs-mon"}
    own = log_settings({**base, "HA_LOGFILE": "/var/log/x.log"}, "ganesha_mon")
    assert (own.logfile, own.facility) == ("/var/log/x.log", None)
    pacemaker = log_settings(
        {**base, "PCMK_logfile": "/var/log/pacemaker/pacemaker.log", "PCMK_logfacility": "none"},
        "ganesha_mon",
    )
    assert (pacemaker.logfile, pacemaker.facility) == ("/var/log/pacemaker/pacemaker.log", None)
    alone = log_settings({**base, "HA_logfile": "none"}, "ganesha_mon")
    assert (alone.logfile, alone.facility) == (None, "daemon")
    assert alone.tag.startswith("ganesha_mon(nfs-mon)[")


def test_with_grace_delay_0_both_go_at_once(world: World, mon_env: OCFEnv) -> None:
    """The takeover configuration's setting: the address waits for no sleep."""
    rig = Rig(world, mon_env.params(grace_delay=0))
    world.daemon.kill()
    before = world.clock.monotonic()
    rig.watcher.step()
    assert world.value("grace-active") == "" and world.value("ganesha-active") == ""
    assert rig.when("grace-active", None) == rig.when("ganesha-active", None) == before
    assert world.attributes.calls == [
        ("delete", "node1", "grace-active"),
        ("delete", "node1", "ganesha-active"),
    ]
