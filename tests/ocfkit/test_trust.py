"""The rule for paths root trusts: root's alone, all the way up, links followed only if root's."""

from __future__ import annotations

import os
import pwd
import stat
import sys
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ocfkit import trust

ROOT = os.geteuid() == 0
needs_root = pytest.mark.skipif(not ROOT, reason="needs root to give files to another user")
NOBODY = pwd.getpwnam("nobody").pw_uid


def mkdir(path: Path, mode: int = 0o755, owner: int | None = None) -> Path:
    path.mkdir()
    path.chmod(mode)
    if owner is not None:
        os.chown(path, owner, owner)
    return path


def test_a_chain_of_root_owned_directories_is_trusted(tmp_path: Path) -> None:
    deep = mkdir(mkdir(tmp_path / "a") / "b")
    (deep / "file").write_text("x")
    assert trust.why_untrusted(deep) is None
    assert trust.why_untrusted(deep / "file") is None
    assert trust.why_untrusted("/") is None


def test_the_sticky_bit_protects_what_lies_below_but_not_the_directory_itself(
    tmp_path: Path,
) -> None:
    sticky = mkdir(tmp_path / "tmp", 0o1777)
    below = mkdir(sticky / "mine")
    assert trust.why_untrusted(below) is None
    assert "writable by its group and by others" in (trust.why_untrusted(sticky) or "")


@pytest.mark.parametrize(
    ("mode", "who"),
    [(0o775, "its group"), (0o757, "others"), (0o777, "its group and by others")],
)
def test_a_directory_others_may_write_is_refused_wherever_it_is(
    tmp_path: Path, mode: int, who: str
) -> None:
    open_dir = mkdir(tmp_path / "open", mode)
    inner = mkdir(open_dir / "inner")
    for path in (open_dir, inner, inner / "missing"):
        reason = trust.why_untrusted(path, missing_ok=True)
        assert reason is not None and f"{open_dir} is writable by {who}" in reason


def test_a_file_others_may_write_is_refused(tmp_path: Path) -> None:
    script = tmp_path / "script"
    script.write_text("x")
    script.chmod(0o666)
    assert "is writable by" in (trust.why_untrusted(script) or "")


@needs_root
def test_anything_owned_by_another_user_is_refused(tmp_path: Path) -> None:
    theirs = mkdir(tmp_path / "theirs", 0o755, NOBODY)
    mine = mkdir(theirs / "mine")
    for path in (theirs, mine):
        reason = trust.why_untrusted(path)
        assert reason == f"{theirs} is owned by nobody (uid {NOBODY}), not by root"


def test_a_missing_path_is_an_error_unless_allowed(tmp_path: Path) -> None:
    missing = tmp_path / "no" / "such"
    assert trust.why_untrusted(missing) == f"{tmp_path / 'no'} does not exist"
    assert trust.why_untrusted(missing, missing_ok=True) is None


def test_a_relative_path_is_refused() -> None:
    assert trust.why_untrusted("var/tmp") == "'var/tmp' is not an absolute path"


def test_a_root_owned_link_is_followed_and_its_target_judged(tmp_path: Path) -> None:
    good = mkdir(tmp_path / "good")
    bad = mkdir(tmp_path / "bad", 0o777)
    (tmp_path / "to-good").symlink_to(good)
    (tmp_path / "to-bad").symlink_to("bad")  # relative
    (tmp_path / "up-and-down").symlink_to("good/../bad")
    assert trust.why_untrusted(tmp_path / "to-good") is None
    assert f"{bad} is writable" in (trust.why_untrusted(tmp_path / "to-bad") or "")
    assert f"{bad} is writable" in (trust.why_untrusted(tmp_path / "up-and-down") or "")


@needs_root
def test_a_link_owned_by_another_user_is_never_followed(tmp_path: Path) -> None:
    good = mkdir(tmp_path / "good")
    link = tmp_path / "link"
    link.symlink_to(good)
    os.chown(link, NOBODY, NOBODY, follow_symlinks=False)
    reason = trust.why_untrusted(link / "below", missing_ok=True)
    assert reason == (
        f"{link} is a symbolic link owned by nobody (uid {NOBODY}), which root does not follow"
    )


def test_a_link_loop_ends(tmp_path: Path) -> None:
    (tmp_path / "a").symlink_to("b")
    (tmp_path / "b").symlink_to("a")
    assert "more than 40 symbolic links" in (trust.why_untrusted(tmp_path / "a") or "")


def test_a_file_in_the_middle_of_a_path_is_refused(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("")
    assert trust.why_untrusted(tmp_path / "file" / "x") == f"{tmp_path / 'file'} is not a directory"


@given(st.text(alphabet="ab/.~", max_size=30))
def test_any_path_gets_a_verdict_and_no_exception(text: str) -> None:
    verdict = trust.why_untrusted("/" + text, missing_ok=True)
    assert verdict is None or isinstance(verdict, str)


# -- creating directories ------------------------------------------------------------------


def test_make_directories_gives_the_exact_mode_whatever_the_umask(tmp_path: Path) -> None:
    target = tmp_path / "a" / "b"
    old = os.umask(0o077)
    try:
        made = trust.make_directories(target, 0o755)
    finally:
        os.umask(old)
    assert made == [str(tmp_path / "a"), str(target)]
    for path in made:
        assert stat.S_IMODE(os.stat(path).st_mode) == 0o755
    assert trust.make_directories(target, 0o755) == []  # there already: nothing made


@needs_root
def test_make_directories_never_adopts_a_directory_someone_else_made_first(
    tmp_path: Path,
) -> None:
    sticky = mkdir(tmp_path / "tmp", 0o1777)
    squatted = mkdir(sticky / "lab", 0o777, NOBODY)
    with pytest.raises(trust.UntrustedPathError, match="owned by nobody"):
        trust.make_directories(squatted / "inner")
    assert list(squatted.iterdir()) == []  # nothing created inside


def test_make_directories_creates_nothing_below_an_untrusted_directory(tmp_path: Path) -> None:
    open_dir = mkdir(tmp_path / "open", 0o777)
    with pytest.raises(trust.UntrustedPathError, match="writable by"):
        trust.make_directories(open_dir / "a" / "b")
    assert list(open_dir.iterdir()) == []


# -- writing files ---------------------------------------------------------------------------


def test_write_file_replaces_a_link_instead_of_following_it(tmp_path: Path) -> None:
    victim = tmp_path / "victim"
    victim.write_text("precious")
    target = tmp_path / "target"
    target.symlink_to(victim)
    trust.write_file(target, b"new", 0o640)
    assert victim.read_text() == "precious"
    assert not target.is_symlink() and target.read_bytes() == b"new"
    assert stat.S_IMODE(target.stat().st_mode) == 0o640
    assert sorted(p.name for p in tmp_path.iterdir()) == ["target", "victim"]


def test_write_file_leaves_no_temporary_behind_when_it_fails(tmp_path: Path) -> None:
    (tmp_path / "dir").mkdir()
    with pytest.raises(IsADirectoryError):
        trust.write_file(tmp_path / "dir", b"x", 0o644)  # a directory cannot be replaced
    assert sorted(p.name for p in tmp_path.iterdir()) == ["dir"]


# -- programs ---------------------------------------------------------------------------------


def test_this_interpreter_and_its_code_are_trusted() -> None:
    interpreter = os.path.realpath(sys.executable)
    assert trust.why_untrusted_program(interpreter, [str(Path(trust.__file__).parent)]) is None


def test_an_interpreter_others_can_replace_is_refused(tmp_path: Path) -> None:
    open_dir = mkdir(tmp_path / "bin", 0o777)
    interpreter = open_dir / "python"
    interpreter.write_bytes(Path(os.path.realpath(sys.executable)).read_bytes())
    interpreter.chmod(0o755)
    reason = trust.why_untrusted_program(str(interpreter), [])
    assert reason is not None and reason.startswith(f"the interpreter {interpreter}: ")


def test_code_others_can_write_is_refused(tmp_path: Path) -> None:
    interpreter = os.path.realpath(sys.executable)
    open_dir = mkdir(tmp_path / "site", 0o777)
    reason = trust.why_untrusted_program(interpreter, [str(open_dir)])
    assert reason is not None and reason.startswith(f"code is imported from {open_dir}: ")
