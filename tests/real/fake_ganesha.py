"""A stand-in for ganesha.nfsd's admin object on a private D-Bus bus.

The real daemon refuses only in ways that are hard to provoke on demand, and
a hung or absent daemon is slow to set up; this service answers
``org.ganesha.nfsd.admin.grace(s)`` and ``get_grace()`` in one chosen way,
so the grace client can be timed against each of them over a real bus:

- ``ok``: ``(true, "Started grace period")``, and ``get_grace`` then says
  in grace, as ganesha 4.3 does;
- ``error``: a D-Bus error reply named ``org.ganesha.nfsd.admin`` with the
  text ``grace``, which is how ganesha 4.3 sends a refusal (its dispatcher
  turns a handler's false into an error named after the interface and
  method);
- ``false``: a ``(false, message)`` reply, as a handler's own refusal reads;
- ``hang``: never replies;
- ``graceless``: grace answers as ``ok`` but ``get_grace`` says not in grace
  (a server configured ``Graceless = true`` lifts grace at once).

"Absent" is simply no service on the bus.  Every call is written, one line
each, to a file the test reads: the count of attempts as the server saw them.

:class:`PrivateBus` runs a ``dbus-daemon`` of its own (no root needed: a
configuration file with its own socket and an open policy).  Run this file as
a program to serve: ``python fake_ganesha.py ADDRESS MODE CALL_LOG``.
"""

from __future__ import annotations

import os
import select
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

BUS_NAME = "org.ganesha.nfsd"
OBJECT_PATH = "/org/ganesha/nfsd/admin"
INTERFACE = "org.ganesha.nfsd.admin"
MODES = ("ok", "error", "false", "hang", "graceless")
EXPORTMGR_PATH = "/org/ganesha/nfsd/ExportMgr"
EXPORTMGR_INTERFACE = "org.ganesha.nfsd.exportmgr"
#: ganesha 4.3's export manager, the methods the refresh uses (src/support/export_mgr.c).
EXPORTMGR_INTROSPECTION = f"""
<node>
  <interface name="{EXPORTMGR_INTERFACE}">
    <method name="AddExport">
      <arg name="path" direction="in" type="s"/>
      <arg name="expr" direction="in" type="s"/>
      <arg name="message" direction="out" type="s"/>
    </method>
    <method name="UpdateExport">
      <arg name="path" direction="in" type="s"/>
      <arg name="expr" direction="in" type="s"/>
      <arg name="message" direction="out" type="s"/>
    </method>
    <method name="RemoveExport">
      <arg name="id" direction="in" type="q"/>
    </method>
    <method name="DisplayExport">
      <arg name="id" direction="in" type="q"/>
      <arg name="id" direction="out" type="q"/>
      <arg name="fullpath" direction="out" type="s"/>
      <arg name="pseudopath" direction="out" type="s"/>
      <arg name="tag" direction="out" type="s"/>
    </method>
  </interface>
</node>
"""
#: Export ids the fake's export manager starts with; an id of 99 in an expression is refused.
INITIAL_EXPORTS = (1, 2)
REFUSED_EXPORT = 99

INTROSPECTION = f"""
<node>
  <interface name="{INTERFACE}">
    <method name="grace">
      <arg name="ipaddr" direction="in" type="s"/>
      <arg name="status" direction="out" type="b"/>
      <arg name="error" direction="out" type="s"/>
    </method>
    <method name="get_grace">
      <arg name="isgrace" direction="out" type="b"/>
      <arg name="status" direction="out" type="b"/>
      <arg name="error" direction="out" type="s"/>
    </method>
  </interface>
</node>
"""

BUS_CONFIG = """<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <listen>unix:path={socket}</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
    <allow own="*"/>
  </policy>
</busconfig>
"""

START_TIMEOUT = 10.0


class FakeGaneshaError(RuntimeError):
    """The bus or the service did not come up; the message says what was seen."""


class PrivateBus:
    """A dbus-daemon of this test's own, listening on a socket in ``directory``."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.process: subprocess.Popen[str] | None = None

    @property
    def socket(self) -> Path:
        return self.directory / "bus"

    @property
    def address(self) -> str:
        return f"unix:path={self.socket}"

    def start(self) -> None:
        config = self.directory / "bus.conf"
        config.write_text(BUS_CONFIG.format(socket=self.socket))
        with open(self.directory / "bus.log", "w") as log:  # its warnings, out of the way
            self.process = subprocess.Popen(
                ["dbus-daemon", f"--config-file={config}", "--nofork"],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=log,
                text=True,
            )
        _wait(self.socket.exists, "the private bus's socket")

    def stop(self) -> None:
        process, self.process = self.process, None
        _end(process)
        self.socket.unlink(missing_ok=True)


class FakeGanesha:
    """The service, answering in one ``mode`` on ``bus``; its calls are logged to a file."""

    def __init__(self, bus: PrivateBus, mode: str) -> None:
        if mode not in MODES:
            raise ValueError(f"mode {mode!r} is not one of {MODES}")
        self.bus = bus
        self.mode = mode
        self.call_log = bus.directory / f"calls-{mode}"
        self.process: subprocess.Popen[str] | None = None

    def start(self) -> None:
        self.call_log.write_text("")
        self.process = subprocess.Popen(
            [sys.executable, __file__, self.bus.address, self.mode, str(self.call_log)],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            text=True,
            env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"},
        )
        line = _first_line(self.process, START_TIMEOUT)
        if line != "ready":
            _end(self.process)
            raise FakeGaneshaError(f"the fake ganesha ({self.mode}) did not start: {line!r}")

    def calls(self) -> list[str]:
        """The calls the service received, in order (``grace ARG`` or ``get_grace``)."""
        return self.call_log.read_text().splitlines()

    def stop(self) -> None:
        process, self.process = self.process, None
        _end(process)


def _wait(condition: Any, what: str) -> None:
    end = time.monotonic() + START_TIMEOUT
    while not condition():
        if time.monotonic() > end:
            raise FakeGaneshaError(f"gave up waiting for {what} after {START_TIMEOUT:g}s")
        time.sleep(0.01)


def _first_line(process: subprocess.Popen[str], timeout: float) -> str:
    """The first line the process prints, or "" when none comes within ``timeout``."""
    assert process.stdout is not None
    ready, _, _ = select.select([process.stdout], [], [], timeout)
    return process.stdout.readline().strip() if ready else ""


def _end(process: subprocess.Popen[str] | None) -> None:
    """Stop a process this module started, by its own handle."""
    if process is None:
        return
    if process.poll() is None:
        process.kill()
    process.wait(timeout=10)
    if process.stdout is not None:
        process.stdout.close()


# The service itself, run as a program.


def serve(address: str, mode: str, call_log: str) -> None:
    from gi.repository import Gio, GLib

    connection = Gio.DBusConnection.new_for_address_sync(
        address,
        Gio.DBusConnectionFlags.AUTHENTICATION_CLIENT
        | Gio.DBusConnectionFlags.MESSAGE_BUS_CONNECTION,
        None,
        None,
    )
    state = {"in_grace": False}
    unanswered: list[Any] = []  # kept, so that no reply is ever sent for them
    log = open(call_log, "a", buffering=1)  # noqa: SIM115 (open for the service's life)

    def on_call(
        _connection: Any,
        _sender: str,
        _path: str,
        _interface: str,
        method: str,
        parameters: Any,
        invocation: Any,
    ) -> None:
        arguments = parameters.unpack()
        log.write(" ".join([method, *map(str, arguments)]) + "\n")
        if mode == "hang":
            unanswered.append(invocation)
        elif mode == "error":
            invocation.return_dbus_error(INTERFACE, method)
        elif method == "grace":
            if mode == "false":
                invocation.return_value(GLib.Variant("(bs)", (False, "Unable to start grace")))
            else:
                state["in_grace"] = mode == "ok"
                invocation.return_value(GLib.Variant("(bs)", (True, "Started grace period")))
        elif mode == "false":
            invocation.return_value(GLib.Variant("(bbs)", (False, False, "get grace failed")))
        else:
            reply = (state["in_grace"], True, "get grace success")
            invocation.return_value(GLib.Variant("(bbs)", reply))

    info = Gio.DBusNodeInfo.new_for_xml(INTROSPECTION)
    connection.register_object(OBJECT_PATH, info.interfaces[0], on_call, None, None)
    exports = set(INITIAL_EXPORTS)

    def on_export_call(
        _connection: Any,
        _sender: str,
        _path: str,
        _interface: str,
        method: str,
        parameters: Any,
        invocation: Any,
    ) -> None:
        """What ganesha 4.3 answers, for export ids given as EXPORT(Export_Id=N)."""
        arguments = parameters.unpack()
        log.write(" ".join([method, *map(str, arguments)]) + "\n")
        invalid_args = "org.freedesktop.DBus.Error.InvalidArgs"
        invalid_content = "org.freedesktop.DBus.Error.InvalidFileContent"
        if method in ("DisplayExport", "RemoveExport"):
            number = arguments[0]
            if number not in exports:
                message = "lookup_export failed with Export id not found"
                invocation.return_dbus_error(invalid_args, message)
            elif method == "RemoveExport":
                exports.discard(number)
                invocation.return_value(None)
            else:
                reply = (number, "/srv/x", "/x", "")
                invocation.return_value(GLib.Variant("(qsss)", reply))
            return
        path, expression = arguments
        number = int(expression.rsplit("=", 1)[1].rstrip(")"))
        if number == REFUSED_EXPORT:
            message = f"0 export entries in {path} added because (invalid param value) errors"
            invocation.return_dbus_error(invalid_content, message)
        elif method == "AddExport" and number in exports:
            message = f"Selected entries in {path} already active!!!"
            invocation.return_dbus_error(invalid_content, message)
        elif method == "UpdateExport" and number not in exports:
            invocation.return_dbus_error(invalid_content, f"No new export entries found in {path}")
        else:
            exports.add(number)
            verb = "added" if method == "AddExport" else "updated"
            invocation.return_value(GLib.Variant("(s)", (f"1 exports {verb}",)))

    export_info = Gio.DBusNodeInfo.new_for_xml(EXPORTMGR_INTROSPECTION)
    connection.register_object(
        EXPORTMGR_PATH, export_info.interfaces[0], on_export_call, None, None
    )
    owned = connection.call_sync(
        "org.freedesktop.DBus",
        "/org/freedesktop/DBus",
        "org.freedesktop.DBus",
        "RequestName",
        GLib.Variant("(su)", (BUS_NAME, 4)),  # DBUS_NAME_FLAG_DO_NOT_QUEUE
        GLib.VariantType("(u)"),
        Gio.DBusCallFlags.NONE,
        5000,
        None,
    ).unpack()[0]
    if owned != 1:  # DBUS_REQUEST_NAME_REPLY_PRIMARY_OWNER
        print(f"could not own {BUS_NAME}: {owned}", flush=True)
        raise SystemExit(1)
    print("ready", flush=True)
    GLib.MainLoop().run()


if __name__ == "__main__":
    serve(*sys.argv[1:4])
