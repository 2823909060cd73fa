"""Run commands where ganesha_nfsd's real backends can do their work without touching this host.

Run it as ``unshare --mount --propagation private python nfsd_sandbox.py
OUTSIDE REPORT -- COMMAND... [-- COMMAND...]`` (root), OUTSIDE being what
``/proc/self/ns/mnt`` links to outside (the host's mount namespace).  Inside
the new mount namespace it mounts a tmpfs on ``/var/lib`` (so the host's
``/var/lib/nfs`` is out of sight, and out of reach), makes a
``/var/lib/nfs`` there as Debian's nfs-common leaves it (a ``state`` file,
``sm`` and ``sm.bak``), mounts a second tmpfs as the state volume at
:data:`VOLUME`, runs each COMMAND in turn, and writes to REPORT (JSON) what
each answered and what ``/var/lib`` holds afterwards.  It refuses to run in
the mount namespace named OUTSIDE.
"""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys

VOLUME = "/var/lib/ganesha-state-volume"
NODE_OWN_STATE = "node's own NFS state\n"
DEADLINE = 300


def describe(path: str) -> dict[str, dict[str, object]]:
    """Every entry under ``path``, not following links: kind, mode, owner, link target, content."""
    found: dict[str, dict[str, object]] = {}
    for directory, dirs, files in os.walk(path):
        for name in sorted(dirs + files):
            full = os.path.join(directory, name)
            seen = os.lstat(full)
            entry: dict[str, object] = {
                "mode": f"{stat.S_IMODE(seen.st_mode):04o}",
                "uid": seen.st_uid,
            }
            if stat.S_ISLNK(seen.st_mode):
                entry["link"] = os.readlink(full)
            elif stat.S_ISDIR(seen.st_mode):
                entry["kind"] = "directory"
            elif stat.S_ISREG(seen.st_mode):
                with open(full, "rb") as stream:
                    entry["content"] = stream.read(200).decode("utf-8", "replace")
            found[os.path.relpath(full, path)] = entry
    return found


def mount_tmpfs(where: str) -> None:
    subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "mode=0755,size=16m", "tmpfs", where],
        check=True,
        timeout=30,
    )


def commands(argv: list[str]) -> list[list[str]]:
    found: list[list[str]] = []
    for word in argv:
        if word == "--":
            found.append([])
        elif found:
            found[-1].append(word)
    return [command for command in found if command]


def main(argv: list[str]) -> int:
    if len(argv) < 4 or argv[2] != "--":
        print(
            "usage: nfsd_sandbox.py OUTSIDE REPORT -- COMMAND... [-- COMMAND...]", file=sys.stderr
        )
        return 125
    outside, report = argv[0], argv[1]
    if os.readlink("/proc/self/ns/mnt") == outside:
        print("nfsd_sandbox: not in a private mount namespace; refusing", file=sys.stderr)
        return 125
    mount_tmpfs("/var/lib")
    os.mkdir("/var/lib/nfs", 0o755)
    for name in ("sm", "sm.bak"):
        os.mkdir(f"/var/lib/nfs/{name}", 0o755)
    with open("/var/lib/nfs/state", "w") as stream:
        stream.write(NODE_OWN_STATE)
    os.mkdir(VOLUME, 0o755)
    mount_tmpfs(VOLUME)
    runs = []
    code = 0
    for command in commands(argv[2:]):
        done = subprocess.run(command, check=False, timeout=DEADLINE, capture_output=True)
        code = done.returncode
        runs.append(
            {
                "argv": command,
                "code": code,
                "stdout": done.stdout.decode("utf-8", "replace"),
                "stderr": done.stderr.decode("utf-8", "replace"),
            }
        )
    with open(report, "w") as stream:
        json.dump({"runs": runs, "var_lib": describe("/var/lib")}, stream, indent=1)
    return code


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
