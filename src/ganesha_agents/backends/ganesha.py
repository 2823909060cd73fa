"""The local ganesha.nfsd: liveness from its pid file, grace over D-Bus.

:class:`GaneshaDaemon` is the real :class:`~ganesha_agents.backends.protocols.NFSDaemon`.
``is_alive()`` is the monitor's question and stays cheap (see
:mod:`~ganesha_agents.backends.pidfile`).  ``grace()`` and ``in_grace()``
call ganesha's admin object (see :mod:`~ganesha_agents.backends.dbus`);
they are retried, with a short pause, until the action's deadline, because
the usual failures pass: ganesha restarting is briefly absent from the bus,
and since 4.0 a grace call can block while grace references are held.  A
failure no retry can cure (the bus policy denies the call, a malformed bus
address) ends the attempts at once.  Either way the error names the last
reason seen.
"""

from __future__ import annotations

from ganesha_agents.backends.dbus import classify, system_bus_address
from ganesha_agents.backends.pidfile import DEFAULT_PID_FILES, PROCESS_NAMES, find_alive
from ocfkit.errors import DeadlineExceeded, GenericError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Iterable
    from typing import TypeVar

    from ganesha_agents.backends.dbus import AdminProxy, Connector, Failure
    from ocfkit.clock import Clock
    from ocfkit.deadline import Deadline
    from ocfkit.log import AgentLog

    T = TypeVar("T")

CALL_TIMEOUT = 5.0
"""Longest wait for one D-Bus call before trying again (still bounded by the deadline)."""

RETRY_PAUSE = 0.25
"""Pause between attempts: ganesha is back on the bus some 15 ms after it starts."""


class GaneshaDBusError(GenericError):
    """A call to ganesha's admin object failed for good; the reason says why."""


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
        retry_pause: float = RETRY_PAUSE,
        process_names: Iterable[str] = PROCESS_NAMES,
    ) -> None:
        """Watch ``pid_files`` (ganesha's known locations unless one is configured).

        ``bus_address`` defaults to the system bus (``DBUS_SYSTEM_BUS_ADDRESS``
        when set, as for every D-Bus client); ``connect`` opens the admin
        object and is replaced in tests.  Every wait is bounded by
        ``deadline``; pauses between attempts go through ``clock``.
        """
        self.pid_files = tuple(DEFAULT_PID_FILES if pid_files is None else pid_files)
        self.process_names = tuple(process_names)
        self._deadline = deadline
        self._clock = clock
        self._log = log
        self._bus_address = bus_address
        self._connect = connect
        self._call_timeout = call_timeout
        self._retry_pause = retry_pause

    def is_alive(self) -> bool:
        verdicts = find_alive(self.pid_files, self.process_names)
        if self._log is not None:
            for verdict in verdicts:
                self._log.debug("%s: %s", verdict.path, verdict.reason)
        return bool(verdicts) and verdicts[-1].alive

    def grace(self, argument: str, *, budget: float | None = None) -> str:
        what = f"grace({argument!r})"
        if not argument.isprintable():
            # Control characters and undecodable bytes (lone surrogates) have no
            # place in a node name or address, and D-Bus strings cannot carry NUL.
            raise GaneshaDBusError(f"{what}: the argument holds unprintable characters")
        status, message = self._call(
            what, lambda admin, timeout: admin.grace(argument, timeout=timeout)
        )
        if not status:
            raise self._give_up(f"ganesha.nfsd refused {what}: {message}")
        if self._log is not None:
            self._log.info("%s: %s", what, message)
        return message

    def enter_grace(self, argument: str, *, budget: float | None = None) -> str:
        message = self.grace(argument, budget=budget)
        if not self.in_grace():
            raise self._give_up(f"ganesha.nfsd is not in grace after grace({argument!r})")
        return message

    def in_grace(self) -> bool:
        reply = self._call("get_grace()", lambda admin, timeout: admin.get_grace(timeout=timeout))
        if not reply:
            raise self._give_up("get_grace() returned nothing")
        return bool(reply[0])

    def _call(self, what: str, invoke: Callable[[AdminProxy, float], T]) -> T:
        """Call until it works, a failure is final, or the deadline is near."""
        address = self._bus_address or system_bus_address()
        connect = self._connect or _pydbus_connect
        started = self._clock.monotonic()
        attempts = 0
        failure: Failure | None = None
        while self._deadline.remaining() > 0:
            timeout = self._call_timeout
            try:
                timeout = self._deadline.bound(self._call_timeout)
                attempts += 1
                admin = connect(address, timeout)
                try:
                    timeout = self._deadline.bound(self._call_timeout)
                    return invoke(admin, timeout)
                finally:
                    admin.close()
            except DeadlineExceeded:
                break
            except Exception as error:
                seen = classify(error, address, timeout)
                if seen is None:
                    raise
                self._note(what, attempts, seen, failure)
                failure = seen
                if seen.final:
                    raise self._give_up(f"{what} failed: {seen.reason}") from error
            self._clock.sleep(min(self._retry_pause, self._deadline.remaining()))
        if failure is None:
            raise DeadlineExceeded(f"{what}: no time left before the action's deadline")
        spent = self._clock.monotonic() - started
        raise self._give_up(
            f"{what} failed: {failure.reason} "
            f"(gave up at the action's deadline after {attempts} attempts in {spent:.1f}s)"
        )

    def _give_up(self, reason: str) -> GaneshaDBusError:
        """The error to raise, logged first."""
        if self._log is not None:
            self._log.error("%s", reason)
        return GaneshaDBusError(reason)

    def _note(self, what: str, attempt: int, seen: Failure, before: Failure | None) -> None:
        """Log a failed attempt: loudly when something new happened, quietly when it repeats."""
        if self._log is None:
            return
        if before is None or before.kind != seen.kind:
            self._log.warning("%s, attempt %d: %s", what, attempt, seen.reason)
        else:
            self._log.debug("%s, attempt %d: %s", what, attempt, seen.reason)


def _pydbus_connect(address: str, timeout: float) -> AdminProxy:
    from ganesha_agents.backends.dbus import connect

    return connect(address, timeout)
