"""ganesha_nfsd's monitor imports nothing it does not use (a whole process per action).

Every node runs it every 20 s.  The agent runs here on its real backends,
pointed at a directory standing for /var/lib and one for the volume (the
backends take both as arguments), so nothing needs root or touches the host.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
HEAVY = ["lxml", "gi", "pydbus", "attrs", "typing", "logging", "subprocess", "click", "ctypes"]

PROGRAM = """
import json, os, sys
from ganesha_agents.backends.nfsdir import LocalNFSDirectory, VolumeDirectories
from ganesha_agents.nfsd import GaneshaNfsd
heavy, action, base, mode = %r, sys.argv[1], sys.argv[2], sys.argv[3]
uid = os.getuid()
agent = GaneshaNfsd(
    nfs_dir=LocalNFSDirectory(base + "/varlib", owner_uid=uid),
    volumes=lambda path: VolumeDirectories(path, owner_uid=uid, require_mount=False),
)
env = {"OCF_RESOURCE_INSTANCE": "imports", "HA_RSCTMP": base + "/rsctmp",
       "OCF_RESKEY_CRM_meta_timeout": "20000", "OCF_RESKEY_CRM_meta_on_node": "node1",
       "OCF_RESKEY_CRM_meta_interval": "20000", "HA_LOGFILE": base + "/log", "HA_debug": "0",
       "OCF_RESKEY_ha_vol_mnt": base + "/volume", "OCF_RESKEY_mode": mode}
code = agent.main(["ganesha_nfsd", action], env)
print(json.dumps([code, sorted(m for m in heavy if m in sys.modules)]), file=sys.stderr)
"""


def run(action: str, base: Path, mode: str) -> tuple[int, list[str]]:
    done = subprocess.run(
        [sys.executable, "-c", PROGRAM % HEAVY, action, str(base), mode],
        env={"PATH": os.environ["PATH"], "PYTHONPATH": str(REPO / "src")},
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    code, modules = json.loads(done.stderr.splitlines()[-1])
    return code, modules


@pytest.mark.parametrize("mode", ["link", "direct"])
def test_the_monitor_imports_nothing_heavy(tmp_path: Path, mode: str) -> None:
    for name in ("varlib/nfs", "volume", "rsctmp"):
        (tmp_path / name).mkdir(parents=True)
    assert run("monitor", tmp_path, mode) == (7, [])
    code, modules = run("start", tmp_path, mode)
    assert code == 0, (tmp_path / "log").read_text()
    # The control: a start that switches /var/lib/nfs logs its steps (without the
    # logging package: ocfkit writes the lines itself) and swaps names.
    assert "logging" not in modules
    assert (tmp_path / "log").read_text().strip(), "the start logged nothing"
    if mode == "link":
        assert "ctypes" in modules
        assert (tmp_path / "varlib" / "nfs").is_symlink()
    assert run("monitor", tmp_path, mode) == (0, [])
    assert run("stop", tmp_path, mode)[0] == 0
    assert not (tmp_path / "varlib" / "nfs").is_symlink()
