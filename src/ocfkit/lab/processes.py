"""Processes as the lab sees them: a pid plus its start time, read from /proc.

Two facts shape this module.  Pids are reused, so a recorded pid is only
"ours" while its start time matches.  And daemons whose parent is gone are
reaped by PID 1 late or never, so a zombie (state ``Z``) counts as gone:
it holds no namespace, port or file any more.  Nothing here reaps: a
zombie belongs to its parent, whose ``Popen`` would lose the exit status.

Only the standard library is used: the fence agent imports this module.
"""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True, order=True)
class ProcessId:
    pid: int
    start: int

    def __str__(self) -> str:
        return str(self.pid)


def _stat_fields(pid: int) -> list[str] | None:
    """Fields of /proc/PID/stat from the state on (field 3), or None if there is no such pid."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as stream:
            text = stream.read()
    except (FileNotFoundError, ProcessLookupError):
        return None
    except OSError:
        return None
    # The command name is in parentheses and may itself contain ") ".
    return text[text.rfind(")") + 2 :].split()


def identify(pid: int) -> ProcessId | None:
    """The identity of a running (not zombie) process, or None."""
    fields = _stat_fields(pid)
    if fields is None or fields[0] in ("Z", "X"):
        return None
    return ProcessId(pid, int(fields[19]))


def is_alive(process: ProcessId) -> bool:
    """True while the process runs: same pid, same start time, not a zombie."""
    return identify(process.pid) == process


def command_name(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/comm", encoding="utf-8", errors="replace") as stream:
            return stream.read().strip()
    except OSError:
        return ""


def netns_inode(pid: int) -> int | None:
    try:
        target = os.readlink(f"/proc/{pid}/ns/net")
    except OSError:
        return None
    # "net:[4026532283]"
    return int(target[target.index("[") + 1 : -1])


def in_namespaces(inodes: Iterable[int]) -> list[ProcessId]:
    """Live processes whose network namespace is one of ``inodes`` (never this process)."""
    wanted = set(inodes)
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        pid = int(entry)
        if pid == os.getpid() or netns_inode(pid) not in wanted:
            continue
        process = identify(pid)
        if process is not None:
            found.append(process)
    return sorted(found)


def send(processes: Iterable[ProcessId], sig: int) -> list[ProcessId]:
    """Signal those still alive; returns the ones signalled."""
    sent = []
    for process in processes:
        if not is_alive(process):
            continue
        try:
            os.kill(process.pid, sig)
        except ProcessLookupError:
            continue
        sent.append(process)
    return sent


def wait_gone(processes: Iterable[ProcessId], timeout: float) -> list[ProcessId]:
    """Wait until all are gone (zombies count as gone); returns those still alive."""
    pending = list(processes)
    deadline = time.monotonic() + timeout
    while True:
        pending = [p for p in pending if is_alive(p)]
        if not pending or time.monotonic() >= deadline:
            return pending
        time.sleep(0.02)


def stop(processes: Iterable[ProcessId], grace: float, kill_wait: float = 5.0) -> list[ProcessId]:
    """SIGTERM, then SIGKILL after ``grace`` seconds; returns what survived even that."""
    targets = send(processes, signal.SIGTERM)
    left = wait_gone(targets, grace)
    if left:
        send(left, signal.SIGKILL)
        left = wait_gone(left, kill_wait)
    return left


def kill(processes: Iterable[ProcessId], wait: float = 5.0) -> list[ProcessId]:
    """SIGKILL; returns what is still alive after ``wait`` seconds."""
    return wait_gone(send(processes, signal.SIGKILL), wait)
