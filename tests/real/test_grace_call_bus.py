"""The grace call's bounds over a real D-Bus, against a fake ganesha on a private bus.

Before these bounds, the same setup measured a refusal retried 36 times in
9 s, and an absent ganesha holding every post-stop notification 9 s (the
whole 10 s notify timeout less its reserve).  Here each case is timed with
the real clock, and the attempts are counted by the service itself.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from ganesha_agents.backends.errors import GaneshaNotRunning, GraceNotConfirmed
from ganesha_agents.backends.ganesha import REFUSAL_ATTEMPTS, GaneshaDaemon, GaneshaDBusError
from ganesha_agents.backends.pidfile import DEFAULT_PID_FILES, find_alive
from ganesha_agents.grace import NOTIFY_BUDGET
from ganesha_agents.standins import ganesha_pid_holder
from ocfkit.clock import SystemClock
from ocfkit.deadline import Deadline

from .fake_ganesha import FakeGanesha, PrivateBus

pytestmark = pytest.mark.real

SRC = str(Path(__file__).resolve().parents[2] / "src")
NOTIFY_TIMEOUT = 10.0
"""ganesha_grace's notify timeout: the old code retried until this, less its 1 s reserve."""


@pytest.fixture(scope="module")
def bus() -> Iterator[PrivateBus]:
    if shutil.which("dbus-daemon") is None:
        pytest.skip("not installed: dbus-daemon (Debian: dbus)")
    pytest.importorskip("pydbus")
    import pydbus  # noqa: F401  # imported once, so no timing below includes it

    directory = Path(tempfile.mkdtemp(prefix="fgb-", dir="/tmp"))
    private = PrivateBus(directory)
    try:
        private.start()
        yield private
    finally:
        private.stop()
        shutil.rmtree(directory, ignore_errors=True)


def service(bus: PrivateBus, mode: str) -> FakeGanesha:
    fake = FakeGanesha(bus, mode)
    fake.start()
    return fake


@pytest.fixture
def refusing(bus: PrivateBus) -> Iterator[FakeGanesha]:
    fake = service(bus, "error")
    try:
        yield fake
    finally:
        fake.stop()


def daemon(bus: PrivateBus, pid_files: list[Path] | None = None) -> GaneshaDaemon:
    """The backend as ganesha_grace's notify builds it: a 10 s action deadline."""
    clock = SystemClock()
    return GaneshaDaemon(
        Deadline(clock, NOTIFY_TIMEOUT),
        clock,
        pid_files=[str(path) for path in pid_files or []],
        bus_address=bus.address,
    )


def timed(call: Callable[..., object], *args: object, **kwargs: object) -> tuple[float, object]:
    """(seconds, result or the exception raised)."""
    started = time.monotonic()
    outcome: object
    try:
        outcome = call(*args, **kwargs)
    except Exception as error:
        outcome = error
    return time.monotonic() - started, outcome


# A refusing ganesha: a few attempts, well under a second.


@pytest.mark.parametrize("mode", ["error", "false"])
def test_a_refusal_is_given_up_after_a_few_attempts(bus: PrivateBus, mode: str) -> None:
    fake = service(bus, mode)
    try:
        waited, outcome = timed(daemon(bus).grace, "5:node2")
    finally:
        fake.stop()
    assert isinstance(outcome, GaneshaDBusError)
    assert "refused" in outcome.reason
    assert fake.calls() == ["grace 5:node2"] * REFUSAL_ATTEMPTS
    assert waited < 1.0, f"{waited:.3f}s (before: 36 attempts in 9 s)"


# An absent ganesha.


def test_absent_with_no_live_pid_file_returns_at_once(bus: PrivateBus, tmp_path: Path) -> None:
    stale = tmp_path / "ganesha.pid"
    stale.write_text("999999999\n")  # above pid_max: no such process can exist
    waited, outcome = timed(daemon(bus, [stale]).grace, "5:node2")
    assert isinstance(outcome, GaneshaNotRunning)
    assert "ServiceUnknown" in outcome.reason
    assert waited < 0.1, f"{waited:.3f}s (before: 9 s)"


def test_absent_with_a_live_pid_file_is_waited_for_until_the_budget(
    bus: PrivateBus, tmp_path: Path
) -> None:
    with ganesha_pid_holder(tmp_path / "ganesha.pid"):
        waited, outcome = timed(
            daemon(bus, [tmp_path / "ganesha.pid"]).grace, "5:node2", budget=1.0
        )
    assert isinstance(outcome, GaneshaDBusError)
    assert not isinstance(outcome, GaneshaNotRunning)
    assert "within its 1s budget" in outcome.reason
    assert 0.4 < waited < 1.1, f"{waited:.3f}s"


def test_a_live_daemon_that_registers_late_is_waited_for(bus: PrivateBus, tmp_path: Path) -> None:
    late = FakeGanesha(bus, "ok")
    starter = threading.Timer(0.3, late.start)
    with ganesha_pid_holder(tmp_path / "ganesha.pid"):
        starter.start()
        try:
            waited, outcome = timed(
                daemon(bus, [tmp_path / "ganesha.pid"]).grace, "5:node2", budget=3.0
            )
        finally:
            starter.join()
            late.stop()
    assert outcome == "Started grace period"
    assert 0.3 < waited < 3.0


# A hung ganesha: the budget, not the 5 s call timeout.


def test_a_hung_ganesha_is_given_up_at_the_budget(bus: PrivateBus) -> None:
    fake = service(bus, "hang")
    try:
        waited, outcome = timed(daemon(bus).grace, "5:node2", budget=1.0)
    finally:
        fake.stop()
    assert isinstance(outcome, GaneshaDBusError)
    assert "(timeout)" in outcome.reason
    assert 0.9 < waited < 1.2, f"{waited:.3f}s"


# enter_grace.


def test_enter_grace_calls_grace_then_get_grace(bus: PrivateBus) -> None:
    fake = service(bus, "ok")
    try:
        waited, outcome = timed(daemon(bus).enter_grace, "5:10.0.0.5", budget=1.0)
    finally:
        fake.stop()
    assert outcome == "Started grace period"
    assert fake.calls() == ["grace 5:10.0.0.5", "get_grace"]
    assert waited < 1.0


def test_enter_grace_on_a_graceless_server_is_not_confirmed(bus: PrivateBus) -> None:
    fake = service(bus, "graceless")
    try:
        _, outcome = timed(daemon(bus).enter_grace, "0:", budget=1.0)
    finally:
        fake.stop()
    assert isinstance(outcome, GraceNotConfirmed)
    assert fake.calls() == ["grace 0:", "get_grace"]


# A whole post-stop notification, as Pacemaker runs it: how long it holds the transition.

NOTIFY = """
import sys
from ganesha_agents.grace import GaneshaGrace
env = {"OCF_RESOURCE_INSTANCE": "nfs-grace", "HA_RSCTMP": sys.argv[1],
       "OCF_RESKEY_CRM_meta_timeout": "10000", "OCF_RESKEY_CRM_meta_on_node": "node1",
       "HA_LOGFILE": sys.argv[1] + "/log", "HA_debug": "0",
       "OCF_RESKEY_CRM_meta_notify_type": "post", "OCF_RESKEY_CRM_meta_notify_operation": "stop",
       "OCF_RESKEY_CRM_meta_notify_stop_uname": "node2 node3",
       "OCF_RESKEY_CRM_meta_notify_stop_resource": "nfs-grace:1 nfs-grace:2"}
sys.exit(GaneshaGrace().main(["ganesha_grace", "notify"], env))
"""


def notify_seconds(bus: PrivateBus, directory: Path) -> float:
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-c", NOTIFY, str(directory)],
        env={**os.environ, "PYTHONPATH": SRC, "DBUS_SYSTEM_BUS_ADDRESS": bus.address},
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    waited = time.monotonic() - started
    assert done.returncode == 0, done.stderr
    return waited


@pytest.mark.parametrize("mode", ["absent", "error", "hang"])
def test_a_post_stop_notification_is_held_briefly(
    bus: PrivateBus, tmp_path: Path, mode: str
) -> None:
    verdicts = find_alive(DEFAULT_PID_FILES)
    if mode == "absent" and verdicts and verdicts[-1].alive:
        pytest.skip("a ganesha.nfsd runs on this host: its pid file says it is alive")
    fake = None if mode == "absent" else service(bus, mode)
    try:
        waited = notify_seconds(bus, tmp_path)
    finally:
        if fake is not None:
            fake.stop()
    log = (tmp_path / "log").read_text()
    if mode == "absent":
        assert "no ganesha.nfsd runs here" in log
        assert waited < 1.5, f"{waited:.3f}s for a fresh interpreter and one look"
    elif mode == "error":
        assert fake is not None and len(fake.calls()) == 2 * REFUSAL_ATTEMPTS
        assert waited < 2.0, f"{waited:.3f}s"
    else:
        assert waited < NOTIFY_BUDGET + 1.5, f"{waited:.3f}s"
    assert waited < NOTIFY_TIMEOUT - 1.0
