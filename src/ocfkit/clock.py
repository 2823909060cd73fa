"""Time as a dependency.

Agents wait (ganesha_mon's grace_delay, ganesha_grace's start) and measure
deadlines.  Taking the clock as a constructor argument lets tests and the demo
run those waits in virtual time instead of really sleeping.
"""

from __future__ import annotations

import time

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Protocol

    class Clock(Protocol):
        """What agents need from time: a monotonic reading, wall time and a sleep."""

        def monotonic(self) -> float: ...

        def time(self) -> float: ...

        def sleep(self, seconds: float) -> None: ...


class SystemClock:
    """The real clock."""

    def monotonic(self) -> float:
        return time.monotonic()

    def time(self) -> float:
        return time.time()

    def sleep(self, seconds: float) -> None:
        if seconds > 0:
            time.sleep(seconds)
