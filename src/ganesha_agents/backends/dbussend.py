"""ganesha's admin object through ``dbus-send``: the transport of the agents' grace calls.

The takeover runs on the critical path of every move of a virtual IP: the
old holder's release, every other node's grace and the new holder's
takeover each start a fresh agent process, one after the other, before the
address comes up.  In such a process pydbus costs about 55 ms to import
(PyGObject loads GLib, GObject and Gio); ``dbus-send`` (Debian's dbus-bin,
installed wherever the system bus is) starts, calls and exits in about
3 ms.  So the agents call ganesha through ``dbus-send`` when it is
installed, and through pydbus (:mod:`ganesha_agents.backends.dbus`)
otherwise; both present the same :class:`~ganesha_agents.backends.dbus.AdminProxy`
and their failures are classified alike (an error reply is shaped as
``GLib.GError`` is, anything else is a
:class:`~ganesha_agents.backends.dbus.TransportFailure`), so the retries, budgets
and reasons of :mod:`~ganesha_agents.backends.ganesha` do not depend on the
transport.

``dbus-send --print-reply`` prints a reply's arguments one per line
(``boolean true``, ``string "Started grace period"``) and an error reply as
``Error <name>: <message>`` on stderr.  Each call is one process started
with ``posix_spawn`` (:mod:`ocfkit.spawn`), argv only, bounded by its
timeout; the bus address goes to it in its environment, nothing else does.
"""

from __future__ import annotations

import os

from ganesha_agents.backends.dbus import (
    BUS_NAME,
    INTERFACE,
    MIN_TIMEOUT,
    NO_BUS,
    OBJECT_PATH,
    OTHER,
    TIMEOUT,
    TransportFailure,
)
from ocfkit import spawn
from ocfkit.errors import NotInstalledError

PROGRAM = "dbus-send"
#: Reply arguments dbus-send prints before the ones this module reads are ignored.
_BOOLEANS = {"true": True, "false": False}


class RemoteError(Exception):
    """An error reply, shaped as ``GLib.GError`` is, so that ``classify`` reads it the same way."""

    domain = "dbus-send"
    code = 0

    def __init__(self, name: str, detail: str) -> None:
        self.message = f"GDBus.Error:{name}: {detail}"
        super().__init__(self.message)


def installed(path: str | None = None) -> bool:
    """Whether ``dbus-send`` can be found on ``PATH`` (a few ``stat`` calls)."""
    directories = (path if path is not None else os.environ.get("PATH", "")).split(os.pathsep)
    return any(os.access(os.path.join(d or ".", PROGRAM), os.X_OK) for d in directories)


def connect(address: str, timeout: float) -> DbusSendAdmin:
    """A ``Connector``: nothing to open, every call is its own process (``timeout`` unused)."""
    return DbusSendAdmin(address)


class DbusSendAdmin:
    """ganesha's admin object on the bus at ``address``; every call is one ``dbus-send``."""

    def __init__(self, address: str) -> None:
        self.address = address

    def grace(self, argument: str, *, timeout: float) -> tuple[bool, str]:
        values = self._call("grace", timeout, f"string:{argument}")
        if len(values) < 2 or not isinstance(values[0], bool):
            raise TransportFailure(OTHER, f"grace() replied {values!r}, not (status, message)")
        return values[0], str(values[1])

    def get_grace(self, *, timeout: float) -> tuple[object, ...]:
        return tuple(self._call("get_grace", timeout))

    def close(self) -> None:
        """Nothing stays open between calls."""

    def _call(self, method: str, timeout: float, *arguments: str) -> list[object]:
        return call(self.address, OBJECT_PATH, INTERFACE, method, timeout, *arguments)


def call(
    address: str, path: str, interface: str, method: str, timeout: float, *arguments: str
) -> list[object]:
    """One method call on ganesha's object ``path``, through ``dbus-send``; the reply's values.

    ``arguments`` are dbus-send's typed arguments (``string:...``, ``uint16:...``).
    """
    timeout = max(timeout, MIN_TIMEOUT)
    argv = [
        PROGRAM,
        "--system",
        "--print-reply",
        f"--reply-timeout={max(int(timeout * 1000), 1)}",
        f"--dest={BUS_NAME}",
        path,
        f"{interface}.{method}",
        *arguments,
    ]
    environ = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LC_ALL": "C"}
    environ["DBUS_SYSTEM_BUS_ADDRESS"] = address
    try:
        # --reply-timeout bounds the wait for the reply; this bounds the rest
        # (a bus daemon that accepts the connection and then says nothing).
        code, out, err = spawn.run_captured(argv, env=environ, timeout=timeout + 0.1)
    except spawn.Timeout as error:
        reason = f"no answer on the D-Bus system bus within {timeout:.3g}s (timeout)"
        raise TransportFailure(TIMEOUT, reason) from error
    except (FileNotFoundError, PermissionError) as error:
        raise NotInstalledError(f"cannot run {PROGRAM}: {error}") from error
    if code == 0:
        return parse_reply(out.decode("utf-8", errors="replace"))
    raise failure(err.decode("utf-8", errors="replace"), address, code)


def parse_reply(text: str) -> list[object]:
    """The arguments of a ``--print-reply`` output (booleans, strings, integers) as values."""
    values: list[object] = []
    for line in text.splitlines()[1:]:
        kind, _, rest = line.strip().partition(" ")
        if kind == "boolean" and rest in _BOOLEANS:
            values.append(_BOOLEANS[rest])
        elif kind == "string" and len(rest) >= 2 and rest[0] == rest[-1] == '"':
            values.append(rest[1:-1])
        elif kind in ("int32", "uint32", "int64", "uint64", "int16", "uint16", "byte"):
            try:
                values.append(int(rest))
            except ValueError:
                values.append(rest)
        elif kind:
            values.append(line.strip())
    return values


def failure(stderr: str, address: str, code: int) -> Exception:
    """What a failed ``dbus-send`` said, as an exception ``classify`` understands."""
    text = " ".join(stderr.split())
    if text.startswith("Error "):
        name, _, detail = text[len("Error ") :].partition(": ")
        return RemoteError(name, detail)
    if text.startswith("Failed to open connection"):
        # 'Failed to open connection to "system" message bus: <why>': the why is what matters.
        why = text.split(": ", 1)[-1]
        reason = f"cannot connect to the D-Bus system bus at {address}: {why}"
        return TransportFailure(NO_BUS, reason)
    shown = text[:300] or "no message"
    return TransportFailure(OTHER, f"dbus-send exited {code}: {shown}")
