"""GaneshaDaemon against a real ganesha.nfsd 4.3 on its own system bus."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from ganesha_agents.backends.dbus import connect as pydbus_connect
from ganesha_agents.backends.dbussend import connect as dbussend_connect
from ganesha_agents.backends.ganesha import (
    CALL_TIMEOUT,
    GaneshaDaemon,
    GaneshaDBusError,
    GaneshaNotRunning,
)
from ganesha_agents.backends.pidfile import check_pid_file
from ocfkit.clock import SystemClock
from ocfkit.deadline import Deadline

from .ganesha_node import GaneshaNode, HarnessError

if TYPE_CHECKING:
    from ganesha_agents.backends.dbus import Connector

pytestmark = pytest.mark.real

SRC = str(Path(__file__).resolve().parents[2] / "src")
AS_NOBODY = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"]


TRANSPORTS: dict[str, Connector] = {"dbus-send": dbussend_connect, "pydbus": pydbus_connect}


@pytest.fixture(params=list(TRANSPORTS))
def transport(request: pytest.FixtureRequest) -> Connector:
    """The backend's calls are tested on both transports (dbus-send, as the agents use it)."""
    return TRANSPORTS[request.param]


def daemon_for(
    node: GaneshaNode,
    timeout: float = 10.0,
    call_timeout: float = CALL_TIMEOUT,
    connect: Connector = dbussend_connect,
) -> GaneshaDaemon:
    clock = SystemClock()
    return GaneshaDaemon(
        Deadline(clock, timeout),
        clock,
        pid_files=[str(node.pid_file)],
        bus_address=node.bus_address,
        call_timeout=call_timeout,
        connect=connect,
    )


def attempts_in(reason: str) -> int:
    return int(reason.split(" attempts in ")[0].rsplit(" ", 1)[1])


# Liveness.


def test_running_ganesha_is_alive_by_its_lock(ganesha_node: GaneshaNode) -> None:
    verdict = check_pid_file(str(ganesha_node.pid_file))
    assert verdict.alive
    assert verdict.pid == ganesha_node.ganesha_pid
    assert verdict.reason == f"pid {ganesha_node.ganesha_pid} holds the pid file's lock"
    assert daemon_for(ganesha_node).is_alive()


def test_default_pid_file_as_seen_inside_the_node(ganesha_node: GaneshaNode) -> None:
    # Inside the node, ganesha's pid file is at its default place.
    code = (
        "from ganesha_agents.backends.ganesha import GaneshaDaemon\n"
        "from ocfkit.clock import SystemClock\n"
        "from ocfkit.deadline import Deadline\n"
        "clock = SystemClock()\n"
        "print(GaneshaDaemon(Deadline(clock, 5), clock).is_alive())\n"
    )
    done = subprocess.run(
        ganesha_node.inside(sys.executable, "-c", code),
        env={**os.environ, "PYTHONPATH": SRC},
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )
    assert done.stdout.strip() == "True"


def test_after_kill_9_the_pid_file_stays_but_ganesha_is_not_alive(
    ganesha_node: GaneshaNode, transport: Connector
) -> None:
    pid = ganesha_node.ganesha_pid
    daemon = daemon_for(ganesha_node, connect=transport)
    assert daemon.is_alive()
    ganesha_node.kill_ganesha(signal.SIGKILL)
    assert ganesha_node.pid_file.read_text().split("\n")[0] == str(pid)
    assert not daemon.is_alive()
    verdict = check_pid_file(str(ganesha_node.pid_file))
    assert verdict.reason in (
        f"stale pid {pid}: no such process",
        f"pid {pid} (ganesha.nfsd) is a zombie",
    )


# Grace.


def test_plain_grace_puts_the_server_in_grace(
    ganesha_node: GaneshaNode, transport: Connector
) -> None:
    ganesha_node.wait_out_of_grace()
    daemon = daemon_for(ganesha_node, connect=transport)
    assert not daemon.in_grace()
    assert daemon.grace("0:") == "Started grace period"
    assert daemon.in_grace()
    assert ganesha_node.in_grace()  # dbus-send agrees
    assert ganesha_node.log_text().count("NFS Server Now IN GRACE") == 2  # start-up, then ours


def test_named_grace_reads_that_nodes_clients(
    ganesha_node: GaneshaNode, transport: Connector
) -> None:
    ganesha_node.wait_out_of_grace()
    recovery = ganesha_node.root / "recov" / "node2" / "v4recov"
    recovery.mkdir(parents=True)
    daemon = daemon_for(ganesha_node, connect=transport)
    assert daemon.grace("5:node2") == "Started grace period"
    assert daemon.in_grace()
    log = ganesha_node.log_text()
    assert "NFS Server recovery event 5 nodeid -1 ip node2" in log
    assert f"Recovery for nodeid -1 dir ({recovery})" in log


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGKILL])
def test_grace_without_ganesha_returns_at_once(
    ganesha_node: GaneshaNode, signum: int, transport: Connector
) -> None:
    ganesha_node.kill_ganesha(signum)  # SIGKILL leaves a stale pid file behind
    daemon = daemon_for(ganesha_node, timeout=10.0, connect=transport)
    started = time.monotonic()
    with pytest.raises(GaneshaNotRunning) as raised:
        daemon.grace("0:")
    waited = time.monotonic() - started
    reason = raised.value.reason
    assert reason.startswith("grace('0:'): no ganesha.nfsd runs here: ganesha.nfsd is not on")
    assert str(ganesha_node.pid_file) in reason
    assert waited < 0.5  # one look at the bus and the pid file (before: the whole deadline)


def test_a_server_that_was_not_running_comes_back_in_grace(
    ganesha_node: GaneshaNode, transport: Connector
) -> None:
    # Why "not running" is nothing to do: ganesha starts in grace.
    ganesha_node.wait_out_of_grace()
    ganesha_node.kill_ganesha(signal.SIGKILL)
    with pytest.raises(GaneshaNotRunning):
        daemon_for(ganesha_node, connect=transport).grace("5:node2")
    ganesha_node.start_ganesha()
    assert daemon_for(ganesha_node, connect=transport).in_grace(budget=2.0)


def test_enter_grace_on_a_real_server(ganesha_node: GaneshaNode, transport: Connector) -> None:
    ganesha_node.wait_out_of_grace()
    daemon = daemon_for(ganesha_node, connect=transport)
    started = time.monotonic()
    assert daemon.enter_grace("5:10.0.0.5", budget=2.0) == "Started grace period"
    assert time.monotonic() - started < 2.0
    assert ganesha_node.in_grace()
    assert "NFS Server recovery event 5 nodeid -1 ip 10.0.0.5" in ganesha_node.log_text()


def test_ganesha_refuses_with_an_error_named_after_its_interface(
    ganesha_node: GaneshaNode,
) -> None:
    # grace without its argument is refused; the reply is a D-Bus error, not (false, ...).
    with pytest.raises(HarnessError) as raised:
        ganesha_node.dbus_send("grace")
    assert "Error org.ganesha.nfsd.admin: grace" in str(raised.value)


def test_without_its_bus_ganesha_exits_and_is_not_running(
    ganesha_node: GaneshaNode, transport: Connector
) -> None:
    # ganesha 4.3 exits (silently, within some 15 ms) when its system bus goes away.
    ganesha_node.stop_bus()
    with pytest.raises(GaneshaNotRunning) as raised:
        daemon_for(ganesha_node, timeout=5.0, connect=transport).grace("0:")
    assert f"cannot connect to the D-Bus system bus at {ganesha_node.bus_address}: " in (
        raised.value.reason
    )
    assert "No such file or directory" in raised.value.reason


def test_without_a_bus_a_live_ganesha_is_tried_until_the_deadline(
    ganesha_node: GaneshaNode, transport: Connector
) -> None:
    # Stopped, ganesha cannot notice the bus leave: it stays alive by its pid file.
    assert ganesha_node.freeze_ganesha()
    try:
        ganesha_node.stop_bus()
        started = time.monotonic()
        with pytest.raises(GaneshaDBusError) as raised:
            daemon_for(ganesha_node, timeout=1.0, connect=transport).grace("0:")
        waited = time.monotonic() - started
    finally:
        ganesha_node.signal_ganesha(signal.SIGCONT)
    assert not isinstance(raised.value, GaneshaNotRunning)
    assert f"cannot connect to the D-Bus system bus at {ganesha_node.bus_address}: " in (
        raised.value.reason
    )
    assert "No such file or directory" in raised.value.reason
    assert attempts_in(raised.value.reason) > 1
    assert waited < 1.0


def test_a_stopped_ganesha_times_out_within_the_deadline(
    ganesha_node: GaneshaNode, transport: Connector
) -> None:
    assert ganesha_node.freeze_ganesha()
    try:
        started = time.monotonic()
        with pytest.raises(GaneshaDBusError) as raised:
            daemon_for(ganesha_node, timeout=2.0, call_timeout=0.5, connect=transport).grace("0:")
        waited = time.monotonic() - started
    finally:
        ganesha_node.signal_ganesha(signal.SIGCONT)
    assert "(timeout)" in raised.value.reason
    assert attempts_in(raised.value.reason) > 1
    assert waited < 2.5


def test_a_stopped_bus_times_out_within_the_deadline(
    ganesha_node: GaneshaNode, transport: Connector
) -> None:
    # Without the cancellable connect, pydbus would wait here for ever.
    assert ganesha_node.signal_bus(signal.SIGSTOP)
    try:
        started = time.monotonic()
        with pytest.raises(GaneshaDBusError) as raised:
            daemon_for(ganesha_node, timeout=2.0, connect=transport).grace("0:")
        waited = time.monotonic() - started
    finally:
        ganesha_node.signal_bus(signal.SIGCONT)
    assert "no answer on the D-Bus system bus" in raised.value.reason
    assert waited < 2.5


def test_other_users_are_denied_at_once(ganesha_node: GaneshaNode) -> None:
    code = (
        "import sys, time\n"
        "from ganesha_agents.backends.ganesha import GaneshaDaemon\n"
        "from ocfkit.clock import SystemClock\n"
        "from ocfkit.deadline import Deadline\n"
        "clock = SystemClock()\n"
        "daemon = GaneshaDaemon(Deadline(clock, 10), clock, bus_address=sys.argv[1])\n"
        "started = time.monotonic()\n"
        "try:\n"
        "    daemon.grace('0:')\n"
        "except Exception as error:\n"
        "    print(f'{time.monotonic() - started:.3f}', error)\n"
    )
    done = subprocess.run(
        [*AS_NOBODY, sys.executable, "-c", code, ganesha_node.bus_address],
        env={**os.environ, "PYTHONPATH": SRC, "HOME": "/"},
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )
    waited, _, reason = done.stdout.strip().partition(" ")
    assert "the D-Bus policy denies the call to ganesha.nfsd" in reason
    assert "AccessDenied" in reason
    assert float(waited) < 1.0  # no retries
