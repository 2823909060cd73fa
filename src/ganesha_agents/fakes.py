"""In-memory backends for the ganesha agents: attrd shared by simulated nodes, and ganesha.nfsd.

These are what the project's tests and the demo use, and what an operator can
use to try a configuration idea without a cluster.  They keep timestamped
records of everything done to them, so a test (or the demo's timeline) can
check not just the end state but the order of events.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import attrs

from ganesha_agents.backends.errors import GaneshaDBusError, GaneshaNotRunning, GraceNotConfirmed

if TYPE_CHECKING:
    from ocfkit.clock import Clock


@attrs.frozen
class AttributeChange:
    """One update of a node attribute; ``value`` is None for a deletion."""

    time: float
    node: str
    name: str
    value: str | None


class FakeAttributeStore:
    """The cluster's attribute manager, shared between simulated nodes.

    Like attrd, a deleted attribute keeps its name with an empty value until
    the store is reset (``query`` answers "" for it, None for a name never
    set).  ``listeners`` are called after every change that alters a value
    (attrd only writes to the CIB when a value changes).  ``failure`` makes
    every call raise it, as if attrd were unreachable.
    """

    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self.values: dict[tuple[str, str], str] = {}
        self.history: list[AttributeChange] = []
        self.listeners: list[Callable[[AttributeChange], None]] = []
        self.failure: Exception | None = None
        self.calls: list[tuple[str, str, str]] = []

    def for_node(self, node: str) -> NodeAttributes:
        """The view one node's agents get: calls without ``node=`` act on that node."""
        return NodeAttributes(self, node)

    def set(self, node: str, name: str, value: str) -> None:
        self._call("set", node, name)
        self._change(node, name, value)

    def delete(self, node: str, name: str) -> None:
        self._call("delete", node, name)
        self._change(node, name, "")

    def query(self, node: str, name: str) -> str | None:
        self._call("query", node, name)
        return self.values.get((node, name))

    def value(self, node: str, name: str) -> str | None:
        """Peek without recording a call (for tests and the demo's model)."""
        return self.values.get((node, name))

    def forget_node(self, node: str) -> None:
        """A node's attributes vanish when its Pacemaker stops or it is fenced."""
        for key in [k for k in self.values if k[0] == node]:
            del self.values[key]

    def _call(self, kind: str, node: str, name: str) -> None:
        self.calls.append((kind, node, name))
        if self.failure is not None:
            raise self.failure

    def _change(self, node: str, name: str, value: str) -> None:
        if self.values.get((node, name)) == value:
            return
        self.values[(node, name)] = value
        change = AttributeChange(self.clock.monotonic(), node, name, value or None)
        self.history.append(change)
        for listener in list(self.listeners):
            listener(change)


class NodeAttributes:
    """A node's view of :class:`FakeAttributeStore`; satisfies ``AttributeStore``."""

    def __init__(self, store: FakeAttributeStore, node: str) -> None:
        self.store = store
        self.node = node

    def set(self, name: str, value: str, *, node: str | None = None) -> None:
        self.store.set(node or self.node, name, value)

    def delete(self, name: str, *, node: str | None = None) -> None:
        self.store.delete(node or self.node, name)

    def query(self, name: str, *, node: str | None = None) -> str | None:
        return self.store.query(node or self.node, name)


@attrs.frozen
class GraceCall:
    """One grace call the server accepted, with the budget it was given."""

    time: float
    node: str
    argument: str
    budget: float | None = None


class FakeNFSDaemon:
    """A ganesha.nfsd that can be killed, revived and made to fail; satisfies ``NFSDaemon``.

    A successful grace call starts a grace period of ``grace_period`` seconds
    (virtual time, from the clock), as the real server does, unless the
    server is ``graceless`` (configured to lift grace at once).  A ``hung``
    server answers nothing: each call takes its whole budget (or
    ``hang_without_budget`` seconds) and then fails as a timeout.  A killed
    server raises ``GaneshaNotRunning`` at once, as the real backend does
    when the daemon is neither on the bus nor alive by its pid file.
    """

    def __init__(self, node: str, clock: Clock, *, grace_period: float = 90.0) -> None:
        self.node = node
        self.clock = clock
        self.grace_period = grace_period
        self.alive = True
        self.hung = False
        self.hang_without_budget = 10.0
        self.graceless = False
        self.grace_calls: list[GraceCall] = []
        # Called with the answer of every liveness check (the demo marks step 1 with it).
        self.check_listeners: list[Callable[[bool], None]] = []
        self.failures_left = 0
        self.failure_reason = "org.freedesktop.DBus.Error.NoReply: timed out"
        self._grace_until: float | None = None

    def kill(self) -> None:
        self.alive = False
        self._grace_until = None

    def revive(self) -> None:
        """A restarted server begins in grace, as ganesha.nfsd does."""
        self.alive = True
        self._grace_until = self.clock.monotonic() + self.grace_period

    def fail_next(self, count: int = 1, reason: str | None = None) -> None:
        self.failures_left = count
        if reason is not None:
            self.failure_reason = reason

    def is_alive(self) -> bool:
        for listener in list(self.check_listeners):
            listener(self.alive)
        return self.alive

    def grace(self, argument: str, *, budget: float | None = None) -> str:
        what = f"grace({argument!r})"
        self._answerable(what, budget)
        if self.failures_left > 0:
            self.failures_left -= 1
            raise GaneshaDBusError(f"{what} failed: {self.failure_reason}")
        self.grace_calls.append(GraceCall(self.clock.monotonic(), self.node, argument, budget))
        if not self.graceless:
            self._grace_until = self.clock.monotonic() + self.grace_period
        return "Started grace period"

    def in_grace(self, *, budget: float | None = None) -> bool:
        self._answerable("get_grace()", budget)
        return self._grace_until is not None and self.clock.monotonic() < self._grace_until

    def enter_grace(self, argument: str, *, budget: float) -> str:
        end = self.clock.monotonic() + budget
        message = self.grace(argument, budget=budget)
        if not self.in_grace(budget=max(0.0, end - self.clock.monotonic())):
            raise GraceNotConfirmed(
                f"grace({argument!r}) was accepted ({message}) but get_grace() says the "
                f"server on {self.node} is not in grace"
            )
        return message

    def _answerable(self, what: str, budget: float | None) -> None:
        """Raise as the real backend would for a server that is gone or hung."""
        if not self.alive:
            raise GaneshaNotRunning(
                f"{what}: no ganesha.nfsd runs on {self.node} (not on the bus, no live "
                "daemon by its pid file)"
            )
        if self.hung:
            waited = self.hang_without_budget if budget is None else budget
            self.clock.sleep(waited)
            raise GaneshaDBusError(
                f"{what} failed: ganesha.nfsd on {self.node} did not reply within {waited:g}s"
            )


class MemoryLock:
    """A state lock for one process (tests, the demo); satisfies ``StateLock``.

    ``held_by`` set to a pid makes it look held by another process, so a
    test can see an action give up at its deadline.
    """

    def __init__(self) -> None:
        self.held = False
        self.held_by: int | None = None
        self.acquisitions = 0
        self.removed = False

    def acquire(self, timeout: float) -> bool:
        if self.held_by is not None:
            return False
        self.held = True
        self.acquisitions += 1
        return True

    def release(self) -> None:
        self.held = False

    def holder(self) -> int | None:
        return self.held_by

    def remove(self) -> None:
        self.removed = True


@attrs.define
class FakeWatcherStatus:
    kind: str
    pid: int | None = None
    detail: str = ""


class FakeWatcherControl:
    """A watcher that is only a state (running, absent, hung, foreign); a ``WatcherControl``.

    ``launch`` makes it run (or raises ``launch_failure``), ``stop`` makes it
    absent; both are recorded.
    """

    def __init__(self, kind: str = "absent") -> None:
        self.kind = kind
        self.pid: int | None = None
        self.launches: list[dict[str, str]] = []
        self.stops: list[int] = []
        self.launch_failure: Exception | None = None
        self.removed = 0
        self._next_pid = 4000

    def check(self) -> FakeWatcherStatus:
        if self.kind == "absent":
            return FakeWatcherStatus("absent", None, "no watcher file")
        return FakeWatcherStatus(self.kind, self.pid, f"watcher pid {self.pid} is {self.kind}")

    def launch(self, environ: dict[str, str]) -> int:
        if self.launch_failure is not None:
            raise self.launch_failure
        self.launches.append(environ)
        self._next_pid += 1
        self.kind, self.pid = "running", self._next_pid
        return self._next_pid

    def stop(self, timeout: float) -> int | None:
        if self.kind not in ("running", "hung") or self.pid is None:
            return None
        self.stops.append(self.pid)
        self.kind = "absent"
        return self.pid

    def remove(self) -> None:
        self.removed += 1


class FakeAttrdTracker:
    """attrd's identity as a test sets it; satisfies ``AttrdTracker``."""

    def __init__(self, identity: str = "") -> None:
        self.current = identity

    def identity(self) -> str:
        return self.current


class FakeDaemonWatch:
    """The watcher's view of a :class:`FakeNFSDaemon`, in the clock's time; a ``DaemonWatch``."""

    PID = 4242
    STEP = 0.01

    def __init__(self, daemon: FakeNFSDaemon, clock: Clock) -> None:
        self.daemon = daemon
        self.clock = clock

    def find(self) -> int | None:
        return self.PID if self.daemon.alive else None

    def wait_exit(self, pid: int, timeout: float) -> bool:
        end = self.clock.monotonic() + timeout
        while self.daemon.alive:
            left = end - self.clock.monotonic()
            if left <= 0:
                return False
            self.clock.sleep(min(self.STEP, left))
        return True
