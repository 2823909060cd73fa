"""Fakes for the collaborators every agent has: time and programs.

Agent-specific backends keep their fakes next to their Protocols (for the
ganesha agents, in ``ganesha_agents.fakes``); these are the generic ones.
"""

from __future__ import annotations

import heapq
import itertools
from collections.abc import Callable, Sequence

from ocfkit.errors import DeadlineExceeded, NotInstalledError
from ocfkit.runner import CommandFailed, CommandResult
from ocfkit.state import MemoryStateStore

__all__ = ["FakeClock", "FakeCommandRunner", "MemoryStateStore"]


class FakeClock:
    """Virtual time: ``sleep`` advances it instantly, and runs what falls due meanwhile.

    ``schedule(delay, callback)`` queues work at a virtual time; every sleep
    (and :meth:`advance`) first runs the callbacks due before it ends, in time
    order, with the clock set to each callback's time.  That is enough to
    simulate several processes that wait, which is how the demo lets the
    other nodes react while ganesha_mon sleeps its grace_delay.
    """

    def __init__(self, start: float = 1_000_000.0, wall_offset: float = 1_700_000_000.0) -> None:
        self.now = start
        self.wall_offset = wall_offset
        self.sleeps: list[float] = []
        self._queue: list[tuple[float, int, Callable[[], None]]] = []
        self._order = itertools.count()

    def monotonic(self) -> float:
        return self.now

    def time(self) -> float:
        return self.now + self.wall_offset

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.advance(max(0.0, seconds))

    def schedule(self, delay: float, callback: Callable[[], None]) -> None:
        heapq.heappush(self._queue, (self.now + max(0.0, delay), next(self._order), callback))

    def advance(self, seconds: float) -> None:
        """Move time forward, running due callbacks; nested sleeps may move it further."""
        until = self.now + seconds
        while self._queue and self._queue[0][0] <= until:
            when, _, callback = heapq.heappop(self._queue)
            self.now = max(self.now, when)
            callback()
        self.now = max(self.now, until)

    def run_until_idle(self, limit: float = 3600.0) -> None:
        """Run every queued callback (including ones they queue), up to ``limit`` seconds."""
        end = self.now + limit
        while self._queue and self._queue[0][0] <= end:
            self.advance(self._queue[0][0] - self.now)

    @property
    def pending(self) -> int:
        return len(self._queue)


Handler = Callable[[tuple[str, ...]], CommandResult | Exception | int | str | None]


class FakeCommandRunner:
    """Answers commands from a handler and records every call.

    The handler receives the argv tuple and returns a :class:`CommandResult`,
    an exit code, a stdout string, ``None`` (success, no output) or an
    exception to raise.  Without a handler every command succeeds silently.
    ``missing`` names programs that are not installed.
    """

    def __init__(self, handler: Handler | None = None, *, missing: Sequence[str] = ()) -> None:
        self.handler = handler
        self.missing = set(missing)
        self.calls: list[tuple[str, ...]] = []
        self.timeouts: list[float | None] = []

    def run(
        self,
        argv: Sequence[str],
        *,
        timeout: float | None = None,
        input: str | None = None,
        check: bool = False,
    ) -> CommandResult:
        if isinstance(argv, str | bytes) or not argv:
            raise TypeError("argv must be a non-empty sequence of strings")
        args = tuple(argv)
        self.calls.append(args)
        self.timeouts.append(timeout)
        if args[0] in self.missing:
            raise NotInstalledError(f"{args[0]}: program not found")
        answer = self.handler(args) if self.handler else None
        if isinstance(answer, Exception):
            raise answer
        if isinstance(answer, CommandResult):
            result = answer
        elif isinstance(answer, int):
            result = CommandResult(args, answer)
        else:
            result = CommandResult(args, 0, answer or "")
        if check and not result.ok:
            raise CommandFailed(result)
        return result

    def commands(self, program: str) -> list[tuple[str, ...]]:
        """The calls made to one program."""
        return [c for c in self.calls if c[0] == program]


def timeout_error(program: str) -> DeadlineExceeded:
    """What the real runner raises when a program outlives the deadline."""
    return DeadlineExceeded(f"{program} did not finish within the action's deadline")
