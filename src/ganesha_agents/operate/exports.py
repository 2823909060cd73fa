"""Refreshing ganesha's exports from a file, without a restart (ganesha-ha.sh --refresh-config).

GlusterFS 3.7's ganesha-ha.sh copied a volume's export file to every node
and called ``UpdateExport`` with ``EXPORT(Export_Id=N)`` on each over
D-Bus.  Here, on the node it runs on: every ``EXPORT`` block of the file,
by its ``Export_Id``, is updated when ganesha has that export and added
when it has not; ``--remove`` ids are removed.  ganesha reads the file
itself, so the path given to it is absolute.  Each export gets its own
result; a failure of one does not stop the others (each call changes one
export, whole or not at all, on ganesha's side).

Only the file's own ``EXPORT`` blocks are read here, for their ids:
``%include`` is not followed, and comments (``#`` to the end of the line)
are skipped.
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence

import attrs

from ganesha_agents.backends.dbus import TransportFailure, classify
from ganesha_agents.backends.dbussend import RemoteError
from ganesha_agents.backends.exportmgr import INTERFACE, ExportManager

CALL_TIMEOUT = 10.0
_BLOCK = re.compile(r"\bEXPORT\s*\{", re.IGNORECASE)
_EXPORT_ID = re.compile(r"\bExport_Id\s*=\s*(\d+)\s*;", re.IGNORECASE)
MAX_EXPORT_ID = 65535
#: What one call may fail with and still let the others be tried.
CALL_FAILURES = (RemoteError, TransportFailure)


class ExportsError(Exception):
    """The file cannot be used; nothing was asked of ganesha."""


@attrs.frozen
class Outcome:
    """What happened to one export."""

    export_id: int
    action: str  # "updated", "added", "removed"
    ok: bool
    message: str


def export_ids(text: str) -> list[int]:
    """The ``Export_Id`` of every top-level ``EXPORT`` block, in file order."""
    plain = "\n".join(line.split("#", 1)[0] for line in text.splitlines())
    found = []
    for match in _BLOCK.finditer(plain):
        depth, at = 1, match.end()
        start = at
        while at < len(plain) and depth:
            depth += {"{": 1, "}": -1}.get(plain[at], 0)
            at += 1
        if depth:
            raise ExportsError(f"the EXPORT block at offset {match.start()} is not closed")
        block = plain[start : at - 1]
        # Only the block's own Export_Id, not one of a nested block.
        own = _outside_nested(block)
        ids = _EXPORT_ID.findall(own)
        if len(ids) != 1:
            raise ExportsError(f"an EXPORT block has {len(ids)} Export_Id settings, not one")
        value = int(ids[0])
        if not 1 <= value <= MAX_EXPORT_ID:
            raise ExportsError(f"Export_Id {value} is out of range (1-{MAX_EXPORT_ID})")
        if value in found:
            raise ExportsError(f"Export_Id {value} is used twice")
        found.append(value)
    return found


def _outside_nested(block: str) -> str:
    kept, depth = [], 0
    for char in block:
        if char == "{":
            depth += 1
        elif char == "}":
            depth -= 1
        elif depth == 0:
            kept.append(char)
    return "".join(kept)


def read_ids(path: str) -> tuple[str, list[int]]:
    """The file's absolute path and its export ids."""
    absolute = os.path.abspath(path)
    try:
        with open(absolute, encoding="utf-8") as stream:
            text = stream.read()
    except (OSError, UnicodeDecodeError) as error:
        raise ExportsError(f"cannot read {absolute}: {error}") from None
    ids = export_ids(text)
    if not ids:
        raise ExportsError(f"{absolute} has no EXPORT block with an Export_Id")
    return absolute, ids


def refresh(
    manager: ExportManager,
    path: str,
    ids: Sequence[int],
    remove: Sequence[int] = (),
    timeout: float = CALL_TIMEOUT,
) -> list[Outcome]:
    """Update or add each export of ``path``; remove ``remove``; one outcome each.

    A missing ``dbus-send`` (:class:`~ocfkit.errors.NotInstalledError`) is
    raised: nothing can be asked then.
    """
    outcomes = []
    for export_id in ids:
        expression = f"EXPORT(Export_Id={export_id})"
        action = "updated"
        try:
            if manager.exists(export_id, timeout=timeout):
                message = manager.update(path, expression, timeout=timeout)
            else:
                action = "added"
                message = manager.add(path, expression, timeout=timeout)
        except CALL_FAILURES as error:
            outcomes.append(Outcome(export_id, action, False, reason(error)))
            continue
        outcomes.append(Outcome(export_id, action, True, message))
    for export_id in remove:
        try:
            manager.remove(export_id, timeout=timeout)
        except CALL_FAILURES as error:
            outcomes.append(Outcome(export_id, "removed", False, reason(error)))
            continue
        outcomes.append(Outcome(export_id, "removed", True, ""))
    return outcomes


def reason(error: Exception) -> str:
    """A failed call, said as the agents say D-Bus failures (ganesha's own text kept)."""
    if isinstance(error, RemoteError):
        # ganesha's own text names the export, the file and the line: keep all of it.
        text = error.message.removeprefix("GDBus.Error:")
        if text.startswith(
            (
                "org.freedesktop.DBus.Error.InvalidArgs",
                "org.freedesktop.DBus.Error.InvalidFileContent",
                INTERFACE,
            )
        ):
            return f"ganesha refused: {text.removeprefix('org.freedesktop.DBus.Error.')}"
    failure = classify(error, "the system bus")
    return failure.reason if failure is not None else f"{type(error).__name__}: {error}"
