"""Is ganesha.nfsd running?  Answered from its pid file, cheaply and without trusting it.

ganesha 4.3 takes an fcntl write lock on its pid file and keeps it while it
runs; the kernel drops the lock when the process dies, however it dies.  So
``F_GETLK`` on the file tells whether a live process holds it, and which.
That is the first question asked.  When no lock is held (an older or
differently built daemon) or the answer is useless (an open-file-description
lock, or a holder in another pid namespace, both reported without a pid),
the pid written in the file is checked instead, and rejected when:

- the file is missing, empty, not a regular file or holds no number;
- no process has that pid any more (a stale file after ``kill -9``);
- the process is a zombie (it still answers ``kill -0``);
- the pid was reused by something that is not ganesha.nfsd.

ganesha rewrites the file without truncating it, so after a restart with a
shorter pid it can read ``"652\\n4\\n"``: only the first line counts.  The
file may vanish or change between any two steps (BZ 1363595); every step
tolerates that, and the read is bounded.  Nothing here runs a program or
touches D-Bus: the monitor calls it every few seconds.
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

DEFAULT_PID_FILES = (
    "/var/run/ganesha/ganesha.pid",  # ganesha's own default (4.x, systemd unit)
    "/var/run/ganesha.pid",  # older systemd units
    "/var/run/ganesha.nfsd.pid",  # the old init script
)

PROCESS_NAMES = ("ganesha.nfsd",)

MAX_PID_FILE_BYTES = 64
"""A pid is at most 7 digits (pid_max is 2**22); more than this is not a pid file."""

_COMM_LENGTH = 15
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
    """Whether a pid file shows a live ganesha, with the pid and the reason why (or why not)."""

    __slots__ = ("alive", "path", "pid", "reason")

    def __init__(self, alive: bool, path: str, pid: int | None, reason: str) -> None:
        self.alive = alive
        self.path = path
        self.pid = pid
        self.reason = reason


def find_alive(
    paths: Iterable[str], names: Iterable[str] = PROCESS_NAMES, proc: str = "/proc"
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


def check_pid_file(path: str, names: Iterable[str] = PROCESS_NAMES, proc: str = "/proc") -> Verdict:
    """The verdict for one pid file."""
    wanted = tuple(names)
    try:
        # O_NONBLOCK: a FIFO planted at the path must not hang the monitor.
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC | os.O_NOCTTY | os.O_NONBLOCK)
    except FileNotFoundError:
        return Verdict(False, path, None, "no pid file")
    except OSError as error:
        return Verdict(False, path, None, f"cannot open the pid file: {error.strerror}")
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
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


def judge_process(pid: int, names: tuple[str, ...], proc: str = "/proc") -> str | None:
    """Why ``pid`` is not a live ganesha, or ``None`` when it is one."""
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
    if comm in {name[:_COMM_LENGTH] for name in names}:
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
