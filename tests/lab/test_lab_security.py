"""A lab's working directory is root's alone: nothing root runs or believes there is anyone else's.

Root runs the agents installed in the working directory and acts on its
state file (processes to kill, namespaces to enter, host files to remove),
so a directory another user owns or may write is refused by every lab
command, before anything is read, written or started.
"""

from __future__ import annotations

import os
import pwd
import shutil
import stat
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner
from lxml import etree

from ocfkit.cli import main
from ocfkit.lab import Lab, diagnosis, fence_agent, network, nodedirs, processes, render
from ocfkit.lab.layout import Layout
from ocfkit.lab.progress import silent
from ocfkit.lab.state import LabConfig, LabState, ProcessRecord
from ocfkit.lab.teardown import teardown
from ocfkit.lab.workdir import (
    DEFAULT_WORKDIR,
    UnsafeWorkdir,
    check_program,
    check_workdir,
    create_workdir,
)

ROOT = os.geteuid() == 0
needs_root = pytest.mark.skipif(not ROOT, reason="needs root (other users' files, namespaces)")
NOBODY = pwd.getpwnam("nobody").pw_uid
OCFKIT = str(Path(sys.executable).parent / "ocfkit")


def fresh_name(prefix: str) -> Path:
    """A path under /var/tmp that does not exist yet (as in the reproduction)."""
    made = Path(tempfile.mkdtemp(prefix=prefix, dir="/var/tmp"))
    made.rmdir()
    return made


def open_workdir(path: Path) -> Path:
    """A directory anyone may write: what the lab must never use."""
    path.mkdir()
    path.chmod(0o777)
    return path


@pytest.fixture
def var_tmp() -> Iterator[Path]:
    """A fresh directory under /var/tmp, root's, mode 0755 (pytest's own are 0700)."""
    path = fresh_name("seclab-base-")
    path.mkdir(mode=0o755)
    path.chmod(0o755)
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture
def squatted() -> Iterator[Path]:
    """``install -d -o nobody -g nogroup -m 0777``: another user's directory, made first."""
    path = fresh_name("seclab-")
    subprocess.run(
        ["install", "-d", "-o", "nobody", "-g", "nogroup", "-m", "0777", str(path)],
        check=True,
        timeout=10,
    )
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture
def namespace_victim() -> Iterator[tuple[int, subprocess.Popen[bytes]]]:
    """A process in a network namespace of its own: (the namespace's inode, the process)."""
    process = subprocess.Popen(["unshare", "--net", "--", "sleep", "120"])
    try:
        deadline = time.monotonic() + 5
        while processes.netns_inode(process.pid) == processes.netns_inode(os.getpid()):
            assert time.monotonic() < deadline, "unshare did not create a namespace"
            time.sleep(0.01)
        inode = processes.netns_inode(process.pid)
        assert inode is not None
        yield inode, process
    finally:
        process.kill()
        process.wait(timeout=5)


def hostile_state(workdir: Path, inode: int, victim_file: Path) -> None:
    """A lab.json that would have root kill, enter and delete what its writer chose."""
    state = LabState(str(workdir), LabConfig(nodes=1))
    state.phase = "up"
    state.namespaces = {f"{Layout.create(workdir, 1).prefix}node1": inode}
    state.processes = [ProcessRecord("node1", "holder", 1, 1)]
    state.host_files = [str(victim_file)]
    (workdir / "lab.json").write_text(state.to_json())


# -- the reproduction ------------------------------------------------------------------------


@pytest.mark.real
@pytest.mark.lab
def test_the_reproduction_fails_with_a_clear_error_and_nothing_started(squatted: Path) -> None:
    prefix = Layout.create(squatted, 1).prefix
    try:
        done = subprocess.run(
            [OCFKIT, "lab", "up", "--nodes", "1", "--workdir", str(squatted),
             "--agent", "ocfkit:dummy"],
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )  # fmt: skip
        assert done.returncode == 1, done.stderr
        assert (
            f"Error: refusing the lab working directory {squatted}: {squatted} is owned by "
            f"nobody (uid {NOBODY}), not by root." in done.stderr
        )
        assert "Choose a directory that does not exist yet" in done.stderr
        assert "Traceback" not in done.stderr
        assert list(squatted.iterdir()) == []  # not even a lock file
        assert network.existing(prefix) == []
    finally:
        # The old behaviour brought a cluster up here: take it down by its names alone.
        teardown(Layout.create(squatted, 1), None, silent(), graceful=False)


@needs_root
@pytest.mark.real
def test_a_root_owned_directory_others_may_write_is_refused_too(var_tmp: Path) -> None:
    workdir = open_workdir(var_tmp / "lab")
    with pytest.raises(UnsafeWorkdir, match=r"writable by its group and by others"):
        Lab(workdir, 1)._preflight()
    assert list(workdir.iterdir()) == []


def test_a_workdir_below_a_directory_others_may_write_is_refused(tmp_path: Path) -> None:
    above = open_workdir(tmp_path / "above")
    below = above / "lab"
    below.mkdir(mode=0o755)
    with pytest.raises(UnsafeWorkdir, match=f"{above} is writable"):
        check_workdir(below)
    with pytest.raises(UnsafeWorkdir, match=f"{above} is writable"):
        create_workdir(above / "new")
    assert sorted(p.name for p in above.iterdir()) == ["lab"]


@needs_root
def test_a_link_into_another_users_directory_is_never_followed(squatted: Path) -> None:
    link = fresh_name("seclab-link-")
    link.symlink_to(squatted)
    try:
        with pytest.raises(UnsafeWorkdir, match=f"{squatted} is owned by nobody"):
            create_workdir(link)
        with pytest.raises(UnsafeWorkdir, match=f"{squatted} is owned by nobody"):
            create_workdir(link / "inner")
        assert list(squatted.iterdir()) == []
    finally:
        link.unlink()


@needs_root
@pytest.mark.real
def test_up_creates_a_fresh_workdir_every_user_can_enter_but_only_root_write(
    var_tmp: Path,
) -> None:
    base = var_tmp
    workdir = base / "a" / "lab"
    old = os.umask(0o077)
    try:
        Lab(workdir, 1)._preflight()  # creates the directory; starts nothing
    finally:
        os.umask(old)
    for directory in (base / "a", workdir):
        info = directory.stat()
        assert (info.st_uid, stat.S_IMODE(info.st_mode)) == (0, 0o755), directory


def test_the_default_workdir_is_where_only_root_can_create_it() -> None:
    assert DEFAULT_WORKDIR == "/var/lib/ocfkit/lab"
    assert not str(DEFAULT_WORKDIR).startswith(("/tmp", "/var/tmp"))
    result = CliRunner().invoke(main, ["lab", "up", "--help"])
    assert "/var/lib/ocfkit/lab" in result.output


def test_an_interpreter_others_may_replace_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    bin_dir = open_workdir(tmp_path / "bin")
    interpreter = bin_dir / "python3"
    shutil.copy(os.path.realpath(sys.executable), interpreter)
    monkeypatch.setattr(sys, "executable", str(interpreter))
    with pytest.raises(UnsafeWorkdir, match=f"the interpreter {interpreter}: {bin_dir}"):
        check_program()


# -- the state file is only believed in a directory of root's ---------------------------------


@needs_root
def test_down_never_acts_on_a_state_file_others_could_have_written(
    tmp_path: Path, namespace_victim: tuple[int, subprocess.Popen[bytes]]
) -> None:
    inode, sleeper = namespace_victim
    workdir = open_workdir(tmp_path / "lab")
    victim_file = tmp_path / "victim"
    victim_file.write_text("precious\n")
    hostile_state(workdir, inode, victim_file)
    result = CliRunner().invoke(main, ["lab", "down", "--workdir", str(workdir)])
    assert result.exit_code == 1
    assert f"refusing the lab working directory {workdir}" in result.output
    assert victim_file.read_text() == "precious\n"
    assert sleeper.poll() is None
    assert processes.in_namespaces([inode])  # nothing in the namespace was killed


@needs_root
def test_every_command_refuses_before_reading_the_state(tmp_path: Path) -> None:
    workdir = open_workdir(tmp_path / "lab")
    hostile_state(workdir, 1, tmp_path / "victim")
    with pytest.raises(UnsafeWorkdir):
        Lab.attach(workdir)
    with pytest.raises(UnsafeWorkdir):
        Lab(workdir, 1).state()
    for command, *rest in (["status"], ["exec", "node1", "--", "true"], ["fence", "node1"]):
        result = CliRunner().invoke(main, ["lab", command, "--workdir", str(workdir), *rest])
        assert result.exit_code == 1, command
        assert "refusing the lab working directory" in result.output, command


@needs_root
@pytest.mark.real
def test_the_fence_agent_kills_nothing_on_the_word_of_a_state_file_others_could_write(
    tmp_path: Path, namespace_victim: tuple[int, subprocess.Popen[bytes]]
) -> None:
    inode, sleeper = namespace_victim
    workdir = open_workdir(tmp_path / "lab")
    hostile_state(workdir, inode, tmp_path / "victim")
    code = fence_agent.main(str(workdir / "lab.json"), [], "action=off\nport=node1\n")
    assert code == 1
    assert sleeper.poll() is None
    assert not (workdir / "fence.log").exists()


# -- what the lab writes for its nodes -------------------------------------------------------


@needs_root
def test_giving_a_tree_to_hacluster_never_follows_a_link(tmp_path: Path) -> None:
    victim = tmp_path / "victim"
    victim.write_text("root's\n")
    tree = tmp_path / "tree"
    tree.mkdir()
    (tree / "link").symlink_to(victim)
    nodedirs._chown_tree(tree, "hacluster", "haclient")
    hacluster = pwd.getpwnam("hacluster").pw_uid
    assert tree.stat().st_uid == hacluster
    assert (tree / "link").lstat().st_uid == hacluster
    assert victim.stat().st_uid == 0


def test_a_failure_report_never_reads_through_a_link_in_a_log_directory(tmp_path: Path) -> None:
    """log-pacemaker is hacluster's: a link there must not put a file of root's in a report."""
    secret = tmp_path / "secret"
    secret.write_text("root's secret\n")
    logs = tmp_path / "log-pacemaker"
    logs.mkdir()
    (logs / "pacemaker.log").symlink_to(secret)
    os.mkfifo(logs / "fifo.log")
    shown = diagnosis.tail(logs / "pacemaker.log")
    assert "secret" not in shown and "not read" in shown
    assert "not a regular file" in diagnosis.tail(logs / "fifo.log")
    (logs / "real.log").write_text("a\nb\nc\n")
    assert diagnosis.tail(logs / "real.log", 2) == "b\nc"


@needs_root
def test_a_nodes_bus_and_ganesha_directories_are_roots_alone(tmp_path: Path) -> None:
    workdir = tmp_path / "lab"
    workdir.mkdir(mode=0o755)
    layout = Layout.create(workdir, 2)
    nodedirs.prepare(layout, LabConfig(nodes=2, ganesha=True), None)
    for node in layout.nodes:
        home = layout.node_dir(node)
        for private in ("dbus", "ganesha"):
            info = (home / private).stat()
            assert (info.st_uid, stat.S_IMODE(info.st_mode)) == (0, 0o700), private
        assert (home / "dbus.conf").read_text() == render.bus_config()
        assert "Clients = 192.168.77.0/24;" in (home / "ganesha.conf").read_text()


def test_the_nodes_bus_lets_only_root_in_and_starts_nothing_on_demand() -> None:
    config = etree.fromstring(render.bus_config().encode())
    assert config.findtext("listen") == "unix:path=/run/dbus/system_bus_socket"
    assert [a.text for a in config.iter("auth")] == ["EXTERNAL"]
    assert config.findtext("user") == "messagebus"
    for absent in ("servicehelper", "servicedir", "standard_system_servicedirs", "includedir",
                   "include", "standard_session_servicedirs"):  # fmt: skip
        assert config.find(absent) is None, absent
    (default,) = config.iterfind("policy[@context='default']")
    assert [(r.tag, dict(r.attrib)) for r in default][:3] == [
        ("deny", {"user": "*"}),
        ("allow", {"user": "root"}),
        ("deny", {"own": "*"}),
    ]
    assert default.find("allow[@own]") is None
    assert default.find("allow[@send_destination='org.ganesha.nfsd']") is None
    (root,) = config.iterfind("policy[@user='root']")
    assert sorted(tuple(r.attrib.items()) for r in root) == [
        (("own", "org.ganesha.nfsd"),),
        (("send_destination", "org.ganesha.nfsd"),),
    ]
    assert [dict(p.attrib) for p in config.iter("policy")] == [
        {"context": "default"},
        {"user": "root"},
    ]


def test_the_export_is_open_to_the_given_clients_only() -> None:
    text = render.ganesha_conf(
        recovery_root=Path("/r"),
        export_path=Path("/e"),
        grace_period=5,
        lease_lifetime=5,
        clients="192.168.77.0/24",
    )
    export = text[text.index("EXPORT {") :]
    assert "    Access_Type = None;\n" in export
    assert (
        "CLIENT {\n        Clients = 192.168.77.0/24;\n        Access_Type = RW;\n    }" in export
    )
