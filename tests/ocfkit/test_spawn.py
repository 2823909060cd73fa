"""ocfkit.spawn: the subprocess-free runner under the edge cases subprocess handles."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from ocfkit.spawn import OUTPUT_LIMIT, Timeout, run_captured


def open_fds() -> set[int]:
    return {int(name) for name in os.listdir("/proc/self/fd")}


def test_output_and_exit_code_are_captured() -> None:
    code, out, err = run_captured(["sh", "-c", "echo out; echo err >&2; exit 3"], timeout=10)
    assert (code, out, err) == (3, b"out\n", b"err\n")


def test_arguments_reach_the_program_literally() -> None:
    hostile = ["a b", "'q'", '"d"', "; rm -rf /", "$(id)", "`id`", "\\n", "*"]
    code, out, _ = run_captured(["printf", "%s\\n", *hostile], timeout=10)
    assert code == 0
    assert out.decode().split("\n")[:-1] == hostile


def test_stdin_is_fed_and_closed() -> None:
    data = b"x" * 300_000  # more than a pipe holds: written as the child reads
    code, out, _ = run_captured(["wc", "-c"], stdin=data, timeout=10)
    assert code == 0 and out.strip() == b"300000"


def test_without_input_stdin_is_dev_null() -> None:
    code, out, _ = run_captured(["cat"], timeout=10)
    assert (code, out) == (0, b"")


def test_a_missing_program_raises_file_not_found() -> None:
    with pytest.raises(FileNotFoundError):
        run_captured(["no-such-program-ocfkit"], timeout=10)


def test_a_signal_is_a_negative_exit_code() -> None:
    code, _, _ = run_captured(["sh", "-c", "kill -9 $$"], timeout=10)
    assert code == -9


def test_sigpipe_has_its_default_in_the_child() -> None:
    # With SIGPIPE ignored (Python's own setting), `yes` would complain of EPIPE.
    code, out, err = run_captured(["sh", "-c", "yes | head -n 1"], timeout=10)
    assert (code, out, err) == (0, b"y\n", b"")


def children_named(name: str) -> list[int]:
    """This process's children called ``name``, zombies included."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        comm = stat[stat.index("(") + 1 : stat.rindex(")")]
        ppid = int(stat[stat.rindex(")") + 2 :].split()[1])
        if ppid == os.getpid() and comm == name:
            found.append(int(entry))
    return found


def test_timeout_kills_and_reaps_the_program() -> None:
    others = set(children_named("sleep"))  # e.g. a lab's namespace holders, in a full run
    started = time.monotonic()
    with pytest.raises(Timeout):
        run_captured(["sleep", "30"], timeout=0.3)
    assert time.monotonic() - started < 5
    assert set(children_named("sleep")) == others, "no child left behind, not even a zombie"


def test_a_program_that_closes_its_output_but_runs_on_is_still_bounded() -> None:
    with pytest.raises(Timeout):
        run_captured(["sh", "-c", "exec >&- 2>&-; sleep 30"], timeout=0.3)


def test_output_beyond_the_limit_is_dropped() -> None:
    size = OUTPUT_LIMIT + 100_000
    code, out, _ = run_captured(["head", "-c", str(size), "/dev/zero"], timeout=30)
    assert code == 0 and len(out) == OUTPUT_LIMIT


def test_no_file_descriptor_leaks() -> None:
    before = open_fds()
    for _ in range(20):
        run_captured(["true"], timeout=10)
    with pytest.raises(FileNotFoundError):
        run_captured(["no-such-program-ocfkit"], timeout=10)
    with pytest.raises(Timeout):
        run_captured(["sleep", "5"], timeout=0.05)
    assert open_fds() == before


def test_the_environment_is_what_is_given() -> None:
    _, out, _ = run_captured(["env"], env={"PATH": "/usr/bin:/bin", "ONLY": "this"}, timeout=10)
    assert sorted(out.decode().split()) == ["ONLY=this", "PATH=/usr/bin:/bin"]


def test_works_in_an_agent_started_with_closed_stdio(tmp_path: Path) -> None:
    """Pipes made while fds 0-2 are closed must not end up on them."""
    script = (
        "import os, sys\n"
        f"sys.path.insert(0, {str(Path(__file__).parents[2] / 'src')!r})\n"
        "from ocfkit.spawn import run_captured\n"
        "for fd in (0, 1, 2): os.close(fd)\n"
        "code, out, err = run_captured(['sh', '-c', 'read x; echo got $x; echo e >&2'],"
        " stdin=b'in\\n', timeout=10)\n"
        f"open({str(tmp_path / 'result')!r}, 'w').write(repr((code, out, err)))\n"
    )
    subprocess.run([sys.executable, "-c", script], check=True, timeout=30)
    assert (tmp_path / "result").read_text() == repr((0, b"got in\n", b"e\n"))
