"""The watcher as real processes: the installed shim starts it, a process stands in for ganesha.

What the in-process tests cannot show: that start returns while the watcher
lives on (no pipe of the action held), that a pidfd wakes it within
milliseconds of a ``kill -9``, that a monitor running alongside never
signals the same thing twice, and that a dead or hung watcher is noticed.
An ``attrd_updater`` stand-in records every call with its time.
"""

from __future__ import annotations

import os
import signal
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from ganesha_agents.backends.pidwait import PidfdDaemonWatch
from ganesha_agents.backends.statelock import FileLock
from ganesha_agents.backends.watchproc import (
    ABSENT,
    FOREIGN,
    HUNG,
    RUNNING,
    ProcessWatcherControl,
    is_watcher_of,
    parse_line,
)
from ganesha_agents.standins import ganesha_pid_holder, write_attrd_updater
from ocfkit.clock import SystemClock
from ocfkit.shims import install
from ocfkit.state import UnsafeStateError

DETECTION_LIMIT = 0.2


class Node:
    """One machine's worth of ganesha_mon: the shim, its environment, its files."""

    def __init__(self, root: Path) -> None:
        self.root = root
        (shim,) = install("wtest", ["ganesha_mon"], ocf_root=root / "ocf")
        self.shim = shim.path
        self.rsctmp = root / "rsctmp"
        self.pid_file = root / "ganesha.pid"
        self.calls = root / "calls"
        self.log = root / "agents.log"
        stubs = root / "bin"
        stubs.mkdir()
        write_attrd_updater(stubs, calls=self.calls)
        self.env = {
            "PATH": f"{stubs}:/usr/sbin:/usr/bin:/sbin:/bin",
            "OCF_ROOT": "/usr/lib/ocf",
            "OCF_RA_VERSION_MAJOR": "1",
            "OCF_RA_VERSION_MINOR": "1",
            "OCF_RESOURCE_INSTANCE": "nfs-mon",
            "OCF_RESKEY_CRM_meta_timeout": "20000",
            "HA_RSCTMP": str(self.rsctmp),
            "HA_LOGFILE": str(self.log),
            "HA_DATEFMT": "%F %T.%N ",
            "HA_debug": "0",
            "OCF_RESKEY_pid_file": str(self.pid_file),
            "OCF_RESKEY_grace_delay": "1",
        }
        self.watcher_file = self.rsctmp / "ganesha_mon-nfs-mon.watcher"

    def run(self, action: str, **meta: str) -> subprocess.CompletedProcess[str]:
        env = {**self.env, **{f"OCF_RESKEY_CRM_meta_{k}": v for k, v in meta.items()}}
        return subprocess.run(
            [str(self.shim), action], env=env, capture_output=True, text=True, timeout=30
        )

    def watcher_pid(self) -> int:
        line = parse_line(self.watcher_file.read_bytes())
        assert line is not None
        return line[0]

    def recorded(self) -> list[tuple[float, str]]:
        if not self.calls.exists():
            return []
        lines = self.calls.read_text().splitlines()
        return [(float(t), rest) for t, _, rest in (line.partition(" ") for line in lines)]

    def wait_for_call(self, call: str, after: int, timeout: float = 10.0) -> float:
        """The time of the first ``call`` recorded after the first ``after`` calls."""
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            for when, args in self.recorded()[after:]:
                if args == call:
                    return when
            time.sleep(0.005)
        raise AssertionError(f"no {call!r} within {timeout}s: {self.recorded()}\n{self.logged()}")

    def logged(self) -> str:
        return self.log.read_text() if self.log.exists() else ""


def alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat", "rb") as stat:
            return stat.read().rpartition(b")")[2].split()[0] not in (b"Z", b"X")
    except FileNotFoundError:
        return False


@pytest.fixture
def node(tmp_path: Path) -> Iterator[Node]:
    made = Node(tmp_path)
    yield made
    # Whatever happened, no watcher outlives the test: stop, then the verified pid.
    made.run("stop")
    control = ProcessWatcherControl(str(made.watcher_file), SystemClock())
    control.stop(5.0)


def test_start_returns_with_the_watcher_detached_and_holding_nothing_of_the_action(
    node: Node,
) -> None:
    with ganesha_pid_holder(node.pid_file):
        began = time.monotonic()
        started = node.run("start")
        assert started.returncode == 0, started.stderr
        assert time.monotonic() - began < 10, "start waited for its child's pipes"
        pid = node.watcher_pid()
        assert alive(pid) and is_watcher_of(pid, str(node.watcher_file))
        assert os.getsid(pid) == pid, "a session of its own"
        # An inherited pipe stays for the watcher's whole life; the pipes of its own
        # get_grace calls (dbus-send, in a thread) come and go: look until a moment without.
        deadline = time.monotonic() + 5
        while True:
            links = {
                fd: os.readlink(f"/proc/{pid}/fd/{fd}") for fd in os.listdir(f"/proc/{pid}/fd")
            }
            pipes = [link for link in links.values() if link.startswith("pipe:")]
            if not pipes or time.monotonic() > deadline:
                break
            time.sleep(0.02)
        assert [links[fd] for fd in ("0", "1", "2")] == ["/dev/null"] * 3
        assert not pipes, links
        assert "watcher started (pid" in node.logged()
        line = f"ganesha_mon(nfs-mon)[{pid}]: INFO: watcher (pid {pid}) watching"
        deadline = time.monotonic() + 5
        while line not in node.logged():
            assert time.monotonic() < deadline, node.logged()
            time.sleep(0.01)


def test_each_kill_is_signalled_within_0_2s_once_and_each_return_set_again(node: Node) -> None:
    """Three kill -9 / restart cycles, with monitors running all along."""
    monitors_stop = threading.Event()
    monitor_codes: list[int] = []

    def monitors() -> None:
        while not monitors_stop.is_set():
            monitor_codes.append(node.run("monitor", interval="10000", timeout="10000").returncode)

    with ganesha_pid_holder(node.pid_file):
        assert node.run("start").returncode == 0
    # The stand-in died with its context: the watcher's first deletion.
    node.wait_for_call("-D -n ganesha-active", 0)
    thread = threading.Thread(target=monitors)
    thread.start()
    detections = []
    try:
        for _ in range(3):
            seen = len(node.recorded())
            with ganesha_pid_holder(node.pid_file) as daemon:
                came_back = time.time()
                set_at = node.wait_for_call("-n ganesha-active -U 1", seen)
                assert set_at - came_back < 1.0
                time.sleep(0.3)
                seen = len(node.recorded())
                killed_at = time.time()
                os.kill(daemon, signal.SIGKILL)
                deleted_at = node.wait_for_call("-D -n grace-active", seen)
                detections.append(deleted_at - killed_at)
                node.wait_for_call("-D -n ganesha-active", seen)
    finally:
        monitors_stop.set()
        thread.join(60)
    assert max(detections) < DETECTION_LIMIT, detections
    # What the watcher publishes of the server's grace aside (the stand-in is on no bus).
    calls = [args for _, args in node.recorded() if "ganesha-grace" not in args]
    start = ["-n grace-active -U 1", "-n ganesha-active -U 1"]
    death = ["-D -n grace-active", "-D -n ganesha-active"]
    assert calls == start + death + (start + death) * 3, "each signalled exactly once"
    assert monitor_codes and set(monitor_codes) == {0}
    logged = node.logged()
    assert "starting it again" not in logged and "ERROR" not in logged, logged


def test_a_killed_watcher_is_started_again_by_the_monitor_and_a_hung_one_found(
    node: Node,
) -> None:
    with ganesha_pid_holder(node.pid_file):
        assert node.run("start").returncode == 0
        first = node.watcher_pid()
        os.kill(first, signal.SIGKILL)
        control = ProcessWatcherControl(str(node.watcher_file), SystemClock(), hung_after=0.3)
        deadline = time.monotonic() + 5
        while control.check().kind != ABSENT:
            assert time.monotonic() < deadline
            time.sleep(0.01)
        monitor = node.run("monitor", interval="10000", timeout="10000")
        assert monitor.returncode == 0, monitor.stderr
        assert "the watcher is not running (no process holds the watcher's lock)" in node.logged()
        second = node.watcher_pid()
        assert second != first and control.check().kind in (RUNNING, HUNG)

        os.kill(second, signal.SIGSTOP)
        time.sleep(1.5)
        hung = control.check()
        assert (hung.kind, hung.pid) == (HUNG, second), hung
        assert control.stop(5.0) == second
        assert not alive(second)

        stopped = node.run("stop")
        assert stopped.returncode == 0
        assert not node.watcher_file.exists()


def test_stop_ends_the_watcher_by_its_verified_pid(node: Node) -> None:
    with ganesha_pid_holder(node.pid_file):
        assert node.run("start").returncode == 0
        pid = node.watcher_pid()
        assert node.run("stop").returncode == 0
        assert not alive(pid)
        assert f"watcher (pid {pid}) stopped" in node.logged()
        assert node.run("monitor", interval="10000", timeout="10000").returncode == 7


def test_the_pidfd_wakes_the_moment_the_daemon_dies(tmp_path: Path) -> None:
    pid_file = tmp_path / "ganesha.pid"
    watch = PidfdDaemonWatch([str(pid_file)])
    try:
        assert watch.find() is None
        with ganesha_pid_holder(pid_file) as daemon:
            assert watch.find() == daemon
            began = time.monotonic()
            assert watch.wait_exit(daemon, 0.2) is False
            assert time.monotonic() - began >= 0.19
            timer = threading.Timer(0.1, os.kill, (daemon, signal.SIGKILL))
            timer.start()
            began = time.monotonic()
            assert watch.wait_exit(daemon, 5.0) is True
            woke = time.monotonic() - began
            timer.join()
            assert 0.09 <= woke < 0.1 + 0.05, woke
            assert watch.find() is None, "the lock went with the process"
        # A pid that is not (or no longer) the daemon: no wait at all.
        assert watch.wait_exit(os.getpid(), 5.0) is True
    finally:
        watch.close()


def test_the_watcher_and_lock_files_are_held_to_the_state_files_rule(tmp_path: Path) -> None:
    rsctmp = tmp_path / "rsctmp"
    rsctmp.mkdir()
    target = tmp_path / "elsewhere"
    target.write_text("1 1.0\n")
    watcher_file = rsctmp / "ganesha_mon-x.watcher"
    watcher_file.symlink_to(target)
    control = ProcessWatcherControl(str(watcher_file), SystemClock())
    seen = control.check()
    assert seen.kind == FOREIGN and "symbolic link" in seen.detail
    assert control.stop(1.0) is None, "nothing is killed on a file that is not ours"

    lock_path = rsctmp / "ganesha_mon-x.lock"
    lock_path.touch()
    lock_path.chmod(0o666)
    with pytest.raises(UnsafeStateError, match="writable by"):
        FileLock(str(lock_path)).acquire(0.1)
    lock_path.unlink()
    os.mkfifo(lock_path)
    with pytest.raises(UnsafeStateError, match="not a regular file"):
        FileLock(str(lock_path)).acquire(0.1)

    shared = tmp_path / "shared"
    shared.mkdir()
    shared.chmod(0o777)
    with pytest.raises(UnsafeStateError, match="not safe"):
        FileLock(str(shared / "ganesha_mon-x.lock")).acquire(0.1)
    assert not (shared / "ganesha_mon-x.lock").exists()
