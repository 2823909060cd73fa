"""The monitor path stays cheap: Pacemaker runs it every few seconds on every node.

Checked in a fresh interpreter, since this test process has long imported everything.
"""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
HEAVY = ["lxml", "gi", "pydbus", "attrs", "typing", "logging", "subprocess", "click",
         "importlib.metadata", "inspect",
         # Cheap one by one, but together more than an example agent's own imports.
         "enum", "re", "shlex", "signal", "pwd", "select"]  # fmt: skip

PROGRAM = """
import sys
started = set(sys.modules)  # what the interpreter loaded by itself (site may load pwd)
from ocfkit.examples.dummy import main
environ = {"OCF_RESOURCE_INSTANCE": "imp", "HA_RSCTMP": sys.argv[1],
           "OCF_RESKEY_CRM_meta_interval": "10000", "OCF_RESKEY_CRM_meta_timeout": "20000",
           "HA_LOGFACILITY": "daemon", "HA_debug": "0"}
heavy = %r
codes = [int(main(["dummy", "monitor"], environ))]
after_stopped = sorted(m for m in heavy if m in sys.modules and m not in started)
open(sys.argv[1] + "/dummy-imp.state", "w").write("dummy\\n")
codes.append(int(main(["dummy", "monitor"], environ)))
after_running = sorted(m for m in heavy if m in sys.modules and m not in started)
codes.append(int(main(["dummy", "meta-data"], {})))
after_meta_data = sorted(m for m in heavy if m in sys.modules and m not in started)
print(repr([codes, after_stopped, after_running, after_meta_data]), file=sys.stderr)
"""


def test_monitor_imports_nothing_heavy(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-c", PROGRAM % HEAVY, str(tmp_path)],
        env={"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "PYTHONPATH": str(REPO / "src")},
        capture_output=True,
        text=True,
        check=True,
    )
    codes, after_stopped, after_running, after_meta_data = ast.literal_eval(
        done.stderr.strip().splitlines()[-1]
    )
    assert codes == [7, 0, 0]
    assert after_stopped == []
    assert after_running == []
    # The control: meta-data does need lxml, and the probe above would have seen it.
    assert "lxml" in after_meta_data


DAEMON_PROGRAM = """
import os, sys
sleeper = os.posix_spawn("/usr/bin/sleep", ["sleep", "60"], {})
open(sys.argv[1] + "/d.pid", "w").write(str(sleeper) + "\\n")
heavy = %r
before = set(sys.modules)
from ocfkit.examples.daemon import main
environ = {"OCF_RESOURCE_INSTANCE": "imp", "HA_RSCTMP": sys.argv[1],
           "OCF_RESKEY_binfile": "/usr/bin/sleep", "OCF_RESKEY_pidfile": sys.argv[1] + "/d.pid",
           "OCF_RESKEY_CRM_meta_interval": "10000", "OCF_RESKEY_CRM_meta_timeout": "20000",
           "HA_LOGFACILITY": "daemon", "HA_debug": "0"}
codes = [int(main(["daemon", "monitor"], environ))]
loaded = sorted(m for m in heavy if m in sys.modules and m not in before)
os.kill(sleeper, 9)
os.waitpid(sleeper, 0)
print(repr([codes, loaded]), file=sys.stderr)
"""


def test_the_daemon_example_monitor_imports_nothing_heavy(tmp_path: Path) -> None:
    """Its monitor of a live daemon: the pid file's lock and /proc, nothing else."""
    done = subprocess.run(
        [sys.executable, "-c", DAEMON_PROGRAM % HEAVY, str(tmp_path)],
        env={"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "PYTHONPATH": str(REPO / "src")},
        capture_output=True,
        text=True,
        check=True,
    )
    codes, loaded = ast.literal_eval(done.stderr.strip().splitlines()[-1])
    assert codes == [0]
    assert loaded == []
