"""The process that holds a node's namespaces: ``python -m ocfkit.lab.holder PLAN``.

It is started as ``ip netns exec <ns> unshare --mount --uts --propagation
private ...``, so it runs in the node's network namespace and in a fresh,
private mount and UTS namespace.  There it carries out the plan (hostname,
a tmpfs on /run and /dev/shm, bind mounts of the node's state directories,
the node's view of the OCF agents and fence agents), reports ready by
writing its pid, and becomes ``sleep infinity``.  Every daemon of the node
is then started with ``nsenter -t <holder>``; the namespaces live as long as
this process or any of them.

The plan is a JSON list of steps, built by :mod:`ocfkit.lab.namespaces`;
this side only executes it, with the standard library and ``mount``.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
from typing import Any, NoReturn

_MOUNT_TIMEOUT = 10


def _mount(argv: list[str]) -> None:
    done = subprocess.run(
        ["mount", *argv],
        capture_output=True,
        text=True,
        timeout=_MOUNT_TIMEOUT,
        stdin=subprocess.DEVNULL,
        check=False,
    )
    if done.returncode != 0:
        raise OSError(f"mount {' '.join(argv)}: {done.stderr.strip()}")


def apply(step: dict[str, Any]) -> None:
    op = step["op"]
    if op == "hostname":
        socket.sethostname(step["name"])
    elif op == "tmpfs":
        _mount(["-t", "tmpfs", "-o", f"mode={step['mode']}", "tmpfs", step["target"]])
    elif op == "mkdir":
        os.makedirs(step["path"], exist_ok=True)
        os.chmod(step["path"], int(step["mode"], 8))
        if step.get("owner"):
            shutil.chown(step["path"], step["owner"], step.get("group"))
    elif op == "bind":
        _mount(["--bind", step["source"], step["target"]])
    elif op == "overlay":
        # Only lower layers: a read-only union, nothing is ever written to the host.
        lower = ":".join(step["lower"])
        _mount(["-t", "overlay", "-o", f"lowerdir={lower}", "overlay", step["target"]])
    else:
        raise ValueError(f"unknown step {op!r}")


def prepare(plan_file: str) -> bool:
    """Carry out the plan and write the ready file; False (and why, on stderr) on failure."""
    with open(plan_file, encoding="utf-8") as stream:
        plan = json.load(stream)
    for step in plan["steps"]:
        try:
            apply(step)
        except Exception as error:
            print(f"holder: step {step} failed: {error}", file=sys.stderr, flush=True)
            return False
    temporary = plan["ready"] + ".tmp"
    with open(temporary, "w", encoding="ascii") as stream:
        stream.write(f"{os.getpid()}\n")
    os.replace(temporary, plan["ready"])
    sys.stdout.flush()
    return True


def hold() -> NoReturn:
    """Become ``sleep infinity``: same pid, a fraction of the memory; it only has to exist."""
    os.execvp("sleep", ["sleep", "infinity"])  # noqa: S606 (an argv list, no shell)


if __name__ == "__main__":
    if not prepare(sys.argv[1]):
        raise SystemExit(1)
    hold()
