"""Waiting on ganesha.nfsd without polling: a pidfd becomes readable when its process ends.

The daemon is found through its pid file exactly as the monitor finds it
(:func:`~ganesha_agents.backends.pidfile.find_alive`: the lock holder, its
name checked).  ``pidfd_open`` then gives a descriptor for that process;
``poll`` on it returns the moment the whole process has exited, and by then
the kernel has already released its pid file lock (files are closed before
the parent is notified), so the next look at the pid file agrees.  The pid
is checked once more after the pidfd is opened: had it been reused in
between, the check finds no daemon under it and the pidfd is dropped.

Without pidfds (Linux before 5.3) the wait falls back to looking at the
process every :data:`FALLBACK_POLL` seconds.
"""

from __future__ import annotations

import os
import select
import time

from ganesha_agents.backends.pidfile import PROCESS_NAMES, find_alive, judge_process

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterable

FALLBACK_POLL = 0.05


class PidfdDaemonWatch:
    """:class:`~ganesha_agents.backends.protocols.DaemonWatch` on pid files and pidfds."""

    def __init__(
        self,
        pid_files: Iterable[str],
        process_names: Iterable[str] = PROCESS_NAMES,
        proc: str = "/proc",
    ) -> None:
        self.pid_files = tuple(pid_files)
        self.process_names = tuple(process_names)
        self._proc = proc
        self._pid = 0
        self._fd = -1
        self._poller: select.poll | None = None

    def find(self) -> int | None:
        verdicts = find_alive(self.pid_files, self.process_names, self._proc)
        if verdicts and verdicts[-1].alive:
            return verdicts[-1].pid
        return None

    def wait_exit(self, pid: int, timeout: float) -> bool:
        if pid != self._pid:
            self.close()
            try:
                fd = os.pidfd_open(pid)
            except ProcessLookupError:
                return True
            except OSError:
                return self._wait_by_looking(pid, timeout)
            if self.find() != pid:
                os.close(fd)
                return True
            self._pid, self._fd = pid, fd
            self._poller = select.poll()
            self._poller.register(fd, select.POLLIN)
        assert self._poller is not None
        return bool(self._poller.poll(max(timeout, 0.0) * 1000))

    def _wait_by_looking(self, pid: int, timeout: float) -> bool:
        end = time.monotonic() + timeout
        while judge_process(pid, self.process_names, self._proc) is None:
            left = end - time.monotonic()
            if left <= 0:
                return False
            time.sleep(min(FALLBACK_POLL, left))
        return True

    def close(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
        self._pid, self._fd, self._poller = 0, -1, None
