"""The local ganesha.nfsd: liveness from its pid file, grace over D-Bus.

:class:`GaneshaDaemon` is the real :class:`~ganesha_agents.backends.protocols.NFSDaemon`.
``is_alive()`` is the monitor's question and stays cheap (see
:mod:`~ganesha_agents.backends.pidfile`).  ``grace()``, ``in_grace()`` and
``enter_grace()`` call ganesha's admin object (see
:mod:`~ganesha_agents.backends.dbus`), each within a total time budget that
covers every attempt and every pause, and never past the action's deadline.

What a failed attempt leads to depends on what it says:

- ganesha not on the bus (or no bus at all): if its pid file shows no live
  daemon, the call ends at once with :class:`GaneshaNotRunning`, because a
  server that is not running starts in grace when it comes back.  If the
  daemon lives, it is starting or restarting and registers on the bus
  within milliseconds: the call is retried within the budget.
- ganesha refusing (a D-Bus error reply from ganesha itself, or a
  ``(false, message)`` reply): retried :data:`REFUSAL_ATTEMPTS` times in
  all, because a daemon that keeps refusing will not change its mind.
- a failure no retry can cure (the bus policy denies the call, a malformed
  bus address): the call ends at once.
- anything else (a call that times out, the bus restarting): retried within
  the budget.

Pauses between attempts grow exponentially with jitter
(:mod:`~ganesha_agents.backends.backoff`); a pause that would leave no time
for another attempt is not taken.  Every error names the last reason seen.
"""

from __future__ import annotations

from ganesha_agents.backends.dbus import (
    ABSENT_KINDS,
    BAD_REPLY,
    MIN_TIMEOUT,
    REFUSED,
    TIMEOUT,
    Failure,
    classify,
    system_bus_address,
)
from ganesha_agents.backends.errors import GaneshaDBusError, GaneshaNotRunning, GraceNotConfirmed
from ganesha_agents.backends.pidfile import DEFAULT_PID_FILES, PROCESS_NAMES, find_alive
from ocfkit.errors import DeadlineExceeded

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Iterable
    from typing import Any, TypeVar

    from ganesha_agents.backends.backoff import Backoff
    from ganesha_agents.backends.dbus import AdminProxy, Connector
    from ocfkit.clock import Clock
    from ocfkit.deadline import Deadline
    from ocfkit.log import AgentLog

    T = TypeVar("T")

__all__ = [
    "CALL_TIMEOUT",
    "REFUSAL_ATTEMPTS",
    "GaneshaDBusError",
    "GaneshaDaemon",
    "GaneshaNotRunning",
    "GraceNotConfirmed",
]

CALL_TIMEOUT = 5.0
"""Longest wait for one attempt (connect and call) before trying again, within the budget."""

REFUSAL_ATTEMPTS = 3
"""Attempts a refusing ganesha gets in all; with the backoff's pauses, about 0.15 s of waiting."""


class GaneshaDaemon:
    """The local ganesha.nfsd, as the agents see it."""

    def __init__(
        self,
        deadline: Deadline,
        clock: Clock,
        *,
        pid_files: Iterable[str] | None = None,
        log: AgentLog | None = None,
        bus_address: str | None = None,
        connect: Connector | None = None,
        call_timeout: float = CALL_TIMEOUT,
        backoff: Backoff | None = None,
        refusal_attempts: int = REFUSAL_ATTEMPTS,
        process_names: Iterable[str] = PROCESS_NAMES,
    ) -> None:
        """Watch ``pid_files`` (ganesha's known locations unless one is configured).

        ``bus_address`` defaults to the system bus (``DBUS_SYSTEM_BUS_ADDRESS``
        when set, as for every D-Bus client); ``connect`` opens the admin
        object and ``backoff`` spaces the attempts (both replaced in tests).
        Every wait is bounded by ``deadline``; pauses go through ``clock``.
        """
        self.pid_files = tuple(DEFAULT_PID_FILES if pid_files is None else pid_files)
        self.process_names = tuple(process_names)
        self._deadline = deadline
        self._clock = clock
        self._log = log
        self._bus_address = bus_address
        self._connect = connect
        self._call_timeout = call_timeout
        self._backoff = backoff
        self._refusal_attempts = max(1, refusal_attempts)

    def is_alive(self) -> bool:
        return self._liveness()[0]

    def grace(self, argument: str, *, budget: float | None = None) -> str:
        what = f"grace({argument!r})"
        if not argument.isprintable():
            # Control characters and undecodable bytes (lone surrogates) have no
            # place in a node name or address, and D-Bus strings cannot carry NUL.
            raise GaneshaDBusError(f"{what}: the argument holds unprintable characters")

        def refused(reply: tuple[bool, str]) -> Failure | None:
            status, message = reply
            return None if status else Failure(REFUSED, f"ganesha.nfsd refused: {message}")

        status_message = self._call(
            what, lambda admin, timeout: admin.grace(argument, timeout=timeout), refused, budget
        )
        message = status_message[1]
        if self._log is not None:
            self._log.info("%s: %s", what, message)
        return message

    def in_grace(self, *, budget: float | None = None) -> bool:
        reply = self._call(
            "get_grace()",
            lambda admin, timeout: admin.get_grace(timeout=timeout),
            _judge_get_grace,
            budget,
        )
        return bool(reply[0])

    def enter_grace(self, argument: str, *, budget: float) -> str:
        """Send ``grace(argument)``, then confirm with ``get_grace()``, both within ``budget``.

        Raises :class:`GraceNotConfirmed` when the server accepted the call
        but is not shown to be in grace afterwards (a server configured
        ``Graceless`` lifts grace at once), or when the confirmation itself
        fails; :class:`GaneshaNotRunning` keeps its class, so a caller can
        tell a server that is not there from one that will not confirm.
        """
        what = f"grace({argument!r})"
        end = self._clock.monotonic() + _checked(budget)
        message = self.grace(argument, budget=budget)
        left = end - self._clock.monotonic()
        if left <= 0:
            raise self._give_up(
                f"{what} was accepted ({message}) but the {budget:g}s budget left no time "
                "to confirm it with get_grace()",
                GraceNotConfirmed,
            )
        try:
            confirmed = self.in_grace(budget=left)
        except GaneshaNotRunning:
            raise
        except GaneshaDBusError as error:
            raise self._give_up(
                f"{what} was accepted ({message}) but not confirmed: {error.reason}",
                GraceNotConfirmed,
            ) from error
        if not confirmed:
            raise self._give_up(
                f"{what} was accepted ({message}) but get_grace() says the server is not in "
                "grace (is it configured Graceless?)",
                GraceNotConfirmed,
            )
        if self._log is not None:
            self._log.info("%s: confirmed in grace", what)
        return message

    def _call(
        self,
        what: str,
        invoke: Callable[[AdminProxy, float], T],
        judge: Callable[[T], Failure | None],
        budget: float | None,
    ) -> T:
        """Call until it works, a failure is final, refusals run out, or the time is up.

        ``judge`` looks at a reply and returns the failure it means, if any.
        """
        address = self._bus_address or system_bus_address()
        connect = self._connect or default_connect
        started = self._clock.monotonic()
        deadline_left = self._deadline.remaining()
        limit = deadline_left if budget is None else min(_checked(budget), deadline_left)
        by_deadline = limit == deadline_left
        end = started + limit
        attempts = refusals = 0
        failure: Failure | None = None
        while (left := end - self._clock.monotonic()) > 0:
            attempts += 1
            timeout = min(self._call_timeout, left)
            cause: Exception | None = None
            try:
                admin = connect(address, timeout)
                try:
                    timeout = min(self._call_timeout, end - self._clock.monotonic())
                    if timeout < MIN_TIMEOUT:
                        raise _OutOfTime
                    reply = invoke(admin, timeout)
                finally:
                    admin.close()
            except _OutOfTime:
                if failure is not None:
                    break  # the last real answer says more than "no time left"
                seen = Failure(TIMEOUT, "connected to the bus, but no time was left for the call")
            except Exception as error:
                classified = classify(error, address, timeout)
                if classified is None:
                    raise
                seen, cause = classified, error
            else:
                judged = judge(reply)
                if judged is None:
                    return reply
                seen = judged
            self._note(what, attempts, seen, failure)
            failure = seen
            if seen.final:
                raise self._give_up(f"{what} failed: {seen.reason}") from cause
            if seen.kind == REFUSED:
                refusals += 1
                if refusals >= self._refusal_attempts:
                    spent = self._clock.monotonic() - started
                    raise self._give_up(
                        f"{what} failed: {seen.reason} ({refusals} refusals in {spent:.2f}s)"
                    ) from cause
            elif seen.kind in ABSENT_KINDS:
                alive, why = self._liveness()
                if not alive:
                    raise self._give_up(
                        f"{what}: no ganesha.nfsd runs here: {seen.reason}, and no live "
                        f"daemon holds its pid file ({why}); nothing to do, a server that "
                        "starts again starts in grace",
                        GaneshaNotRunning,
                    ) from cause
            left = end - self._clock.monotonic()
            pause = self._pauses().pause(attempts, left)
            if left - pause < MIN_TIMEOUT:
                break  # no time for another attempt after this pause: do not wait for nothing
            self._clock.sleep(pause)
        if failure is None:
            if by_deadline:
                raise DeadlineExceeded(f"{what}: no time left before the action's deadline")
            raise self._give_up(f"{what}: no time left in its {limit:g}s budget")
        spent = self._clock.monotonic() - started
        until = "before the action's deadline" if by_deadline else f"within its {limit:g}s budget"
        raise self._give_up(
            f"{what} failed: {failure.reason} (gave up after {attempts} "
            f"attempt{'s' if attempts != 1 else ''} in {spent:.1f}s: no time for another {until})"
        )

    def _pauses(self) -> Backoff:
        if self._backoff is None:
            from ganesha_agents.backends.backoff import Backoff

            self._backoff = Backoff()
        return self._backoff

    def _liveness(self) -> tuple[bool, str]:
        """Whether a live ganesha holds one of the pid files, and the evidence."""
        verdicts = find_alive(self.pid_files, self.process_names)
        if self._log is not None:
            for verdict in verdicts:
                self._log.debug("%s: %s", verdict.path, verdict.reason)
        if not verdicts:
            return False, "no pid file to look at"
        if verdicts[-1].alive:
            return True, f"{verdicts[-1].path}: {verdicts[-1].reason}"
        return False, "; ".join(f"{v.path}: {v.reason}" for v in verdicts)

    def _give_up(
        self, reason: str, kind: type[GaneshaDBusError] = GaneshaDBusError
    ) -> GaneshaDBusError:
        """The error to raise, logged first (a daemon that is not running is no failure)."""
        if self._log is not None:
            if issubclass(kind, GaneshaNotRunning):
                self._log.warning("%s", reason)
            else:
                self._log.error("%s", reason)
        return kind(reason)

    def _note(self, what: str, attempt: int, seen: Failure, before: Failure | None) -> None:
        """Log a failed attempt: loudly when something new happened, quietly when it repeats."""
        if self._log is None:
            return
        if before is None or before.kind != seen.kind:
            self._log.warning("%s, attempt %d: %s", what, attempt, seen.reason)
        else:
            self._log.debug("%s, attempt %d: %s", what, attempt, seen.reason)


class _OutOfTime(Exception):
    """The connection took what was left of the budget: no call is made."""


def _judge_get_grace(reply: tuple[Any, ...]) -> Failure | None:
    """``get_grace()`` answers ``(isgrace, status, message)``; a false status is a refusal."""
    if not reply:
        return Failure(BAD_REPLY, "get_grace() returned nothing")
    if len(reply) > 1 and not reply[1]:
        detail = f": {reply[2]}" if len(reply) > 2 else ""
        return Failure(REFUSED, f"ganesha.nfsd refused{detail}")
    return None


def _checked(budget: float) -> float:
    """A budget is a number of seconds, zero or more; anything else is a programming error."""
    if not budget >= 0:  # NaN too
        raise ValueError(f"a time budget must be zero or more seconds, not {budget!r}")
    return budget


def default_connect(address: str, timeout: float) -> AdminProxy:
    """ganesha's admin object: through ``dbus-send`` when installed, pydbus otherwise.

    The two transports answer and fail alike; ``dbus-send`` spares each agent
    process the ~55 ms pydbus costs to import (see :mod:`~ganesha_agents.backends.dbussend`).
    """
    from ganesha_agents.backends import dbussend

    if dbussend.installed():
        return dbussend.connect(address, timeout)
    from ganesha_agents.backends.dbus import connect

    return connect(address, timeout)
