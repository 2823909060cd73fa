"""Timestamped progress lines while a lab comes up or goes down.

Bringing a cluster up takes seconds in several steps; when one hangs, the
last line printed says which.  Each line has the wall clock (to match
against the nodes' logs) and the time since the operation began.
"""

from __future__ import annotations

import sys
import time
from typing import TextIO


class Progress:
    def __init__(self, stream: TextIO | None = None, *, enabled: bool = True) -> None:
        self.stream = stream
        self.enabled = enabled
        self.started = time.monotonic()

    def begin(self, what: str) -> None:
        self.started = time.monotonic()
        self.step(what)

    def elapsed(self) -> float:
        return time.monotonic() - self.started

    def step(self, what: str) -> None:
        if not self.enabled:
            return
        now = time.time()
        clock = time.strftime("%H:%M:%S", time.localtime(now)) + f".{int(now * 1000) % 1000:03d}"
        stream = self.stream if self.stream is not None else sys.stderr
        stream.write(f"[{clock} {self.elapsed():6.2f}s] {what}\n")
        stream.flush()


def silent() -> Progress:
    return Progress(enabled=False)
