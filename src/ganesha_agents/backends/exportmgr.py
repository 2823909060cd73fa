"""ganesha's export manager on D-Bus (``org.ganesha.nfsd.exportmgr``), through ``dbus-send``.

The interface as nfs-ganesha 4.3 defines it (``src/support/export_mgr.c``),
on the object ``/org/ganesha/nfsd/ExportMgr`` of the bus name
``org.ganesha.nfsd``:

- ``AddExport(s path, s expr) -> s message``: ganesha parses the file at
  ``path`` itself and loads the blocks ``expr`` selects
  (``EXPORT(Export_Id=2)``); the message reads ``1 exports added``;
- ``UpdateExport(s path, s expr) -> s message``: the same for an export
  that exists (``1 exports updated``); ganesha refuses what cannot change
  live, a different ``Path`` for instance;
- ``RemoveExport(q id)``: no reply value;
- ``DisplayExport(q id)``: an export's details, or the error
  ``org.freedesktop.DBus.Error.InvalidArgs`` with ``lookup_export failed
  with Export id not found``; used here only to learn whether it exists.

A handler's refusal arrives as an error reply named by the handler (mostly
``org.freedesktop.DBus.Error.InvalidArgs`` or ``...InvalidFileContent``,
with ganesha's text), else named after the interface with the method as its
text.  Every call is one ``dbus-send`` process bounded by its timeout
(:func:`ganesha_agents.backends.dbussend.call`), on a bus only root could
have started (:mod:`ganesha_agents.backends.busaddress`).
"""

from __future__ import annotations

from typing import Protocol

from ganesha_agents.backends import dbussend

PATH = "/org/ganesha/nfsd/ExportMgr"
INTERFACE = "org.ganesha.nfsd.exportmgr"
NOT_FOUND = "Export id not found"


class ExportManager(Protocol):
    """What the export refresh needs of ganesha; each call raises on an error reply."""

    def exists(self, export_id: int, *, timeout: float) -> bool: ...

    def add(self, path: str, expression: str, *, timeout: float) -> str: ...

    def update(self, path: str, expression: str, *, timeout: float) -> str: ...

    def remove(self, export_id: int, *, timeout: float) -> None: ...


class DbusSendExportManager:
    """The export manager of the ganesha.nfsd on the bus at ``address``."""

    def __init__(self, address: str) -> None:
        self.address = address

    def _call(self, method: str, timeout: float, *arguments: str) -> list[object]:
        return dbussend.call(self.address, PATH, INTERFACE, method, timeout, *arguments)

    def exists(self, export_id: int, *, timeout: float) -> bool:
        try:
            self._call("DisplayExport", timeout, f"uint16:{export_id}")
        except dbussend.RemoteError as error:
            if NOT_FOUND in error.message:
                return False
            raise
        return True

    def add(self, path: str, expression: str, *, timeout: float) -> str:
        return _message(self._call("AddExport", timeout, f"string:{path}", f"string:{expression}"))

    def update(self, path: str, expression: str, *, timeout: float) -> str:
        values = self._call("UpdateExport", timeout, f"string:{path}", f"string:{expression}")
        return _message(values)

    def remove(self, export_id: int, *, timeout: float) -> None:
        self._call("RemoveExport", timeout, f"uint16:{export_id}")


def _message(values: list[object]) -> str:
    return str(values[0]) if values else ""


def system_manager() -> DbusSendExportManager:
    """The export manager on the system bus, once the bus is known to be root's alone."""
    from ganesha_agents.backends import busaddress
    from ganesha_agents.backends.dbus import system_bus_address

    path = busaddress.socket_path(system_bus_address())
    busaddress.check_socket(path)
    return DbusSendExportManager(f"unix:path={path}")
