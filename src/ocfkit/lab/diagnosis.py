"""What a failed lab test prints: the end of every log a node writes.

A cluster that does not converge says why in corosync.log and
pacemaker.log, seldom in the exception; these helpers gather the tails so
that the failure message is enough to diagnose it.
"""

from __future__ import annotations

import os
import stat
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
    """The last ``lines`` lines of a file ("" when it does not exist).

    Some logs lie in directories hacluster writes (``log-pacemaker``): a
    symbolic link or anything but a regular file there is named, not read,
    so a failure report never prints a file of root's it was pointed to.
    """
    flags = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC | os.O_NOCTTY
    try:
        fd = os.open(path, flags)
    except FileNotFoundError:
        return ""
    except OSError as error:
        return f"({path}: not read: {error.strerror})"
    with os.fdopen(fd, "rb") as stream:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            return f"({path}: not a regular file, not read)"
        size = stream.seek(0, os.SEEK_END)
        stream.seek(max(0, size - _BYTES_PER_LINE * lines))
        text = stream.read().decode("utf-8", "replace")
    return "\n".join(text.splitlines()[-lines:])


def node_logs(layout: Layout, node: str, lines: int = 40) -> str:
    home = layout.node_dir(node)
    parts = []
    for name in _NODE_LOGS:
        text = tail(home / name, lines)
        if text.strip():
            parts.append(f"----- {node}: {name} (last {lines} lines)\n{text}")
    return "\n".join(parts) or f"----- {node}: no logs"
