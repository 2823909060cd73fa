"""Running one program and capturing its output, without the ``subprocess`` module.

``import subprocess`` costs about as much as the rest of an agent's imports
together (it pulls in threading, selectors, signal, locale and more), and
ganesha_mon's healthy monitor, which runs every few seconds on every node,
needs nothing of it but "run this argv, give me its output, kill it at the
deadline".  That is ``os.posix_spawnp``, two pipes and ``poll``: what this
module does, and all it does.  Tools and tests keep using ``subprocess``.
"""

from __future__ import annotations

import os
import select
import time

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

# Linux signal numbers; reset to their defaults in the child, because Python
# ignores SIGPIPE (and a program started from it would inherit that), as
# subprocess's restore_signals does.
_SIGKILL = 9
_SIGSTOP = 19
_RESTORED_SIGNALS = (13, 25)  # SIGPIPE, SIGXFSZ
_CHUNK = 65536
OUTPUT_LIMIT = 10 * 1024 * 1024
"""Bytes kept of each stream (Pacemaker keeps no more of an agent's own output)."""


class Timeout(Exception):
    """The program was killed because it outlived its time."""


def _above_stdio(fd: int) -> int:
    """Move an fd out of 0-2: an agent started with closed stdio gets pipes there."""
    if fd > 2:
        return fd
    import fcntl

    moved = fcntl.fcntl(fd, fcntl.F_DUPFD_CLOEXEC, 3)
    os.close(fd)
    return moved


def _pipe() -> tuple[int, int]:
    read_end, write_end = os.pipe()
    return _above_stdio(read_end), _above_stdio(write_end)


def run_captured(
    argv: Sequence[str],
    *,
    env: Mapping[str, str] | None = None,
    stdin: bytes | None = None,
    timeout: float,
) -> tuple[int, bytes, bytes]:
    """Run ``argv`` (looked up on PATH) and return (exit code, stdout, stderr).

    The exit code is negative for a signal, as subprocess reports it.  Raises
    ``FileNotFoundError``/``PermissionError`` when the program cannot be
    started, and :class:`Timeout` after killing it when ``timeout`` seconds
    pass before it exits and closes its output.
    """
    started = time.monotonic()
    child_fds: list[int] = []
    parent_fds: list[int] = []
    pid = 0
    try:
        out_read, out_write = _pipe()
        err_read, err_write = _pipe()
        parent_fds += [out_read, err_read]
        child_fds += [out_write, err_write]
        if stdin is None:
            in_read, in_write = _above_stdio(os.open(os.devnull, os.O_RDONLY | os.O_CLOEXEC)), -1
        else:
            in_read, in_write = _pipe()
            parent_fds.append(in_write)
        child_fds.append(in_read)
        pid = os.posix_spawnp(
            argv[0],
            list(argv),
            os.environ if env is None else env,
            file_actions=[
                (os.POSIX_SPAWN_DUP2, in_read, 0),
                (os.POSIX_SPAWN_DUP2, out_write, 1),
                (os.POSIX_SPAWN_DUP2, err_write, 2),
            ],
            setsigdef=_RESTORED_SIGNALS,
        )
        for fd in child_fds:
            os.close(fd)
        child_fds.clear()
        output = _collect(out_read, err_read, in_write, stdin or b"", started + timeout)
        status = _wait(pid, started + timeout)
        pid = 0
        return os.waitstatus_to_exitcode(status), output[out_read], output[err_read]
    finally:
        for fd in child_fds + parent_fds:
            try:  # noqa: SIM105 (contextlib is kept off the action path)
                os.close(fd)
            except OSError:
                pass
        if pid:
            _kill(pid)


def _collect(
    out_read: int, err_read: int, in_write: int, data: bytes, deadline: float
) -> dict[int, bytes]:
    chunks: dict[int, list[bytes]] = {out_read: [], err_read: []}
    sizes = {out_read: 0, err_read: 0}
    poller = select.poll()
    open_fds = {out_read, err_read}
    poller.register(out_read, select.POLLIN)
    poller.register(err_read, select.POLLIN)
    if in_write >= 0:
        open_fds.add(in_write)
        poller.register(in_write, select.POLLOUT)
    written = 0
    while open_fds:
        left = deadline - time.monotonic()
        if left <= 0:
            raise Timeout
        for fd, _event in poller.poll(left * 1000):
            if fd == in_write:
                try:
                    written += os.write(fd, data[written : written + _CHUNK])
                    done = written >= len(data)
                except BrokenPipeError:
                    done = True
                if done:
                    poller.unregister(fd)
                    open_fds.discard(fd)
                    os.close(fd)
                continue
            block = os.read(fd, _CHUNK)
            if not block:
                poller.unregister(fd)
                open_fds.discard(fd)
                continue
            if sizes[fd] < OUTPUT_LIMIT:
                chunks[fd].append(block[: OUTPUT_LIMIT - sizes[fd]])
                sizes[fd] += len(block)
    return {fd: b"".join(parts) for fd, parts in chunks.items()}


def _wait(pid: int, deadline: float) -> int:
    """The child's wait status; it has closed its output, so this is normally at once."""
    pause = 0.001
    while True:
        reaped, status = os.waitpid(pid, os.WNOHANG)
        if reaped:
            return status
        if time.monotonic() >= deadline:
            raise Timeout
        time.sleep(pause)
        pause = min(pause * 2, 0.05)


def _kill(pid: int) -> None:
    """Kill the program and everything it started, and reap it.

    The program stays in the agent's process group, so that Pacemaker's own
    kill at the operation timeout (SIGKILL to the agent's process group)
    still reaches it and its children: a group of its own would escape that.
    At the agent's deadline the unit is therefore the program's process
    tree, frozen with SIGSTOP while it is collected (so nothing forks away
    meanwhile), then killed; and when the agent leads its process group, as
    under Pacemaker, the other members of that group that are not its
    siblings (a shell pipeline's other commands are) too, which catches the
    children the program orphaned before it was killed.
    """
    frozen: set[int] = set()
    me = os.getpid()
    leader = os.getpgrp() == me
    for _round in range(5):
        tree = _tree(pid, leader, me)
        new = tree - frozen
        if not new:
            break
        for victim in sorted(new):
            _signal(victim, _SIGSTOP)
        frozen |= new
    frozen.add(pid)
    for victim in frozen:
        _signal(victim, _SIGKILL)
    try:  # noqa: SIM105 (contextlib is kept off the action path)
        os.waitpid(pid, 0)
    except ChildProcessError:
        pass


def _signal(pid: int, number: int) -> None:
    try:  # noqa: SIM105 (contextlib is kept off the action path)
        os.kill(pid, number)
    except OSError:
        pass


def _tree(root: int, with_group: bool, me: int) -> set[int]:
    """``root`` and its live descendants, and ``with_group`` our group's orphans."""
    children: dict[int, list[int]] = {}
    group: set[int] = set()
    own_group = os.getpgrp()
    siblings_parent = os.getppid()
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as stream:
                line = stream.read(1024)
        except OSError:
            continue
        fields = line[line.rfind(b")") + 1 :].split()
        if len(fields) < 3 or fields[0] in (b"Z", b"X"):
            continue
        pid, parent = int(entry), int(fields[1])
        children.setdefault(parent, []).append(pid)
        if with_group and int(fields[2]) == own_group and pid != me and parent != siblings_parent:
            group.add(pid)
    found = {root}
    todo = [root]
    while todo:
        for child in children.get(todo.pop(), ()):
            if child not in found and child != me:
                found.add(child)
                todo.append(child)
    return found | group
