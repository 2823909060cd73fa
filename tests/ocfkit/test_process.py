"""ocfkit.process: real daemons started, found and stopped within a deadline."""

from __future__ import annotations

import os
import pwd
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from ocfkit.clock import SystemClock
from ocfkit.deadline import Deadline
from ocfkit.errors import (
    DeadlineExceeded,
    GenericError,
    InvalidArgumentError,
    NotInstalledError,
)
from ocfkit.pidfile import check_pid_file, judge_process
from ocfkit.process import daemon_status, is_alive, start_daemon, stop_pid_file, stop_process
from ocfkit.testing import FakeClock

PYTHON = os.path.realpath(sys.executable)
needs_root = pytest.mark.skipif(os.geteuid() != 0, reason="changing user needs root")


def deadline(seconds: float = 20) -> Deadline:
    return Deadline(SystemClock(), seconds)


def wait_for(condition: Callable[[], bool], timeout: float = 10.0) -> None:
    end = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < end, "condition not reached"
        time.sleep(0.01)


def status_field(pid: int, name: str) -> str:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(name + ":"):
            return line.split(":", 1)[1].strip()
    raise KeyError(name)


@pytest.fixture
def started() -> Iterator[list[int]]:
    """Pids of daemons a test started; whatever still runs is killed afterwards."""
    pids: list[int] = []
    yield pids
    for pid in pids:
        if is_alive(pid):
            os.kill(pid, 9)


def program(tmp_path: Path, body: str, name: str = "daemon prog") -> Path:
    """An executable Python script (its process is named after the file)."""
    path = tmp_path / name
    path.write_text(f"#!{PYTHON}\nimport os, signal, sys, time\n{body}\n")
    path.chmod(0o755)
    return path


SLEEPER = "print('up', flush=True)\nsys.stderr.write('err\\n')\ntime.sleep(60)"
SLOW_TERM = """
def leave(number, frame):
    time.sleep(float(sys.argv[1]))
    sys.exit(0)
signal.signal(signal.SIGTERM, leave)
open(sys.argv[2], 'w').close()
while True:
    time.sleep(1)
"""
DEAF = """
signal.signal(signal.SIGTERM, signal.SIG_IGN)
open(sys.argv[1], 'w').close()
time.sleep(60)
"""


# ------------------------------------------------------------------- start


def test_a_daemon_is_detached_redirected_and_locks_its_pid_file(
    tmp_path: Path, started: list[int]
) -> None:
    prog = program(tmp_path, SLEEPER)
    pid_file = tmp_path / "run dir" / "d.pid"  # a directory to create, with a space
    out, err = tmp_path / "out.log", tmp_path / "err.log"
    pid = start_daemon(
        [str(prog)],
        deadline=deadline(),
        pid_file=str(pid_file),
        stdout=str(out),
        stderr=str(err),
        cwd=str(tmp_path),
    )
    started.append(pid)
    assert pid_file.read_text() == f"{pid}\n"
    wait_for(lambda: out.exists() and out.read_text() == "up\n")
    assert err.read_text() == "err\n"
    assert os.getsid(pid) != os.getsid(0)  # its own session
    assert os.getpgid(pid) == pid  # leading its own process group
    assert os.getsid(pid) != pid  # but not a session leader: no terminal, ever
    assert int(status_field(pid, "PPid")) != os.getpid()
    assert os.readlink(f"/proc/{pid}/cwd") == str(tmp_path)
    assert os.readlink(f"/proc/{pid}/fd/0") == "/dev/null"
    verdict = daemon_status(str(pid_file), ["daemon prog"])
    assert verdict.alive
    assert verdict.reason == f"pid {pid} holds the pid file's lock"
    # Nothing of the agent leaks into it but the lock's descriptor.
    fds = {int(n) for n in os.listdir(f"/proc/{pid}/fd")}
    assert fds - {0, 1, 2} == {
        fd for fd in fds if os.readlink(f"/proc/{pid}/fd/{fd}") == str(pid_file)
    }


def test_arguments_and_environment_reach_it_literally(tmp_path: Path, started: list[int]) -> None:
    hostile = ["a b", "; rm -rf /", "$(id)", "`id`", "*", "'q'"]
    out = tmp_path / "out"
    prog = program(
        tmp_path, "print(repr(sys.argv[1:]), repr(os.environ.get('X')), flush=True)", "echo"
    )
    pid = start_daemon(
        [str(prog), *hostile], deadline=deadline(), stdout=str(out), env={"X": "$HOME; x"}
    )
    started.append(pid)
    wait_for(lambda: out.exists() and out.read_text() != "")
    assert out.read_text() == f"{hostile!r} '$HOME; x'\n"


@pytest.mark.parametrize("kind", ["missing", "not-executable", "directory"])
def test_a_program_that_cannot_be_executed_is_reported(tmp_path: Path, kind: str) -> None:
    target = tmp_path / "prog"
    if kind == "not-executable":
        target.write_text("#!/bin/sh\n")
    elif kind == "directory":
        target.mkdir()
    pid_file = tmp_path / "p.pid"
    with pytest.raises(NotInstalledError, match=r"prog: cannot be executed \("):
        start_daemon([str(target)], deadline=deadline(), pid_file=str(pid_file))
    assert not pid_file.exists()  # nothing left that a monitor could believe


def test_a_step_that_fails_is_named(tmp_path: Path) -> None:
    with pytest.raises(GenericError, match="working directory /no/such/dir: No such file"):
        start_daemon(["sleep", "1"], deadline=deadline(), cwd="/no/such/dir")
    with pytest.raises(GenericError, match="stdout /no/such/dir/log: No such file"):
        start_daemon(["sleep", "1"], deadline=deadline(), stdout="/no/such/dir/log")


def test_unknown_user_is_refused_before_anything_runs() -> None:
    with pytest.raises(InvalidArgumentError, match="no user named 'no-such-user-x'"):
        start_daemon(["sleep", "1"], deadline=deadline(), user="no-such-user-x")


def test_a_spent_deadline_starts_nothing() -> None:
    clock = FakeClock()
    spent = Deadline(clock, 10)
    clock.sleep(60)
    with pytest.raises(DeadlineExceeded):
        start_daemon(["sleep", "60"], deadline=spent)


@needs_root
def test_as_another_user_with_its_groups(started: list[int]) -> None:
    nobody = pwd.getpwnam("nobody")
    # Log files are opened as that user: the directory must let it in.
    shared = tempfile.mkdtemp(prefix="ocfkit-daemon-")
    os.chmod(shared, 0o777)  # noqa: S103
    try:
        out = Path(shared) / "out"
        pid = start_daemon(
            ["sh", "-c", "id -G; sleep 60"],  # a program, not a shell for the agent's values
            deadline=deadline(),
            user="nobody",
            stdout=str(out),
        )
        started.append(pid)
        assert status_field(pid, "Uid").split() == [str(nobody.pw_uid)] * 4
        assert status_field(pid, "Gid").split() == [str(nobody.pw_gid)] * 4
        groups = {int(g) for g in os.getgrouplist("nobody", nobody.pw_gid)}
        wait_for(lambda: out.exists() and out.read_text() != "")
        assert {int(g) for g in out.read_text().split()} == groups
        assert out.stat().st_uid == nobody.pw_uid
    finally:
        for name in os.listdir(shared):
            os.unlink(os.path.join(shared, name))
        os.rmdir(shared)


# -------------------------------------------------------------------- stop


def test_stop_terminates_a_daemon_and_its_children(tmp_path: Path, started: list[int]) -> None:
    child_file = tmp_path / "child"
    prog = program(
        tmp_path,
        "import subprocess\n"
        "child = subprocess.Popen(['sleep', '60'])\n"
        f"open({str(child_file)!r}, 'w').write(str(child.pid))\n"
        "time.sleep(60)",
    )
    pid_file = tmp_path / "d.pid"
    pid = start_daemon([str(prog)], deadline=deadline(), pid_file=str(pid_file))
    started.append(pid)
    wait_for(lambda: child_file.exists() and child_file.read_text() != "")
    child = int(child_file.read_text())
    started.append(child)
    result = stop_pid_file(str(pid_file), deadline=deadline(), names=["daemon prog"])
    assert (result.pid, result.how) == (pid, "terminated")
    assert not is_alive(pid)
    wait_for(lambda: not is_alive(child), 5)  # the group went with it
    assert not pid_file.exists()


def test_a_daemon_deaf_to_sigterm_is_killed_after_kill_after(
    tmp_path: Path, started: list[int]
) -> None:
    ready = tmp_path / "ready"
    pid = start_daemon([str(program(tmp_path, DEAF)), str(ready)], deadline=deadline())
    started.append(pid)
    wait_for(ready.exists)
    result = stop_process(pid, deadline=deadline(), kill_after=0.5)
    assert result.how == "killed"
    assert 0.5 <= result.seconds < 5
    assert not is_alive(pid)


def test_sigkill_comes_before_the_deadline_without_kill_after(
    tmp_path: Path, started: list[int]
) -> None:
    ready = tmp_path / "ready"
    pid = start_daemon([str(program(tmp_path, DEAF)), str(ready)], deadline=deadline())
    started.append(pid)
    wait_for(ready.exists)
    action = Deadline(SystemClock(), 4)  # 3.6 s to the deadline, a quarter kept for SIGKILL
    result = stop_process(pid, deadline=action)
    assert result.how == "killed"
    assert 2.0 < result.seconds < action.timeout
    assert not action.expired


def test_nothing_to_stop() -> None:
    gone = subprocess.Popen(["true"])
    gone.wait()
    assert stop_process(gone.pid, deadline=deadline()).how == "gone"


def test_a_zombie_counts_as_dead() -> None:
    zombie = subprocess.Popen(["true"])
    try:
        wait_for(lambda: judge_process(zombie.pid) is not None)  # exited, not reaped
        assert stop_process(zombie.pid, deadline=deadline()).how == "gone"
    finally:
        zombie.wait()


def test_a_process_that_becomes_a_zombie_is_stopped() -> None:
    """Our own child is never reaped by the stop: exiting is enough."""
    child = subprocess.Popen(["sleep", "60"])
    try:
        result = stop_process(child.pid, deadline=deadline(), group=False)
        assert result.how == "terminated"
        assert judge_process(child.pid) is not None
    finally:
        child.kill()
        child.wait()


def test_a_process_of_another_name_is_never_signalled() -> None:
    """A pid file pointing at a reused pid must not get an innocent process killed."""
    innocent = subprocess.Popen(["sleep", "60"])
    try:
        result = stop_process(innocent.pid, deadline=deadline(), names=["my-daemon"])
        assert result.how == "gone"
        assert innocent.poll() is None
    finally:
        innocent.kill()
        innocent.wait()


@pytest.mark.skipif(os.geteuid() != 0, reason="changing a file's owner needs root")
def test_an_untrusted_pid_file_never_gets_a_process_signalled(tmp_path: Path) -> None:
    innocent = subprocess.Popen(["sleep", "60"])
    try:
        pid_file = tmp_path / "d.pid"
        pid_file.write_text(f"{innocent.pid}\n")
        os.chown(pid_file, 65534, 65534)
        result = stop_pid_file(str(pid_file), deadline=deadline(), names=["sleep"])
        assert result.how == "gone"
        assert innocent.poll() is None
        assert pid_file.exists()  # not ours to remove either
    finally:
        innocent.kill()
        innocent.wait()


def test_a_stale_pid_file_is_removed(tmp_path: Path) -> None:
    gone = subprocess.Popen(["true"])
    gone.wait()
    pid_file = tmp_path / "d.pid"
    pid_file.write_text(f"{gone.pid}\n")
    assert stop_pid_file(str(pid_file), deadline=deadline()).how == "gone"
    assert not pid_file.exists()


def test_with_a_fake_clock_real_processes_still_get_their_time(
    tmp_path: Path, started: list[int]
) -> None:
    """Virtual time never skips a real wait: a slow but willing daemon is not killed."""
    for attempt in range(10):
        ready = tmp_path / f"ready{attempt}"
        prog = program(tmp_path, SLOW_TERM)
        pid = start_daemon([str(prog), "0.2", str(ready)], deadline=Deadline(FakeClock(), 20))
        started.append(pid)
        wait_for(ready.exists)
        result = stop_process(pid, deadline=Deadline(FakeClock(), 20), kill_after=5)
        assert result.how == "terminated", attempt
        assert result.seconds >= 0.2


def test_the_deadline_bounds_a_stop_that_cannot_succeed(monkeypatch: pytest.MonkeyPatch) -> None:
    """A process SIGKILL cannot end in time (here: one we pretend never dies)."""
    child = subprocess.Popen(["sleep", "60"])
    try:
        import ocfkit.process as process

        monkeypatch.setattr(process._Handle, "wait", lambda self, seconds: False)
        started_at = time.monotonic()
        with pytest.raises(DeadlineExceeded, match=f"pid {child.pid} still runs after SIGKILL"):
            stop_process(child.pid, deadline=Deadline(SystemClock(), 1), group=False)
        assert time.monotonic() - started_at < 2
    finally:
        child.kill()
        child.wait()


def test_check_pid_file_sees_a_started_daemon_and_not_a_stopped_one(
    tmp_path: Path, started: list[int]
) -> None:
    pid_file = tmp_path / "d.pid"
    pid = start_daemon(["sleep", "60"], deadline=deadline(), pid_file=str(pid_file))
    started.append(pid)
    assert check_pid_file(str(pid_file), ["sleep"]).alive
    stop_pid_file(str(pid_file), deadline=deadline(), names=["sleep"])
    assert not check_pid_file(str(pid_file), ["sleep"]).alive
