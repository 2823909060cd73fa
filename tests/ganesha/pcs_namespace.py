"""Run pcs commands where pcs can read the ganesha agents' meta-data: a private mount namespace.

pcs asks ``crm_resource --show-metadata`` about every agent it creates a
resource of, and Pacemaker looks for OCF agents under its compiled-in
``/usr/lib/ocf/resource.d`` only.  Run as::

    unshare --mount --propagation private -- python -m tests.ganesha.pcs_namespace \\
        PROVIDERS COMMANDS.json

``PROVIDERS`` is a directory with one sub-directory per OCF provider to add
(``ganesha``); it is mounted over ``/usr/lib/ocf/resource.d`` inside the
namespace, after the host's providers are bound into it, so the host's
agents stay visible and nothing changes outside the namespace.  Prints, as
JSON, the exit status and output of each pcs command.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

RESOURCE_D = Path("/usr/lib/ocf/resource.d")
TIMEOUT = 60


def _run(argv: list[str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, capture_output=True, text=True, timeout=TIMEOUT, check=False)


def main(argv: list[str]) -> int:
    providers, commands = Path(argv[1]), json.loads(Path(argv[2]).read_text())
    mounts = []
    for host_provider in sorted(RESOURCE_D.iterdir()):
        mount_point = providers / host_provider.name
        mount_point.mkdir(exist_ok=True)
        if any(mount_point.iterdir()):
            continue  # a provider of our own
        mounts.append(["mount", "--bind", str(host_provider), str(mount_point)])
    # Recursive, so that the providers bound into it come along.
    mounts.append(["mount", "--rbind", str(providers), str(RESOURCE_D)])
    for mount in mounts:
        mounted = _run(mount)
        if mounted.returncode != 0:
            print(json.dumps([{"argv": mount, "rc": mounted.returncode, "out": mounted.stderr}]))
            return 1
    results = []
    for command in commands:
        done = _run(command)
        results.append({"argv": command, "rc": done.returncode, "out": done.stdout + done.stderr})
        if done.returncode != 0:
            break
    print(json.dumps(results))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
