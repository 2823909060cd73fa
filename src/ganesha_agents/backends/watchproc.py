"""ganesha_mon's watcher as a process: launching it detached, checking it, killing it.

The watcher holds a POSIX lock on its own file (``<instance>.watcher`` in
``HA_RSCTMP``) for its whole life and rewrites the file's one line, ``PID
HEARTBEAT`` (its pid and ``CLOCK_MONOTONIC`` seconds), about once a second.
So a monitor tells, without talking to it:

- **dead**: nobody holds the lock (the kernel dropped it when the process
  ended, however it ended);
- **ours**: the lock holder, as ``F_GETLK`` names it, runs the watcher
  module for this very file (``/proc/PID/cmdline``);
- **hung**: ours, but the heartbeat is older than :data:`HUNG_AFTER`.

A hung watcher is killed by its verified pid: a pidfd is opened first and
the process checked again through it, so a pid reused in between is never
signalled.  Launching is ``posix_spawn`` with a new session and stdin,
stdout and stderr on ``/dev/null``: Pacemaker's executor reads the action's
stdout and stderr until both pipes close, and a child holding them would
keep the action (and the transition) waiting.  The watcher closes every
other inherited descriptor itself before it imports anything.
"""

from __future__ import annotations

import os
import sys
import time

from ganesha_agents.backends.pidfile import lock_holder
from ganesha_agents.backends.statelock import open_own_file
from ocfkit._record import Record
from ocfkit.errors import GenericError, OCFError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Sequence

    from ocfkit.clock import Clock

MODULE = "ganesha_agents.watcher"
"""What the watcher's command line names; part of how a monitor recognises it."""

HEARTBEAT_EVERY = 1.0
"""How often the watcher rewrites its heartbeat while nothing happens."""

HUNG_AFTER = 15.0
"""A heartbeat older than this means a hung watcher.  Longer than one event's
budget (an attribute update bounded by a 10 s deadline), so a watcher that
waits on a slow attrd is not mistaken for a hung one."""

READY_WITHIN = 2.0
"""How long a launch waits for the new watcher to take its lock."""

RUNNING = "running"
ABSENT = "absent"
HUNG = "hung"
FOREIGN = "foreign"

_LINE = 48
# Linux signal numbers restored to their defaults in the watcher (an agent
# started with them ignored would pass that on through exec).
_SIGHUP, _SIGINT, _SIGPIPE, _SIGTERM, _SIGXFSZ = 1, 2, 13, 15, 25
_SIGKILL = 9

# The watcher's first lines: close what it inherited, then import from where
# the agent did (the shim runs python with -I -S, so sys.path is explicit).
_BOOT = (
    "import os, sys; os.closerange(3, 65536); sys.path[:] = {path!r}; "
    "from " + MODULE + " import main; raise SystemExit(main(sys.argv[1:]))"
)


class Status(Record):
    """:class:`~ganesha_agents.backends.protocols.WatcherStatus`."""

    __slots__ = ("detail", "kind", "pid")

    def __init__(self, kind: str, pid: int | None = None, detail: str = "") -> None:
        self.kind = kind
        self.pid = pid
        self.detail = detail


def format_line(pid: int, beat: float) -> bytes:
    """The watcher file's content: fixed width, so rewriting it in place leaves no tail."""
    return f"{pid} {beat:.3f}".ljust(_LINE - 1).encode("ascii") + b"\n"


def parse_line(content: bytes) -> tuple[int, float] | None:
    words = content.split()
    if len(words) != 2 or not words[0].isdigit():
        return None
    try:
        return int(words[0]), float(words[1])
    except ValueError:
        return None


def command_line(pid: int, proc: str = "/proc") -> list[str]:
    try:
        with open(f"{proc}/{pid}/cmdline", "rb") as stream:
            raw = stream.read(65536)
    except OSError:
        return []
    return [part.decode("utf-8", "surrogateescape") for part in raw.split(b"\0") if part]


def is_watcher_of(pid: int, path: str, proc: str = "/proc") -> bool:
    """Whether ``pid`` runs the watcher module for the watcher file ``path``."""
    args = command_line(pid, proc)
    return path in args and any(MODULE in arg for arg in args)


class ProcessWatcherControl:
    """:class:`~ganesha_agents.backends.protocols.WatcherControl` for real processes."""

    def __init__(
        self,
        path: str,
        clock: Clock,
        *,
        python: str | None = None,
        sys_path: Sequence[str] | None = None,
        extra_args: Sequence[str] = (),
        hung_after: float = HUNG_AFTER,
        ready_within: float = READY_WITHIN,
        proc: str = "/proc",
    ) -> None:
        """``path`` is the watcher file; ``python`` and ``sys_path`` default to this process's."""
        self.path = path
        self._clock = clock
        self._python = python or sys.executable
        self._sys_path = list(sys.path if sys_path is None else sys_path)
        self._extra_args = list(extra_args)
        self._hung_after = hung_after
        self._ready_within = ready_within
        self._proc = proc

    def argv(self) -> list[str]:
        """The watcher's command line (also what :func:`is_watcher_of` recognises)."""
        boot = _BOOT.format(path=self._sys_path)
        return [self._python, "-I", "-S", "-c", boot, "--watcher-file", self.path,
                *self._extra_args]  # fmt: skip

    def check(self) -> Status:
        try:
            fd = open_own_file(self.path, os.O_RDONLY)
        except FileNotFoundError:
            return Status(ABSENT, None, "no watcher file")
        except OCFError as error:
            # Not ours to trust: neither believed nor killed, and no second watcher.
            return Status(FOREIGN, None, error.reason)
        except OSError as error:
            return Status(ABSENT, None, f"cannot open {self.path}: {error.strerror}")
        try:
            holder = lock_holder(fd)
            content = os.pread(fd, _LINE, 0)
        except OSError as error:
            return Status(ABSENT, None, f"cannot read {self.path}: {error.strerror}")
        finally:
            os.close(fd)
        if holder is None:
            return Status(ABSENT, None, "no process holds the watcher's lock")
        if holder == 0 or not is_watcher_of(holder, self.path, self._proc):
            shown = "a holder the kernel does not name" if holder == 0 else f"pid {holder}"
            return Status(FOREIGN, holder or None, f"the watcher's lock is held by {shown}")
        line = parse_line(content)
        if line is None:
            return Status(HUNG, holder, f"watcher pid {holder} has written no heartbeat")
        age = self._clock.monotonic() - line[1]
        if age > self._hung_after:
            return Status(HUNG, holder, f"watcher pid {holder}'s heartbeat is {age:.1f}s old")
        return Status(RUNNING, holder, f"watcher pid {holder} beat {max(age, 0.0):.1f}s ago")

    def launch(self, environ: dict[str, str]) -> int:
        devnull = os.devnull
        try:
            pid = os.posix_spawn(
                self._python,
                self.argv(),
                environ,
                file_actions=[
                    (os.POSIX_SPAWN_OPEN, 0, devnull, os.O_RDONLY, 0),
                    (os.POSIX_SPAWN_OPEN, 1, devnull, os.O_WRONLY, 0),
                    (os.POSIX_SPAWN_OPEN, 2, devnull, os.O_WRONLY, 0),
                ],
                setsid=True,
                setsigdef=(_SIGHUP, _SIGINT, _SIGPIPE, _SIGTERM, _SIGXFSZ),
            )
        except OSError as error:
            raise GenericError(
                f"cannot start the watcher ({self._python}): {error.strerror}"
            ) from error
        # Real time, not the injected clock: this waits for a real process.
        end = time.monotonic() + self._ready_within
        while True:
            reaped, status = os.waitpid(pid, os.WNOHANG)
            if reaped:
                code = os.waitstatus_to_exitcode(status)
                raise GenericError(f"the watcher (pid {pid}) exited at once with status {code}")
            if self.check().pid == pid or time.monotonic() >= end:
                return pid
            time.sleep(0.005)

    def stop(self, timeout: float) -> int | None:
        status = self.check()
        if status.kind not in (RUNNING, HUNG) or status.pid is None:
            return None
        pid = status.pid
        try:
            pidfd = os.pidfd_open(pid)
        except ProcessLookupError:
            return pid
        try:
            # Through the pidfd, the pid cannot now name another process: check again.
            if not is_watcher_of(pid, self.path, self._proc):
                return None
            import signal

            try:
                signal.pidfd_send_signal(pidfd, _SIGKILL)
            except ProcessLookupError:
                return pid
            wait_readable(pidfd, timeout)
        finally:
            os.close(pidfd)
        return pid

    def remove(self) -> None:
        try:  # noqa: SIM105 (contextlib is kept off the action path)
            os.unlink(self.path)
        except FileNotFoundError:
            pass


def wait_readable(fd: int, timeout: float) -> bool:
    """Wait until ``fd`` is readable (a pidfd: its process has ended); whether it is."""
    import select

    poller = select.poll()
    poller.register(fd, select.POLLIN)
    return bool(poller.poll(max(timeout, 0.0) * 1000))


class WatcherFile:
    """The watcher's own side of the file: the lock it holds for life and its heartbeat."""

    def __init__(self, path: str, clock: Clock) -> None:
        self.path = path
        self._clock = clock
        self._fd = -1
        self._inode: tuple[int, int] | None = None

    def claim(self) -> int | None:
        """Take the lock; ``None`` when taken, else the pid of the watcher that has it."""
        import fcntl

        fd = open_own_file(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            holder = lock_holder(fd)
            os.close(fd)
            return holder or -1
        self._fd = fd
        info = os.fstat(fd)
        self._inode = (info.st_dev, info.st_ino)
        self.beat()
        return None

    def beat(self) -> None:
        if self._fd >= 0:
            os.pwrite(self._fd, format_line(os.getpid(), self._clock.monotonic()), 0)

    def still_ours(self) -> bool:
        """Whether the path still names the file we lock (stop removes it)."""
        try:
            info = os.stat(self.path, follow_symlinks=False)
        except OSError:
            return False
        return (info.st_dev, info.st_ino) == self._inode

    def close(self) -> None:
        if self._fd >= 0:
            fd, self._fd = self._fd, -1
            os.close(fd)
