"""State files under HA_RSCTMP: safe names, atomic writes, and nobody but root steers them."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ocfkit import ExitCode
from ocfkit.examples.dummy import Dummy
from ocfkit.state import (
    DirectoryStateStore,
    FileState,
    MemoryStateStore,
    UnsafeStateError,
    safe_key,
)
from ocfkit.testing import AgentRunner, OCFEnv


@pytest.mark.parametrize(
    ("key", "name"),
    [
        ("dummy-rsc1", "dummy-rsc1"),
        ("dummy-nl:0", "dummy-nl:0"),
        ("../../etc/passwd", ".._.._etc_passwd"),
        ("/absolute", "_absolute"),
        (".", "_."),
        ("..", "_.."),
        ("", "_"),
        ("a b\tc\nd", "a_b_c_d"),
        ("ünï", "_n_"),
        ("x" * 500, "x" * 200),
    ],
)
def test_safe_key(key: str, name: str) -> None:
    assert safe_key(key) == name


@given(st.text(alphabet=st.characters(exclude_categories=["Cs"], exclude_characters="\0")))
def test_any_instance_name_stays_inside_the_directory(instance: str) -> None:
    name = safe_key(instance)
    assert name and "/" not in name and name not in (".", "..")
    assert len(name.encode()) <= 201  # room left for ".state" and the temporary suffix
    path = DirectoryStateStore("/run/resource-agents").state(instance).path
    assert os.path.dirname(path) == "/run/resource-agents"
    assert os.path.normpath(path) == path


def test_state_file_round_trip(tmp_path: Path) -> None:
    state = DirectoryStateStore(str(tmp_path / "rsctmp")).state("dummy-../evil")
    assert state.read() is None
    state.write("running\n")  # creates HA_RSCTMP if the boot has not yet
    assert state.read() == "running\n"
    assert Path(state.path).parent == tmp_path / "rsctmp"
    assert Path(state.path).name == "dummy-.._evil.state"
    state.write()
    assert state.read() == ""
    state.remove()
    state.remove()  # removing what is gone is fine: stop is idempotent
    assert state.read() is None


def test_write_replaces_atomically_and_leaves_no_temporary(tmp_path: Path) -> None:
    state = FileState(str(tmp_path / "s.state"))
    state.write("old")
    inode_before = os.stat(state.path).st_ino
    state.write("new")
    assert state.read() == "new"
    assert os.stat(state.path).st_ino != inode_before  # a new file renamed over the old one
    assert sorted(p.name for p in tmp_path.iterdir()) == ["s.state"]


def test_a_failed_write_keeps_the_old_content(tmp_path: Path) -> None:
    state = FileState(str(tmp_path / "s.state"))
    state.write("old")
    with pytest.raises(UnicodeEncodeError):
        state.write("half written \udc80 then failed")
    assert state.read() == "old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["s.state"]


def test_reads_are_bounded_and_tolerate_bad_bytes(tmp_path: Path) -> None:
    path = tmp_path / "s.state"
    path.write_bytes(b"\xff\xfe" + b"x" * 10_000)
    text = FileState(str(path)).read()
    assert text is not None and len(text) == 4096
    assert text.startswith("\ufffd")


def test_memory_store_keeps_keys_apart() -> None:
    store = MemoryStateStore()
    a, b = store.state("a"), store.state("b")
    a.write("1")
    assert (a.read(), b.read()) == ("1", None)
    assert store.state("a").read() == "1"  # the same key, another handle
    a.remove()
    a.remove()
    assert store.values == {}


# -- nobody but root steers a state file ------------------------------------------------------

ROOT = os.geteuid() == 0
needs_root = pytest.mark.skipif(not ROOT, reason="needs root to give files to another user")


def open_directory(path: Path) -> Path:
    """A directory anyone may write to: what HA_RSCTMP must never be."""
    path.mkdir()
    path.chmod(0o777)
    return path


def test_a_write_never_goes_through_a_link_planted_in_an_open_directory(tmp_path: Path) -> None:
    rsctmp = open_directory(tmp_path / "rsctmp")
    victim = tmp_path / "victim"
    victim.write_text("precious\n")
    state = DirectoryStateStore(str(rsctmp)).state("dummy-d1")
    # What another user could plant, knowing the temporary names a writer uses.
    Path(f"{state.path}.{os.getpid()}.tmp").symlink_to(victim)
    with pytest.raises(UnsafeStateError, match=r"writable by its group and by others"):
        state.write("started\n")
    assert victim.read_text() == "precious\n"


@pytest.mark.parametrize("operation", ["read", "write", "remove"])
def test_every_operation_refuses_a_directory_others_may_write(
    tmp_path: Path, operation: str
) -> None:
    rsctmp = open_directory(tmp_path / "rsctmp")
    planted = rsctmp / "dummy-d1.state"
    planted.write_text("up")  # as if another user had made the resource look started
    state = DirectoryStateStore(str(rsctmp)).state("dummy-d1")
    with pytest.raises(UnsafeStateError, match=f"state directory {rsctmp} is not safe"):
        getattr(state, operation)()
    assert planted.read_text() == "up"


def test_a_sticky_world_writable_directory_is_no_state_directory(tmp_path: Path) -> None:
    sticky = open_directory(tmp_path / "tmp")
    sticky.chmod(0o1777)
    with pytest.raises(UnsafeStateError, match="writable by"):
        FileState(str(sticky / "dummy.state")).write("x")
    assert list(sticky.iterdir()) == []


@needs_root
def test_a_state_directory_below_another_users_directory_is_refused(tmp_path: Path) -> None:
    theirs = tmp_path / "theirs"
    theirs.mkdir(mode=0o755)
    os.chown(theirs, 65534, 65534)
    rsctmp = theirs / "rsctmp"
    rsctmp.mkdir(mode=0o755)  # root's, but its owner's parent could rename it away
    with pytest.raises(UnsafeStateError, match="owned by nobody"):
        FileState(str(rsctmp / "s.state")).write("x")


def test_a_link_at_the_state_file_is_never_followed(tmp_path: Path) -> None:
    victim = tmp_path / "victim"
    victim.write_text("secret")
    link = tmp_path / "rsctmp" / "s.state"
    link.parent.mkdir()
    link.symlink_to(victim)
    state = FileState(str(link))
    with pytest.raises(UnsafeStateError, match="is a symbolic link"):
        state.read()
    state.write("mine")  # the link is replaced, the file it named untouched
    assert victim.read_text() == "secret"
    assert not link.is_symlink() and state.read() == "mine"


@needs_root
def test_a_state_file_of_another_users_is_not_believed(tmp_path: Path) -> None:
    path = tmp_path / "s.state"
    path.write_text("up")
    os.chown(path, 65534, 65534)
    with pytest.raises(UnsafeStateError, match="not owned by root"):
        FileState(str(path)).read()


def test_a_state_file_others_may_write_is_not_believed(tmp_path: Path) -> None:
    path = tmp_path / "s.state"
    path.write_text("up")
    path.chmod(0o666)
    with pytest.raises(UnsafeStateError, match="writable by its group and by others"):
        FileState(str(path)).read()


def test_a_fifo_at_the_state_file_does_not_hang_the_monitor(tmp_path: Path) -> None:
    fifo = tmp_path / "s.state"
    os.mkfifo(fifo)
    program = (
        "import sys\n"
        "from ocfkit.state import FileState, UnsafeStateError\n"
        "try:\n"
        "    FileState(sys.argv[1]).read()\n"
        "except UnsafeStateError as error:\n"
        "    print(error.reason)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", program, str(fifo)],
        capture_output=True,
        text=True,
        timeout=20,
        check=True,
    )
    assert done.stdout.strip() == f"state file {fifo} is not a regular file"


def test_new_state_files_are_root_owned_and_closed_to_writers(tmp_path: Path) -> None:
    old = os.umask(0)
    try:
        FileState(str(tmp_path / "rsctmp" / "s.state")).write("x")
    finally:
        os.umask(old)
    info = (tmp_path / "rsctmp" / "s.state").stat()
    assert (info.st_uid, stat.S_IMODE(info.st_mode)) == (os.geteuid(), 0o644)
    assert stat.S_IMODE((tmp_path / "rsctmp").stat().st_mode) == 0o755


def test_an_agent_reports_an_unsafe_state_directory_as_a_configuration_error(
    tmp_path: Path,
) -> None:
    rsctmp = open_directory(tmp_path / "rsctmp")
    runner = AgentRunner(Dummy)
    env = OCFEnv(instance="d1", rsctmp=str(rsctmp))
    started = runner.invoke("start", env)
    assert started.exit_code == ExitCode.ERR_CONFIGURED
    assert started.exit_reason is not None
    assert started.exit_reason.startswith(f"state directory {rsctmp} is not safe: ")
    assert list(rsctmp.iterdir()) == []
    # A probe finds it stopped; a stop that cannot read the state cannot know
    # the resource is stopped, so it fails rather than answer 0 (a stop never lies).
    assert runner.invoke("monitor", env.probe()).exit_code == ExitCode.NOT_RUNNING
    assert runner.invoke("stop", env).exit_code == ExitCode.ERR_CONFIGURED
    # The same for a state file named by the resource's own parameter.
    elsewhere = runner.invoke("start", OCFEnv().param("state", str(rsctmp / "d.state")))
    assert elsewhere.exit_code == ExitCode.ERR_CONFIGURED
