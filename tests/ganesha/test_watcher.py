"""The watcher's loop on a fake node, in virtual time: what it signals, when, and when it stops."""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Callable

import pytest

from ganesha_agents.fakes import AttributeChange, FakeDaemonWatch
from ganesha_agents.mon import REASSERT_PERIOD
from ganesha_agents.published_grace import ATTRIBUTE as GRACE
from ganesha_agents.published_grace import POLL_INTERVAL, since_of
from ganesha_agents.watcher import (
    DEAD_POLL,
    GRACE_RETRY_MAX,
    RETRY_FIRST,
    RETRY_MAX,
    TICK,
    GracePublisher,
    ThreadedAsk,
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


def signals(world: World) -> list[tuple[str, str, str]]:
    """The attribute calls of the failover signalling (ganesha-grace's aside)."""
    return [call for call in world.attributes.calls if call[2] != GRACE]


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
    assert signals(world) == [
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
    assert signals(world)[-2:] == [
        ("set", "node1", "grace-active"),
        ("set", "node1", "ganesha-active"),
    ]


def test_while_nothing_happens_it_beats_every_tick_and_writes_every_period(rig: Rig) -> None:
    world = rig.world
    begin = world.clock.monotonic()
    rig.run_until(lambda: world.clock.monotonic() >= begin + 2 * REASSERT_PERIOD + 1, limit=70)
    assert len(signals(world)) == 4, "two writes of two attributes in two periods"
    gaps = [b - a for a, b in zip(rig.file.beats, rig.file.beats[1:], strict=False)]
    assert max(gaps) <= TICK + 1e-9


def test_an_attrd_restart_gets_the_attributes_written_within_a_tick(rig: Rig) -> None:
    world = rig.world
    rig.watcher.step()
    assert signals(world) == []
    world.attrd.current = "2001:77"
    restarted = world.clock.monotonic()
    rig.run_until(lambda: len(signals(world)) == 2)
    assert world.clock.monotonic() - restarted <= TICK


def test_it_ends_when_the_instance_is_stopped(world: World, rig: Rig, mon_env: OCFEnv) -> None:
    assert rig.watcher.step()
    assert world.run_mon("stop", mon_env).code == ExitCode.SUCCESS
    assert not rig.watcher.step()


def test_it_ends_when_its_file_is_removed(rig: Rig) -> None:
    rig.file.present = False
    assert rig.watcher.run() == 0
    assert rig.file.closed
    assert rig.world.attributes.calls == [("delete", "node1", GRACE)], "only its own is cleared"


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
    assert signals(world) == [
        ("delete", "node1", "grace-active"),
        ("delete", "node1", "ganesha-active"),
    ]


# ---------------------------------------------------------------- ganesha-grace


def grace_changes(world: World) -> list[AttributeChange]:
    return [c for c in world.attributes.history if c.name == GRACE]


def test_a_grace_is_published_within_the_poll_interval_and_once(rig: Rig) -> None:
    world = rig.world
    rig.watcher.step()
    assert world.attributes.calls == [("delete", "node1", GRACE)], "a leftover is cleared once"
    begun = world.clock.monotonic() + 3.5

    def enter_grace() -> None:
        world.daemon.grace("0:")

    world.clock.schedule(3.5, enter_grace)
    rig.run_until(lambda: bool(world.value(GRACE)))
    assert world.clock.monotonic() - begun <= POLL_INTERVAL + TICK
    seen = grace_changes(world)[-1].time
    assert world.value(GRACE) == str(int(seen + world.clock.wall_offset)), "its epoch second"
    since = world.value(GRACE)
    rig.run_until(lambda: world.clock.monotonic() >= begun + 30)
    assert world.value(GRACE) == since, "the first sight is kept while the grace lasts"
    assert [c for c in world.attributes.calls if c[2] == GRACE] == [
        ("delete", "node1", GRACE),
        ("set", "node1", GRACE),
    ], "written on changes only"


def test_the_end_of_grace_deletes_it(rig: Rig) -> None:
    world = rig.world
    world.daemon.grace_period = 10.0
    world.daemon.grace("0:")
    rig.run_until(lambda: bool(world.value(GRACE)))
    ends = world.clock.monotonic() + 10.0
    rig.run_until(lambda: world.value(GRACE) == "", limit=20)
    assert world.clock.monotonic() - ends <= POLL_INTERVAL + TICK
    assert [c.value is None for c in grace_changes(world)] == [False, True]


def test_get_grace_is_asked_at_most_every_poll_interval(rig: Rig) -> None:
    world = rig.world
    asked: list[float] = []
    answer = world.daemon.in_grace

    def counted(*, budget: float | None = None) -> bool:
        asked.append(world.clock.monotonic())
        assert budget is not None and budget <= 1.0, "every call is bounded"
        return answer(budget=budget)

    world.daemon.in_grace = counted  # type: ignore[method-assign]
    end = world.clock.monotonic() + 20
    rig.run_until(lambda: world.clock.monotonic() >= end)
    gaps = [b - a for a, b in itertools.pairwise(asked)]
    assert len(asked) >= 6 and min(gaps) >= POLL_INTERVAL - 1e-9


def test_a_death_deletes_it_after_the_failover_signals(rig: Rig) -> None:
    world = rig.world
    world.daemon.grace("0:")
    rig.run_until(lambda: bool(world.value(GRACE)))
    killed = world.clock.monotonic() + 0.5
    world.clock.schedule(0.5, world.daemon.kill)
    rig.run_until(lambda: world.value(GRACE) == "")
    assert rig.when("grace-active", None) - killed <= FakeDaemonWatch.STEP, "death seen at once"
    names = [c.name for c in world.attributes.history if c.time >= killed]
    assert names == ["grace-active", "ganesha-active", GRACE]


def test_a_hung_server_costs_one_bounded_call_and_growing_pauses(rig: Rig) -> None:
    world = rig.world
    world.daemon.grace("0:")
    rig.run_until(lambda: bool(world.value(GRACE)))
    world.daemon.hung = True
    asked: list[float] = []
    answer = world.daemon.in_grace

    def counted(*, budget: float | None = None) -> bool:
        asked.append(world.clock.monotonic())
        return answer(budget=budget)

    world.daemon.in_grace = counted  # type: ignore[method-assign]
    killed = 0.0

    def kill() -> None:
        nonlocal killed
        killed = world.clock.monotonic()
        world.daemon.kill()

    end = world.clock.monotonic() + 200
    rig.run_until(lambda: world.clock.monotonic() >= end, limit=250)
    gaps = [b - a for a, b in itertools.pairwise(asked)]
    # Each call takes its whole 1 s budget; the pause after it doubles from 4 s, up to the cap.
    for gap, pause in zip(gaps, [4, 8, 16, 32, 60, 60], strict=False):
        assert 1 + pause <= gap <= 1 + pause + TICK + 1e-9
    assert len(gaps) >= 5 and max(gaps) <= 1 + GRACE_RETRY_MAX + TICK + 1e-9
    assert world.value(GRACE), "a server that does not answer leaves the last value"
    world.clock.schedule(0.3, kill)
    rig.run_until(lambda: world.value(GRACE) == "")
    assert rig.when("grace-active", None) - killed <= FakeDaemonWatch.STEP


def test_a_failed_write_is_tried_again_at_the_next_look(rig: Rig) -> None:
    world = rig.world
    rig.watcher.step()
    world.daemon.grace("0:")
    world.attributes.failure = GenericError("attrd_updater exited 102: not connected")
    rig.watcher.grace.next_ask = 0.0
    rig.watcher.step()
    world.attributes.failure = None
    assert not world.value(GRACE)
    rig.run_until(lambda: bool(world.value(GRACE)), limit=POLL_INTERVAL + TICK)


def test_stop_deletes_what_the_killed_watcher_published(
    world: World, rig: Rig, mon_env: OCFEnv
) -> None:
    world.daemon.grace("0:")
    rig.run_until(lambda: bool(world.value(GRACE)))
    assert world.run_mon("stop", mon_env).code == ExitCode.SUCCESS
    assert world.value(GRACE) == ""


def test_a_failed_deletion_does_not_fail_the_stop(world: World, rig: Rig, mon_env: OCFEnv) -> None:
    world.daemon.grace("0:")
    rig.run_until(lambda: bool(world.value(GRACE)))
    world.attributes.failure = GenericError("attrd_updater exited 102: not connected")
    result = world.run_mon("stop", mon_env)
    assert result.code == ExitCode.SUCCESS
    assert result.logged(f"cannot delete {GRACE}")


def test_the_failover_attributes_cannot_take_its_name(world: World, mon_env: OCFEnv) -> None:
    for name in ("ganesha_active", "grace_active"):
        result = world.run_mon("validate-all", mon_env.params(**{name: GRACE}))
        assert result.code == ExitCode.ERR_CONFIGURED


def test_a_threaded_question_never_holds_up_the_death_detection(rig: Rig) -> None:
    """The real watcher's get_grace runs in a thread: a call that hangs delays no reaction."""
    world = rig.world
    release = threading.Event()
    answers = iter([True])

    def hanging() -> bool:
        assert release.wait(30)
        return next(answers)

    asker = ThreadedAsk(hanging)

    def busy() -> bool:
        return asker.busy

    rig.watcher.grace = GracePublisher(rig.mon, world.clock, asker=asker)
    rig.watcher.step()
    assert busy() and world.value(GRACE) is None, "asked, no answer yet"
    killed = world.clock.monotonic() + 0.4
    world.clock.schedule(0.4, world.daemon.kill)
    rig.run_until(lambda: world.value("grace-active") == "")
    assert rig.when("grace-active", None) - killed <= FakeDaemonWatch.STEP
    assert not busy(), "the daemon's death drops the question"
    release.set()
    rig.run_until(lambda: world.value("ganesha-active") == "")
    rig.watcher.step()
    assert not world.value(GRACE), "a late answer about a dead daemon is not published"


def test_a_threaded_answer_is_published_at_a_later_wake_up(rig: Rig) -> None:
    world = rig.world
    asked = threading.Event()
    release = threading.Event()

    def in_grace() -> bool:
        asked.set()
        assert release.wait(30)
        return True

    asker = ThreadedAsk(in_grace)
    rig.watcher.grace = GracePublisher(rig.mon, world.clock, asker=asker)
    rig.watcher.step()
    assert asked.wait(30)
    rig.watcher.step()
    assert world.value(GRACE) is None
    before = int(world.clock.time())
    release.set()
    end = time.monotonic() + 30
    while asker.busy:
        assert time.monotonic() < end
        rig.watcher.step()
    since = since_of(world.value(GRACE))
    assert since is not None and before <= since <= world.clock.time()
