"""The grace call's bounds: refusals, an absent daemon, budgets, the backoff and enter_grace.

On the scripted bus of ``dbus_script``, in virtual time.  The same bounds
against a real bus are in ``tests/real/test_grace_call_bus.py``.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ganesha_agents.backends.backoff import FIRST_PAUSE, JITTER, MAX_PAUSE, Backoff
from ganesha_agents.backends.errors import GaneshaNotRunning, GraceNotConfirmed
from ganesha_agents.backends.ganesha import REFUSAL_ATTEMPTS, GaneshaDaemon, GaneshaDBusError
from ganesha_agents.backends.protocols import NFSDaemon
from ganesha_agents.fakes import FakeNFSDaemon
from ocfkit.errors import DeadlineExceeded, OCFError
from ocfkit.testing import FakeClock
from tests.ganesha.dbus_script import (
    IN_GRACE,
    NOT_IN_GRACE,
    SAYS_NO,
    STARTED,
    Fail,
    Hang,
    Reply,
    Script,
    Step,
    Take,
    access_denied,
    captured_log,
    closed,
    ganesha_refuses,
    make_daemon,
    no_socket,
    service_unknown,
    timed_out,
)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


# A refusing ganesha.


@pytest.mark.parametrize("refusal", [Fail(ganesha_refuses()), SAYS_NO], ids=["error", "false"])
def test_a_refusal_is_retried_a_few_times_then_given_up(clock: FakeClock, refusal: Step) -> None:
    log, lines = captured_log()
    script = Script(clock, refusal)
    started = clock.monotonic()
    with pytest.raises(GaneshaDBusError) as raised:
        make_daemon(clock, script, log=log).grace("5:node2")
    assert len(script.connects) == REFUSAL_ATTEMPTS == 3
    assert clock.sleeps == [0.05, 0.1]
    assert clock.monotonic() - started == pytest.approx(0.15)
    reason = raised.value.reason
    assert reason.startswith("grace('5:node2') failed: ganesha.nfsd refused")
    assert reason.endswith("(3 refusals in 0.15s)")
    assert type(raised.value) is GaneshaDBusError
    assert "ERROR: grace('5:node2') failed: ganesha.nfsd refused" in lines.getvalue()


def test_ganesha_4_3s_refusal_names_its_interface(clock: FakeClock) -> None:
    with pytest.raises(GaneshaDBusError) as raised:
        make_daemon(clock, Script(clock, Fail(ganesha_refuses()))).grace("0:")
    assert "refused the call with the D-Bus error org.ganesha.nfsd.admin: grace" in (
        raised.value.reason
    )


def test_a_false_reply_keeps_ganeshas_message(clock: FakeClock) -> None:
    with pytest.raises(GaneshaDBusError) as raised:
        make_daemon(clock, Script(clock, SAYS_NO)).grace("0:")
    assert raised.value.reason == (
        "grace('0:') failed: ganesha.nfsd refused: Unable to start grace (3 refusals in 0.15s)"
    )


def test_a_refusal_that_passes_is_waited_for(clock: FakeClock) -> None:
    script = Script(clock, SAYS_NO, Fail(ganesha_refuses()), STARTED)
    assert make_daemon(clock, script).grace("0:") == "Started grace period"
    assert len(script.connects) == 3


def test_refusals_count_across_other_failures(clock: FakeClock, live_pid_file: Path) -> None:
    steps: list[Step] = [
        SAYS_NO,
        Fail(service_unknown()),
        SAYS_NO,
        Fail(timed_out()),
        SAYS_NO,
        STARTED,
    ]
    script = Script(clock, *steps)
    with pytest.raises(GaneshaDBusError, match="3 refusals"):
        make_daemon(clock, script, pid_files=[live_pid_file]).grace("0:")
    assert len(script.connects) == 5


def test_get_grace_with_a_false_status_is_a_refusal(clock: FakeClock) -> None:
    script = Script(clock, Reply((False, False, "get grace failed")))
    with pytest.raises(GaneshaDBusError, match="refused: get grace failed"):
        make_daemon(clock, script).in_grace()
    assert len(script.connects) == REFUSAL_ATTEMPTS


# A daemon that is not on the bus.


@pytest.mark.parametrize("absent", [service_unknown, no_socket, closed])
def test_not_on_the_bus_and_no_live_pid_file_returns_at_once(
    clock: FakeClock, stale_pid_file: Path, absent: Any
) -> None:
    log, lines = captured_log()
    script = Script(clock, Fail(absent()), STARTED)
    with pytest.raises(GaneshaNotRunning) as raised:
        make_daemon(clock, script, log=log, pid_files=[stale_pid_file]).grace("0:")
    assert len(script.connects) == 1
    assert clock.sleeps == []
    reason = raised.value.reason
    assert reason.startswith("grace('0:'): no ganesha.nfsd runs here: ")
    assert f"{stale_pid_file}: stale pid" in reason
    assert "starts in grace" in reason
    assert isinstance(raised.value, GaneshaDBusError)
    assert raised.value.code == 1
    assert "WARNING: grace('0:'): no ganesha.nfsd runs here" in lines.getvalue()


def test_no_pid_file_at_all_is_no_live_daemon(clock: FakeClock, tmp_path: Path) -> None:
    script = Script(clock, Fail(service_unknown()))
    with pytest.raises(GaneshaNotRunning, match="no pid file"):
        make_daemon(clock, script, pid_files=[tmp_path / "none.pid"]).in_grace()


def test_a_live_daemon_not_yet_on_the_bus_is_waited_for_within_the_budget(
    clock: FakeClock, live_pid_file: Path
) -> None:
    script = Script(clock, Fail(service_unknown()))
    started = clock.monotonic()
    with pytest.raises(GaneshaDBusError) as raised:
        make_daemon(clock, script, pid_files=[live_pid_file]).grace("0:", budget=2.0)
    assert not isinstance(raised.value, GaneshaNotRunning)
    # Pauses 0.05 + 0.1 + 0.2 + 0.4 + 0.8 = 1.55 s; the next (1 s) would end past 2 s.
    assert clock.monotonic() - started == pytest.approx(1.55)
    assert len(script.connects) == 6
    assert "no time for another within its 2s budget" in raised.value.reason


def test_a_timeout_is_not_read_as_absent(clock: FakeClock, stale_pid_file: Path) -> None:
    # Only "not on the bus" looks at the pid file: a hung call is retried.
    script = Script(clock, Hang(), STARTED)
    nfsd = make_daemon(clock, script, pid_files=[stale_pid_file])
    assert nfsd.grace("0:", budget=8.0) == "Started grace period"


# Budgets.


def test_a_budget_bounds_the_whole_call(clock: FakeClock) -> None:
    script = Script(clock, Hang())
    started = clock.monotonic()
    with pytest.raises(GaneshaDBusError) as raised:
        make_daemon(clock, script, timeout=20.0).grace("0:", budget=3.0)
    assert clock.monotonic() - started == pytest.approx(3.0)
    assert [timeout for _, _, timeout in script.calls] == [3.0]
    assert "within its 3s budget" in raised.value.reason


def test_the_deadline_still_bounds_a_larger_budget(clock: FakeClock) -> None:
    script = Script(clock, Hang())
    started = clock.monotonic()
    with pytest.raises(GaneshaDBusError, match="before the action's deadline"):
        make_daemon(clock, script, timeout=2.0).grace("0:", budget=60.0)
    assert clock.monotonic() - started == pytest.approx(1.8)  # 2 s less its 0.2 s reserve


def test_each_attempt_gets_what_is_left_of_the_budget(clock: FakeClock) -> None:
    script = Script(clock, Take(0.4, Hang()))
    with pytest.raises(GaneshaDBusError):
        make_daemon(clock, script).in_grace(budget=1.0)
    assert script.connects[0][1] == pytest.approx(1.0)
    assert script.calls[0][2] == pytest.approx(0.6)


def test_a_connect_that_takes_the_whole_budget_makes_no_call(clock: FakeClock) -> None:
    script = Script(clock, Take(1.0 - 1e-6, STARTED))
    with pytest.raises(GaneshaDBusError, match="no time was left for the call"):
        make_daemon(clock, script).grace("0:", budget=1.0)
    assert script.calls == []
    assert script.closed == script.opened == 1


def test_a_zero_budget_makes_no_attempt(clock: FakeClock) -> None:
    script = Script(clock, STARTED)
    with pytest.raises(GaneshaDBusError, match="no time left in its 0s budget"):
        make_daemon(clock, script).grace("0:", budget=0.0)
    assert script.connects == []


def test_no_time_before_the_deadline_is_still_deadline_exceeded(clock: FakeClock) -> None:
    script = Script(clock, STARTED)
    nfsd = make_daemon(clock, script, timeout=1.0)
    clock.advance(1.0)
    with pytest.raises(DeadlineExceeded):
        nfsd.grace("0:", budget=0.5)


@pytest.mark.parametrize("budget", [-1.0, math.nan])
def test_a_budget_is_zero_or_more_seconds(clock: FakeClock, budget: float) -> None:
    with pytest.raises(ValueError, match="zero or more seconds"):
        make_daemon(clock, Script(clock, STARTED)).grace("0:", budget=budget)


def test_an_infinite_budget_is_the_deadline(clock: FakeClock) -> None:
    script = Script(clock, STARTED)
    make_daemon(clock, script, timeout=3.0).in_grace(budget=math.inf)
    assert script.connects[0][1] == pytest.approx(2.7)


def test_final_failures_stay_final_within_a_budget(clock: FakeClock) -> None:
    script = Script(clock, Fail(access_denied()))
    with pytest.raises(GaneshaDBusError, match="policy denies"):
        make_daemon(clock, script).grace("0:", budget=5.0)
    assert len(script.connects) == 1


# enter_grace: the call, then its confirmation, in one budget.


def test_enter_grace_sends_grace_then_confirms_it(clock: FakeClock) -> None:
    log, lines = captured_log()
    script = Script(clock, STARTED, IN_GRACE)
    nfsd: NFSDaemon = make_daemon(clock, script, log=log)
    assert nfsd.enter_grace("5:10.0.0.5", budget=1.0) == "Started grace period"
    assert [(m, a) for m, a, _ in script.calls] == [("grace", ("5:10.0.0.5",)), ("get_grace", ())]
    assert "INFO: grace('5:10.0.0.5'): confirmed in grace" in lines.getvalue()


def test_enter_grace_not_in_grace_afterwards_is_not_confirmed(clock: FakeClock) -> None:
    script = Script(clock, STARTED, NOT_IN_GRACE)
    with pytest.raises(GraceNotConfirmed) as raised:
        make_daemon(clock, script).enter_grace("0:", budget=1.0)
    assert "get_grace() says the server is not in grace" in raised.value.reason
    assert raised.value.code == 1


def test_enter_grace_shares_one_budget_between_its_two_calls(clock: FakeClock) -> None:
    script = Script(clock, Take(0.7, STARTED), Hang())
    started = clock.monotonic()
    with pytest.raises(GraceNotConfirmed) as raised:
        make_daemon(clock, script).enter_grace("0:", budget=1.0)
    assert clock.monotonic() - started == pytest.approx(1.0)
    assert script.calls[1][0] == "get_grace"
    assert script.calls[1][2] == pytest.approx(0.3)
    assert "accepted (Started grace period) but not confirmed: get_grace() failed" in (
        raised.value.reason
    )


def test_enter_grace_when_grace_takes_the_whole_budget(clock: FakeClock) -> None:
    script = Script(clock, Reply(STARTED.value, delay=0.5))
    nfsd = make_daemon(clock, script)
    with pytest.raises(GraceNotConfirmed, match="left no time to confirm"):
        nfsd.enter_grace("0:", budget=0.5)
    assert len(script.calls) == 1


def test_enter_grace_on_a_daemon_that_is_not_running(
    clock: FakeClock, stale_pid_file: Path
) -> None:
    script = Script(clock, Fail(service_unknown()))
    with pytest.raises(GaneshaNotRunning):
        make_daemon(clock, script, pid_files=[stale_pid_file]).enter_grace("0:", budget=1.0)


def test_enter_grace_keeps_not_running_during_the_confirmation(
    clock: FakeClock, stale_pid_file: Path
) -> None:
    script = Script(clock, STARTED, Fail(service_unknown()))
    with pytest.raises(GaneshaNotRunning):
        make_daemon(clock, script, pid_files=[stale_pid_file]).enter_grace("0:", budget=1.0)


# The fake behaves like the real backend.


def test_the_fake_enters_grace_and_confirms_it() -> None:
    clock = FakeClock()
    fake: NFSDaemon = FakeNFSDaemon("node1", clock)
    assert fake.enter_grace("5:10.0.0.5", budget=1.0) == "Started grace period"
    assert fake.in_grace(budget=0.5)


def test_the_fake_graceless_server_is_not_confirmed() -> None:
    fake = FakeNFSDaemon("node1", FakeClock())
    fake.graceless = True
    with pytest.raises(GraceNotConfirmed):
        fake.enter_grace("0:", budget=1.0)


def test_the_fake_dead_server_is_not_running_and_the_hung_one_takes_its_budget() -> None:
    clock = FakeClock()
    fake = FakeNFSDaemon("node1", clock)
    fake.hung = True
    with pytest.raises(GaneshaDBusError):
        fake.grace("0:", budget=2.0)
    assert clock.sleeps == [2.0]
    fake.kill()
    with pytest.raises(GaneshaNotRunning):
        fake.in_grace(budget=1.0)


# The schedule, for any input.


@given(
    attempt=st.integers(min_value=-5, max_value=10**9),
    left=st.floats(min_value=0, max_value=1e9),
    draw=st.floats(allow_nan=True, allow_infinity=True),
)
def test_a_pause_is_never_negative_never_past_what_is_left_and_capped(
    attempt: int, left: float, draw: float
) -> None:
    pause = Backoff(uniform=lambda: draw).pause(attempt, left)
    assert 0.0 <= pause <= left
    assert pause <= MAX_PAUSE


@given(attempt=st.integers(min_value=1, max_value=200), draw=st.floats(min_value=0, max_value=1))
def test_jitter_shortens_a_pause_by_at_most_half(attempt: int, draw: float) -> None:
    schedule = Backoff(uniform=lambda: draw)
    nominal = schedule.nominal(attempt)
    assert nominal * (1 - JITTER) <= schedule.pause(attempt, math.inf) <= nominal
    assert schedule.nominal(attempt + 1) >= nominal
    assert schedule.nominal(1) == FIRST_PAUSE


@pytest.mark.parametrize(
    ("first", "growth", "most", "jitter"),
    [(0.0, 2.0, 1.0, 0.5), (2.0, 2.0, 1.0, 0.5), (0.05, 0.5, 1.0, 0.5), (0.05, 2.0, 1.0, 1.5)],
)
def test_a_schedule_that_makes_no_sense_is_refused(
    first: float, growth: float, most: float, jitter: float
) -> None:
    with pytest.raises(ValueError):
        Backoff(first=first, growth=growth, most=most, jitter=jitter)


def test_the_default_jitter_varies() -> None:
    schedule = Backoff()
    pauses = {schedule.pause(3, math.inf) for _ in range(50)}
    assert len(pauses) > 1
    assert all(0.1 <= pause <= 0.2 for pause in pauses)


# The whole call, for any sequence of failures.


def least_time_for(attempts: int) -> float:
    """The shortest time ``attempts`` attempts can take: their pauses at their shortest."""
    schedule = Backoff(uniform=lambda: 1.0)
    return sum(schedule.nominal(n) * (1 - JITTER) for n in range(1, attempts))


failure_steps = st.sampled_from(
    [
        Fail(service_unknown()),
        Fail(no_socket()),
        Fail(timed_out()),
        Fail(ganesha_refuses()),
        Fail(KeyError("org.ganesha.nfsd.admin")),
        Hang(),
        SAYS_NO,
    ]
)
steps = st.one_of(
    failure_steps,
    st.builds(Take, st.floats(min_value=0, max_value=6), failure_steps),
)


@settings(suppress_health_check=[HealthCheck.function_scoped_fixture], max_examples=300)
@given(
    script_steps=st.lists(steps, min_size=1, max_size=30),
    succeed=st.booleans(),
    budget=st.one_of(st.none(), st.floats(min_value=0, max_value=30)),
    timeout=st.floats(min_value=0.5, max_value=60),
    alive=st.booleans(),
    draw=st.floats(min_value=0, max_value=1),
)
def test_the_call_never_overruns_and_refusals_stay_few(
    live_pid_file: Path,
    script_steps: list[Step],
    succeed: bool,
    budget: float | None,
    timeout: float,
    alive: bool,
    draw: float,
) -> None:
    clock = FakeClock()
    script = Script(clock, *script_steps, *([STARTED] if succeed else []))
    nfsd = GaneshaDaemon(
        _deadline(clock, timeout),
        clock,
        pid_files=[str(live_pid_file)] if alive else [],
        bus_address="unix:path=/nowhere",
        connect=script,
        backoff=Backoff(uniform=lambda: draw),
    )
    usable = timeout - min(1.0, timeout / 10)
    limit = usable if budget is None else min(budget, usable)
    started = clock.monotonic()
    outcome: str | OCFError
    try:
        outcome = nfsd.grace("0:", budget=budget)
    except OCFError as error:
        outcome = error
    spent = clock.monotonic() - started
    attempts = len(script.connects)

    assert spent <= limit + 1e-9
    assert all(pause >= 0 for pause in clock.sleeps)
    assert len(clock.sleeps) <= max(attempts - 1, 0)
    assert least_time_for(attempts) <= spent + 1e-9, "attempts are spaced by the backoff"
    assert len(script.played) == attempts
    refusals = sum(1 for met in script.played if _is_refusal(met))
    assert refusals <= REFUSAL_ATTEMPTS
    if refusals == REFUSAL_ATTEMPTS:
        assert isinstance(outcome, GaneshaDBusError)
        assert outcome.reason.endswith(f"({REFUSAL_ATTEMPTS} refusals in {spent:.2f}s)")
    if isinstance(outcome, GaneshaNotRunning):
        assert not alive
    if isinstance(outcome, str):
        assert outcome == "Started grace period"
    else:
        assert isinstance(outcome, GaneshaDBusError | DeadlineExceeded)


def _is_refusal(met: Fail | Hang | Reply | None) -> bool:
    if isinstance(met, Fail):
        return getattr(met.error, "message", "").startswith("GDBus.Error:org.ganesha.nfsd.admin")
    return met is SAYS_NO


def _deadline(clock: FakeClock, timeout: float) -> Any:
    from ocfkit.deadline import Deadline

    return Deadline(clock, timeout)
