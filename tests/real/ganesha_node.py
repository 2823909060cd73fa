"""A real ganesha.nfsd on a private system bus, for tests that need the daemon itself.

Every node gets its own mount and network namespaces, held open by a
``sleep`` process: ``/run`` is a fresh tmpfs there, with the node's own
directories bound onto ``/run/dbus`` and ``/run/ganesha``.  So the daemon
uses its default paths, the host's ``/run`` is never touched, and several
nodes can run side by side.  From outside, the bus is reached at
:attr:`GaneshaNode.bus_address` and the pid file at :attr:`GaneshaNode.pid_file`.

Only the processes a node started are ever signalled, and only after
checking that they still live in the node's mount namespace (a pid can be
reused once its process is gone).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

from ocfkit.lab.render import ganesha_conf

PROGRAMS = (
    "unshare",
    "nsenter",
    "setpriv",
    "mount",
    "ip",
    "dbus-daemon",
    "dbus-send",
    "ganesha.nfsd",
)

BUS_NAME = "org.ganesha.nfsd"
ADMIN_PATH = "/org/ganesha/nfsd/admin"
ADMIN_INTERFACE = "org.ganesha.nfsd.admin"


def missing_programs() -> list[str]:
    """The programs this harness needs that are not installed."""
    return [name for name in PROGRAMS if shutil.which(name) is None]


class HarnessError(RuntimeError):
    """The harness could not bring a node up; the message says what was seen."""


class GaneshaNode:
    """One ganesha.nfsd with its own system bus, in namespaces of its own."""

    def __init__(self, root: Path, *, grace_period: int = 20, lease_lifetime: int = 10) -> None:
        self.root = root
        self.grace_period = grace_period
        self.lease_lifetime = lease_lifetime
        self.holder: subprocess.Popen[bytes] | None = None
        self.bus_pid: int | None = None
        self.ganesha_pid: int | None = None

    # Paths as the host sees them.
    @property
    def bus_dir(self) -> Path:
        return self.root / "dbus"

    @property
    def run_dir(self) -> Path:
        return self.root / "rundir"

    @property
    def pid_file(self) -> Path:
        """ganesha's default pid file (``/run/ganesha/ganesha.pid`` inside the node)."""
        return self.run_dir / "ganesha.pid"

    @property
    def log_file(self) -> Path:
        return self.root / "ganesha.log"

    @property
    def bus_address(self) -> str:
        return f"unix:path={self.bus_dir}/system_bus_socket"

    def inside(self, *argv: str) -> list[str]:
        """argv that runs a program inside the node's namespaces."""
        if self.holder is None:
            raise HarnessError("the node's namespaces are not up")
        return ["nsenter", "-t", str(self.holder.pid), "-m", "-n", "--", *argv]

    # Bringing the node up.
    def start(self) -> None:
        """Namespaces, then the bus, then ganesha (answering on the bus)."""
        self.start_namespaces()
        self.start_bus()
        self.start_ganesha()

    def start_namespaces(self) -> None:
        for directory in (self.bus_dir, self.run_dir, self.root / "export", self.root / "recov"):
            directory.mkdir(parents=True, exist_ok=True)
        (self.root / "ganesha.conf").write_text(
            ganesha_conf(  # the lab's configuration: NFSv4 only, no rpcbind
                recovery_root=self.root / "recov",
                export_path=self.root / "export",
                grace_period=self.grace_period,
                lease_lifetime=self.lease_lifetime,
            )
        )
        self.holder = subprocess.Popen(
            ["unshare", "--mount", "--net", "--propagation", "private", "--", "sleep", "infinity"],
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
        own_mnt = os.readlink("/proc/self/ns/mnt")
        for _ in range(200):
            with contextlib.suppress(OSError):
                if os.readlink(f"/proc/{self.holder.pid}/ns/mnt") != own_mnt:
                    break
            time.sleep(0.01)
        else:
            raise HarnessError("unshare did not enter a new mount namespace")
        self._run(self.inside("mount", "-t", "tmpfs", "-o", "mode=755", "tmpfs", "/run"))
        self._run(self.inside("mkdir", "-p", "/run/dbus", "/run/ganesha", "/run/lock"))
        self._run(self.inside("mount", "--bind", str(self.bus_dir), "/run/dbus"))
        self._run(self.inside("mount", "--bind", str(self.run_dir), "/run/ganesha"))
        self._run(self.inside("ip", "link", "set", "lo", "up"))

    def start_bus(self) -> None:
        (self.bus_dir / "pid").unlink(missing_ok=True)
        (self.bus_dir / "system_bus_socket").unlink(missing_ok=True)
        out = self._run(self.inside("dbus-daemon", "--system", "--fork", "--print-pid"))
        self.bus_pid = int(out.split()[0])
        self._wait(lambda: (self.bus_dir / "system_bus_socket").exists(), 5, "bus socket")

    def start_ganesha(self, *, wait: bool = True) -> None:
        self.log_file.unlink(missing_ok=True)
        self.pid_file.unlink(missing_ok=True)
        self._run(
            self.inside(
                "ganesha.nfsd",
                "-f",
                str(self.root / "ganesha.conf"),
                "-L",
                str(self.log_file),
                "-p",
                "/run/ganesha/ganesha.pid",
                "-N",
                "NIV_EVENT",
            )
        )
        self._wait(self._read_pid_file, 10, "ganesha's pid file")
        self.ganesha_pid = self._read_pid_file()
        if wait:
            self._wait(self.answers, 10, "ganesha on the bus")
            # Started without -F, ganesha forks: the pid file may still name the process
            # that forked (exited, a zombie nobody here collects) for a while after the
            # daemon answers.  Tests read the pid file: wait until it names the daemon.
            self._wait(self._live_pid, 10, "ganesha's pid file naming the running daemon")
            self.ganesha_pid = self._live_pid()

    # Looking at it with tools that are not the code under test.
    def dbus_send(self, method: str, *args: str, timeout: float = 5.0) -> list[str]:
        """Call an admin method with ``dbus-send``; the reply's values as text lines."""
        done = subprocess.run(
            [
                "dbus-send",
                "--system",
                "--print-reply",
                f"--reply-timeout={int(timeout * 1000)}",
                f"--dest={BUS_NAME}",
                ADMIN_PATH,
                f"{ADMIN_INTERFACE}.{method}",
                *args,
            ],
            env={**os.environ, "DBUS_SYSTEM_BUS_ADDRESS": self.bus_address},
            capture_output=True,
            text=True,
            timeout=timeout + 5,
            check=False,
        )
        if done.returncode != 0:
            raise HarnessError(f"dbus-send {method}: {done.stderr.strip()}")
        return [line.strip() for line in done.stdout.splitlines()[1:]]

    def answers(self) -> bool:
        try:
            self.dbus_send("get_grace", timeout=1.0)
        except (HarnessError, subprocess.TimeoutExpired):
            return False
        return True

    def in_grace(self) -> bool:
        """ganesha's own answer, through dbus-send."""
        return self.dbus_send("get_grace")[0] == "boolean true"

    def wait_out_of_grace(self, timeout: float | None = None) -> None:
        limit = timeout if timeout is not None else self.grace_period + self.lease_lifetime + 10
        self._wait(lambda: not self.in_grace(), limit, "the end of grace")

    def log_text(self) -> str:
        try:
            return self.log_file.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    # Disturbing it.
    def signal_ganesha(self, signum: int) -> bool:
        """Send ``signum`` to this node's ganesha; false when it is not running."""
        return self.ganesha_pid is not None and self._signal(self.ganesha_pid, signum)

    def freeze_ganesha(self, timeout: float = 10.0) -> bool:
        """SIGSTOP ganesha and wait until every one of its threads has stopped.

        ``kill`` returns before the threads of a multi-threaded process have all
        stopped; one still running may notice what the test does next (the bus
        going away) and react.  False when ganesha is not running.
        """
        pid = self.ganesha_pid
        if pid is None or not self.signal_ganesha(signal.SIGSTOP):
            return False
        self._wait(lambda: _all_threads_stopped(pid), timeout, f"ganesha ({pid}) to stop")
        return True

    def signal_bus(self, signum: int) -> bool:
        """Send ``signum`` to this node's dbus-daemon; false when it is not running."""
        return self.bus_pid is not None and self._signal(self.bus_pid, signum)

    # Taking it down.
    def kill_ganesha(self, signum: int = signal.SIGKILL, timeout: float = 20.0) -> None:
        """Signal ganesha and wait until it is gone (a zombie counts as gone)."""
        pid = self.ganesha_pid
        if pid is not None and self._signal(pid, signum):
            self._wait(lambda: not _running(pid), timeout, f"ganesha ({pid}) to exit")
        self.ganesha_pid = None

    def stop_bus(self) -> None:
        pid = self.bus_pid
        if pid is not None and self._signal(pid, signal.SIGTERM):
            self._wait(lambda: not _running(pid), 10, f"dbus-daemon ({pid}) to exit")
        self.bus_pid = None
        (self.bus_dir / "system_bus_socket").unlink(missing_ok=True)
        (self.bus_dir / "pid").unlink(missing_ok=True)

    def stop(self) -> None:
        """Take down whatever of this node is still up; safe to call more than once."""
        try:
            self.signal_ganesha(signal.SIGCONT)  # a test may have left it stopped
            self.signal_bus(signal.SIGCONT)
            try:
                self.kill_ganesha(signal.SIGTERM, timeout=10)
            except HarnessError:
                self.kill_ganesha(signal.SIGKILL)
            self.stop_bus()
        finally:
            holder, self.holder = self.holder, None
            if holder is not None:
                holder.kill()
                holder.wait(timeout=10)

    # Helpers.
    def _signal(self, pid: int, signum: int) -> bool:
        """Signal ``pid`` only if it is still a process of this node's mount namespace."""
        if self.holder is None:
            return False
        try:
            if os.readlink(f"/proc/{pid}/ns/mnt") != os.readlink(f"/proc/{self.holder.pid}/ns/mnt"):
                return False
            os.kill(pid, signum)
        except (FileNotFoundError, ProcessLookupError):
            return False
        return True

    def _live_pid(self) -> int | None:
        """The pid file's pid, when it names a running process (not a zombie)."""
        pid = self._read_pid_file()
        return pid if pid is not None and _running(pid) else None

    def _read_pid_file(self) -> int | None:
        try:
            first = self.pid_file.read_text().split("\n", 1)[0].strip()
        except FileNotFoundError:
            return None
        return int(first) if first.isdigit() else None

    def _run(self, argv: list[str]) -> str:
        done = subprocess.run(
            argv, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=30, check=False
        )
        if done.returncode != 0:
            log = self.log_text()[-2000:]
            raise HarnessError(
                f"{' '.join(argv)} exited {done.returncode}: {done.stderr.strip()}\n{log}"
            )
        return done.stdout

    def _wait(self, condition: Callable[[], object], timeout: float, what: str) -> None:
        end = time.monotonic() + timeout
        while not condition():
            if time.monotonic() > end:
                raise HarnessError(f"gave up waiting for {what} after {timeout:g}s")
            time.sleep(0.01)


def _all_threads_stopped(pid: int) -> bool:
    """Whether every thread of ``pid`` is stopped (``T``), as SIGSTOP leaves them."""
    try:
        tasks = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return False
    for task in tasks:
        try:
            with open(f"/proc/{pid}/task/{task}/stat", "rb") as stat_file:
                line = stat_file.read(4096)
        except OSError:
            continue  # a thread that ended meanwhile
        state = line[line.rfind(b")") + 2 : line.rfind(b")") + 3]
        if state not in (b"T", b"t"):
            return False
    return bool(tasks)


def _running(pid: int) -> bool:
    """Whether ``pid`` exists and is not a zombie waiting to be reaped."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as stat:
            return stat.read().rpartition(b")")[2].split()[0] not in (b"Z", b"X")
    except (FileNotFoundError, ProcessLookupError, IndexError):
        return False
