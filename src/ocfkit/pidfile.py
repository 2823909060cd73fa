"""Is the daemon of a pid file running?  Answered cheaply, and without trusting the file.

The first question is asked of the kernel: a daemon that takes an fcntl write
lock on its pid file (ganesha.nfsd does, and so does every daemon started by
:func:`ocfkit.process.start_daemon`) keeps it while it runs, and the kernel
drops it when the process dies, however it dies.  ``F_GETLK`` tells whether a
live process holds it, and which.  When no lock is held, or the answer is
useless (an open-file-description lock, or a holder in another pid
namespace, both reported without a pid), the pid written in the file is
considered, and rejected when:

- the file is missing, empty, not a regular file or holds no number;
- the file is not trustworthy: owned by someone other than root or the
  agent's own user, or writable by its group or others (anyone who can write
  it could otherwise point the agent at any process, to be reported as the
  daemon or signalled by a stop);
- no process has that pid any more (a stale file after ``kill -9``);
- the process is a zombie (it still answers ``kill -0``);
- the pid was reused by a program with another name (when names are given).

Daemons rewrite their file without truncating it, so after a restart with a
shorter pid it can read ``"652\\n4\\n"``: only the first line counts.  The file
may vanish or change between any two steps; every step tolerates that, and
the read is bounded.  Nothing here runs a program: monitors call it every few
seconds.
"""

from __future__ import annotations

import errno
import fcntl
import os
import stat
import struct

from ocfkit._record import Record

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterable

MAX_PID_FILE_BYTES = 64
"""A pid is at most 7 digits (pid_max is 2**22); more than this is not a pid file."""

COMM_LENGTH = 15
"""The kernel keeps the first 15 bytes of a process name (TASK_COMM_LEN - 1)."""

# struct flock as the kernel copies it: short l_type, short l_whence, off_t
# l_start, off_t l_len, pid_t l_pid, then padding that differs between ABIs.
# Python is built with a 64-bit off_t everywhere (large file support), and
# native alignment ("@") places the fields as the C compiler does.  The
# buffer is padded well past sizeof(struct flock) of any Linux ABI, so the
# kernel never reads or writes beyond it.
_FLOCK = "@hhqqi"
_FLOCK_BUFFER = 128
assert struct.calcsize(_FLOCK) <= _FLOCK_BUFFER


class Verdict(Record):
    """Whether a pid file shows a live daemon, with the pid and the reason why (or why not).

    ``pid`` is set when the file named one; only an ``alive`` verdict's pid
    may be signalled.
    """

    __slots__ = ("alive", "path", "pid", "reason")

    def __init__(self, alive: bool, path: str, pid: int | None, reason: str) -> None:
        self.alive = alive
        self.path = path
        self.pid = pid
        self.reason = reason


def find_alive(
    paths: Iterable[str], names: Iterable[str] = (), proc: str = "/proc"
) -> list[Verdict]:
    """Check each pid file in turn, stopping at the first that shows a live daemon.

    Returns every verdict reached, so a caller can log why each file was
    rejected; the last one is alive if any is.
    """
    wanted = tuple(names)
    verdicts = []
    for path in paths:
        verdict = check_pid_file(path, wanted, proc)
        verdicts.append(verdict)
        if verdict.alive:
            break
    return verdicts


def check_pid_file(path: str, names: Iterable[str] = (), proc: str = "/proc") -> Verdict:
    """The verdict for one pid file; ``names`` are the daemon's possible process names.

    Without names any live process counts, which is only as good as the
    pid file: give names whenever the daemon's are known.
    """
    wanted = tuple(names)
    try:
        # O_NONBLOCK: a FIFO planted at the path must not hang the monitor.
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC | os.O_NOCTTY | os.O_NONBLOCK)
    except FileNotFoundError:
        return Verdict(False, path, None, "no pid file")
    except OSError as error:
        return Verdict(False, path, None, f"cannot open the pid file: {error.strerror}")
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            return Verdict(False, path, None, "the pid file is not a regular file")
        holder = lock_holder(fd)
        if holder:
            why_not = judge_process(holder, wanted, proc)
            if why_not is None:
                return Verdict(True, path, holder, f"pid {holder} holds the pid file's lock")
        content = os.read(fd, MAX_PID_FILE_BYTES)
    except OSError as error:
        return Verdict(False, path, None, f"cannot read the pid file: {error.strerror}")
    finally:
        os.close(fd)
    pid = parse_pid(content)
    if pid is None:
        if not content.strip():
            what = "the pid file is empty"
        elif not content.partition(b"\n")[0].strip():
            what = "the pid file's first line is empty"
        else:
            what = f"the pid file holds garbage ({content[:20].decode('ascii', 'replace')!r})"
        return Verdict(False, path, None, what)
    distrust = untrusted_because(path, info)
    if distrust is not None:
        return Verdict(False, path, None, f"pid {pid} not trusted: {distrust}")
    why_not = judge_process(pid, wanted, proc)
    if why_not is not None:
        return Verdict(False, path, pid, why_not)
    if holder is None:
        lock = "no lock held on the pid file"
    elif holder == 0:
        lock = "the pid file is locked by a holder the kernel does not name"
    else:
        lock = f"the pid file is locked by pid {holder}, which is not the daemon"
    return Verdict(True, path, pid, f"pid {pid} is running ({lock})")


def trusted_owners() -> frozenset[int]:
    """Whose pid files are believed: root's and the agent's own user's."""
    return frozenset({0, os.geteuid()})


def untrusted_because(path: str, info: os.stat_result) -> str | None:
    """Why the pid written in a file must not be believed, or ``None`` when it may be.

    ``info`` is the ``fstat`` of the file as opened, so a file swapped in
    after the check is not the one judged.  A symbolic link at ``path`` is
    judged too: whoever owns the link chooses the file it points to.
    """
    owners = trusted_owners()
    if info.st_uid not in owners:
        return f"the pid file is owned by uid {info.st_uid}"
    if info.st_mode & (stat.S_IWGRP | stat.S_IWOTH):
        return f"the pid file is writable by its group or others (mode {info.st_mode & 0o777:o})"
    try:
        link = os.lstat(path)
    except OSError:
        return "the pid file changed while it was read"
    if stat.S_ISLNK(link.st_mode) and link.st_uid not in owners:
        return f"the pid file is a symbolic link owned by uid {link.st_uid}"
    return None


def lock_holder(fd: int) -> int | None:
    """The pid of the process holding a lock that conflicts with a write lock, if any.

    ``None`` means the file is not locked; ``0`` means it is, by a holder
    the kernel does not name to us (an open-file-description lock, or a
    process in a pid namespace we cannot see).
    """
    request = struct.pack(_FLOCK, fcntl.F_WRLCK, os.SEEK_SET, 0, 0, 0)
    try:
        answer = fcntl.fcntl(fd, fcntl.F_GETLK, request.ljust(_FLOCK_BUFFER, b"\0"))
    except OSError:
        return None
    lock_type, _whence, _start, _length, pid = struct.unpack_from(_FLOCK, answer)
    if lock_type == fcntl.F_UNLCK:
        return None
    return max(int(pid), 0)


def lock(fd: int) -> bool:
    """Take a whole-file write lock on ``fd`` for this process; ``False`` if someone holds one."""
    request = struct.pack(_FLOCK, fcntl.F_WRLCK, os.SEEK_SET, 0, 0, 0)
    try:
        fcntl.fcntl(fd, fcntl.F_SETLK, request.ljust(_FLOCK_BUFFER, b"\0"))
    except OSError as error:
        if error.errno in (errno.EACCES, errno.EAGAIN):
            return False
        raise
    return True


def parse_pid(content: bytes) -> int | None:
    """The pid on the first line, or ``None`` when there is none."""
    first, newline, _rest = content.partition(b"\n")
    if not newline and len(content) >= MAX_PID_FILE_BYTES:
        return None  # a first line this long is no pid
    text = first.strip()
    if not text.isdigit():  # bytes.isdigit: ASCII digits only
        return None
    pid = int(text)
    return pid if pid > 0 else None


def judge_process(pid: int, names: tuple[str, ...] = (), proc: str = "/proc") -> str | None:
    """Why ``pid`` is not a live process named one of ``names``, or ``None`` when it is.

    With no names, any live process that is not a zombie is accepted.
    """
    try:
        with open(f"{proc}/{pid}/stat", "rb") as stat_file:
            line = stat_file.read(4096)
    except OSError as error:
        if error.errno in (errno.ENOENT, errno.ESRCH):
            return f"stale pid {pid}: no such process"
        return f"cannot read {proc}/{pid}/stat: {error.strerror}"
    parsed = parse_stat(line)
    if parsed is None:
        return f"unreadable {proc}/{pid}/stat"
    comm, state = parsed
    if state in ("Z", "X", "x"):
        return f"pid {pid} ({comm}) is a zombie"
    if not names or comm in {name[:COMM_LENGTH] for name in names}:
        return None
    # The main thread may have renamed itself; the executable still says what it is.
    try:
        exe = os.readlink(f"{proc}/{pid}/exe")
    except OSError:
        exe = ""
    program = os.path.basename(exe.removesuffix(" (deleted)"))
    if program in names:
        return None
    return f"pid {pid} is {comm!r}, not {' or '.join(names)}"


def parse_stat(line: bytes) -> tuple[str, str] | None:
    """(comm, state) from ``/proc/PID/stat``: ``PID (comm) S ...``.

    The name may hold spaces and parentheses, so it runs from the first
    ``(`` to the last ``)``; the state is the first field after that.
    """
    start = line.find(b"(")
    end = line.rfind(b")")
    if start < 0 or end < start:
        return None
    fields = line[end + 1 :].split()
    if not fields:
        return None
    comm = line[start + 1 : end].decode("utf-8", "replace")
    return comm, fields[0].decode("ascii", "replace")


def write_pid_file(path: str, pid: int) -> None:
    """Write ``pid`` to ``path`` atomically, as a file only its owner may write (0644)."""
    directory = os.path.dirname(path) or "."
    os.makedirs(directory, mode=0o755, exist_ok=True)
    temporary = f"{path}.{os.getpid()}.tmp"
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o644)
    try:
        os.fchmod(fd, 0o644)  # whatever the umask
        os.write(fd, f"{pid}\n".encode())
    finally:
        os.close(fd)
    try:
        os.replace(temporary, path)
    except OSError:
        remove_quietly(temporary)
        raise


def remove_pid_file(path: str) -> bool:
    """Remove a pid file this agent may trust (and so may have written); ``True`` if removed.

    A file owned by someone else, or writable by others, is left alone: it
    was not ours to write, so it is not ours to remove.
    """
    try:
        info = os.lstat(path)
    except FileNotFoundError:
        return False
    if not stat.S_ISREG(info.st_mode) or untrusted_because(path, info) is not None:
        return False
    return remove_quietly(path)


def remove_quietly(path: str) -> bool:
    try:
        os.unlink(path)
    except FileNotFoundError:
        return False
    return True
