"""Is ganesha.nfsd running?  ocfkit's pid-file check, with ganesha's files and name.

ganesha 4.3 takes an fcntl write lock on its pid file and keeps it while it
runs, so :mod:`ocfkit.pidfile` answers from the kernel's lock first and from
the file's content (trusted only as far as its owner and mode allow) second.
This module adds what is ganesha's own: where its pid file may be, and the
name its process carries.  ganesha rewrites the file without truncating it,
and the file may vanish or change between any two steps (BZ 1363595): the
generic check tolerates both.  Nothing here runs a program or touches D-Bus:
the monitor calls it every few seconds.
"""

from __future__ import annotations

from ocfkit import pidfile as _generic
from ocfkit.pidfile import (
    _FLOCK,
    _FLOCK_BUFFER,
    MAX_PID_FILE_BYTES,
    Verdict,
    lock_holder,
    parse_pid,
    parse_stat,
)

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterable

__all__ = [
    "DEFAULT_PID_FILES",
    "MAX_PID_FILE_BYTES",
    "PROCESS_NAMES",
    "_FLOCK",
    "_FLOCK_BUFFER",
    "Verdict",
    "check_pid_file",
    "find_alive",
    "judge_process",
    "lock_holder",
    "parse_pid",
    "parse_stat",
]

DEFAULT_PID_FILES = (
    "/var/run/ganesha/ganesha.pid",  # ganesha's own default (4.x, systemd unit)
    "/var/run/ganesha.pid",  # older systemd units
    "/var/run/ganesha.nfsd.pid",  # the old init script
)

PROCESS_NAMES = ("ganesha.nfsd",)


def find_alive(
    paths: Iterable[str], names: Iterable[str] = PROCESS_NAMES, proc: str = "/proc"
) -> list[Verdict]:
    """Check each pid file in turn, stopping at the first that shows a live ganesha."""
    return _generic.find_alive(paths, names, proc)


def check_pid_file(path: str, names: Iterable[str] = PROCESS_NAMES, proc: str = "/proc") -> Verdict:
    """The verdict for one pid file, ganesha.nfsd by default."""
    return _generic.check_pid_file(path, names, proc)


def judge_process(
    pid: int, names: tuple[str, ...] = PROCESS_NAMES, proc: str = "/proc"
) -> str | None:
    """Why ``pid`` is not a live ganesha, or ``None`` when it is one."""
    return _generic.judge_process(pid, names, proc)
