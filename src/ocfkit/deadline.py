"""The deadline of the running action.

Pacemaker kills an agent that outlives its operation timeout with SIGKILL to
the whole process group, without a SIGTERM first: nothing can be cleaned up
afterwards.  So an agent keeps its own deadline, taken from
``OCF_RESKEY_CRM_meta_timeout``, and bounds every wait and every subprocess by
what is left of it, keeping a small reserve to report a clean error instead.
"""

from __future__ import annotations

from ocfkit.errors import DeadlineExceeded

TYPE_CHECKING = False
if TYPE_CHECKING:
    from ocfkit.clock import Clock

DEFAULT_TIMEOUT_MS = 20_000
"""Pacemaker's default operation timeout (20 s), also what ocf-tester sets."""

MAX_TIMEOUT_MS = 2**31 - 1
"""The longest timeout Pacemaker can express (a C int of milliseconds, about 24 days).

Anything longer is garbage; read as this, it keeps sleeps and subprocess
waits within what the operating system accepts.
"""


class Deadline:
    """A point in monotonic time by which the action must have finished."""

    def __init__(self, clock: Clock, timeout: float, *, reserve: float | None = None) -> None:
        """``timeout`` is in seconds from now; ``reserve`` is kept back for reporting.

        By default the reserve is a tenth of the timeout, at most one second:
        enough to log and print an exit reason, small enough not to matter.
        """
        self._clock = clock
        self.timeout = timeout
        self.reserve = min(1.0, timeout / 10) if reserve is None else reserve
        self.started = clock.monotonic()
        self.at = self.started + timeout - self.reserve

    @classmethod
    def from_timeout_ms(cls, clock: Clock, timeout_ms: int | None) -> Deadline:
        if timeout_ms is None or timeout_ms <= 0:
            ms = DEFAULT_TIMEOUT_MS
        else:
            ms = min(timeout_ms, MAX_TIMEOUT_MS)
        return cls(clock, ms / 1000)

    def remaining(self) -> float:
        """Seconds left before the deadline (never negative)."""
        return max(0.0, self.at - self._clock.monotonic())

    def elapsed(self) -> float:
        return self._clock.monotonic() - self.started

    @property
    def expired(self) -> bool:
        return self.remaining() <= 0

    def bound(self, seconds: float | None = None) -> float:
        """The smaller of ``seconds`` and what is left; raise if nothing is left."""
        left = self.remaining()
        if left <= 0:
            raise DeadlineExceeded(
                f"action deadline of {self.timeout:g}s reached after {self.elapsed():.1f}s"
            )
        return left if seconds is None else min(seconds, left)

    def sleep(self, seconds: float) -> float:
        """Sleep at most ``seconds`` but never past the deadline; return the time slept."""
        wait = min(max(seconds, 0.0), self.remaining())
        self._clock.sleep(wait)
        return wait
