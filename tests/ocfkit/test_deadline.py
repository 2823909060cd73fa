"""The action's deadline, in virtual time (and a glance at the real clock)."""

from __future__ import annotations

import re
import time

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ocfkit import Deadline, DeadlineExceeded, SystemClock
from ocfkit.deadline import DEFAULT_TIMEOUT_MS, MAX_TIMEOUT_MS
from ocfkit.testing import FakeClock, OCFEnv

from .agents import Scripted, run


def test_default_is_pacemakers_20_seconds() -> None:
    assert DEFAULT_TIMEOUT_MS == 20_000
    for missing in (None, 0, -5):
        assert Deadline.from_timeout_ms(FakeClock(), missing).timeout == 20.0


def test_reserve_is_a_tenth_at_most_one_second() -> None:
    clock = FakeClock()
    assert Deadline(clock, 5).reserve == 0.5
    assert Deadline(clock, 20).reserve == 1.0
    assert Deadline(clock, 600).reserve == 1.0
    assert Deadline(clock, 5, reserve=2).reserve == 2


def test_remaining_counts_down_to_the_reserve() -> None:
    clock = FakeClock()
    deadline = Deadline.from_timeout_ms(clock, 10_000)  # 10 s, 1 s kept back
    assert deadline.remaining() == pytest.approx(9.0)
    clock.sleep(4)
    assert deadline.remaining() == pytest.approx(5.0)
    assert deadline.elapsed() == pytest.approx(4.0)
    clock.sleep(100)
    assert deadline.remaining() == 0.0
    assert deadline.expired


def test_bound_limits_waits_and_raises_when_nothing_is_left() -> None:
    clock = FakeClock()
    deadline = Deadline(clock, 10, reserve=0)
    assert deadline.bound() == 10
    assert deadline.bound(3) == 3
    assert deadline.bound(30) == 10
    clock.sleep(10)
    with pytest.raises(DeadlineExceeded, match=re.escape("deadline of 10s reached after 10.0s")):
        deadline.bound(1)


def test_sleep_never_passes_the_deadline() -> None:
    clock = FakeClock()
    deadline = Deadline(clock, 10, reserve=1)
    assert deadline.sleep(4) == 4
    assert deadline.sleep(100) == pytest.approx(5)
    assert deadline.sleep(1) == 0
    assert deadline.sleep(-3) == 0
    assert clock.sleeps == [4, pytest.approx(5), 0, 0]


@given(st.integers(min_value=1, max_value=10**7), st.lists(st.floats(0, 1e6), max_size=10))
def test_sleeping_in_steps_never_overruns(timeout_ms: int, steps: list[float]) -> None:
    clock = FakeClock()
    deadline = Deadline.from_timeout_ms(clock, timeout_ms)
    for step in steps:
        deadline.sleep(step)
    assert deadline.elapsed() <= timeout_ms / 1000 - deadline.reserve + 1e-6


def test_an_action_gets_the_timeout_pacemaker_gave_it() -> None:
    seen: list[float] = []

    def note(agent: Scripted) -> object:
        seen.append(agent.deadline.timeout)
        return None

    run(Scripted(note), "start", OCFEnv().timeout(90_000))
    run(Scripted(note), "start", OCFEnv().timeout(None))
    run(Scripted(note), "start", OCFEnv().set(OCF_RESKEY_CRM_meta_timeout="soon"))
    assert seen == [90.0, 20.0, 20.0]


def test_system_clock() -> None:
    clock = SystemClock()
    before = clock.monotonic()
    clock.sleep(0.01)
    clock.sleep(-1)  # a negative sleep is no sleep, not an error
    assert clock.monotonic() - before >= 0.01
    assert abs(clock.time() - time.time()) < 1


def test_absurd_timeouts_are_capped_at_what_pacemaker_can_express() -> None:
    assert Deadline.from_timeout_ms(FakeClock(), 10**29).timeout == MAX_TIMEOUT_MS / 1000
    assert Deadline.from_timeout_ms(FakeClock(), MAX_TIMEOUT_MS).timeout == MAX_TIMEOUT_MS / 1000


def test_an_absurd_timeout_still_lets_the_agent_sleep_and_run() -> None:
    """A garbage CRM_meta_timeout must not make time.sleep or poll() overflow."""

    def wait(agent: Scripted) -> object:
        agent.deadline.sleep(0.001)
        agent.runner.run(["true"])
        return None

    agent = Scripted(wait)
    agent.clock = SystemClock()
    result = run(agent, "start", OCFEnv().set(OCF_RESKEY_CRM_meta_timeout="9" * 30))
    assert result.exit_code == 0, result.stderr
