"""ganesha_takeover's frequent actions import nothing they do not use (whole process).

Every node runs one instance per virtual IP, each monitored every 30 s, and
every move of any address notifies every instance of that address's clone
four times: the actions that do nothing must cost nothing.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from ganesha_agents.standins import ganesha_pid_holder

REPO = Path(__file__).resolve().parents[2]
HEAVY = ["lxml", "gi", "pydbus", "attrs", "typing", "logging", "subprocess", "click", "ipaddress"]

PROGRAM = """
import json, sys
from ganesha_agents.takeover import GaneshaTakeover
heavy = %r
base = {"OCF_RESOURCE_INSTANCE": "imports", "HA_RSCTMP": sys.argv[1],
        "OCF_RESKEY_CRM_meta_timeout": "2000", "OCF_RESKEY_CRM_meta_on_node": "node1",
        "HA_LOGFILE": sys.argv[1] + "/log", "HA_debug": "0", "OCF_RESKEY_ip": "192.0.2.12",
        "OCF_RESKEY_pid_file": sys.argv[2],
        "OCF_RESKEY_ha_vol_mnt": sys.argv[1] + "/volume"}
monitor = dict(base, OCF_RESKEY_CRM_meta_interval="31000")
def loaded():
    return sorted(m for m in heavy if m in sys.modules)
def notify(kind, operation):
    return dict(base, OCF_RESKEY_CRM_meta_notify_type=kind,
                OCF_RESKEY_CRM_meta_notify_operation=operation,
                OCF_RESKEY_CRM_meta_notify_promote_uname="node2",
                OCF_RESKEY_CRM_meta_notify_demote_uname="node3")
steps = [["start+monitor", GaneshaTakeover().main(["t", "start"], base),
          GaneshaTakeover().main(["t", "monitor"], monitor), loaded()]]
for kind, operation in [("pre", "demote"), ("post", "demote"), ("post", "promote")]:
    code = GaneshaTakeover().main(["t", "notify"], notify(kind, operation))
    steps.append([kind + "-" + operation, code, 0, loaded()])
# The control: a pre-promote notification on a survivor calls ganesha over D-Bus.
survivor = dict(notify("pre", "promote"),
                DBUS_SYSTEM_BUS_ADDRESS="unix:path=" + sys.argv[1] + "/no-bus")
steps.append(["pre-promote", GaneshaTakeover().main(["t", "notify"], survivor), 0, loaded()])
print(json.dumps(steps), file=sys.stderr)
"""


def test_monitor_and_ignored_notifications_import_nothing_heavy(tmp_path: Path) -> None:
    pid_file = tmp_path / "ganesha.pid"
    with ganesha_pid_holder(pid_file):
        done = subprocess.run(
            [sys.executable, "-c", PROGRAM % HEAVY, str(tmp_path), str(pid_file)],
            env={"PATH": os.environ["PATH"], "PYTHONPATH": str(REPO / "src")},
            capture_output=True,
            text=True,
            check=True,
            timeout=60,
        )
    steps = {
        name: (a, b, modules) for name, a, b, modules in json.loads(done.stderr.splitlines()[-1])
    }
    assert steps["start+monitor"] == (0, 0, []), (tmp_path / "log").read_text()
    for event in ("pre-demote", "post-demote", "post-promote"):
        assert steps[event] == (0, 0, []), event
    # A grace call goes through dbus-send (installed with the bus): no PyGObject either.
    code, _, modules = steps["pre-promote"]
    assert code == 0
    assert not {"gi", "pydbus", "lxml"} & set(modules)
    # The control: the call was made, and failed to reach the bus the test gave it.
    assert "cannot connect to the D-Bus system bus" in (tmp_path / "log").read_text()
