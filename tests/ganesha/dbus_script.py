"""A scripted D-Bus world for GaneshaDaemon: a connector that plays steps, in virtual time.

A scripted connector stands in for pydbus and a FakeClock for time.  The
error messages are the ones GLib 2.74 and pydbus 0.6 raised against
nfs-ganesha 4.3 and dbus-daemon on this kind of machine (captured with the
real programs: bus socket absent, ganesha killed, ganesha and the bus
stopped with SIGSTOP, a caller running as nobody, a malformed address), and
the refusal ganesha 4.3 sends when a method handler fails (an error named
after the interface, with the method as its text).

Each attempt (a connect, then the call) takes the script's next step; the
last step repeats.
"""

from __future__ import annotations

import io
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from ganesha_agents.backends.backoff import Backoff
from ganesha_agents.backends.ganesha import GaneshaDaemon
from ocfkit.deadline import Deadline
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


def ganesha_refuses() -> GError:
    """ganesha 4.3's answer when a handler fails: an error named after the interface.

    As GLib 2.74 reports an error name it has no mapping for
    (``G_IO_ERROR_DBUS_ERROR``), captured against tests/real/fake_ganesha.py.
    """
    return GError("GDBus.Error:org.ganesha.nfsd.admin: grace", "g-io-error-quark", 36)


class Fail:
    """The connect fails with this error."""

    def __init__(self, error: BaseException) -> None:
        self.error = error


class Hang:
    """The call blocks until its timeout runs out."""


class Reply:
    """The call answers this, after ``delay`` seconds (if its timeout allows: else it times out)."""

    def __init__(self, value: Any, delay: float = 0.0) -> None:
        self.value = value
        self.delay = delay


class Take:
    """The connect takes ``seconds`` (or its whole timeout, then times out), then ``then``."""

    def __init__(self, seconds: float, then: Fail | Hang | Reply) -> None:
        self.seconds = seconds
        self.then = then


Step = Fail | Hang | Reply | Take

STARTED = Reply((True, "Started grace period"))
IN_GRACE = Reply((True, True, "get grace success"))
NOT_IN_GRACE = Reply((False, True, "get grace success"))
SAYS_NO = Reply((False, "Unable to start grace"))


class Script:
    def __init__(self, clock: FakeClock, *steps: Step) -> None:
        self.clock = clock
        self.steps = list(steps)
        self.connects: list[tuple[str, float]] = []
        self.calls: list[tuple[str, tuple[Any, ...], float]] = []
        self.opened = 0
        self.closed = 0
        self.played: list[Fail | Hang | Reply | None] = []
        """What each attempt met: the step that answered it, or None when it timed out."""

    def __call__(self, address: str, timeout: float) -> FakeAdmin:
        self.connects.append((address, timeout))
        step = self.steps.pop(0) if len(self.steps) > 1 else self.steps[0]
        if isinstance(step, Take):
            if step.seconds >= timeout:
                self.clock.advance(timeout)
                self.played.append(None)
                raise timed_out()
            self.clock.advance(step.seconds)
            step = step.then
        self.played.append(step if not isinstance(step, Take) else None)
        if isinstance(step, Fail):
            raise step.error
        if isinstance(step, Take):
            raise TypeError("a Take step cannot be followed by another Take")
        self.opened += 1
        return FakeAdmin(self, step)


class FakeAdmin:
    def __init__(self, script: Script, step: Hang | Reply) -> None:
        self.script = script
        self.step = step

    def _answer(self, method: str, args: tuple[Any, ...], timeout: float) -> Any:
        self.script.calls.append((method, args, timeout))
        if isinstance(self.step, Hang) or self.step.delay > timeout:
            self.script.clock.advance(timeout)
            self.script.played[-1] = None
            raise timed_out()
        self.script.clock.advance(self.step.delay)
        return self.step.value

    def grace(self, argument: str, *, timeout: float) -> tuple[bool, str]:
        answer: tuple[bool, str] = self._answer("grace", (argument,), timeout)
        return answer

    def get_grace(self, *, timeout: float) -> tuple[Any, ...]:
        answer: tuple[Any, ...] = self._answer("get_grace", (), timeout)
        return answer

    def close(self) -> None:
        self.script.closed += 1


def steady_backoff() -> Backoff:
    """The schedule without jitter: pauses of exactly 0.05, 0.1, 0.2 ... 1.0 s."""
    return Backoff(uniform=lambda: 0.0)


def make_daemon(
    clock: FakeClock,
    script: Script,
    *,
    timeout: float = 10.0,
    log: AgentLog | None = None,
    bus_address: str | None = ADDRESS,
    pid_files: Iterable[str | Path] = (),
    backoff: Backoff | None = None,
) -> GaneshaDaemon:
    """A daemon on the script; no pid file unless one is given (a live one: see the fixtures)."""
    return GaneshaDaemon(
        Deadline(clock, timeout),
        clock,
        pid_files=[str(path) for path in pid_files],
        log=log,
        bus_address=bus_address,
        connect=script,
        backoff=steady_backoff() if backoff is None else backoff,
    )


def captured_log() -> tuple[AgentLog, io.StringIO]:
    buffer = io.StringIO()
    return AgentLog(LogSettings("test", debug=True), stderr=buffer), buffer
