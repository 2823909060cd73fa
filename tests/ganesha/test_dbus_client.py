"""The D-Bus side of GaneshaDaemon: failures, timeouts and retries, without a daemon.

A scripted connector stands in for pydbus and a FakeClock for time.  The
error messages are the ones GLib 2.74 and pydbus 0.6 raised against
nfs-ganesha 4.3 and dbus-daemon on this kind of machine (captured with the
real programs: bus socket absent, ganesha killed, ganesha and the bus
stopped with SIGSTOP, a caller running as nobody, a malformed address).
"""

from __future__ import annotations

import io
import os
import socket
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from ganesha_agents.backends import dbus
from ganesha_agents.backends.dbus import (
    ACCESS_DENIED,
    BAD_ADDRESS,
    NO_BUS,
    NO_INTERFACE,
    NOT_ON_BUS,
    OTHER,
    TIMEOUT,
    classify,
    system_bus_address,
)
from ganesha_agents.backends.ganesha import CALL_TIMEOUT, GaneshaDaemon, GaneshaDBusError
from ganesha_agents.backends.protocols import NFSDaemon
from ocfkit.deadline import Deadline
from ocfkit.errors import DeadlineExceeded, NotInstalledError
from ocfkit.log import AgentLog, LogSettings
from ocfkit.testing import FakeClock

ADDRESS = "unix:path=/run/test-bus/system_bus_socket"


class GError(Exception):
    """Shaped like gi.repository.GLib.GError: message, domain, code."""

    def __init__(self, message: str, domain: str, code: int) -> None:
        super().__init__(message)
        self.message = message
        self.domain = domain
        self.code = code


def service_unknown() -> GError:
    return GError(
        "GDBus.Error:org.freedesktop.DBus.Error.ServiceUnknown: "
        "The name org.ganesha.nfsd was not provided by any .service files",
        "g-dbus-error-quark",
        2,
    )


def no_socket() -> GError:
    return GError("Could not connect: No such file or directory", "g-io-error-quark", 1)


def refused() -> GError:
    return GError("Could not connect: Connection refused", "g-io-error-quark", 39)


def timed_out() -> GError:
    return GError("Timeout was reached", "g-io-error-quark", 24)


def cancelled() -> GError:
    return GError("Operation was cancelled", "g-io-error-quark", 19)


def no_reply() -> GError:
    return GError(
        "GDBus.Error:org.freedesktop.DBus.Error.NoReply: "
        "Message recipient disconnected from message bus without replying",
        "g-dbus-error-quark",
        4,
    )


def closed() -> GError:
    return GError("The connection is closed", "g-io-error-quark", 18)


def bad_address() -> GError:
    return GError(
        "Address element \u201cnonsense\u201d does not contain a colon (:)", "g-io-error-quark", 13
    )


def access_denied() -> GError:
    return GError(
        "GDBus.Error:org.freedesktop.DBus.Error.AccessDenied: Rejected send message, "
        '1 matched rules; type="method_call", sender=":1.3" (uid=65534 pid=16032 '
        'comm="/opt/ocfkit-dev/bin/python -c ?import pydbus,sys?t") '
        'interface="org.freedesktop.DBus.Introspectable" member="Introspect" '
        'error name="(unset)" requested_reply="0" destination="org.ganesha.nfsd" '
        '(uid=0 pid=16017 comm="ganesha.nfsd -f /tmp/gexp/ganesha.conf -L /tmp/gex")',
        "g-dbus-error-quark",
        9,
    )


# A scripted world: each attempt takes the next step (the last one repeats).


class Fail:
    """The connect fails with this error."""

    def __init__(self, error: BaseException) -> None:
        self.error = error


class Hang:
    """The call blocks until its timeout runs out."""


class Reply:
    """The call answers this."""

    def __init__(self, value: Any) -> None:
        self.value = value


Step = Fail | Hang | Reply


class Script:
    def __init__(self, clock: FakeClock, *steps: Step) -> None:
        self.clock = clock
        self.steps = list(steps)
        self.connects: list[tuple[str, float]] = []
        self.calls: list[tuple[str, tuple[Any, ...], float]] = []
        self.opened = 0
        self.closed = 0

    def __call__(self, address: str, timeout: float) -> FakeAdmin:
        self.connects.append((address, timeout))
        step = self.steps.pop(0) if len(self.steps) > 1 else self.steps[0]
        if isinstance(step, Fail):
            raise step.error
        self.opened += 1
        return FakeAdmin(self, step)


class FakeAdmin:
    def __init__(self, script: Script, step: Hang | Reply) -> None:
        self.script = script
        self.step = step

    def _answer(self, method: str, args: tuple[Any, ...], timeout: float) -> Any:
        self.script.calls.append((method, args, timeout))
        if isinstance(self.step, Hang):
            self.script.clock.advance(timeout)
            raise timed_out()
        return self.step.value

    def grace(self, argument: str, *, timeout: float) -> tuple[bool, str]:
        answer: tuple[bool, str] = self._answer("grace", (argument,), timeout)
        return answer

    def get_grace(self, *, timeout: float) -> tuple[Any, ...]:
        answer: tuple[Any, ...] = self._answer("get_grace", (), timeout)
        return answer

    def close(self) -> None:
        self.script.closed += 1


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


def daemon(
    clock: FakeClock,
    script: Script,
    *,
    timeout: float = 10.0,
    log: AgentLog | None = None,
    bus_address: str | None = ADDRESS,
) -> GaneshaDaemon:
    return GaneshaDaemon(
        Deadline(clock, timeout),
        clock,
        pid_files=[],
        log=log,
        bus_address=bus_address,
        connect=script,
    )


def captured_log() -> tuple[AgentLog, io.StringIO]:
    buffer = io.StringIO()
    return AgentLog(LogSettings("test", debug=True), stderr=buffer), buffer


STARTED = Reply((True, "Started grace period"))


# Calls that work.


def test_grace_passes_the_argument_and_returns_the_message(clock: FakeClock) -> None:
    script = Script(clock, STARTED)
    nfsd: NFSDaemon = daemon(clock, script)  # the type checker holds it to the Protocol
    assert nfsd.grace("5:node2") == "Started grace period"
    assert script.connects == [(ADDRESS, CALL_TIMEOUT)]
    assert [(m, a) for m, a, _ in script.calls] == [("grace", ("5:node2",))]
    assert script.closed == script.opened == 1
    assert clock.sleeps == []


def test_each_call_timeout_is_bounded_by_the_deadline(clock: FakeClock) -> None:
    # 3 s timeout, reserve 0.3 s: 2.7 s left, less than the per-call timeout.
    script = Script(clock, STARTED)
    daemon(clock, script, timeout=3.0).grace("0:")
    assert script.connects[0][1] == pytest.approx(2.7)
    assert script.calls[0][2] == pytest.approx(2.7)


def test_in_grace_is_the_first_element_of_get_grace(clock: FakeClock) -> None:
    assert daemon(clock, Script(clock, Reply((True, True, "get grace success")))).in_grace()
    assert not daemon(clock, Script(clock, Reply((False, True, "get grace success")))).in_grace()


def test_an_empty_get_grace_reply_is_an_error(clock: FakeClock) -> None:
    with pytest.raises(GaneshaDBusError, match="returned nothing"):
        daemon(clock, Script(clock, Reply(()))).in_grace()


def test_the_grace_message_is_logged(clock: FakeClock) -> None:
    log, lines = captured_log()
    daemon(clock, Script(clock, STARTED), log=log).grace("0:")
    assert "INFO: grace('0:'): Started grace period" in lines.getvalue()


# Retries.


def test_ganesha_coming_back_on_the_bus_is_waited_for(clock: FakeClock) -> None:
    log, lines = captured_log()
    script = Script(clock, Fail(service_unknown()), Fail(service_unknown()), STARTED)
    assert daemon(clock, script, log=log).grace("0:") == "Started grace period"
    assert len(script.connects) == 3
    assert clock.sleeps == [0.25, 0.25]
    text = lines.getvalue()
    assert text.count("WARNING: grace('0:'), attempt 1: ganesha.nfsd is not on the") == 1
    assert "DEBUG: grace('0:'), attempt 2" in text


def test_ganesha_never_on_the_bus_fails_at_the_deadline(clock: FakeClock) -> None:
    log, lines = captured_log()
    script = Script(clock, Fail(service_unknown()))
    started = clock.monotonic()
    with pytest.raises(GaneshaDBusError) as raised:
        daemon(clock, script, timeout=5.0, log=log).grace("0:")
    reason = raised.value.reason
    assert reason.startswith(
        "grace('0:') failed: ganesha.nfsd is not on the D-Bus system bus (ServiceUnknown)"
    )
    assert "gave up at the action's deadline" in reason
    # 4.5 s usable (0.5 s reserve), an attempt every 0.25 s from 0 to 4.25: 18,
    # each with only what is left as its timeout, none after the deadline.
    assert len(script.connects) == 18
    assert [timeout for _, timeout in script.connects][:3] == [4.5, 4.25, 4.0]
    assert f"after {len(script.connects)} attempts" in reason
    assert clock.monotonic() - started == pytest.approx(4.5)
    assert raised.value.code == 1
    assert "ERROR: grace('0:') failed" in lines.getvalue()


def test_no_bus_is_retried_and_reported_as_cannot_connect(clock: FakeClock) -> None:
    script = Script(clock, Fail(no_socket()))
    with pytest.raises(GaneshaDBusError) as raised:
        daemon(clock, script, timeout=2.0).grace("0:")
    assert f"cannot connect to the D-Bus system bus at {ADDRESS}" in raised.value.reason
    assert "No such file or directory" in raised.value.reason
    assert len(script.connects) > 1


def test_a_blocked_call_times_out_and_is_tried_again(clock: FakeClock) -> None:
    script = Script(clock, Hang(), STARTED)
    assert daemon(clock, script, timeout=20.0).grace("0:") == "Started grace period"
    assert [timeout for _, _, timeout in script.calls] == [5.0, 5.0]
    assert script.closed == 2


def test_a_call_that_always_blocks_ends_at_the_deadline(clock: FakeClock) -> None:
    script = Script(clock, Hang())
    started = clock.monotonic()
    with pytest.raises(GaneshaDBusError, match=r"timeout\)"):
        daemon(clock, script, timeout=12.0).grace("0:")
    timeouts = [timeout for _, _, timeout in script.calls]
    # 11 s usable (1 s reserve): 5 + pause + 5 + pause + what is left, never more.
    assert timeouts == [5.0, 5.0, pytest.approx(0.5)]
    assert clock.monotonic() - started == pytest.approx(11.0)


@pytest.mark.parametrize("error", [refused, closed, no_reply, cancelled, timed_out])
def test_passing_failures_are_retried(clock: FakeClock, error: Any) -> None:
    script = Script(clock, Fail(error()), STARTED)
    assert daemon(clock, script).grace("0:") == "Started grace period"
    assert len(script.connects) == 2


def test_a_missing_interface_is_retried(clock: FakeClock) -> None:
    script = Script(clock, Fail(KeyError("org.ganesha.nfsd.admin")), STARTED)
    assert daemon(clock, script).grace("0:") == "Started grace period"


# Failures no retry can cure.


def test_access_denied_fails_at_once(clock: FakeClock) -> None:
    log, lines = captured_log()
    script = Script(clock, Fail(access_denied()), STARTED)
    with pytest.raises(GaneshaDBusError) as raised:
        daemon(clock, script, log=log).grace("0:")
    assert "the D-Bus policy denies the call to ganesha.nfsd" in raised.value.reason
    assert len(script.connects) == 1
    assert clock.sleeps == []
    assert "ERROR: grace('0:') failed: the D-Bus policy denies" in lines.getvalue()


def test_a_bad_bus_address_fails_at_once(clock: FakeClock) -> None:
    script = Script(clock, Fail(bad_address()))
    with pytest.raises(GaneshaDBusError, match="bad D-Bus address 'nonsense'"):
        daemon(clock, script, bus_address="nonsense").grace("0:")
    assert len(script.connects) == 1


def test_a_refused_grace_fails_at_once(clock: FakeClock) -> None:
    log, lines = captured_log()
    script = Script(clock, Reply((False, "Grace period take 1 arguments: event:IP-address.")))
    with pytest.raises(GaneshaDBusError) as raised:
        daemon(clock, script, log=log).grace("0:")
    assert raised.value.reason == (
        "ganesha.nfsd refused grace('0:'): Grace period take 1 arguments: event:IP-address."
    )
    assert len(script.connects) == 1
    assert "ERROR: ganesha.nfsd refused" in lines.getvalue()


@pytest.mark.parametrize("argument", ["0:\0", "5:node\n2", "5:\udcff", "\x1b[2J"])
def test_unprintable_arguments_never_reach_the_bus(clock: FakeClock, argument: str) -> None:
    script = Script(clock, STARTED)
    with pytest.raises(GaneshaDBusError, match="unprintable"):
        daemon(clock, script).grace(argument)
    assert script.connects == []


def test_other_exceptions_are_not_hidden(clock: FakeClock) -> None:
    script = Script(clock, Fail(ZeroDivisionError("a bug")))
    with pytest.raises(ZeroDivisionError):
        daemon(clock, script).grace("0:")
    assert len(script.connects) == 1


def test_missing_pydbus_is_not_installed(clock: FakeClock) -> None:
    script = Script(clock, Fail(NotInstalledError("the D-Bus grace call needs pydbus")))
    with pytest.raises(NotInstalledError):
        daemon(clock, script).grace("0:")
    assert len(script.connects) == 1


def test_no_time_left_means_no_attempt(clock: FakeClock) -> None:
    script = Script(clock, STARTED)
    agent = daemon(clock, script, timeout=1.0)
    clock.advance(1.0)
    with pytest.raises(DeadlineExceeded):
        agent.grace("0:")
    assert script.connects == []


# Where the bus is.


def test_the_system_bus_is_found_like_every_client_finds_it(
    clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert system_bus_address({}) == "unix:path=/var/run/dbus/system_bus_socket"
    assert system_bus_address({"DBUS_SYSTEM_BUS_ADDRESS": "unix:path=/x"}) == "unix:path=/x"
    monkeypatch.setenv("DBUS_SYSTEM_BUS_ADDRESS", "unix:path=/elsewhere")
    script = Script(clock, STARTED)
    daemon(clock, script, bus_address=None).grace("0:")
    assert script.connects[0][0] == "unix:path=/elsewhere"


# Reading GLib's errors.


@pytest.mark.parametrize(
    ("error", "kind", "final"),
    [
        (service_unknown, NOT_ON_BUS, False),
        (no_socket, NO_BUS, False),
        (refused, NO_BUS, False),
        (closed, NO_BUS, False),
        (timed_out, TIMEOUT, False),
        (cancelled, TIMEOUT, False),
        (no_reply, TIMEOUT, False),
        (access_denied, ACCESS_DENIED, True),
        (bad_address, BAD_ADDRESS, True),
    ],
)
def test_classify_captured_errors(error: Any, kind: str, final: bool) -> None:
    failure = classify(error(), ADDRESS, 1.5)
    assert failure is not None
    assert (failure.kind, failure.final) == (kind, final)
    assert "\n" not in failure.reason


def test_classify_unknown_remote_and_local_errors() -> None:
    remote = GError("GDBus.Error:org.example.Odd: strange", "g-dbus-error-quark", 0)
    local = GError("Something else", "g-io-error-quark", 0)
    assert classify(remote, ADDRESS) == dbus.Failure(OTHER, "D-Bus error org.example.Odd: strange")
    failure = classify(local, ADDRESS)
    assert failure is not None
    assert (failure.kind, failure.final) == (OTHER, False)
    assert classify(KeyError("x"), ADDRESS) == dbus.Failure(
        NO_INTERFACE, "ganesha does not export org.ganesha.nfsd.admin at /org/ganesha/nfsd/admin"
    )
    assert classify(ValueError("not D-Bus"), ADDRESS) is None


def test_classify_reads_real_glib_errors() -> None:
    glib = pytest.importorskip("gi.repository.GLib")
    error = glib.GError(
        "GDBus.Error:org.freedesktop.DBus.Error.ServiceUnknown: The name is not owned",
        "g-dbus-error-quark",
        2,
    )
    failure = classify(error, ADDRESS)
    assert failure is not None
    assert failure.kind == NOT_ON_BUS


# The pydbus connector itself, against sockets this test controls.


@pytest.fixture
def short_dir() -> Iterator[Path]:
    """A directory whose socket paths fit in sun_path (108 bytes)."""
    path = Path(tempfile.mkdtemp(prefix="dbt-", dir="/tmp"))
    try:
        yield path
    finally:
        for child in path.iterdir():
            child.unlink()
        path.rmdir()


def test_connect_to_a_missing_socket_is_cannot_connect(short_dir: Path) -> None:
    pytest.importorskip("pydbus")
    address = f"unix:path={short_dir}/none"
    with pytest.raises(Exception) as raised:
        dbus.connect(address, 1.0)
    failure = classify(raised.value, address)
    assert failure is not None
    assert failure.kind == NO_BUS
    assert "Could not connect: No such file or directory" in failure.reason


def test_connect_to_a_silent_bus_times_out(short_dir: Path) -> None:
    # A socket that accepts but never answers the authentication: a hung
    # dbus-daemon, as seen from a client.  pydbus alone would wait for ever.
    pytest.importorskip("pydbus")
    path = str(short_dir / "silent")
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(path)
    server.listen(1)
    try:
        started = time.monotonic()
        with pytest.raises(Exception) as raised:
            dbus.connect(f"unix:path={path}", 0.3)
        waited = time.monotonic() - started
    finally:
        server.close()
    failure = classify(raised.value, path, 0.3)
    assert failure is not None
    assert failure.kind == TIMEOUT
    assert 0.25 < waited < 2.0


def test_connect_without_pydbus_is_not_installed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "pydbus", None)
    with pytest.raises(NotInstalledError, match="needs pydbus and PyGObject"):
        dbus.connect(ADDRESS, 1.0)


def test_importing_the_backends_loads_no_dbus_modules() -> None:
    import subprocess

    code = (
        "import sys, ganesha_agents.backends.ganesha, ganesha_agents.backends.attrd\n"
        "heavy = {'gi', 'pydbus', 'threading', 'typing', 'logging', 'subprocess', 'xml',"
        " 'attr', 'attrs', 'lxml'}\n"
        "print(sorted(heavy & set(sys.modules)))\n"
    )
    src = str(Path(dbus.__file__).parents[2])
    done = subprocess.run(
        [sys.executable, "-c", code],
        env={**os.environ, "PYTHONPATH": src},
        capture_output=True,
        text=True,
        check=True,
    )
    assert done.stdout.strip() == "[]"
