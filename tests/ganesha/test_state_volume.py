"""The shared state layout: created, checked, fixed without losing anything; the command."""

from __future__ import annotations

import json
import os
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from ganesha_agents import state_volume
from ganesha_agents.cli import main
from ganesha_agents.state_volume import CHECK, CREATE, FIX, VolumeError, survey

NODES = ("node1", "node2", "node3")
NOBODY = 65534
as_root = pytest.mark.skipif(os.geteuid() != 0, reason="needs root (another user, mounts)")


def lay_out(
    volume: Path, nodes: tuple[str, ...] = NODES, change: str = CREATE
) -> state_volume.Report:
    return survey(volume, nodes, change=change, require_mount=False)


def root(volume: Path, node: str) -> Path:
    return Path(state_volume.recovery_root(volume, node))


def tree(path: Path) -> dict[str, tuple[str, int, str]]:
    """Everything under ``path`` without following links: kind, mode, link target or content."""
    found = {}
    for directory, dirs, files in os.walk(path):
        for name in dirs + files:
            full = Path(directory) / name
            seen = full.lstat()
            if full.is_symlink():
                found[str(full.relative_to(path))] = ("link", seen.st_mode, os.readlink(full))
            elif full.is_dir():
                found[str(full.relative_to(path))] = ("dir", seen.st_mode, "")
            else:
                found[str(full.relative_to(path))] = ("file", seen.st_mode, full.read_text())
    return found


@pytest.fixture
def volume(tmp_path: Path) -> Path:
    made = tmp_path / "volume"
    made.mkdir(mode=0o755)
    lay_out(made)
    return made


def statuses(report: state_volume.Report) -> list[tuple[str, str]]:
    return [(item.status, item.path) for item in report.items]


def test_the_layout_is_created_once(tmp_path: Path) -> None:
    report = lay_out(tmp_path)
    created = {item.path for item in report.of(state_volume.CREATED)}
    assert "nfs-ganesha/node2/nfs/ganesha/v4old" in created
    assert "nfs-ganesha/node1/nfs/ganesha/node3" in created
    assert "nfs-ganesha/.addresses" in created
    assert report.ok
    assert os.readlink(root(tmp_path, "node1") / "node3") == str(root(tmp_path, "node3"))
    for directory in ("nfs-ganesha", "nfs-ganesha/node1/nfs/ganesha/v4recov"):
        assert (tmp_path / directory).stat().st_mode & 0o777 == 0o755
    again = lay_out(tmp_path, change=CHECK)
    assert again.items == [] and again.ok


def test_the_layout_is_created_whatever_the_umask(tmp_path: Path) -> None:
    old = os.umask(0o077)
    try:
        lay_out(tmp_path)
    finally:
        os.umask(old)
    assert (tmp_path / "nfs-ganesha" / "node1").stat().st_mode & 0o777 == 0o755


def test_a_check_reports_drift_and_changes_nothing(volume: Path) -> None:
    (root(volume, "node1") / "node2").unlink()
    (root(volume, "node1") / "node3").unlink()
    (root(volume, "node1") / "node3").symlink_to("/etc")
    (root(volume, "node2")).chmod(0o777)
    before = tree(volume)
    report = lay_out(volume, (*NODES, "node4"), change=CHECK)
    assert tree(volume) == before
    assert not report.ok
    said = {item.path: item.message for item in report.drift}
    assert said["nfs-ganesha/node4"] == "missing directory"
    assert said["nfs-ganesha/node1/nfs/ganesha/node2"].startswith("missing link to ")
    assert said["nfs-ganesha/node1/nfs/ganesha/node3"].startswith("links to /etc, not ")
    assert "writable by group or others (mode 0777)" in said["nfs-ganesha/node2/nfs/ganesha"]


def test_a_node_added_later_gets_its_directories_and_every_peer_link(volume: Path) -> None:
    report = lay_out(volume, (*NODES, "node4"))
    assert report.ok
    for node in NODES:
        assert os.readlink(root(volume, node) / "node4") == str(root(volume, "node4"))
        assert os.readlink(root(volume, "node4") / node) == str(root(volume, node))


def test_create_does_not_re_point_a_link_but_fix_does(volume: Path) -> None:
    peer = root(volume, "node1") / "node2"
    peer.unlink()
    peer.symlink_to("/etc")
    assert not lay_out(volume).ok
    assert os.readlink(peer) == "/etc"
    report = lay_out(volume, change=FIX)
    assert report.ok
    assert ("fixed", "nfs-ganesha/node1/nfs/ganesha/node2") in statuses(report)
    assert os.readlink(peer) == str(root(volume, "node2"))
    assert sorted(p.name for p in root(volume, "node1").iterdir()) == [
        "node2", "node3", "v4old", "v4recov",
    ]  # fmt: skip


def test_fix_tightens_modes_and_never_touches_records(volume: Path) -> None:
    records = root(volume, "node2") / "v4recov" / "192.0.2.7-(11:client-owner)"
    records.mkdir(mode=0o700)
    (root(volume, "node2")).chmod(0o777)
    (root(volume, "node2") / "v4recov").chmod(0o775)
    report = lay_out(volume, change=FIX)
    assert report.ok
    assert root(volume, "node2").stat().st_mode & 0o777 == 0o755
    assert (root(volume, "node2") / "v4recov").stat().st_mode & 0o777 == 0o755
    assert records.is_dir() and records.stat().st_mode & 0o777 == 0o700


def test_nothing_that_may_hold_records_is_changed_even_by_fix(volume: Path) -> None:
    # A directory where a peer link belongs (an older layout), a file where a directory belongs.
    peer = root(volume, "node1") / "node2"
    peer.unlink()
    (peer / "v4recov" / "client").mkdir(parents=True)
    (root(volume, "node3") / "v4old").rmdir()
    (root(volume, "node3") / "v4old").write_text("something")
    before = tree(volume)
    report = lay_out(volume, change=FIX)
    assert tree(volume) == before
    said = {item.path: item for item in report.drift}
    assert "is a directory, not a link" in said["nfs-ganesha/node1/nfs/ganesha/node2"].message
    assert "is a file, not a directory" in said["nfs-ganesha/node3/nfs/ganesha/v4old"].message
    assert "move it away by hand" in (said["nfs-ganesha/node3/nfs/ganesha/v4old"].remedy or "")


def test_a_link_in_place_of_a_layout_directory_is_not_followed(
    volume: Path, tmp_path: Path
) -> None:
    victim = tmp_path / "victim"
    victim.mkdir()
    (victim / "keep").write_text("x")
    node = volume / "nfs-ganesha" / "node3"
    os.rename(node, tmp_path / "node3-away")
    node.symlink_to(victim)
    before = tree(victim)
    report = lay_out(volume, change=FIX)
    assert tree(victim) == before
    assert [i.message for i in report.drift if i.path == "nfs-ganesha/node3"] == [
        f"is a link to {victim}, not a directory"
    ]
    with pytest.raises(ValueError, match="is a link to"):
        state_volume.create(volume, NODES)


def test_address_records_are_checked(volume: Path) -> None:
    addresses = Path(state_volume.address_dir(volume))
    (addresses / "192.0.2.1").symlink_to(root(volume, "node2"))
    (addresses / "192.0.2.2").symlink_to("/etc")
    (addresses / "192.0.2.3").symlink_to(state_volume.recovery_root(volume, "node9"))
    (addresses / "192.0.2.4").mkdir()
    (root(volume, "node1") / "192.0.2.1").symlink_to(addresses / "192.0.2.1")
    (root(volume, "node1") / "192.0.2.2").symlink_to("/srv/elsewhere")
    report = lay_out(volume, change=FIX)
    found = {item.path: (item.status, item.message) for item in report.items}
    assert "nfs-ganesha/.addresses/192.0.2.1" not in found
    assert "nfs-ganesha/node1/nfs/ganesha/192.0.2.1" not in found
    assert found["nfs-ganesha/.addresses/192.0.2.2"] == (
        "drift", "points at /etc, outside the layout",
    )  # fmt: skip
    assert found["nfs-ganesha/.addresses/192.0.2.3"][0] == "warning"
    assert found["nfs-ganesha/.addresses/192.0.2.4"][0] == "drift"
    assert found["nfs-ganesha/node1/nfs/ganesha/192.0.2.2"] == (
        "drift", "links to /srv/elsewhere, outside the layout",
    )  # fmt: skip
    assert not report.ok
    # None of it is removed: a record is not the command's to delete.
    assert os.readlink(addresses / "192.0.2.2") == "/etc"


def test_what_is_beside_the_layout_is_noted_and_left(volume: Path) -> None:
    (volume / "nfs-ganesha" / "node9").mkdir()
    (volume / "nfs-ganesha" / "README").write_text("hi")
    (root(volume, "node1") / "v4recov.old").mkdir()
    report = lay_out(volume)
    assert report.ok
    assert {(i.status, i.path) for i in report.items} == {
        ("note", "nfs-ganesha/node9"),
        ("note", "nfs-ganesha/README"),
        ("note", "nfs-ganesha/node1/nfs/ganesha/v4recov.old"),
    }


@as_root
def test_a_directory_of_another_user_is_reported_not_entered(volume: Path) -> None:
    os.chown(root(volume, "node2"), NOBODY, NOBODY)
    (root(volume, "node2") / "node1").unlink()
    report = lay_out(volume, change=FIX)
    said = {item.path: item.message for item in report.drift}
    assert said == {"nfs-ganesha/node2/nfs/ganesha": "is owned by uid 65534, not 0"}
    assert not (root(volume, "node2") / "node1").exists()


@as_root
def test_a_link_planted_by_another_user_is_replaced_by_fix(volume: Path) -> None:
    peer = root(volume, "node1") / "node2"
    os.lchown(peer, NOBODY, NOBODY)
    assert not lay_out(volume, change=CHECK).ok
    report = lay_out(volume, change=FIX)
    assert report.ok
    assert peer.lstat().st_uid == 0


def test_node_names_that_cannot_be_directories_are_refused(tmp_path: Path) -> None:
    for nodes in (["../etc"], [".addresses"], ["a/b"], [""], ["node1", "node1"]):
        with pytest.raises(ValueError):
            survey(tmp_path, nodes, change=CREATE, require_mount=False)
    assert list(tmp_path.iterdir()) == []


def test_a_volume_that_is_not_a_mount_point_is_refused(tmp_path: Path) -> None:
    with pytest.raises(VolumeError, match="not a mount point"):
        survey(tmp_path, NODES, change=CREATE)
    assert list(tmp_path.iterdir()) == []


def test_a_volume_reached_through_a_writable_directory_is_refused(tmp_path: Path) -> None:
    (tmp_path / "shared" / "volume").mkdir(parents=True)
    (tmp_path / "shared").chmod(0o777)
    with pytest.raises(VolumeError, match="writable by group or others"):
        survey(tmp_path / "shared" / "volume", NODES, change=CREATE, require_mount=False)
    assert list((tmp_path / "shared" / "volume").iterdir()) == []


@pytest.mark.parametrize("mode", [0o1777, 0o775, 0o757])
def test_a_volume_root_others_may_write_is_refused_even_sticky(tmp_path: Path, mode: int) -> None:
    volume = tmp_path / "volume"
    volume.mkdir()
    volume.chmod(mode)
    with pytest.raises(VolumeError, match="writable by group or others"):
        survey(volume, NODES, change=CREATE, require_mount=False)
    assert list(volume.iterdir()) == []


@pytest.fixture
def mounted(tmp_path: Path) -> Iterator[Path]:
    where = tmp_path / "mnt"
    where.mkdir()
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "mode=0755", "tmpfs", str(where)], check=False, timeout=30
    )
    if done.returncode != 0:
        pytest.skip("cannot mount here (not root)")
    try:
        yield where
    finally:
        subprocess.run(["umount", "-l", str(where)], check=True, timeout=30)


def test_a_mounted_volume_is_accepted_and_a_read_only_one_only_checked(mounted: Path) -> None:
    report = survey(mounted, NODES, change=CREATE)
    assert report.ok and report.mounted == "tmpfs"
    subprocess.run(["mount", "-o", "remount,ro", str(mounted)], check=True, timeout=30)
    assert survey(mounted, NODES, change=CHECK).ok
    with pytest.raises(VolumeError, match="read-only"):
        survey(mounted, NODES, change=FIX)
    with pytest.raises(VolumeError, match="does not take writes"):
        survey(mounted, NODES, change=CHECK, probe_write=True)


# ------------------------------------------------------------------ the command


def command(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, ["state-volume", *args])
    return result.exit_code, result.output


def test_the_command_creates_checks_and_fixes(tmp_path: Path) -> None:
    base = ["--ha-vol-mnt", str(tmp_path), "--node", "node1", "--node", "node2"]
    code, out = command(*base, "--check", "--no-mount-check")
    assert code == 1 and "DRIFT" in out and "layout NOT in place" in out
    code, out = command(*base, "--no-mount-check")
    assert code == 0 and "created  nfs-ganesha/node1/nfs/ganesha/node2" in out
    code, out = command(*base, "--check", "--no-mount-check")
    assert (code, out.splitlines()[-1]) == (0, "layout in place")
    peer = root(tmp_path, "node1") / "node2"
    peer.unlink()
    peer.symlink_to("/etc")
    code, out = command(*base, "--no-mount-check", "--json")
    document = json.loads(out)
    assert code == 1 and document["ok"] is False
    assert document["items"] == [
        {
            "status": "drift",
            "path": "nfs-ganesha/node1/nfs/ganesha/node2",
            "message": f"links to /etc, not {root(tmp_path, 'node2')}",
            "remedy": f"--fix points it at {root(tmp_path, 'node2')}",
        }
    ]
    code, out = command(*base, "--no-mount-check", "--fix")
    assert code == 0 and "fixed" in out


def test_the_command_exit_codes_for_bad_input(tmp_path: Path) -> None:
    base = ["--ha-vol-mnt", str(tmp_path), "--node", "node1"]
    assert command(*base, "--check", "--fix")[0] == 2
    assert command("--ha-vol-mnt", str(tmp_path), "--node", "../x")[0] == 2
    assert command("--ha-vol-mnt", str(tmp_path))[0] == 2
    code, out = command(*base)
    assert code == 3 and "not a mount point" in out
    code, out = command("--ha-vol-mnt", str(tmp_path / "missing"), "--node", "n", "--json")
    assert code == 3 and "does not exist" in json.loads(out)["error"]
    assert list(tmp_path.iterdir()) == []


# ------------------------------------------------------------------ hostile input

node_names = st.text(
    alphabet=st.characters(exclude_categories=["Cs"], exclude_characters="\0"), max_size=12
)


@settings(max_examples=150, deadline=None)
@given(st.lists(node_names, max_size=4), st.sampled_from([CHECK, CREATE, FIX]))
def test_any_node_names_stay_inside_the_layout(nodes: list[str], change: str) -> None:
    with tempfile.TemporaryDirectory() as made:
        place = Path(made)
        volume = place / "volume"
        volume.mkdir()
        try:
            report = survey(volume, nodes, change=change, require_mount=False)
        except ValueError:
            assert list(volume.iterdir()) == []
            return
        assert all(state_volume.valid_node_name(node) for node in nodes)
        after = tree(place)
        for path, (kind, _, target) in after.items():
            assert path == "volume" or path.startswith("volume/nfs-ganesha"), path
            if kind == "link":
                assert target.startswith(f"{volume}/nfs-ganesha/"), (path, target)
        assert report.ok or change == CHECK
