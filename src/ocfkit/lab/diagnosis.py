"""What a failed lab test prints: the end of every log a node writes.

A cluster that does not converge says why in corosync.log and
pacemaker.log, seldom in the exception; these helpers gather the tails so
that the failure message is enough to diagnose it.
"""

from __future__ import annotations

import os
from pathlib import Path

from ocfkit.lab.layout import Layout

#: Pacemaker's lines run to a few hundred characters.
_BYTES_PER_LINE = 400

# In the order a node's start goes through them.
_NODE_LOGS = (
    "holder.out",
    "dbus.out",
    "ganesha.out",
    "ganesha.log",
    "corosync.out",
    "corosync.log",
    "pacemakerd.out",
    "log-pacemaker/pacemaker.log",
)


def tail(path: Path, lines: int = 40) -> str:
    """The last ``lines`` lines of a file ("" when it does not exist)."""
    try:
        with path.open("rb") as stream:
            size = stream.seek(0, os.SEEK_END)
            stream.seek(max(0, size - _BYTES_PER_LINE * lines))
            text = stream.read().decode("utf-8", "replace")
    except FileNotFoundError:
        return ""
    return "\n".join(text.splitlines()[-lines:])


def node_logs(layout: Layout, node: str, lines: int = 40) -> str:
    home = layout.node_dir(node)
    parts = []
    for name in _NODE_LOGS:
        text = tail(home / name, lines)
        if text.strip():
            parts.append(f"----- {node}: {name} (last {lines} lines)\n{text}")
    return "\n".join(parts) or f"----- {node}: no logs"
