"""ocfkit.pidfile: whose pid files are believed, against real processes and real owners.

The checks shared with ganesha (stale, garbage, zombie, reused pid, the
lock) are exercised in tests/ganesha/test_pidfile.py through the ganesha
layer; these are the generic ones and the trust rules.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from ocfkit.pidfile import (
    check_pid_file,
    judge_process,
    lock,
    lock_holder,
    remove_pid_file,
    write_pid_file,
)

NOBODY = 65534
needs_root = pytest.mark.skipif(os.geteuid() != 0, reason="changing a file's owner needs root")


@pytest.fixture
def sleeper() -> Iterator[subprocess.Popen[bytes]]:
    process = subprocess.Popen(["sleep", "60"])
    try:
        yield process
    finally:
        process.kill()
        process.wait()


def pid_file(tmp_path: Path, pid: int, mode: int = 0o644) -> Path:
    path = tmp_path / "daemon.pid"
    path.write_text(f"{pid}\n")
    path.chmod(mode)
    return path


def test_without_names_any_live_process_counts(
    tmp_path: Path, sleeper: subprocess.Popen[bytes]
) -> None:
    verdict = check_pid_file(str(pid_file(tmp_path, sleeper.pid)))
    assert verdict.alive
    assert verdict.pid == sleeper.pid
    assert judge_process(sleeper.pid) is None


def test_own_file_is_trusted(tmp_path: Path, sleeper: subprocess.Popen[bytes]) -> None:
    assert check_pid_file(str(pid_file(tmp_path, sleeper.pid)), ["sleep"]).alive


@needs_root
def test_a_file_owned_by_another_user_is_not_believed(
    tmp_path: Path, sleeper: subprocess.Popen[bytes]
) -> None:
    path = pid_file(tmp_path, sleeper.pid)
    os.chown(path, NOBODY, NOBODY)
    verdict = check_pid_file(str(path), ["sleep"])
    assert not verdict.alive
    assert verdict.pid is None  # nothing a caller could signal
    assert verdict.reason == f"pid {sleeper.pid} not trusted: the pid file is owned by uid {NOBODY}"


@pytest.mark.parametrize("mode", [0o664, 0o646, 0o666, 0o622])
def test_a_file_others_may_write_is_not_believed(
    tmp_path: Path, sleeper: subprocess.Popen[bytes], mode: int
) -> None:
    verdict = check_pid_file(str(pid_file(tmp_path, sleeper.pid, mode)), ["sleep"])
    assert not verdict.alive
    assert verdict.pid is None
    assert "writable by its group or others" in verdict.reason


@needs_root
def test_a_link_planted_by_another_user_is_not_believed(
    tmp_path: Path, sleeper: subprocess.Popen[bytes]
) -> None:
    target = pid_file(tmp_path, sleeper.pid)  # root's own, believable file
    link = tmp_path / "planted.pid"
    link.symlink_to(target)
    os.chown(link, NOBODY, NOBODY, follow_symlinks=False)
    verdict = check_pid_file(str(link), ["sleep"])
    assert not verdict.alive
    assert "symbolic link owned by uid" in verdict.reason
    # A link of the agent's own user is as good as the file.
    own = tmp_path / "own.pid"
    own.symlink_to(target)
    assert check_pid_file(str(own), ["sleep"]).alive


LOCKER = """
import fcntl, os, struct, sys, time
fd = os.open(sys.argv[1], os.O_RDWR)
fcntl.fcntl(fd, fcntl.F_SETLK, struct.pack("@hhqqi", fcntl.F_WRLCK, 0, 0, 0, 0).ljust(128, b"\\0"))
print("ready", flush=True)
time.sleep(60)
"""


@needs_root
def test_the_lock_holder_is_believed_whoever_owns_the_file(tmp_path: Path) -> None:
    """The holder comes from the kernel, not from the file's content."""
    path = tmp_path / "daemon.pid"
    path.write_text("1\n")  # a lie: pid 1
    path.chmod(0o666)
    os.chown(path, NOBODY, NOBODY)
    child = subprocess.Popen([sys.executable, "-c", LOCKER, str(path)], stdout=subprocess.PIPE)
    try:
        assert child.stdout is not None and child.stdout.readline() == b"ready\n"
        verdict = check_pid_file(str(path))
        assert verdict.alive
        assert verdict.pid == child.pid
    finally:
        child.kill()
        child.wait()
    assert not check_pid_file(str(path)).alive  # and pid 1 is not believed


def test_write_lock_and_remove(tmp_path: Path) -> None:
    path = str(tmp_path / "sub" / "daemon.pid")
    os.umask(old := os.umask(0o000))  # read the umask
    try:
        os.umask(0o000)
        write_pid_file(path, 4242)
    finally:
        os.umask(old)
    assert Path(path).read_text() == "4242\n"
    assert Path(path).stat().st_mode & 0o777 == 0o644  # whatever the umask
    fd = os.open(path, os.O_RDWR)
    try:
        assert lock(fd)
        assert lock_holder(fd) is None  # our own lock does not conflict with us
    finally:
        os.close(fd)
    assert remove_pid_file(path)
    assert not remove_pid_file(path)


@needs_root
def test_someone_elses_file_is_not_removed(tmp_path: Path) -> None:
    path = pid_file(tmp_path, 4242)
    os.chown(path, NOBODY, NOBODY)
    assert not remove_pid_file(str(path))
    assert path.exists()
