"""State files under HA_RSCTMP: safe names from untrusted instance names, atomic writes."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ocfkit.state import DirectoryStateStore, FileState, MemoryStateStore, safe_key


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
