"""What the scenarios needed from the lab: the daemons' environment, merging a configuration,
a fenced node that goes silent on the network and comes back as from a reboot."""

from __future__ import annotations

import json
import os
import subprocess
import time
from pathlib import Path

import pytest

from ocfkit.lab import Lab, fence_agent, processes
from ocfkit.lab.layout import Layout
from ocfkit.lab.state import LabConfig, LabState, ProcessRecord, StateFile

ROOT = os.geteuid() == 0


def test_pacemaker_env_travels_through_the_state_file(tmp_path: Path) -> None:
    env = {"HA_LOGFILE": "/var/log/pacemaker/pacemaker.log", "HA_DATEFMT": "%F %T.%N "}
    state = LabState(str(tmp_path), LabConfig(nodes=2, pacemaker_env=env))
    assert LabState.from_json(state.to_json()).config.pacemaker_env == env
    # A state file written before the option existed still loads.
    old = json.loads(state.to_json())
    del old["config"]["pacemaker_env"]
    assert LabState.from_json(json.dumps(old)).config.pacemaker_env == {}


@pytest.mark.parametrize("env", [{"BAD NAME": "x"}, {"1X": "x"}, {"X": "a\0b"}])
def test_pacemaker_env_refuses_what_execve_cannot_pass(tmp_path: Path, env: dict[str, str]) -> None:
    with pytest.raises(ValueError):
        Lab(tmp_path, 2, pacemaker_env=env)


def test_only_a_section_can_be_merged(tmp_path: Path) -> None:
    lab = Lab(tmp_path, 2)
    with pytest.raises(ValueError, match="only a CIB section"):
        lab.load_cib(
            '<primitive id="x" class="ocf" provider="heartbeat" type="Dummy"/>', merge=True
        )


def _link_up(holder: int) -> bool:
    done = subprocess.run(
        ["nsenter", "-t", str(holder), "-n", "--", "ip", "-o", "link", "show", "eth0"],
        capture_output=True,
        text=True,
        timeout=10,
        check=True,
    )
    return ",UP" in done.stdout or "<UP" in done.stdout


@pytest.mark.real
@pytest.mark.skipif(not ROOT, reason="network namespaces need root")
def test_fencing_takes_the_link_down_and_records_it(tmp_path: Path) -> None:
    holder = subprocess.Popen(["unshare", "--net", "--", "sleep", "60"])
    try:
        deadline = time.monotonic() + 5
        while processes.netns_inode(holder.pid) == processes.netns_inode(os.getpid()):
            assert time.monotonic() < deadline, "unshare did not create a namespace"
            time.sleep(0.01)
        inode = processes.netns_inode(holder.pid)
        holder_id = processes.identify(holder.pid)
        assert inode is not None and holder_id is not None
        inside = ["nsenter", "-t", str(holder.pid), "-n", "--", "ip", "link"]
        subprocess.run(
            [*inside, "add", "eth0", "type", "veth", "peer", "p0"], timeout=10, check=True
        )
        subprocess.run([*inside, "set", "eth0", "up"], timeout=10, check=True)
        assert _link_up(holder.pid)
        state = LabState(str(tmp_path), LabConfig(nodes=1))
        state.namespaces = {f"{Layout.create(tmp_path, 1).prefix}node1": inode}
        state.processes = [ProcessRecord("node1", "holder", holder_id.pid, holder_id.start)]
        path = tmp_path / "lab.json"
        path.write_text(state.to_json())

        assert fence_agent.main(str(path), [], "action=reboot\nport=node1\n") == 0

        # A switched-off node answers nothing, not even ARP for an address it still holds.
        assert not _link_up(holder.pid)
        stored = StateFile(path, tmp_path / "lab.lock").load()
        assert stored is not None and stored.links_down == ["node1"]
        assert "link not taken down" not in (tmp_path / "fence.log").read_text()
    finally:
        holder.kill()
        holder.wait(timeout=5)
