"""The lock that serialises ganesha_mon's signalling: an fcntl lock on a file beside its state.

Not on the state file itself: ocfkit writes that by renaming a new file over
it, and a lock on the old inode would exclude nobody who opened the new one.
A POSIX (``lockf``) lock, because the kernel drops it when its holder dies,
however it dies, and ``F_GETLK`` names the holder for a log line.  It is
polled rather than waited for with a blocking call: the wait must end at
the action's deadline, and a signal-based timeout would reach the whole
agent.
"""

from __future__ import annotations

import fcntl
import os
import time

from ganesha_agents.backends.pidfile import lock_holder

POLL = 0.005


class FileLock:
    """:class:`~ganesha_agents.backends.protocols.StateLock` on one file."""

    def __init__(self, path: str) -> None:
        self.path = path
        self._fd = -1

    def acquire(self, timeout: float) -> bool:
        if self._fd >= 0:
            return True
        os.makedirs(os.path.dirname(self.path), mode=0o755, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC | os.O_NOFOLLOW, 0o600)
        end = time.monotonic() + max(timeout, 0.0)
        while True:
            try:
                fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                if time.monotonic() >= end:
                    os.close(fd)
                    return False
                time.sleep(POLL)
                continue
            self._fd = fd
            return True

    def release(self) -> None:
        if self._fd >= 0:
            fd, self._fd = self._fd, -1
            os.close(fd)  # closing drops the lock

    def holder(self) -> int | None:
        if self._fd >= 0:
            # Never open (and close) a second descriptor while holding the lock:
            # closing any descriptor of the file drops a POSIX lock.
            return os.getpid()
        try:
            fd = os.open(self.path, os.O_RDONLY | os.O_CLOEXEC | os.O_NOFOLLOW)
        except OSError:
            return None
        try:
            return lock_holder(fd) or None
        finally:
            os.close(fd)

    def remove(self) -> None:
        """Delete the file (stop does, once nothing else can want the lock)."""
        try:  # noqa: SIM105 (contextlib is kept off the action path)
            os.unlink(self.path)
        except FileNotFoundError:
            pass
