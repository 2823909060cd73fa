"""Liveness from the pid file, against real processes this test starts and stops."""

from __future__ import annotations

import os
import struct
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ganesha_agents.backends import pidfile
from ganesha_agents.backends.ganesha import GaneshaDaemon
from ganesha_agents.backends.pidfile import (
    DEFAULT_PID_FILES,
    check_pid_file,
    find_alive,
    lock_holder,
    parse_pid,
    parse_stat,
)
from ocfkit.deadline import Deadline
from ocfkit.testing import FakeClock

PYTHON = sys.executable
PYTHON_EXE = os.path.basename(os.path.realpath(sys.executable))


def state_of(pid: int) -> str:
    with open(f"/proc/{pid}/stat", "rb") as stat:
        return stat.read().rpartition(b")")[2].split()[0].decode()


def wait_for(condition: Callable[[], bool], timeout: float = 10.0) -> None:
    end = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < end, "condition not reached"
        time.sleep(0.005)


@pytest.fixture
def sleeper() -> Iterator[subprocess.Popen[bytes]]:
    """A live process that is not ganesha: ``sleep``."""
    process = subprocess.Popen(["sleep", "60"])
    try:
        yield process
    finally:
        process.kill()
        process.wait()


@pytest.fixture
def zombie() -> Iterator[int]:
    """A child that has exited and is not reaped yet."""
    process = subprocess.Popen(["true"])
    try:
        wait_for(lambda: state_of(process.pid) == "Z")
        yield process.pid
    finally:
        process.wait()


def start_child(tmp_path: Path, code: str, *args: str) -> subprocess.Popen[str]:
    """A Python child that prints ``ready`` once it has done ``code``, then waits."""
    script = "\n".join(
        [
            "import fcntl, os, struct, sys, time",
            code,
            "print('ready', flush=True)",
            "time.sleep(60)",
        ]
    )
    child = subprocess.Popen(
        [PYTHON, "-c", script, *args], stdout=subprocess.PIPE, text=True, cwd=tmp_path
    )
    assert child.stdout is not None
    assert child.stdout.readline().strip() == "ready"
    return child


def stop(child: subprocess.Popen[str]) -> None:
    child.kill()
    child.wait()


# A whole-file write lock, as ganesha takes it (a classic POSIX lock, then an
# open-file-description lock, which the kernel reports without a pid).
LOCK_CODE = """
fd = os.open(sys.argv[1], os.O_RDWR)
lock = struct.pack("@hhqqi", fcntl.F_WRLCK, 0, 0, 0, 0).ljust(128, b"\\0")
fcntl.fcntl(fd, fcntl.F_SETLK, lock)
"""
OFD_LOCK_CODE = LOCK_CODE.replace("F_SETLK", "F_OFD_SETLK")


def write(path: Path, content: str | bytes) -> str:
    path.write_bytes(content.encode() if isinstance(content, str) else content)
    return str(path)


# Files that show no daemon.


def test_missing_file(tmp_path: Path) -> None:
    verdict = check_pid_file(str(tmp_path / "ganesha.pid"))
    assert not verdict.alive
    assert verdict.reason == "no pid file"


@pytest.mark.parametrize(
    ("content", "why"),
    [
        (b"", "empty"),
        (b"\n\n", "empty"),
        (b"garbage\n", "garbage"),
        (b"-5\n", "garbage"),
        (b"0\n", "garbage"),
        (b"12a\n", "garbage"),
        (b"\xff\xfe\x00\x01", "garbage"),
        (b"\xd9\xa3\n", "garbage"),  # ARABIC-INDIC DIGIT THREE: a digit, but not a pid
        (b"1" * 200, "garbage"),
        (b"\n652\n", "empty"),  # only the first line counts
    ],
)
def test_unusable_content(tmp_path: Path, content: bytes, why: str) -> None:
    verdict = check_pid_file(write(tmp_path / "ganesha.pid", content))
    assert not verdict.alive
    assert why in verdict.reason


def test_stale_pid(tmp_path: Path) -> None:
    gone = subprocess.Popen(["true"])
    gone.wait()
    verdict = check_pid_file(write(tmp_path / "ganesha.pid", f"{gone.pid}\n"), ["true"])
    assert not verdict.alive
    assert verdict.reason == f"stale pid {gone.pid}: no such process"


def test_live_process_that_is_not_ganesha(tmp_path: Path, sleeper: subprocess.Popen[bytes]) -> None:
    path = write(tmp_path / "ganesha.pid", f"{sleeper.pid}\n")
    verdict = check_pid_file(path)
    assert not verdict.alive
    assert verdict.reason == f"pid {sleeper.pid} is 'sleep', not ganesha.nfsd"
    assert check_pid_file(path, ["sleep"]).alive


def test_zombie_is_not_alive(tmp_path: Path, zombie: int) -> None:
    os.kill(zombie, 0)  # a zombie still answers kill -0
    verdict = check_pid_file(write(tmp_path / "ganesha.pid", f"{zombie}\n"), ["true"])
    assert not verdict.alive
    assert verdict.reason == f"pid {zombie} (true) is a zombie"


def test_only_the_first_line_counts(tmp_path: Path, sleeper: subprocess.Popen[bytes]) -> None:
    # ganesha rewrites without truncating: after a restart "652\n" over
    # "4\n..." style leftovers.  The live pid first: alive; second: not.
    path = tmp_path / "ganesha.pid"
    assert check_pid_file(write(path, f"{sleeper.pid}\n4\n"), ["sleep"]).alive
    verdict = check_pid_file(write(path, f"4\n{sleeper.pid}\n"), ["sleep"])
    assert not verdict.alive
    assert verdict.pid == 4


def test_surrounding_whitespace_is_tolerated(
    tmp_path: Path, sleeper: subprocess.Popen[bytes]
) -> None:
    assert check_pid_file(write(tmp_path / "p", f"  {sleeper.pid} \r\n"), ["sleep"]).alive


def test_a_fifo_does_not_hang(tmp_path: Path) -> None:
    fifo = tmp_path / "ganesha.pid"
    os.mkfifo(fifo)
    verdict = check_pid_file(str(fifo))
    assert verdict.reason == "the pid file is not a regular file"


def test_a_directory_is_not_a_pid_file(tmp_path: Path) -> None:
    assert check_pid_file(str(tmp_path)).reason == "the pid file is not a regular file"


# The lock ganesha holds.


def test_flock_layout_matches_this_abi() -> None:
    # On x86_64: two shorts, padding, two 64-bit offsets, the pid at byte 24,
    # and sizeof(struct flock) is 32 (trailing padding).  Every layout must fit
    # the buffer handed to the kernel.
    assert struct.calcsize(pidfile._FLOCK) <= pidfile._FLOCK_BUFFER
    if os.uname().machine == "x86_64":
        assert struct.calcsize("@hhqq") == 24
        assert struct.calcsize(pidfile._FLOCK + "0q") == 32


def test_lock_holder_names_the_locking_process(tmp_path: Path) -> None:
    path = write(tmp_path / "ganesha.pid", "garbage\n")
    fd = os.open(path, os.O_RDONLY)
    try:
        assert lock_holder(fd) is None
        child = start_child(tmp_path, LOCK_CODE, path)
        try:
            assert lock_holder(fd) == child.pid
        finally:
            stop(child)
        assert lock_holder(fd) is None  # the kernel drops it with the process
    finally:
        os.close(fd)


def test_lock_holder_without_a_pid_for_ofd_locks(tmp_path: Path) -> None:
    path = write(tmp_path / "ganesha.pid", "1\n")
    child = start_child(tmp_path, OFD_LOCK_CODE, path)
    try:
        fd = os.open(path, os.O_RDONLY)
        try:
            assert lock_holder(fd) == 0
        finally:
            os.close(fd)
        # Without a pid from the lock, the file's pid decides.
        Path(path).write_text(f"{child.pid}\n")
        verdict = check_pid_file(path, [PYTHON_EXE])
        assert verdict.alive
        assert verdict.reason == (
            f"pid {child.pid} is running "
            "(the pid file is locked by a holder the kernel does not name)"
        )
    finally:
        stop(child)


def test_the_lock_holder_wins_over_the_file_content(tmp_path: Path) -> None:
    path = write(tmp_path / "ganesha.pid", "garbage\n")
    child = start_child(tmp_path, LOCK_CODE, path)
    try:
        verdict = check_pid_file(path, [PYTHON_EXE])
        assert verdict.alive
        assert verdict.pid == child.pid
        assert "holds the pid file's lock" in verdict.reason
        # A holder that is not the daemon proves nothing: the content decides.
        assert not check_pid_file(path, ["ganesha.nfsd"]).alive
    finally:
        stop(child)


def test_without_lock_the_pid_is_checked(tmp_path: Path) -> None:
    child = start_child(tmp_path, "")
    try:
        verdict = check_pid_file(write(tmp_path / "p", f"{child.pid}\n"), [PYTHON_EXE])
        assert verdict.alive
        assert "no lock held" in verdict.reason
    finally:
        stop(child)


# Telling ganesha from other processes.


def test_a_renamed_process_is_known_by_its_executable(tmp_path: Path) -> None:
    rename = "open('/proc/self/comm', 'w').write('x) Z (y')"
    child = start_child(tmp_path, rename)
    try:
        assert Path(f"/proc/{child.pid}/comm").read_text() == "x) Z (y\n"
        path = write(tmp_path / "p", f"{child.pid}\n")
        # The name holds ") Z (", yet the state read is the real one (S).
        verdict = check_pid_file(path, ["ganesha.nfsd"])
        assert verdict.reason == f"pid {child.pid} is 'x) Z (y', not ganesha.nfsd"
        assert check_pid_file(path, [PYTHON_EXE]).alive
    finally:
        stop(child)


def test_long_names_compare_as_the_kernel_truncates_them(
    tmp_path: Path, sleeper: subprocess.Popen[bytes]
) -> None:
    path = write(tmp_path / "p", f"{sleeper.pid}\n")
    assert check_pid_file(path, ["sleep"]).alive
    rename = "open('/proc/self/comm', 'w').write('ganesha.nfsd-with-a-long-name')"
    child = start_child(tmp_path, rename)
    try:
        path = write(tmp_path / "q", f"{child.pid}\n")
        assert check_pid_file(path, ["ganesha.nfsd-with-a-long-name"]).alive
    finally:
        stop(child)


@given(
    pid=st.integers(1, 2**22),
    comm=st.text(st.characters(exclude_characters="\0", exclude_categories=["Cs"]), max_size=15),
    state=st.sampled_from("RSDZTtXIW"),
)
def test_parse_stat_survives_any_process_name(pid: int, comm: str, state: str) -> None:
    line = f"{pid} ({comm}) {state} 1 {pid} {pid} 0 -1 4194560 90 0 0 0\n".encode()
    assert parse_stat(line) == (comm, state)


def test_parse_stat_rejects_truncated_lines() -> None:
    assert parse_stat(b"") is None
    assert parse_stat(b"12 (name") is None
    assert parse_stat(b"12 (name)") is None


@given(st.binary(max_size=80))
def test_parse_pid_accepts_only_a_positive_number_on_the_first_line(content: bytes) -> None:
    pid = parse_pid(content)
    if pid is not None:
        first = content.split(b"\n", 1)[0].strip()
        assert pid > 0
        assert first.isdigit()
        assert int(first) == pid


@given(st.integers(1, 2**22), st.binary(max_size=40))
def test_parse_pid_ignores_whatever_follows_the_first_line(pid: int, rest: bytes) -> None:
    assert parse_pid(f"{pid}\n".encode() + rest) == pid


# Races with the file changing under the check (BZ 1363595).


def test_a_file_changing_under_the_check_never_breaks_it(
    tmp_path: Path, sleeper: subprocess.Popen[bytes]
) -> None:
    path = tmp_path / "ganesha.pid"
    contents = [f"{sleeper.pid}\n".encode(), b"", b"garbage", f"{sleeper.pid}\n4\n".encode()]
    stop_flag = threading.Event()

    def churn() -> None:
        while not stop_flag.is_set():
            for content in contents:
                path.write_bytes(content)  # truncates, then writes: readers may see both
                time.sleep(0.0002)
                path.unlink()
                time.sleep(0.0002)
                with open(path, "wb") as half:  # a first byte only, as a writer mid-way
                    half.write(content[:1])

    thread = threading.Thread(target=churn)
    thread.start()
    seen: dict[bool, int] = {True: 0, False: 0}
    end = time.monotonic() + 20
    try:
        while min(seen.values()) < 50 and time.monotonic() < end:
            verdict = check_pid_file(str(path), ["sleep"])
            seen[verdict.alive] += 1
            if verdict.alive:
                assert verdict.pid == sleeper.pid
    finally:
        stop_flag.set()
        thread.join()
    assert min(seen.values()) >= 50, seen


# Several candidate files.


def test_first_live_candidate_wins(tmp_path: Path, sleeper: subprocess.Popen[bytes]) -> None:
    missing = str(tmp_path / "a.pid")
    stale = write(tmp_path / "b.pid", "garbage")
    live = write(tmp_path / "c.pid", f"{sleeper.pid}\n")
    never_read = write(tmp_path / "d.pid", "garbage")
    verdicts = find_alive([missing, stale, live, never_read], ["sleep"])
    assert [v.path for v in verdicts] == [missing, stale, live]
    assert [v.alive for v in verdicts] == [False, False, True]


def test_daemon_uses_the_configured_file_only(
    tmp_path: Path, sleeper: subprocess.Popen[bytes]
) -> None:
    clock = FakeClock()
    live = write(tmp_path / "c.pid", f"{sleeper.pid}\n")
    daemon = GaneshaDaemon(Deadline(clock, 10), clock, pid_files=[live], process_names=["sleep"])
    assert daemon.pid_files == (live,)
    assert daemon.is_alive()
    sleeper.kill()
    sleeper.wait()
    assert not daemon.is_alive()


def test_daemon_defaults_to_the_known_locations() -> None:
    clock = FakeClock()
    assert GaneshaDaemon(Deadline(clock, 10), clock).pid_files == DEFAULT_PID_FILES
    assert DEFAULT_PID_FILES == (
        "/var/run/ganesha/ganesha.pid",
        "/var/run/ganesha.pid",
        "/var/run/ganesha.nfsd.pid",
    )


def test_daemon_with_no_pid_files_is_not_alive() -> None:
    clock = FakeClock()
    assert not GaneshaDaemon(Deadline(clock, 10), clock, pid_files=[]).is_alive()


# Whose pid files are believed.


@pytest.mark.skipif(os.geteuid() != 0, reason="changing a file's owner needs root")
def test_an_untrusted_pid_file_is_not_believed(
    tmp_path: Path, sleeper: subprocess.Popen[bytes]
) -> None:
    """Whoever could write the file could make the monitor report any process as ganesha."""
    path = write(tmp_path / "ganesha.pid", f"{sleeper.pid}\n")
    assert check_pid_file(path, ["sleep"]).alive
    os.chown(path, 65534, 65534)
    assert not check_pid_file(path, ["sleep"]).alive
    os.chown(path, 0, 0)
    os.chmod(path, 0o666)  # noqa: S103 (the point of the test)
    verdict = check_pid_file(path, ["sleep"])
    assert not verdict.alive
    assert verdict.pid is None
