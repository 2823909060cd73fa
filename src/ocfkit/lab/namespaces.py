"""Each node's namespaces: what its holder mounts, starting it, and entering it.

A node sees the host's file system except for:

- /run and /dev/shm: private tmpfs (libqb's shared memory, Pacemaker's
  /run/crm, the resource agents' HA_RSCTMP, the system bus socket);
- /var/lib/pacemaker, /var/lib/corosync, /var/log/pacemaker, /etc/corosync:
  the node's own directories under the lab's working directory;
- /usr/lib/ocf/resource.d: the node's own directory of symlinks (the host's
  providers, seen again through a bind mount under /run, and the lab's
  shims), so agents under test are installed without touching the host;
- /usr/sbin: with fencing, a read-only overlay that adds the lab's fence
  agent, because pacemaker-fenced only looks for ``fence_*`` there;
- with ganesha, /run/dbus and /run/ganesha are the node's directories, so the
  host reaches the node's private system bus through a socket in the node's
  directory.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import ocfkit
from ocfkit.lab.commands import DAEMON_ENV, spawn
from ocfkit.lab.errors import LabTimeout
from ocfkit.lab.layout import HOST_RESOURCE_D, OCF_RESOURCE_D, RSCTMP, Layout

Step = dict[str, Any]


def _bind(source: Path | str, target: str) -> Step:
    return {"op": "bind", "source": str(source), "target": target}


def _mkdir(path: str, mode: str, owner: str = "", group: str = "") -> Step:
    return {"op": "mkdir", "path": path, "mode": mode, "owner": owner, "group": group}


def plan(layout: Layout, node: str, *, fencing: bool, ganesha: bool) -> list[Step]:
    """The holder's steps, in order (later mounts may sit on earlier ones)."""
    home = layout.node_dir(node)
    steps: list[Step] = [
        {"op": "hostname", "name": node},
        {"op": "tmpfs", "target": "/run", "mode": "0755"},
        _mkdir("/run/crm", "0750", "hacluster", "haclient"),
        _mkdir(RSCTMP, "0755"),
        _mkdir("/run/lock", "1777"),
        _mkdir(HOST_RESOURCE_D, "0755"),
        {"op": "tmpfs", "target": "/dev/shm", "mode": "1777"},  # noqa: S108
        _bind(home / "lib-pacemaker", "/var/lib/pacemaker"),
        _bind(home / "lib-corosync", "/var/lib/corosync"),
        _bind(home / "log-pacemaker", "/var/log/pacemaker"),
        _bind(home / "etc-corosync", "/etc/corosync"),
        _bind(OCF_RESOURCE_D, HOST_RESOURCE_D),
        _bind(layout.resource_d(node), OCF_RESOURCE_D),
    ]
    if fencing:
        steps.append(
            {"op": "overlay", "lower": [str(layout.fence_bin), "/usr/sbin"], "target": "/usr/sbin"}
        )
    if ganesha:
        steps += [
            _mkdir("/run/dbus", "0755"),
            _mkdir("/run/ganesha", "0755"),
            _bind(home / "dbus", "/run/dbus"),
            _bind(home / "ganesha-run", "/run/ganesha"),
        ]
    return steps


def _python_path() -> str:
    """Where the ``ocfkit`` package is imported from (the holder runs with -S)."""
    return str(Path(ocfkit.__file__).resolve().parents[1])


def start_holder(layout: Layout, node: str, steps: list[Step]) -> subprocess.Popen[bytes]:
    home = layout.node_dir(node)
    plan_file = home / "holder.json"
    plan_file.write_text(
        json.dumps({"ready": str(home / "holder.ready"), "steps": steps}, indent=1),
        encoding="utf-8",
    )
    (home / "holder.ready").unlink(missing_ok=True)
    argv = [
        "ip", "netns", "exec", layout.namespace(node),
        "unshare", "--mount", "--uts", "--propagation", "private", "--",
        sys.executable, "-S", "-m", "ocfkit.lab.holder", str(plan_file),
    ]  # fmt: skip
    return spawn(argv, log=home / "holder.out", env={**DAEMON_ENV, "PYTHONPATH": _python_path()})


def wait_ready(
    layout: Layout, holders: dict[str, subprocess.Popen[bytes]], timeout: float
) -> dict[str, int]:
    """Wait for every holder's ready file; returns node -> holder pid."""
    deadline = time.monotonic() + timeout
    ready: dict[str, int] = {}
    while len(ready) < len(holders):
        for node, process in holders.items():
            if node in ready:
                continue
            marker = layout.node_dir(node) / "holder.ready"
            if marker.exists():
                ready[node] = int(marker.read_text(encoding="ascii"))
            elif process.poll() is not None:
                said = (layout.node_dir(node) / "holder.out").read_text(errors="replace")
                raise LabTimeout(f"{node}: namespace holder exited {process.returncode}: {said}")
        if len(ready) < len(holders):
            if time.monotonic() > deadline:
                late = sorted(set(holders) - set(ready))
                raise LabTimeout(f"namespace holders not ready within {timeout:g}s: {late}")
            time.sleep(0.01)
    return ready


def enter(holder: int) -> list[str]:
    """The argv prefix that runs a program inside a node (network, mounts, hostname)."""
    return ["nsenter", "-t", str(holder), "-n", "-m", "-u", "--"]
