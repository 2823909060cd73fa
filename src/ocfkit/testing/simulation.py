"""Several simulated processes in one virtual time line.

:class:`FakeClock` runs scheduled callbacks inside whoever sleeps, which is
enough for one agent at a time.  When several agents wait at once (one node's
ganesha_mon sleeping its grace_delay while another node's does the same),
nested sleeps would serialise them.  :class:`VirtualTime` gives each
scheduled callable a thread of its own and lets exactly one run at a time:
a thread runs until it sleeps or ends, then the earliest due thread or
callback runs next, with the clock set to its time.  The result is the
interleaving the processes would have on a real cluster, deterministic and
instant.
"""

from __future__ import annotations

import heapq
import itertools
import threading
from collections.abc import Callable

_Item = tuple[float, int, "Callable[[], None] | threading.Event"]


class VirtualTime:
    """A clock (``monotonic``/``time``/``sleep``) shared by cooperative simulated processes."""

    def __init__(self, start: float = 1_000_000.0, wall_offset: float = 1_700_000_000.0) -> None:
        self.now = start
        self.wall_offset = wall_offset
        self._queue: list[_Item] = []
        self._order = itertools.count()
        self._idle = threading.Event()
        self._processes = threading.local()
        self._failure: BaseException | None = None

    # The Clock protocol -------------------------------------------------

    def monotonic(self) -> float:
        return self.now

    def time(self) -> float:
        return self.now + self.wall_offset

    def sleep(self, seconds: float) -> None:
        """In a simulated process: let the others run until ``seconds`` have passed.

        Outside one (the driving thread), the same as :meth:`advance`.
        """
        if not getattr(self._processes, "inside", False):
            self.advance(seconds)
            return
        wake = threading.Event()
        heapq.heappush(self._queue, (self.now + max(0.0, seconds), next(self._order), wake))
        self._idle.set()
        wake.wait()

    # Driving -----------------------------------------------------------

    def schedule(self, delay: float, process: Callable[[], None]) -> None:
        """Run ``process`` as a simulated process ``delay`` seconds from now."""
        heapq.heappush(self._queue, (self.now + max(0.0, delay), next(self._order), process))

    def advance(self, seconds: float) -> None:
        """Run everything due in the next ``seconds``, in time order (driving thread only)."""
        until = self.now + seconds
        while self._queue and self._queue[0][0] <= until:
            when, _, item = heapq.heappop(self._queue)
            self.now = max(self.now, when)
            self._idle.clear()
            if isinstance(item, threading.Event):
                item.set()
            else:
                threading.Thread(target=self._process, args=(item,), daemon=True).start()
            self._idle.wait()
            if self._failure is not None:
                failure, self._failure = self._failure, None
                raise failure
        self.now = max(self.now, until)

    def _process(self, body: Callable[[], None]) -> None:
        self._processes.inside = True
        try:
            body()
        except BaseException as error:  # handed to the driving thread
            self._failure = error
        finally:
            self._idle.set()

    @property
    def pending(self) -> int:
        return len(self._queue)
