"""ganesha_nfsd on its real backends, in a directory standing for /var/lib and one for the volume.

The agent class is the one Pacemaker runs; only the two paths differ (the
backends take them as arguments), so nothing here goes near the host's
/var/lib/nfs.  The volume is a plain directory (``require_mount=False``);
the mount check has its own tests.
"""

from __future__ import annotations

import os
import stat
import tempfile
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ganesha_agents import nfs_state
from ganesha_agents.backends.nfsdir import LocalNFSDirectory, VolumeDirectories
from ganesha_agents.fakes import Crash
from ganesha_agents.nfs_state import LOCAL, NEW, NFS
from ganesha_agents.nfsd import GaneshaNfsd
from ocfkit import ExitCode
from ocfkit.codes import VALID_CODES
from ocfkit.testing import AgentRunner, FakeClock, MemoryStateStore, OCFEnv, Result

ME = os.getuid()
NOBODY = 65534
as_root = pytest.mark.skipif(
    os.geteuid() != 0, reason="needs root to make things another user owns"
)
MUTATIONS = {"symlink", "rename", "replace_link", "unlink", "mark", "unmark", "exchange"}


class Crashing:
    """The real /var/lib backend, killed after ``crash_after`` changes; exchange optional."""

    def __init__(self, real: LocalNFSDirectory, crash_after: int | None, exchange: bool) -> None:
        self.real = real
        self.crash_after = crash_after
        self.exchange_supported = exchange

    def __getattr__(self, name: str) -> Any:
        method = getattr(self.real, name)
        if name not in MUTATIONS:
            return method

        def changed(*args: Any) -> Any:
            if name == "exchange" and not self.exchange_supported:
                return False
            if self.crash_after is not None:
                if self.crash_after <= 0:
                    raise Crash(name)
                self.crash_after -= 1
            return method(*args)

        return changed


class Sandbox:
    """``varlib`` (with the node's own ``nfs``) and ``volume``, under one temporary directory."""

    def __init__(self, base: Path) -> None:
        self.base = base
        self.varlib = base / "varlib"
        self.volume = base / "volume"
        self.victim = base / "victim"
        self.varlib.mkdir(mode=0o755)
        self.volume.mkdir(mode=0o755)
        self.victim.mkdir(mode=0o755)
        (self.victim / "precious").write_text("not to be touched")
        (self.varlib / "nfs").mkdir(mode=0o755)
        (self.varlib / "nfs" / "state").write_text("node's own")
        self.original = (self.varlib / "nfs").stat().st_ino
        self.state = MemoryStateStore()
        self.crash_after: int | None = None
        self.exchange = True

    @property
    def target(self) -> str:
        return f"{self.volume}/nfs-ganesha/node1/nfs"

    def agent(self) -> GaneshaNfsd:
        real = LocalNFSDirectory(str(self.varlib), owner_uid=ME)
        return GaneshaNfsd(
            nfs_dir=Crashing(real, self.crash_after, self.exchange),
            volumes=lambda path: VolumeDirectories(path, owner_uid=ME, require_mount=False),
            clock=FakeClock(),
            state_store=self.state,
            node_name="node1",
        )

    @property
    def env(self) -> OCFEnv:
        return OCFEnv(instance="nfs-setup").params(ha_vol_mnt=str(self.volume))

    def run(self, action: str, env: OCFEnv | None = None) -> Result:
        return AgentRunner(self.agent).invoke(action, env or self.env)

    def names(self) -> dict[str, str]:
        """What the three names are: 'original', 'link:<target>', 'dir', 'marker', ..."""
        found = {}
        for name in nfs_state.NAMES:
            path = self.varlib / name
            if path.is_symlink():
                found[name] = f"link:{os.readlink(path)}"
            elif path.is_dir():
                found[name] = "original" if path.stat().st_ino == self.original else "dir"
            elif path.exists():
                found[name] = "marker" if path.stat().st_size == 0 else "file"
        return found


def snapshot(path: Path) -> dict[str, tuple[int, int, int, str]]:
    """Every entry under ``path`` as it is (never following links): mode, owner, inode, content."""
    found = {}
    for directory, dirs, files in os.walk(path):
        for name in dirs + files:
            full = Path(directory) / name
            seen = full.lstat()
            if stat.S_ISLNK(seen.st_mode):
                content = os.readlink(full)
            elif stat.S_ISREG(seen.st_mode):
                content = full.read_text()
            else:
                content = ""
            found[str(full.relative_to(path))] = (seen.st_mode, seen.st_uid, seen.st_ino, content)
    return found


@pytest.fixture
def box(tmp_path: Path) -> Sandbox:
    return Sandbox(tmp_path)


def test_start_and_stop_on_the_real_file_system(box: Sandbox) -> None:
    assert box.run("monitor", box.env.probe()).code == 7
    result = box.run("start")
    assert result.code == ExitCode.SUCCESS, result
    assert box.names() == {NFS: f"link:{box.target}", LOCAL: "original"}
    # ganesha's default RecoveryRoot now leads to the volume.
    recovery = box.varlib / "nfs" / "ganesha"
    assert recovery.resolve() == (box.volume / "nfs-ganesha/node1/nfs/ganesha").resolve()
    assert (recovery / "v4recov").is_dir() and (recovery / "v4old").is_dir()
    assert box.run("monitor", box.env.recurring()).code == 0
    assert box.run("start").code == ExitCode.SUCCESS
    assert box.run("stop").code == ExitCode.SUCCESS
    assert box.names() == {NFS: "original"}
    assert (box.varlib / "nfs" / "state").read_text() == "node's own"
    assert (box.volume / "nfs-ganesha/node1/nfs/ganesha/v4recov").is_dir(), "records stay"


def test_monitor_sees_the_link_go(box: Sandbox) -> None:
    assert box.run("start").code == ExitCode.SUCCESS
    (box.varlib / "nfs").unlink()
    (box.varlib / "nfs").symlink_to("/tmp")
    result = box.run("monitor", box.env.recurring())
    assert result.code == ExitCode.ERR_GENERIC
    assert f"links to /tmp, not to {box.target}" in (result.exit_reason or "")


def test_monitor_sees_a_directory_of_the_layout_go(box: Sandbox) -> None:
    assert box.run("start").code == ExitCode.SUCCESS
    (box.volume / "nfs-ganesha/node1/nfs/ganesha/v4old").rmdir()
    result = box.run("monitor", box.env.recurring())
    assert result.code == ExitCode.ERR_GENERIC
    assert "v4old: missing directory" in (result.exit_reason or "")


def test_a_volume_that_is_not_a_mount_point_is_refused_by_default(box: Sandbox) -> None:
    volume = VolumeDirectories(str(box.volume), owner_uid=ME)
    with pytest.raises(Exception, match="not a mount point"):
        volume.prepare("node1")
    assert list(box.volume.iterdir()) == []
    assert "not a mount point" in volume.problems("node1")[0]


@settings(max_examples=60, deadline=None)
@given(
    st.booleans(),
    st.lists(
        st.tuples(st.sampled_from(["start", "stop"]), st.integers(min_value=0, max_value=4)),
        min_size=1,
        max_size=6,
    ),
)
def test_killed_at_any_step_on_the_real_file_system(
    exchange: bool, crashes: list[tuple[str, int]]
) -> None:
    with tempfile.TemporaryDirectory() as made:
        box = Sandbox(Path(made))
        box.exchange = exchange
        for action, after in crashes:
            box.crash_after = after
            try:  # noqa: SIM105 (the crash is the point)
                box.run(action)
            except Crash:
                pass
            names = box.names()
            assert list(names.values()).count("original") == 1, names
            if exchange:
                assert NFS in names, names
        box.crash_after = None
        assert box.run("start").code == ExitCode.SUCCESS
        assert box.names() == {NFS: f"link:{box.target}", LOCAL: "original"}
        assert box.run("stop").code == ExitCode.SUCCESS
        assert box.names() == {NFS: "original"}
        assert (box.varlib / "nfs" / "state").read_text() == "node's own"


# -------------------------------------------------- what another user may have planted


def test_planted_links_at_the_agents_names_are_removed_never_followed(box: Sandbox) -> None:
    (box.varlib / NEW).symlink_to(box.victim)
    before = snapshot(box.victim)
    assert box.run("start").code == ExitCode.SUCCESS
    assert box.names() == {NFS: f"link:{box.target}", LOCAL: "original"}
    assert box.run("stop").code == ExitCode.SUCCESS
    (box.varlib / LOCAL).symlink_to(box.victim)
    assert box.run("start").code == ExitCode.SUCCESS
    assert box.run("stop").code == ExitCode.SUCCESS
    assert box.names() == {NFS: "original"}
    assert snapshot(box.victim) == before


def test_a_var_lib_nfs_link_somebody_else_made_is_refused(box: Sandbox) -> None:
    os.rename(box.varlib / "nfs", box.base / "away")
    (box.varlib / "nfs").symlink_to(box.victim)
    result = box.run("start")
    assert result.code == ExitCode.ERR_GENERIC
    assert "ganesha_nfsd did not make it" in (result.exit_reason or "")
    assert box.names() == {NFS: f"link:{box.victim}"}


def test_a_layout_directory_replaced_by_a_link_is_refused(box: Sandbox) -> None:
    (box.volume / "nfs-ganesha").mkdir()
    (box.volume / "nfs-ganesha" / "node1").symlink_to(box.victim)
    before = snapshot(box.victim)
    result = box.run("start")
    assert result.code == ExitCode.ERR_GENERIC
    assert f"nfs-ganesha/node1: is a link to {box.victim}, not a directory" in (
        result.exit_reason or ""
    )
    assert snapshot(box.victim) == before
    assert box.names() == {NFS: "original"}


def test_a_parent_others_can_write_is_not_used(box: Sandbox) -> None:
    box.varlib.chmod(0o777)
    result = box.run("start")
    assert result.code == ExitCode.ERR_GENERIC
    assert "writable by group or others" in (result.exit_reason or "")
    stopped = box.run("stop")
    assert stopped.code == ExitCode.SUCCESS
    assert stopped.logged("stop changes nothing")
    assert box.names() == {NFS: "original"}


@as_root
def test_a_layout_directory_of_another_user_is_refused(box: Sandbox) -> None:
    (box.volume / "nfs-ganesha" / "node1").mkdir(parents=True)
    os.chown(box.volume / "nfs-ganesha" / "node1", NOBODY, NOBODY)
    result = box.run("start")
    assert result.code == ExitCode.ERR_GENERIC
    assert "owned by uid 65534" in (result.exit_reason or "")
    assert box.names() == {NFS: "original"}
    assert list((box.volume / "nfs-ganesha" / "node1").iterdir()) == []


# Each name may hold anything, made by root or by someone else.
PLANTS = ["absent", "dir", "link-victim", "link-target", "empty-file", "file", "fifo"]
OWNERS = [0, NOBODY] if os.geteuid() == 0 else [ME]
LAYOUT = ["absent", "dir", "link-victim", "dir-0777", "file"]


def plant(path: Path, what: str, owner: int, box: Sandbox) -> None:
    if what == "absent":
        if path.is_dir() and not path.is_symlink():
            os.rename(path, box.base / f"gone-{path.name}")
        return
    if path.exists() or path.is_symlink():
        os.rename(path, box.base / f"gone-{path.name}")
    if what.startswith("dir"):
        path.mkdir(mode=0o777 if what == "dir-0777" else 0o755)
        if what == "dir-0777":
            path.chmod(0o777)
    elif what == "link-victim":
        path.symlink_to(box.victim)
    elif what == "link-target":
        path.symlink_to(box.target)
    elif what == "empty-file":
        path.write_text("")
    elif what == "file":
        path.write_text("data")
    elif what == "fifo":
        os.mkfifo(path)
    os.lchown(path, owner, owner)


@settings(max_examples=150, deadline=None)
@given(
    st.fixed_dictionaries(
        {
            name: st.tuples(st.sampled_from(PLANTS), st.sampled_from(OWNERS))
            for name in nfs_state.NAMES
        }
    ),
    st.tuples(st.sampled_from(LAYOUT), st.sampled_from(OWNERS)),
    st.lists(st.sampled_from(["start", "stop", "monitor", "validate-all"]), min_size=1, max_size=4),
    st.sampled_from(["link", "direct"]),
)
def test_whatever_was_planted_root_follows_nothing_out(
    planted: dict[str, tuple[str, int]],
    layout: tuple[str, int],
    actions: list[str],
    mode: str,
) -> None:
    with tempfile.TemporaryDirectory() as made:
        box = Sandbox(Path(made))
        for name, (what, owner) in planted.items():
            plant(box.varlib / name, what, owner, box)
        (box.volume / "nfs-ganesha").mkdir()
        plant(box.volume / "nfs-ganesha" / "node1", layout[0], layout[1], box)
        victim = snapshot(box.victim)
        gone = {p.name for p in box.base.iterdir()}
        env = OCFEnv(instance="nfs-setup").params(ha_vol_mnt=str(box.volume), mode=mode)
        for action in actions:
            result = box.run(action, env.recurring() if action == "monitor" else env)
            assert result.code in VALID_CODES
            if result.code not in (ExitCode.SUCCESS, ExitCode.NOT_RUNNING):
                assert result.exit_reason and "internal error" not in result.exit_reason, result
        assert snapshot(box.victim) == victim
        # Nothing new beside the sandbox's own directories, nothing new in /var/lib but the names.
        assert {p.name for p in box.base.iterdir()} == gone
        assert {p.name for p in box.varlib.iterdir()} <= set(nfs_state.NAMES)
        for path in box.varlib.iterdir():
            if path.is_symlink() and os.readlink(path) not in (str(box.victim), box.target):
                raise AssertionError(f"{path} links to {os.readlink(path)}")
