"""The D-Bus side of GaneshaDaemon: failures, timeouts and retries, without a daemon.

The scripted world is in ``dbus_script``; budgets, refusals, the backoff and
``enter_grace`` have their own tests in ``test_grace_call``.
"""

from __future__ import annotations

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
    REFUSED,
    TIMEOUT,
    classify,
    system_bus_address,
)
from ganesha_agents.backends.ganesha import CALL_TIMEOUT, GaneshaDaemon, GaneshaDBusError
from ganesha_agents.backends.protocols import NFSDaemon
from ocfkit.errors import DeadlineExceeded, NotInstalledError
from ocfkit.testing import FakeClock
from tests.ganesha.dbus_script import (
    ADDRESS,
    STARTED,
    Fail,
    GError,
    Hang,
    Reply,
    Script,
    access_denied,
    bad_address,
    cancelled,
    captured_log,
    closed,
    ganesha_refuses,
    make_daemon,
    no_reply,
    no_socket,
    refused,
    service_unknown,
    timed_out,
)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


def daemon(clock: FakeClock, script: Script, **options: Any) -> GaneshaDaemon:
    return make_daemon(clock, script, **options)


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


def test_ganesha_coming_back_on_the_bus_is_waited_for(
    clock: FakeClock, live_pid_file: Path
) -> None:
    log, lines = captured_log()
    script = Script(clock, Fail(service_unknown()), Fail(service_unknown()), STARTED)
    nfsd = daemon(clock, script, log=log, pid_files=[live_pid_file])
    assert nfsd.grace("0:") == "Started grace period"
    assert len(script.connects) == 3
    assert clock.sleeps == [0.05, 0.1]  # the backoff, without its jitter here
    text = lines.getvalue()
    assert text.count("WARNING: grace('0:'), attempt 1: ganesha.nfsd is not on the") == 1
    assert "DEBUG: grace('0:'), attempt 2" in text


def test_a_live_ganesha_never_on_the_bus_is_tried_until_the_deadline(
    clock: FakeClock, live_pid_file: Path
) -> None:
    log, lines = captured_log()
    script = Script(clock, Fail(service_unknown()))
    started = clock.monotonic()
    with pytest.raises(GaneshaDBusError) as raised:
        daemon(clock, script, timeout=5.0, log=log, pid_files=[live_pid_file]).grace("0:")
    reason = raised.value.reason
    assert reason.startswith(
        "grace('0:') failed: ganesha.nfsd is not on the D-Bus system bus (ServiceUnknown)"
    )
    assert "before the action's deadline" in reason
    # 4.5 s usable (0.5 s reserve).  Attempts after pauses of 0.05, 0.1, 0.2,
    # 0.4, 0.8, 1, 1 s (at 3.55 s); the next pause would end past 4.5 s, so
    # the call gives up there instead of sleeping for nothing.
    assert len(script.connects) == 8
    assert clock.sleeps == [0.05, 0.1, 0.2, 0.4, 0.8, 1.0, 1.0]
    assert [timeout for _, timeout in script.connects][:3] == pytest.approx([4.5, 4.45, 4.35])
    assert f"after {len(script.connects)} attempts" in reason
    assert clock.monotonic() - started == pytest.approx(3.55)
    assert raised.value.code == 1
    assert "ERROR: grace('0:') failed" in lines.getvalue()


def test_no_bus_with_ganesha_alive_is_retried_and_reported_as_cannot_connect(
    clock: FakeClock, live_pid_file: Path
) -> None:
    script = Script(clock, Fail(no_socket()))
    with pytest.raises(GaneshaDBusError) as raised:
        daemon(clock, script, timeout=2.0, pid_files=[live_pid_file]).grace("0:")
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
    # 11 s usable (1 s reserve): 5 + 0.05 + 5 + 0.1 + what is left, never more.
    assert timeouts == [5.0, 5.0, pytest.approx(0.85)]
    assert clock.monotonic() - started == pytest.approx(11.0)


@pytest.mark.parametrize("error", [refused, closed, no_reply, cancelled, timed_out])
def test_passing_failures_are_retried(clock: FakeClock, error: Any, live_pid_file: Path) -> None:
    script = Script(clock, Fail(error()), STARTED)
    assert daemon(clock, script, pid_files=[live_pid_file]).grace("0:") == "Started grace period"
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
        (ganesha_refuses, REFUSED, False),
    ],
)
def test_classify_captured_errors(error: Any, kind: str, final: bool) -> None:
    failure = classify(error(), ADDRESS, 1.5)
    assert failure is not None
    assert (failure.kind, failure.final) == (kind, final)
    assert "\n" not in failure.reason


def test_classify_unknown_remote_and_local_errors() -> None:
    odd = GError("GDBus.Error:org.freedesktop.DBus.Error.Odd: strange", "g-io-error-quark", 36)
    local = GError("Something else", "g-io-error-quark", 0)
    assert classify(odd, ADDRESS) == dbus.Failure(OTHER, "D-Bus error Odd: strange")
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
