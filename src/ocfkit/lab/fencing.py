"""Installing the lab's fence agent where the nodes' pacemaker-fenced finds it.

fenced only runs ``fence_*`` executables from /usr/sbin.  The agent is
written into the lab's working directory and each node's holder lays that
directory over /usr/sbin with a read-only overlay, so the host's /usr/sbin
is never written to.  The script names the real interpreter and the
directory ``ocfkit`` is imported from, like an agent shim does.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import ocfkit
from ocfkit.lab.fence_agent import AGENT
from ocfkit.lab.layout import Layout

_SCRIPT = """\
#!{interpreter} -IS
# Written by ocfkit lab for {workdir}: switches lab nodes off by killing their processes.
import sys
sys.path.insert(0, {root!r})
from ocfkit.lab.fence_agent import main
raise SystemExit(main({state!r}))
"""


def install(layout: Layout) -> Path:
    layout.fence_bin.mkdir(parents=True, exist_ok=True)
    layout.fence_bin.chmod(0o755)
    script = layout.fence_bin / AGENT
    script.write_text(
        _SCRIPT.format(
            interpreter=os.path.realpath(sys.executable),
            workdir=layout.workdir,
            root=str(Path(ocfkit.__file__).resolve().parents[1]),
            state=str(layout.state_file),
        ),
        encoding="utf-8",
    )
    script.chmod(0o755)
    layout.fence_log.write_text("", encoding="utf-8")  # this lab's fencing only
    return script
