"""The agents' frequent actions import nothing they do not use, run as whole processes.

Pacemaker runs ganesha_mon's monitor every 10 s and ganesha_grace's every 5 s
on every node.  This runs them as installed shims would run (a fresh
interpreter, real backends) against stand-ins for attrd and ganesha.nfsd.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from ganesha_agents.standins import ganesha_pid_holder, write_attrd_updater

REPO = Path(__file__).resolve().parents[2]
HEAVY = ["lxml", "gi", "pydbus", "attrs", "typing", "logging", "subprocess", "click"]

PREAMBLE = """
import json, sys
from ganesha_agents.mon import GaneshaMon
from ganesha_agents.grace import GaneshaGrace
heavy = %r
base = {"OCF_RESOURCE_INSTANCE": "imports", "HA_RSCTMP": sys.argv[1],
        "OCF_RESKEY_CRM_meta_timeout": "2000", "OCF_RESKEY_CRM_meta_on_node": "node1",
        "HA_LOGFILE": sys.argv[1] + "/log", "HA_debug": "0"}
monitor = dict(base, OCF_RESKEY_CRM_meta_interval="10000", OCF_RESKEY_pid_file=sys.argv[2])
def loaded():
    return sorted(m for m in heavy if m in sys.modules)
"""

# ganesha_mon's start logs (the daemon runs, the watcher started): it runs in a
# process of its own, as Pacemaker runs it, and launches the watcher that the
# monitor then finds.
START = """
raise SystemExit(GaneshaMon().main(["m", "start"], monitor))
"""

PROGRAM = """
steps = []
steps.append(["mon monitor", 0, GaneshaMon().main(["m", "monitor"], monitor), loaded()])
steps.append(["grace start+monitor", GaneshaGrace().main(["g", "start"], base),
              GaneshaGrace().main(["g", "monitor"], monitor), loaded()])
ignored = dict(base, OCF_RESKEY_CRM_meta_notify_type="post",
               OCF_RESKEY_CRM_meta_notify_operation="start",
               OCF_RESKEY_CRM_meta_notify_start_uname="node2")
code = GaneshaGrace().main(["g", "notify"], ignored)
steps.append(["grace notify post-start", code, 0, loaded()])
grace = dict(ignored, OCF_RESKEY_CRM_meta_notify_operation="stop",
             OCF_RESKEY_CRM_meta_notify_stop_uname="node2",
             DBUS_SYSTEM_BUS_ADDRESS="unix:path=" + sys.argv[1] + "/no-bus")
code = GaneshaGrace().main(["g", "notify"], grace)
steps.append(["grace notify post-stop", code, 0, loaded()])
steps.append(["mon stop", 0, GaneshaMon().main(["m", "stop"], monitor), []])
print(json.dumps(steps), file=sys.stderr)
"""


def test_monitors_and_ignored_notifications_import_nothing_heavy(tmp_path: Path) -> None:
    write_attrd_updater(tmp_path)
    pid_file = tmp_path / "ganesha.pid"
    env = {"PATH": f"{tmp_path}:{os.environ['PATH']}", "PYTHONPATH": str(REPO / "src")}
    with ganesha_pid_holder(pid_file):
        for program in (START, PROGRAM):
            done = subprocess.run(
                [sys.executable, "-c", PREAMBLE % HEAVY + program, str(tmp_path), str(pid_file)],
                env=env,
                capture_output=True,
                text=True,
                check=True,
                timeout=60,
            )
    steps = {
        name: (a, b, modules) for name, a, b, modules in json.loads(done.stderr.splitlines()[-1])
    }
    assert steps["mon monitor"] == (0, 0, []), (tmp_path / "log").read_text()
    assert steps["mon stop"][1] == 0
    assert steps["grace start+monitor"] == (0, 0, [])
    assert steps["grace notify post-start"] == (0, 0, [])
    # A grace call goes through dbus-send (installed with the bus): no PyGObject either.
    code, _, modules = steps["grace notify post-stop"]
    assert code == 0
    assert not {"gi", "pydbus", "lxml"} & set(modules)
    log = (tmp_path / "log").read_text()
    # The control: the call was made, and failed to reach the bus the test gave it.
    assert "cannot connect to the D-Bus system bus" in log
    assert "ganesha.nfsd is not running" not in log, "the stand-in daemon must look alive"
    # The monitor found the watcher that start launched, and stop ended it.
    assert "watcher started" in log
    assert "starting it again" not in log
    assert "watcher (pid" in log and "stopped" in log
