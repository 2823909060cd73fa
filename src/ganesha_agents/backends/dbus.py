"""ganesha's admin object on D-Bus, through pydbus, and what its failures mean.

Only the grace path needs this, so pydbus and PyGObject (about 30 ms to
import) are imported by :func:`connect`, never at module level.

Three things pydbus does not do for us:

- Its ``connect()`` has no timeout, and a hung bus daemon blocks it.  The
  connection is opened here with a ``Gio.Cancellable`` that a timer cancels.
- ``SystemBus()`` returns GLib's shared connection, cached for the life of
  the process and set to exit the process when the bus goes away.  Each call
  here gets a private connection instead, closed afterwards.
- Method calls take ``timeout=`` in seconds (turned into milliseconds for
  ``call_sync``; without it the call may wait for ever).  Zero means "time
  out at once", so timeouts are kept above a millisecond.

Failures arrive as ``GLib.GError`` with ``domain``, ``code`` and
``message``; errors from the bus or from ganesha read
``GDBus.Error:<D-Bus error name>: <text>``.  :func:`classify` turns them
into a kind, a readable reason and whether trying again can help.

An error reply whose name is not one of the bus's own
(``org.freedesktop.DBus.Error.*``) can only come from the called daemon: it
is ganesha refusing.  ganesha 4.3 refuses that way: when a method handler
fails, its dispatcher replaces the reply with an error named after the
interface, whose text is the method (``org.ganesha.nfsd.admin: grace``).
"""

from __future__ import annotations

import os
import time

from ocfkit._record import Record
from ocfkit.errors import NotInstalledError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Mapping
    from typing import Any, Protocol

    class AdminProxy(Protocol):
        """ganesha's ``org.ganesha.nfsd.admin`` interface, as the daemon backend uses it."""

        def grace(self, argument: str, *, timeout: float) -> tuple[bool, str]: ...

        def get_grace(self, *, timeout: float) -> tuple[Any, ...]: ...

        def close(self) -> None: ...

    Connector = Callable[[str, float], AdminProxy]
    """Opens the admin object on the bus at an address, within a timeout in seconds."""

BUS_NAME = "org.ganesha.nfsd"
OBJECT_PATH = "/org/ganesha/nfsd/admin"
INTERFACE = "org.ganesha.nfsd.admin"
SYSTEM_BUS_ADDRESS = "unix:path=/var/run/dbus/system_bus_socket"

MIN_TIMEOUT = 0.001

# What a failure means for the caller.
NOT_ON_BUS = "not-on-bus"
NO_BUS = "no-bus"
TIMEOUT = "timeout"
ACCESS_DENIED = "access-denied"
BAD_ADDRESS = "bad-address"
BAD_CALL = "bad-call"
NO_INTERFACE = "no-interface"
REFUSED = "refused"
BAD_REPLY = "bad-reply"
OTHER = "other"

_REMOTE_PREFIX = "GDBus.Error:"
_DBUS_ERROR = "org.freedesktop.DBus.Error."
_IO_DOMAIN = "g-io-error-quark"
# GIOErrorEnum values met on this path.
_IO_INVALID_ARGUMENT = 13
_IO_CLOSED = 18
_IO_CANCELLED = 19
_IO_TIMED_OUT = 24

_REMOTE_KINDS = {
    "ServiceUnknown": NOT_ON_BUS,
    "NameHasNoOwner": NOT_ON_BUS,
    "NoReply": TIMEOUT,
    "Timeout": TIMEOUT,
    "TimedOut": TIMEOUT,
    "AccessDenied": ACCESS_DENIED,
    "AuthFailed": ACCESS_DENIED,
    "InvalidArgs": BAD_CALL,
    "UnknownMethod": NO_INTERFACE,
    "UnknownObject": NO_INTERFACE,
    "UnknownInterface": NO_INTERFACE,
    # Generic failures that only the called daemon sends for a call routed to it.
    "Failed": REFUSED,
    "NotSupported": REFUSED,
}

FINAL_KINDS = frozenset({ACCESS_DENIED, BAD_ADDRESS, BAD_CALL, BAD_REPLY})
"""Failures that another attempt cannot cure: the first one ends the call.

ganesha restarting (not on the bus, or gone mid-call), the bus restarting
(cannot connect), a blocked grace call (timeout) and a daemon still
registering its objects (no interface) all pass with time, and are retried
within the call's budget.  A refusal (:data:`REFUSED`) may pass (ganesha
refuses a grace call it cannot start yet), but a daemon that keeps refusing
will not change its mind: it is retried only a few times.
"""

ABSENT_KINDS = frozenset({NOT_ON_BUS, NO_BUS})
"""Failures that say ganesha is not on the bus: whether it runs at all decides what follows."""


class TransportFailure(Exception):
    """A failed call whose meaning the transport knows (``kind``, as for :class:`Failure`)."""

    def __init__(self, kind: str, reason: str) -> None:
        super().__init__(reason)
        self.kind = kind
        self.reason = reason


class Failure(Record):
    """One failed attempt: what kind, a reason for a human, and whether to try again."""

    __slots__ = ("kind", "reason")

    def __init__(self, kind: str, reason: str) -> None:
        self.kind = kind
        self.reason = reason

    @property
    def final(self) -> bool:
        return self.kind in FINAL_KINDS


def system_bus_address(environ: Mapping[str, str] | None = None) -> str:
    """The system bus, found the way libdbus and GLib find it."""
    env = os.environ if environ is None else environ
    return env.get("DBUS_SYSTEM_BUS_ADDRESS") or SYSTEM_BUS_ADDRESS


def classify(error: BaseException, address: str, timeout: float | None = None) -> Failure | None:
    """What a failed connect or call means; ``None`` for exceptions that are not D-Bus failures.

    Works on anything shaped like ``GLib.GError`` (``message``, ``domain``,
    ``code``), so the retry logic can be tested without GLib.
    """
    if isinstance(error, TransportFailure):
        return Failure(error.kind, error.reason)
    if isinstance(error, KeyError):
        # pydbus: the object exists but does not (yet) export the interface.
        return Failure(NO_INTERFACE, f"ganesha does not export {INTERFACE} at {OBJECT_PATH}")
    message = getattr(error, "message", None)
    domain = getattr(error, "domain", None)
    code = getattr(error, "code", None)
    if not isinstance(message, str) or not isinstance(domain, str):
        return None
    text = " ".join(message.split())
    if text.startswith(_REMOTE_PREFIX):
        name, _, detail = text[len(_REMOTE_PREFIX) :].partition(": ")
        short = name.removeprefix(_DBUS_ERROR)
        # Only the called daemon names its errors outside the bus's own namespace.
        kind = _REMOTE_KINDS.get(short, OTHER) if name.startswith(_DBUS_ERROR) else REFUSED
        return Failure(kind, _remote_reason(kind, short, detail))
    if domain == _IO_DOMAIN:
        waited = f" within {timeout:.3g}s" if timeout is not None else ""
        if code in (_IO_TIMED_OUT, _IO_CANCELLED):
            return Failure(TIMEOUT, f"no answer on the D-Bus system bus{waited} (timeout)")
        if text.startswith("Could not connect"):
            return Failure(NO_BUS, f"cannot connect to the D-Bus system bus at {address}: {text}")
        if code == _IO_CLOSED:
            return Failure(NO_BUS, f"the D-Bus system bus at {address} closed the connection")
        if code == _IO_INVALID_ARGUMENT:
            return Failure(BAD_ADDRESS, f"bad D-Bus address {address!r}: {text}")
    return Failure(OTHER, f"D-Bus error ({domain} {code}): {text}")


def _remote_reason(kind: str, name: str, detail: str) -> str:
    shown = f"{name}: {detail[:200]}" if detail else name
    if kind == NOT_ON_BUS:
        return f"ganesha.nfsd is not on the D-Bus system bus ({name})"
    if kind == TIMEOUT:
        return f"ganesha.nfsd did not reply in time (timeout): {shown}"
    if kind == ACCESS_DENIED:
        return f"the D-Bus policy denies the call to ganesha.nfsd (only root may call it): {shown}"
    if kind == NO_INTERFACE:
        return f"ganesha.nfsd does not offer {INTERFACE} ({shown})"
    if kind == BAD_CALL:
        return f"ganesha.nfsd rejected the call's arguments ({shown})"
    if kind == REFUSED:
        return f"ganesha.nfsd refused the call with the D-Bus error {shown}"
    return f"D-Bus error {shown}"


class PydbusAdmin:
    """The admin object of one ganesha, over a private connection to its bus."""

    def __init__(self, connection: Any, proxy: Any) -> None:
        self._connection = connection
        self._proxy = proxy

    def grace(self, argument: str, *, timeout: float) -> tuple[bool, str]:
        status, message = self._proxy.grace(argument, timeout=max(timeout, MIN_TIMEOUT))
        return bool(status), str(message)

    def get_grace(self, *, timeout: float) -> tuple[Any, ...]:
        return tuple(self._proxy.get_grace(timeout=max(timeout, MIN_TIMEOUT)))

    def close(self) -> None:
        _close(self._connection)


def connect(address: str, timeout: float) -> PydbusAdmin:
    """Open ganesha's admin object on the bus at ``address``, all within ``timeout`` seconds.

    Raises :class:`NotInstalledError` without pydbus or PyGObject, and
    ``GLib.GError`` (see :func:`classify`) when the bus or ganesha fails.
    """
    try:
        import pydbus  # noqa: F401  # gives Gio.DBusConnection its .pydbus wrapper
        from gi.repository import Gio
    except ImportError as error:
        raise NotInstalledError(
            f"the D-Bus grace call needs pydbus and PyGObject: {error}"
        ) from error
    import threading

    end = time.monotonic() + timeout
    cancellable = Gio.Cancellable()
    timer = threading.Timer(max(timeout, MIN_TIMEOUT), cancellable.cancel)
    timer.daemon = True
    timer.start()
    try:
        connection = Gio.DBusConnection.new_for_address_sync(
            address,
            Gio.DBusConnectionFlags.AUTHENTICATION_CLIENT
            | Gio.DBusConnectionFlags.MESSAGE_BUS_CONNECTION,
            None,
            cancellable,
        )
    finally:
        timer.cancel()
    try:
        left = max(end - time.monotonic(), MIN_TIMEOUT)
        proxy = connection.pydbus.get(BUS_NAME, OBJECT_PATH, timeout=left)[INTERFACE]
    except BaseException:
        _close(connection)
        raise
    return PydbusAdmin(connection, proxy)


def _close(connection: Any) -> None:
    """Close quietly: the call's outcome is already decided, a failing close adds nothing."""
    from contextlib import suppress

    with suppress(Exception):  # a GLib.GError when the bus went away already
        connection.close_sync(None)
