"""stderr shared by simulated processes that run as threads of one Python process.

The demo runs every agent action in a thread of its own, and an agent writes
its log lines and exit reasons to ``sys.stderr``.  This object stands in for
``sys.stderr`` so that each action's output lands in the buffer of the thread
that produced it, and output from elsewhere still reaches the terminal.
"""

from __future__ import annotations

import io
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TextIO


class PerThreadStderr:
    """stderr for simulated processes: each thread writes to its own buffer, if it has one."""

    def __init__(self, fallback: TextIO) -> None:
        self.fallback = fallback
        self.local = threading.local()

    def _target(self) -> TextIO:
        buffer: TextIO | None = getattr(self.local, "buffer", None)
        return buffer or self.fallback

    def write(self, text: str) -> int:
        return self._target().write(text)

    def flush(self) -> None:
        self._target().flush()

    @contextmanager
    def capture(self) -> Iterator[io.StringIO]:
        """Collect what this thread writes, for the duration of the block."""
        saved = getattr(self.local, "buffer", None)
        self.local.buffer = io.StringIO()
        try:
            yield self.local.buffer
        finally:
            self.local.buffer = saved
