"""The monitor path stays cheap: Pacemaker runs it every few seconds on every node.

Checked in a fresh interpreter, since this test process has long imported everything.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
HEAVY = ["lxml", "gi", "pydbus", "attrs", "typing", "logging", "subprocess", "click",
         "importlib.metadata", "inspect"]  # fmt: skip

PROGRAM = """
import json, sys
from ocfkit.examples.dummy import main
environ = {"OCF_RESOURCE_INSTANCE": "imp", "HA_RSCTMP": sys.argv[1],
           "OCF_RESKEY_CRM_meta_interval": "10000", "OCF_RESKEY_CRM_meta_timeout": "20000",
           "HA_LOGFACILITY": "daemon", "HA_debug": "0"}
heavy = %r
codes = [main(["dummy", "monitor"], environ)]
after_stopped = sorted(m for m in heavy if m in sys.modules)
open(sys.argv[1] + "/dummy-imp.state", "w").write("dummy\\n")
codes.append(main(["dummy", "monitor"], environ))
after_running = sorted(m for m in heavy if m in sys.modules)
codes.append(main(["dummy", "meta-data"], {}))
after_meta_data = sorted(m for m in heavy if m in sys.modules)
print(json.dumps([codes, after_stopped, after_running, after_meta_data]), file=sys.stderr)
"""


def test_monitor_imports_nothing_heavy(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-c", PROGRAM % HEAVY, str(tmp_path)],
        env={"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "PYTHONPATH": str(REPO / "src")},
        capture_output=True,
        text=True,
        check=True,
    )
    codes, after_stopped, after_running, after_meta_data = json.loads(
        done.stderr.strip().splitlines()[-1]
    )
    assert codes == [7, 0, 0]
    assert after_stopped == []
    assert after_running == []
    # The control: meta-data does need lxml, and the probe above would have seen it.
    assert "lxml" in after_meta_data
