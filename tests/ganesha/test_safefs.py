"""Walking paths as root without being steered: trusted directories, links, renames, mounts."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from ganesha_agents.backends import safefs
from ganesha_agents.backends.safefs import FileSystemError, open_trusted_directory

ME = safefs.trusted_owners(os.getuid())
NOBODY = 65534
as_root = pytest.mark.skipif(
    os.geteuid() != 0, reason="needs root to make things another user owns"
)


def resolve(path: Path | str) -> str:
    fd, resolved = open_trusted_directory(str(path), ME, "the test path")
    os.close(fd)
    return resolved


def test_a_plain_path_resolves_to_itself(tmp_path: Path) -> None:
    (tmp_path / "a" / "b").mkdir(parents=True, mode=0o755)
    assert resolve(tmp_path / "a" / "b") == str((tmp_path / "a" / "b").resolve())


def test_links_of_a_trusted_owner_are_followed_like_var_run(tmp_path: Path) -> None:
    (tmp_path / "run" / "gluster").mkdir(parents=True)
    (tmp_path / "var").mkdir()
    (tmp_path / "var" / "run").symlink_to("../run")
    (tmp_path / "abs").symlink_to(tmp_path / "run")
    assert resolve(tmp_path / "var" / "run" / "gluster") == str(tmp_path / "run" / "gluster")
    assert resolve(tmp_path / "abs" / "gluster" / ".." / "gluster") == str(
        tmp_path / "run" / "gluster"
    )


def test_the_open_directory_is_the_resolved_one(tmp_path: Path) -> None:
    (tmp_path / "d").mkdir()
    fd, _ = open_trusted_directory(str(tmp_path / "d"), ME, "x")
    try:
        assert os.fstat(fd).st_ino == (tmp_path / "d").stat().st_ino
    finally:
        os.close(fd)


@pytest.mark.parametrize(
    ("build", "fragment"),
    [
        (lambda t: None, "does not exist"),
        (lambda t: (t / "target").write_text(""), "is not a directory"),
        (lambda t: (t / "target").symlink_to("target"), "too many symbolic links"),
    ],
)
def test_what_cannot_be_walked_is_named(tmp_path: Path, build: object, fragment: str) -> None:
    build(tmp_path)  # type: ignore[operator]
    with pytest.raises(FileSystemError, match=fragment):
        resolve(tmp_path / "target" / "below")


def test_a_relative_path_is_refused() -> None:
    with pytest.raises(FileSystemError, match="not an absolute path"):
        resolve("var/lib")


def test_a_directory_others_can_write_is_not_walked_through(tmp_path: Path) -> None:
    (tmp_path / "open" / "inner").mkdir(parents=True)
    (tmp_path / "open").chmod(0o777)
    with pytest.raises(FileSystemError, match="writable by group or others"):
        resolve(tmp_path / "open" / "inner")


def test_a_sticky_directory_is_walked_through_to_what_its_owner_owns(tmp_path: Path) -> None:
    (tmp_path / "tmp" / "mine").mkdir(parents=True)
    (tmp_path / "tmp").chmod(0o1777)
    assert resolve(tmp_path / "tmp" / "mine").endswith("/tmp/mine")


@as_root
def test_a_link_of_another_user_is_not_followed(tmp_path: Path) -> None:
    (tmp_path / "real").mkdir()
    (tmp_path / "tmp").mkdir(mode=0o1777)
    (tmp_path / "tmp").chmod(0o1777)
    planted = tmp_path / "tmp" / "volume"
    planted.symlink_to(tmp_path / "real")
    os.lchown(planted, NOBODY, NOBODY)
    with pytest.raises(FileSystemError, match="link owned by uid 65534, not followed"):
        open_trusted_directory(str(planted), safefs.trusted_owners(0), "the state volume")


@as_root
def test_a_directory_of_another_user_is_not_trusted(tmp_path: Path) -> None:
    (tmp_path / "theirs" / "inner").mkdir(parents=True)
    os.chown(tmp_path / "theirs", NOBODY, NOBODY)
    with pytest.raises(FileSystemError, match="owned by uid 65534"):
        open_trusted_directory(str(tmp_path / "theirs" / "inner"), safefs.trusted_owners(0), "x")


def test_exchange_swaps_a_link_and_a_directory(tmp_path: Path) -> None:
    (tmp_path / "dir").mkdir()
    (tmp_path / "dir" / "inside").write_text("kept")
    (tmp_path / "link").symlink_to("/somewhere")
    fd = os.open(tmp_path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        if not safefs.rename_at(fd, "link", "dir", safefs.RENAME_EXCHANGE):
            pytest.skip("this file system cannot exchange")
    finally:
        os.close(fd)
    assert os.readlink(tmp_path / "dir") == "/somewhere"
    assert (tmp_path / "link" / "inside").read_text() == "kept"


def test_rename_noreplace_never_replaces_even_an_empty_directory(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    fd = os.open(tmp_path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        with pytest.raises(FileExistsError):
            safefs.rename_noreplace(fd, "a", "b")
        safefs.rename_noreplace(fd, "a", "c")
    finally:
        os.close(fd)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["b", "c"]


def test_a_plain_directory_is_not_a_mount_point(tmp_path: Path) -> None:
    assert safefs.mount_type("/") is not None
    assert safefs.mount_type(str(tmp_path)) is None


@as_root
def test_a_mount_with_a_space_in_its_path_is_found(tmp_path: Path) -> None:
    where = tmp_path / "state volume"
    where.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "tmpfs", str(where)], check=True, timeout=30)
    try:
        assert safefs.mount_type(str(where)) == "tmpfs"
    finally:
        subprocess.run(["umount", str(where)], check=True, timeout=30)


def test_mountinfo_escapes_are_read() -> None:
    assert safefs._unescape(rb"/a\040b\134c\011d") == b"/a b\\c\td"
    assert safefs._unescape(rb"/plain\09") == rb"/plain\09"
