"""Daemons for agents: start one detached, find it, stop it with escalation.

What ocf-shellfuncs gives shell authors (``ocf_pidfile_status``,
``ocf_stop_processes``, ``start-stop-daemon`` in the agents) without a shell:

- :func:`start_daemon` runs a program detached from the agent (double fork,
  a new session, its own process group), as a given user with that user's
  groups (``initgroups``), with stdin, stdout and stderr redirected, and its
  pid written to a pid file on which the daemon keeps a write lock, so that
  :mod:`ocfkit.pidfile` knows it from the kernel.  When the program cannot be
  started (missing, not executable, a working directory or log file that
  cannot be opened), the error comes back to the caller as an exception
  instead of a daemon that silently never ran.
- :func:`daemon_status` is :func:`ocfkit.pidfile.check_pid_file`.
- :func:`stop_process` sends SIGTERM (to the daemon's process group when it
  leads one), waits, and sends SIGKILL when the wait runs out, all within
  the action's deadline; a zombie counts as dead.  It signals a process
  through a pidfd, so a pid reused meanwhile is never hit.

Every wait here is a wait on the kernel, in real time, bounded by what is
left of the deadline: a test that gives the agent a ``FakeClock`` does not
make a real process's stop skip its wait (see docs/testing.md).
"""

from __future__ import annotations

import os

from ocfkit._record import Record
from ocfkit.errors import (
    DeadlineExceeded,
    GenericError,
    InvalidArgumentError,
    NotInstalledError,
)
from ocfkit.pidfile import (
    Verdict,
    check_pid_file,
    judge_process,
    remove_pid_file,
    remove_quietly,
    write_pid_file,
)

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping, Sequence

    from ocfkit.deadline import Deadline

__all__ = [
    "StopResult",
    "daemon_status",
    "is_alive",
    "start_daemon",
    "stop_pid_file",
    "stop_process",
    "survives",
]

_SIGKILL = 9
_SIGTERM = 15
_EXIT_FAILED_TO_START = 127
_POLL_FLOOR = 0.005


def daemon_status(pid_file: str, names: Iterable[str] = ()) -> Verdict:
    """Whether the daemon of ``pid_file`` runs (see :func:`ocfkit.pidfile.check_pid_file`)."""
    return check_pid_file(pid_file, names)


# ------------------------------------------------------------------- start


def start_daemon(
    argv: Sequence[str],
    *,
    deadline: Deadline,
    pid_file: str | None = None,
    user: str | None = None,
    cwd: str = "/",
    env: Mapping[str, str] | None = None,
    stdin: str | None = None,
    stdout: str | None = None,
    stderr: str | None = None,
    umask: int = 0o022,
) -> int:
    """Start ``argv`` as a daemon and return its pid, once it has been executed.

    ``user`` (a name) makes the daemon run as that user, with its primary
    group and supplementary groups; only root may give one.  ``stdin`` is a
    file to read (``/dev/null`` by default), ``stdout`` and ``stderr`` files
    to append to (``/dev/null`` by default), opened as ``user``.  ``cwd`` is
    entered as ``user`` too.  ``env`` is the daemon's whole environment
    (default: the agent's).  ``pid_file`` is written (by the agent's user,
    mode 0644) with the daemon's pid, and the daemon holds a write lock on it
    through an inherited descriptor for as long as it keeps that descriptor.

    Raises :class:`NotInstalledError` when the program cannot be executed,
    :class:`InvalidArgumentError` for an unknown user, :class:`GenericError`
    for any other step that fails (the step is named), and
    :class:`DeadlineExceeded` when the program was not executed in time.
    """
    args = [str(a) for a in argv]
    if not args or any("\0" in a for a in args):
        raise GenericError("cannot start a daemon: empty argv or a NUL byte in it")
    identity = _identity(user)
    environment = dict(os.environ if env is None else env)
    limit = deadline.bound()
    read_end, write_end = os.pipe2(os.O_CLOEXEC)
    try:
        first = os.fork()
        if first == 0:  # pragma: no cover - runs in the child, reported through the pipe
            os.close(read_end)
            _first_child(
                args, write_end, identity, cwd, environment, stdin, stdout, stderr, umask, pid_file
            )
        os.close(write_end)
        write_end = -1
        os.waitpid(first, 0)  # the first child exits as soon as it has forked
        report = _read_report(read_end, limit)
    finally:
        os.close(read_end)
        if write_end >= 0:
            os.close(write_end)
    return _outcome(report, args[0], pid_file)


class _Identity(Record):
    __slots__ = ("gid", "name", "uid")

    def __init__(self, name: str, uid: int, gid: int) -> None:
        self.name = name
        self.uid = uid
        self.gid = gid


def _identity(user: str | None) -> _Identity | None:
    if user is None or user == "":
        return None
    import pwd

    try:
        entry = pwd.getpwnam(user)
    except KeyError:
        raise InvalidArgumentError(f"no user named {user!r} on this node") from None
    if entry.pw_uid == os.geteuid():
        return None  # already that user
    if os.geteuid() != 0:
        raise InvalidArgumentError(f"only root can start a daemon as {user!r}")
    return _Identity(entry.pw_name, entry.pw_uid, entry.pw_gid)


def _first_child(  # pragma: no cover - runs in the child
    args: list[str],
    report: int,
    identity: _Identity | None,
    cwd: str,
    env: dict[str, str],
    stdin: str | None,
    stdout: str | None,
    stderr: str | None,
    umask: int,
    pid_file: str | None,
) -> None:
    """New session, fork again (the daemon can never regain a terminal), exit."""
    try:
        os.setsid()
        if os.fork() != 0:
            os._exit(0)
        _daemon(args, report, identity, cwd, env, stdin, stdout, stderr, umask, pid_file)
    finally:
        os._exit(_EXIT_FAILED_TO_START)


def _daemon(  # pragma: no cover - runs in the child
    args: list[str],
    report: int,
    identity: _Identity | None,
    cwd: str,
    env: dict[str, str],
    stdin: str | None,
    stdout: str | None,
    stderr: str | None,
    umask: int,
    pid_file: str | None,
) -> None:
    step = "setpgid"
    written = False
    try:
        os.setpgid(0, 0)  # its own process group: a stop can reach its children
        os.write(report, f"P{os.getpid()}\n".encode())
        os.umask(umask)
        step = "signals"
        import signal

        for number in (signal.SIGPIPE, signal.SIGXFSZ, signal.SIGINT, signal.SIGTERM):
            signal.signal(number, signal.SIG_DFL)
        signal.pthread_sigmask(signal.SIG_SETMASK, set())
        keep = {report}
        if pid_file is not None:
            step = f"pid file {pid_file}"
            write_pid_file(pid_file, os.getpid())
            written = True
            keep.add(_lock_for_exec(pid_file))
        if identity is not None:
            step = f"user {identity.name}"
            os.initgroups(identity.name, identity.gid)
            os.setgid(identity.gid)
            os.setuid(identity.uid)
        step = f"working directory {cwd}"
        os.chdir(cwd)
        step = f"stdin {stdin or os.devnull}"
        _redirect(0, stdin or os.devnull, os.O_RDONLY)
        append = os.O_WRONLY | os.O_CREAT | os.O_APPEND
        step = f"stdout {stdout or os.devnull}"
        _redirect(1, stdout or os.devnull, append)
        step = f"stderr {stderr or os.devnull}"
        _redirect(2, stderr or os.devnull, append)
        _close_other_fds(keep)
        step = "exec"
        if "/" in args[0]:
            os.execve(args[0], args, env)  # noqa: S606 (argv, never a shell)
        os.execvpe(args[0], args, env)  # noqa: S606
    except OSError as error:
        message = f"E{step}\0{error.errno or 0}\0{error.strerror or error}"
    except BaseException as error:
        message = f"E{step}\0{0}\0{type(error).__name__}: {error}"
    if written and pid_file is not None:
        remove_quietly(pid_file)
    os.write(report, message.encode("utf-8", "replace")[:4000])
    os._exit(_EXIT_FAILED_TO_START)


def _lock_for_exec(pid_file: str) -> int:  # pragma: no cover - runs in the child
    """Open and lock the pid file on a descriptor the program inherits (not 0-2)."""
    from ocfkit.pidfile import lock

    fd = os.open(pid_file, os.O_RDWR | os.O_NOCTTY | os.O_CLOEXEC)
    if fd <= 2:
        import fcntl

        moved = fcntl.fcntl(fd, fcntl.F_DUPFD_CLOEXEC, 3)
        os.close(fd)
        fd = moved
    if not lock(fd):
        raise OSError(11, "another process holds the pid file's lock")
    os.set_inheritable(fd, True)
    return fd


def _redirect(target: int, path: str, flags: int) -> None:  # pragma: no cover - in the child
    fd = os.open(path, flags | os.O_NOCTTY | os.O_CLOEXEC, 0o640)
    if fd != target:
        os.dup2(fd, target)  # dup2 leaves the target inheritable
        os.close(fd)
    else:
        os.set_inheritable(fd, True)


def _close_other_fds(keep: set[int]) -> None:  # pragma: no cover - in the child
    """Close every descriptor above 2 but ``keep`` (the report pipe closes at exec)."""
    low = 3
    for fd in sorted(keep):
        if fd >= low:
            os.closerange(low, fd)
            low = fd + 1
    os.closerange(low, 65536)


def _read_report(fd: int, limit: float) -> bytes:
    """What the daemon side wrote before exec closed the pipe (or before it gave up)."""
    import select
    import time

    end = time.monotonic() + limit
    poller = select.poll()
    poller.register(fd, select.POLLIN)
    chunks: list[bytes] = []
    while True:
        left = end - time.monotonic()
        if left <= 0 or not poller.poll(left * 1000):
            data = b"".join(chunks)
            pid = _reported_pid(data)
            if pid is not None:
                _kill_quietly(pid)
            raise DeadlineExceeded(f"the daemon was not started within {limit:.1f}s")
        block = os.read(fd, 4096)
        if not block:
            return b"".join(chunks)
        chunks.append(block)


def _reported_pid(data: bytes) -> int | None:
    if not data.startswith(b"P"):
        return None
    line = data[1:].partition(b"\n")[0]
    return int(line) if line.isdigit() else None


def _outcome(report: bytes, program: str, pid_file: str | None) -> int:
    pid = _reported_pid(report)
    failure = report.partition(b"\n")[2] if pid is not None else report
    if failure.startswith(b"E"):
        step, _, rest = failure[1:].decode("utf-8", "replace").partition("\0")
        number, _, text = rest.partition("\0")
        code = int(number) if number.isdigit() else 0
        if step == "exec" and code in (2, 13, 8, 20):  # ENOENT EACCES ENOEXEC ENOTDIR
            raise NotInstalledError(f"{program}: cannot be executed ({text})")
        raise GenericError(f"cannot start {program}: {step}: {text}")
    if pid is None:
        raise GenericError(f"cannot start {program}: the daemon side ended without a word")
    return pid


def _kill_quietly(pid: int) -> None:
    try:  # noqa: SIM105 (contextlib is kept off the action path)
        os.kill(pid, _SIGKILL)
    except OSError:
        pass


# -------------------------------------------------------------------- stop


class StopResult(Record):
    """How a stop ended: ``gone`` (nothing to stop), ``terminated`` or ``killed``."""

    __slots__ = ("how", "pid", "seconds")

    def __init__(self, pid: int | None, how: str, seconds: float = 0.0) -> None:
        self.pid = pid
        self.how = how
        self.seconds = seconds


def survives(pid: int, seconds: float, *, deadline: Deadline) -> bool:
    """Whether ``pid`` still lives after ``seconds`` of real time (bounded by the deadline).

    What start uses to tell a daemon that came up from one that exited at
    once (bad options, a port in use).
    """
    handle = _Handle.open(pid)
    try:
        if handle.exited():
            return False
        return not handle.wait(min(max(seconds, 0.0), deadline.remaining()))
    finally:
        handle.close()


def is_alive(pid: int, names: Iterable[str] = ()) -> bool:
    """Whether ``pid`` is a live process (named one of ``names``, if given); zombies are dead."""
    return judge_process(pid, tuple(names)) is None


def stop_process(
    pid: int,
    *,
    deadline: Deadline,
    names: Iterable[str] = (),
    signal: int = _SIGTERM,
    kill_after: float | None = None,
    group: bool = True,
) -> StopResult:
    """Stop ``pid``: ``signal`` (SIGTERM), wait, then SIGKILL, within the deadline.

    The process is checked first (alive, not a zombie, named one of
    ``names`` when given): a pid that is not the daemon's is never signalled.
    With ``group`` and a process that leads its own process group (as
    :func:`start_daemon` makes it), the signals go to the whole group, so
    the daemon's children go with it.  SIGKILL comes after ``kill_after``
    seconds, or when all but a reserve of the deadline has gone (a quarter
    of what is left, at most 5 seconds, for SIGKILL to act).  Raises
    :class:`DeadlineExceeded` when the process still lives at the deadline.
    """
    import time

    started = time.monotonic()
    wanted = tuple(names)
    if judge_process(pid, wanted) is not None:
        return StopResult(pid, "gone")
    handle = _Handle.open(pid)
    try:
        # Checked again now that the handle pins the process: the pid may
        # have been reused between the first look and pidfd_open.
        if handle.exited() or judge_process(pid, wanted) is not None:
            return StopResult(pid, "gone", time.monotonic() - started)
        whole_group = group and _leads_group(pid)
        left = deadline.bound()
        reserve = min(5.0, left / 4)
        patience = left - reserve if kill_after is None else min(kill_after, left - reserve)
        handle.signal(signal, whole_group)
        if handle.wait(max(patience, 0.0)):
            return StopResult(pid, "terminated", time.monotonic() - started)
        handle.signal(_SIGKILL, whole_group)
        if handle.wait(max(deadline.remaining(), _POLL_FLOOR)):
            return StopResult(pid, "killed", time.monotonic() - started)
        raise DeadlineExceeded(f"pid {pid} still runs after SIGKILL")
    finally:
        handle.close()


def stop_pid_file(
    pid_file: str,
    *,
    deadline: Deadline,
    names: Iterable[str] = (),
    signal: int = _SIGTERM,
    kill_after: float | None = None,
    group: bool = True,
) -> StopResult:
    """Stop the daemon of ``pid_file`` if it runs, then remove the file if it is ours.

    A file that names a live process of another name is left alone: it is
    not this daemon's to stop, and perhaps not the agent's to remove.
    """
    wanted = tuple(names)
    verdict = check_pid_file(pid_file, wanted)
    if not (verdict.alive and verdict.pid is not None):
        if not check_pid_file(pid_file).alive:  # nothing at all lives under it: stale
            remove_pid_file(pid_file)
        return StopResult(None, "gone")
    result = stop_process(
        verdict.pid,
        deadline=deadline,
        names=wanted,
        signal=signal,
        kill_after=kill_after,
        group=group,
    )
    remove_pid_file(pid_file)
    return result


def _leads_group(pid: int) -> bool:
    try:
        return os.getpgid(pid) == pid
    except ProcessLookupError:
        return False


class _Handle:
    """One process to signal and wait for: a pidfd where the kernel has them, the pid otherwise."""

    def __init__(self, pid: int, fd: int) -> None:
        self.pid = pid
        self.fd = fd

    @classmethod
    def open(cls, pid: int) -> _Handle:
        try:
            return cls(pid, os.pidfd_open(pid))
        except ProcessLookupError:
            return cls(pid, -2)  # gone already
        except OSError:
            return cls(pid, -1)  # no pidfd here (old kernel, seccomp): the pid it is

    def exited(self) -> bool:
        return self.wait(0)

    def signal(self, number: int, whole_group: bool) -> None:
        if self.fd == -2:
            return
        try:
            if whole_group and not self.exited():
                os.killpg(self.pid, number)
            elif self.fd >= 0:
                import signal

                signal.pidfd_send_signal(self.fd, number)
            else:
                os.kill(self.pid, number)
        except ProcessLookupError:
            pass

    def wait(self, seconds: float) -> bool:
        """Whether the process has exited (a zombie has) within ``seconds`` of real time."""
        if self.fd == -2:
            return True
        if self.fd >= 0:
            import select

            poller = select.poll()
            poller.register(self.fd, select.POLLIN)
            return bool(poller.poll(max(seconds, 0.0) * 1000))
        import time

        end = time.monotonic() + seconds
        pause = 0.001
        while judge_process(self.pid) is None:
            left = end - time.monotonic()
            if left <= 0:
                return False
            time.sleep(min(pause, left))
            pause = min(pause * 2, 0.05)
        return True

    def close(self) -> None:
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1
