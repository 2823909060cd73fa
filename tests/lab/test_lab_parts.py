"""The lab's parts, one at a time: names, rendered files, parsing, process records, fencing."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

import pytest
from click.testing import CliRunner
from lxml import etree

from ocfkit.cli import main
from ocfkit.lab import Lab, fence_agent, namespaces, processes, render
from ocfkit.lab.errors import LabError
from ocfkit.lab.lab import _check_traversable
from ocfkit.lab.layout import Layout, node_names
from ocfkit.lab.state import LabConfig, LabState, ProcessRecord, StateFile
from ocfkit.lab.status import parse_crm_mon, parse_fence_history

DATA = Path(__file__).parent / "data"
ROOT = os.geteuid() == 0


# -- layout --------------------------------------------------------------------------------


def test_layout_names_follow_from_the_workdir() -> None:
    layout = Layout.create("/var/tmp/lab-a", 4)
    again = Layout.create("/var/tmp/lab-a", 4)
    other = Layout.create("/var/tmp/lab-b", 4)
    assert layout.nodes == ("node1", "node2", "node3", "node4")
    assert layout.prefix == again.prefix != other.prefix
    assert layout.namespace("node2") == f"{layout.prefix}node2"
    assert layout.bridge_namespace == f"{layout.prefix}br"
    assert [layout.address(n) for n in layout.nodes] == [
        "192.168.77.11",
        "192.168.77.12",
        "192.168.77.13",
        "192.168.77.14",
    ]
    assert layout.bus_socket("node1") == Path("/var/tmp/lab-a/nodes/node1/dbus/system_bus_socket")
    with pytest.raises(ValueError, match="no node"):
        layout.address("node5")


@pytest.mark.parametrize("workdir", ["/var/tmp/a b", "/var/tmp/a:b", "/var/tmp/a,b"])
def test_layout_rejects_paths_the_config_files_cannot_carry(workdir: str) -> None:
    with pytest.raises(ValueError, match="may contain only"):
        Layout.create(workdir, 3)


def test_layout_bounds() -> None:
    assert node_names(1) == ("node1",)
    with pytest.raises(ValueError):
        node_names(0)
    with pytest.raises(ValueError):
        node_names(17)
    with pytest.raises(ValueError, match="subnet"):
        Layout.create("/var/tmp/x", 3, subnet="10.0.300")


# -- rendered configuration ----------------------------------------------------------------


def test_corosync_conf_lists_every_node() -> None:
    layout = Layout.create("/var/tmp/lab-a", 3)
    text = render.corosync_conf(layout, Path("/var/tmp/lab-a/nodes/node1/corosync.log"))
    for node in layout.nodes:
        assert f"name: {node}" in text
        assert f"ring0_addr: {layout.address(node)}" in text
    assert "nodeid: 3" in text
    assert "token: 1000" in text
    assert "to_syslog: no" in text
    assert text.count("{") == text.count("}")


def _properties(cib: str) -> dict[str, str]:
    root = etree.fromstring(cib.encode())
    return {nv.get("name", ""): nv.get("value", "") for nv in root.iter("nvpair")}


def test_seeded_cib_with_fencing() -> None:
    cib = render.seeded_cib(("node1", "node2"), fence_agent.AGENT)
    properties = _properties(cib)
    assert properties["stonith-enabled"] == "true"
    assert properties["dc-deadtime"] == "2s"
    assert properties["startup-fencing"] == "false"
    # Both nodes read the host's load as their own: the threshold is theirs together.
    assert properties["load-threshold"] == "160%"
    assert properties["pcmk_host_list"] == "node1 node2"
    device = etree.fromstring(cib.encode()).find("configuration/resources/primitive")
    assert device is not None
    assert (device.get("class"), device.get("type")) == ("stonith", fence_agent.AGENT)


def test_seeded_cib_without_fencing() -> None:
    cib = render.seeded_cib(("node1",), None)
    assert _properties(cib)["stonith-enabled"] == "false"
    assert etree.fromstring(cib.encode()).find("configuration/resources/primitive") is None


@pytest.mark.real
@pytest.mark.skipif(shutil.which("crm_verify") is None, reason="pacemaker-cli-utils absent")
@pytest.mark.parametrize("fencing", [True, False])
def test_seeded_cib_passes_crm_verify(fencing: bool) -> None:
    cib = render.seeded_cib(("node1", "node2", "node3"), fence_agent.AGENT if fencing else None)
    done = subprocess.run(
        ["crm_verify", "--xml-text", cib],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert done.returncode == 0, done.stderr


def test_ganesha_conf_keeps_grace_real() -> None:
    text = render.ganesha_conf(
        recovery_root=Path("/w/nodes/node1/ganesha/recov"),
        export_path=Path("/w/nodes/node1/ganesha/export"),
        grace_period=7,
        lease_lifetime=5,
    )
    assert "Enable_NLM = true;" in text
    assert "Graceless = false;" in text
    assert "Protocols = 4;" in text
    assert "Grace_Period = 7;" in text
    assert "RecoveryRoot = /w/nodes/node1/ganesha/recov;" in text
    assert "Path = /w/nodes/node1/ganesha/export;" in text


def test_ganesha_conf_with_a_shared_export_names_the_node_apart() -> None:
    """Every node exports one directory at /export (id 1); its own at /node (id 2)."""
    text = render.ganesha_conf(
        recovery_root=Path("/w/state/node1"),
        export_path=Path("/w/shared/export"),
        grace_period=7,
        lease_lifetime=5,
        clients="192.168.77.0/24",
        node_export=Path("/w/nodes/node1/ganesha/export"),
    )
    blocks = text.split("EXPORT {")[1:]
    assert len(blocks) == 2
    assert "Export_Id = 1;" in blocks[0] and "Pseudo = /export;" in blocks[0]
    assert "Path = /w/shared/export;" in blocks[0]
    assert "Export_Id = 2;" in blocks[1] and "Pseudo = /node;" in blocks[1]
    assert "Path = /w/nodes/node1/ganesha/export;" in blocks[1]
    assert all("Clients = 192.168.77.0/24;" in block for block in blocks)


@pytest.mark.parametrize("path", ["relative/export", "/w/../etc", "/w/a b", "/w/x;y"])
def test_a_shared_export_ganesha_conf_would_misread_is_refused(tmp_path: Path, path: str) -> None:
    with pytest.raises(ValueError, match="shared_export"):
        Lab(tmp_path / "lab", 2, ganesha=True, shared_export=path)


# -- holder plan ---------------------------------------------------------------------------


def _targets(steps: list[dict[str, str]], op: str) -> list[str]:
    return [s.get("target", s.get("path", "")) for s in steps if s["op"] == op]


def test_holder_plan_order_and_options() -> None:
    layout = Layout.create("/var/tmp/lab-a", 3)
    plain = namespaces.plan(layout, "node2", fencing=False, ganesha=False)
    full = namespaces.plan(layout, "node2", fencing=True, ganesha=True)
    assert plain[0] == {"op": "hostname", "name": "node2"}
    ops = [(s["op"], s.get("target", s.get("path"))) for s in full]
    # /run is a fresh tmpfs before anything is made in it
    assert ops.index(("tmpfs", "/run")) < ops.index(("mkdir", "/run/crm"))
    # the host's providers are seen again before resource.d is covered
    assert ops.index(("bind", "/run/ocfkit-lab/host-resource.d")) < ops.index(
        ("bind", "/usr/lib/ocf/resource.d")
    )
    assert "/usr/sbin" not in _targets(plain, "overlay")
    assert "/usr/sbin" in _targets(full, "overlay")
    assert "/run/dbus" not in _targets(plain, "bind")
    assert {"/run/dbus", "/run/ganesha"} <= set(_targets(full, "bind"))
    crm = next(s for s in full if s.get("path") == "/run/crm")
    assert (crm["owner"], crm["group"], crm["mode"]) == ("hacluster", "haclient", "0750")


# -- status parsing ------------------------------------------------------------------------


def test_parse_crm_mon_after_a_node_was_fenced() -> None:
    status = parse_crm_mon((DATA / "crm_mon-node3-fenced.xml").read_bytes())
    assert status.dc == "node2"
    assert status.quorate
    assert status.online() == ["node1", "node2"]
    assert status.offline() == ["node3"]
    assert not status.nodes["node3"].unclean
    assert status.nodes["node2"].is_dc
    assert status.started_on("dummy-clone") == ["node1", "node2"]
    assert status.running_on("lab-fence") == ["node1"]
    assert status.started_on("dummy") == ["node1", "node2"]
    assert status.failed() == []


def test_parse_fence_history() -> None:
    (event,) = parse_fence_history((DATA / "fence-history.xml").read_bytes())
    assert (event.target, event.action, event.origin, event.delegate) == (
        "node3",
        "reboot",
        "node2",
        "node1",
    )
    assert event.succeeded


# -- state file ----------------------------------------------------------------------------


def test_state_round_trip_and_update(tmp_path: Path) -> None:
    store = StateFile(tmp_path / "lab.json", tmp_path / "lab.lock")
    assert store.load() is None
    state = LabState(str(tmp_path), LabConfig(nodes=2, ganesha=True))
    state.namespaces = {"olab-x-node1": 4026532001}
    state.processes.append(ProcessRecord("node1", "holder", 10, 20))
    store.save(state)
    with store.update() as loaded:
        assert loaded == state
        loaded.links_down.append("node2")
    reloaded = store.load()
    assert reloaded is not None
    assert reloaded.links_down == ["node2"]
    assert reloaded.latest("node1", "holder") == ProcessRecord("node1", "holder", 10, 20)
    assert reloaded.latest("node2", "holder") is None


# -- processes -----------------------------------------------------------------------------


def test_a_process_is_itself_only_with_its_start_time() -> None:
    me = processes.identify(os.getpid())
    assert me is not None
    assert processes.is_alive(me)
    assert not processes.is_alive(processes.ProcessId(me.pid, me.start + 1))


def test_a_zombie_counts_as_gone() -> None:
    child = subprocess.Popen(["sleep", "30"])
    identity = processes.identify(child.pid)
    assert identity is not None
    os.kill(child.pid, signal.SIGKILL)
    deadline = time.monotonic() + 5
    while Path(f"/proc/{child.pid}/stat").read_text().split(") ")[1][0] != "Z":
        assert time.monotonic() < deadline, "child did not become a zombie"
        time.sleep(0.01)
    # Not reaped yet, so still in /proc, but gone for the lab's purposes.
    assert not processes.is_alive(identity)
    assert processes.wait_gone([identity], 1.0) == []
    # ... and its exit status is still its parent's to collect.
    assert child.wait(timeout=5) == -signal.SIGKILL


def test_stop_escalates_to_sigkill() -> None:
    stubborn = subprocess.Popen(
        ["python3", "-c", "import signal,time; signal.signal(signal.SIGTERM, signal.SIG_IGN); "
         "print('ready', flush=True); time.sleep(60)"],
        stdout=subprocess.PIPE,
    )  # fmt: skip
    assert stubborn.stdout is not None
    assert stubborn.stdout.readline() == b"ready\n"
    identity = processes.identify(stubborn.pid)
    assert identity is not None
    started = time.monotonic()
    assert processes.stop([identity], grace=0.3) == []
    assert time.monotonic() - started < 5
    assert stubborn.wait(timeout=5) == -signal.SIGKILL


# -- the fence agent -----------------------------------------------------------------------


def test_fence_agent_reads_stdin_and_argv() -> None:
    assert fence_agent.parse([], "action=reboot\nport=node3\n# comment\n") == {
        "action": "reboot",
        "port": "node3",
    }
    assert fence_agent.parse(["-o", "off", "--plug=node2"], "action=reboot\n") == {
        "action": "off",
        "port": "node2",
    }


def test_fence_agent_metadata(capsys: pytest.CaptureFixture[str]) -> None:
    assert fence_agent.main("/nonexistent", ["-o", "metadata"], "") == 0
    root = etree.fromstring(capsys.readouterr().out.encode())
    actions = {a.get("name") for a in root.iter("action")}
    assert {"reboot", "off", "on", "monitor", "list", "metadata"} <= actions


def _state_file(tmp_path: Path, state: LabState) -> str:
    path = tmp_path / "lab.json"
    path.write_text(state.to_json())
    return str(path)


def test_fence_agent_list_and_unknown_target(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    state_file = _state_file(tmp_path, LabState(str(tmp_path), LabConfig(nodes=2)))
    assert fence_agent.main(state_file, [], "action=list\n") == 0
    assert capsys.readouterr().out.split() == ["node1,", "node2,"]
    assert fence_agent.main(state_file, [], "action=monitor\n") == 0
    assert fence_agent.main(state_file, [], "action=reboot\nport=node9\n") == 1
    assert "node9" in (tmp_path / "fence.log").read_text()
    assert fence_agent.main(state_file, [], "action=dance\n") == 1
    # Without its lab the device fails its monitor instead of crashing.
    assert fence_agent.main(str(tmp_path / "gone.json"), [], "action=monitor\n") == 1


@pytest.mark.real
@pytest.mark.skipif(not ROOT, reason="network namespaces need root")
def test_fence_agent_kills_everything_in_the_node_but_its_holder(tmp_path: Path) -> None:
    holder = subprocess.Popen(["unshare", "--net", "--", "sleep", "60"])
    victims: list[subprocess.Popen[bytes]] = []
    try:
        deadline = time.monotonic() + 5
        while processes.netns_inode(holder.pid) == processes.netns_inode(os.getpid()):
            assert time.monotonic() < deadline, "unshare did not create a namespace"
            time.sleep(0.01)
        inode = processes.netns_inode(holder.pid)
        assert inode is not None
        victims = [
            subprocess.Popen(["nsenter", "-t", str(holder.pid), "-n", "--", "sleep", "60"])
            for _ in range(2)
        ]
        bystander = subprocess.Popen(["sleep", "60"])
        victims.append(bystander)
        deadline = time.monotonic() + 5
        while len(processes.in_namespaces([inode])) < 3:
            assert time.monotonic() < deadline, "sleepers did not enter the namespace"
            time.sleep(0.01)
        holder_id = processes.identify(holder.pid)
        assert holder_id is not None
        state = LabState(str(tmp_path), LabConfig(nodes=1))
        state.namespaces = {f"{Layout.create(tmp_path, 1).prefix}node1": inode}
        state.processes = [ProcessRecord("node1", "holder", holder_id.pid, holder_id.start)]
        state_file = _state_file(tmp_path, state)

        assert fence_agent.main(state_file, [], "action=reboot\nport=node1\n") == 0

        assert processes.in_namespaces([inode]) == [holder_id]
        assert [v.wait(timeout=5) for v in victims[:2]] == [-signal.SIGKILL] * 2
        assert bystander.poll() is None
        assert "reboot node1: done" in (tmp_path / "fence.log").read_text()
    finally:
        for process in [holder, *victims]:
            process.kill()
            process.wait(timeout=5)


# -- preflight and CLI ---------------------------------------------------------------


def test_a_workdir_hacluster_cannot_enter_is_refused(tmp_path: Path) -> None:
    private = tmp_path / "private"
    private.mkdir(mode=0o700)
    private.chmod(0o700)
    with pytest.raises(LabError, match=f"{private} .* cannot be entered by hacluster"):
        _check_traversable(private)
    _check_traversable(Path("/var/tmp"))


def test_cli_has_the_lab_commands() -> None:
    result = CliRunner().invoke(main, ["lab", "--help"])
    assert result.exit_code == 0
    for command in (
        "up", "down", "status", "exec", "stop-pacemaker", "start-pacemaker", "link-down",
        "link-up", "fence", "kill-ganesha", "start-ganesha", "boot", "install", "logs",
    ):  # fmt: skip
        assert f"  {command} " in result.output, command


def test_cli_says_when_there_is_no_lab(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["lab", "status", "--workdir", str(tmp_path)])
    assert result.exit_code == 1
    assert "no lab in" in result.output


def test_cli_rejects_an_unknown_signal(tmp_path: Path) -> None:
    state = LabState(str(tmp_path), LabConfig(nodes=1, ganesha=True))
    _state_file(tmp_path, state)
    result = CliRunner().invoke(
        main, ["lab", "kill-ganesha", "--workdir", str(tmp_path), "node1", "--signal", "NOPE"]
    )
    assert result.exit_code == 2
    assert "unknown signal" in result.output


def test_a_bus_socket_path_must_fit_in_sun_path() -> None:
    long_workdir = "/var/tmp/" + "x" * 70
    Lab(long_workdir, 3)  # without ganesha there is no socket
    with pytest.raises(ValueError, match="unix socket path"):
        Lab(long_workdir, 3, ganesha=True)
