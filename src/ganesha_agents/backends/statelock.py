"""The lock that serialises ganesha_mon's signalling: an fcntl lock on a file beside its state.

Not on the state file itself: ocfkit writes that by renaming a new file over
it, and a lock on the old inode would exclude nobody who opened the new one.
A POSIX (``lockf``) lock, because the kernel drops it when its holder dies,
however it dies, and ``F_GETLK`` names the holder for a log line.  It is
polled rather than waited for with a blocking call: the wait must end at
the action's deadline, and a signal-based timeout would reach the whole
agent.

The file is held to the rule the state file is held to (``ocfkit.trust``,
see docs/security.md): its directory root's alone, never a link followed,
never a FIFO waited on, only a regular file of root's that nobody else may
write.  :func:`open_own_file` does that for the watcher's file too.
"""

from __future__ import annotations

import errno
import fcntl
import os
import stat
import time

from ganesha_agents.backends.pidfile import lock_holder
from ocfkit.state import UnsafeStateError
from ocfkit.trust import UntrustedPathError, make_directories, trusted_owners, writers

POLL = 0.005
_OPEN = os.O_CLOEXEC | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_NOCTTY


def open_own_file(path: str, flags: int, mode: int = 0o600) -> int:
    """Open a file of this agent in HA_RSCTMP, held to the state file's rule; its descriptor.

    With ``os.O_CREAT`` in ``flags`` the directory is created (exactly, and
    only under a trusted path) when missing.  Raises ``FileNotFoundError``
    without it when the file is absent, and :class:`UnsafeStateError` (a
    configuration error) when anything about the path could be someone
    else's.
    """
    directory = os.path.dirname(path)
    try:
        if flags & os.O_CREAT:
            make_directories(directory, 0o755)
        else:
            from ocfkit.trust import check

            check(directory, missing_ok=True)
    except UntrustedPathError as error:
        raise UnsafeStateError(f"directory {directory} is not safe: {error}") from None
    try:
        fd = os.open(path, flags | _OPEN, mode)
    except OSError as error:
        if error.errno == errno.ELOOP:
            raise UnsafeStateError(f"{path} is a symbolic link, which is never followed") from None
        raise
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise UnsafeStateError(f"{path} is not a regular file")
        if info.st_uid not in trusted_owners():
            raise UnsafeStateError(f"{path} is not owned by root")
        if info.st_mode & (stat.S_IWGRP | stat.S_IWOTH):
            raise UnsafeStateError(f"{path} is writable by {writers(info.st_mode)}")
    except BaseException:
        os.close(fd)
        raise
    return fd


class FileLock:
    """:class:`~ganesha_agents.backends.protocols.StateLock` on one file."""

    def __init__(self, path: str) -> None:
        self.path = path
        self._fd = -1

    def acquire(self, timeout: float) -> bool:
        if self._fd >= 0:
            return True
        fd = open_own_file(self.path, os.O_RDWR | os.O_CREAT)
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
            fd = open_own_file(self.path, os.O_RDONLY)
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
