"""A node's optional services: a private system bus and a real ganesha.nfsd.

Each node needs a bus of its own: a second ganesha on a shared bus starts
but silently has no D-Bus name.  ``dbus-daemon --system`` listens on
/run/dbus/system_bus_socket, and the node's /run/dbus is a directory of the
lab's, so the host reaches each node's bus with
``DBUS_SYSTEM_BUS_ADDRESS=unix:path=<node dir>/dbus/system_bus_socket``.
The bus runs with the lab's own configuration (:func:`ocfkit.lab.render.bus_config`):
only root may connect, and only root may own or call ganesha; the node's
``dbus`` directory is root's, mode 0700, so no other user on the host even
reaches the socket.
"""

from __future__ import annotations

from pathlib import Path

from ocfkit.lab import processes
from ocfkit.lab.commands import run

DEST = "org.ganesha.nfsd"
ADMIN_PATH = "/org/ganesha/nfsd/admin"
ADMIN_INTERFACE = "org.ganesha.nfsd.admin"
PID_FILE = "/run/ganesha/ganesha.pid"
PROGRAM = "ganesha.nfsd"


def bus_address(socket: Path) -> str:
    return f"unix:path={socket}"


def dbus_argv(config: Path) -> list[str]:
    # --nofork: the pid the lab records is the daemon's; no pid file to go stale.
    return ["dbus-daemon", f"--config-file={config}", "--nofork", "--nopidfile", "--nosyslog"]


def ganesha_argv(conf: Path, log: Path) -> list[str]:
    # -F: stays in the foreground, so the recorded pid is the daemon's.
    return [PROGRAM, "-F", "-f", str(conf), "-L", str(log), "-p", PID_FILE, "-N", "NIV_EVENT"]


def admin_call(socket: Path, method: str, *args: str, timeout: float = 5.0) -> list[str] | None:
    """Call ``org.ganesha.nfsd.admin.<method>`` on a node's bus from the host.

    Returns the reply's values as ``dbus-send`` prints them (``"boolean true"``,
    ``'string "..."'``), or None when there is no bus or no ganesha on it.
    """
    argv = [
        "dbus-send", "--system", "--print-reply", f"--reply-timeout={int(timeout * 1000)}",
        f"--dest={DEST}", ADMIN_PATH, f"{ADMIN_INTERFACE}.{method}",
        *(f"string:{a}" for a in args),
    ]  # fmt: skip
    if not socket.exists():
        return None
    done = run(
        argv,
        timeout=timeout + 2,
        check=False,
        env={"PATH": "/usr/bin:/bin", "DBUS_SYSTEM_BUS_ADDRESS": bus_address(socket)},
    )
    if done.returncode != 0:
        return None
    return [line.strip() for line in done.stdout.splitlines()[1:] if line.strip()]


def in_grace(socket: Path) -> bool | None:
    """ganesha's own answer to get_grace, or None when it does not answer."""
    reply = admin_call(socket, "get_grace")
    if not reply:
        return None
    return reply[0] == "boolean true"


def daemons(netns_inode: int) -> list[processes.ProcessId]:
    """The ganesha.nfsd processes in a node, whoever started them (the lab or an agent)."""
    return [
        p
        for p in processes.in_namespaces([netns_inode])
        if processes.command_name(p.pid) == PROGRAM
    ]
