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


def alive(pid: int) -> bool:
    """A live process (zombies are dead)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat[stat.rindex(")") + 2] not in "ZX"


def wait_dead(pid: int, timeout: float = 5.0) -> bool:
    end = time.monotonic() + timeout
    while alive(pid):
        if time.monotonic() > end:
            return False
        time.sleep(0.01)
    return True


# A program that starts a child (which keeps the output pipe) and waits.
PARENT_AND_CHILD = (
    "import os, sys, time\n"
    "pid = os.fork()\n"
    "if pid == 0:\n"
    "    time.sleep(60)\n"
    "    os._exit(0)\n"
    "open(sys.argv[1], 'w').write(str(pid))\n"
    "time.sleep(60)\n"
)


def test_at_the_deadline_the_program_children_go_too(tmp_path: Path) -> None:
    note = tmp_path / "child"
    with pytest.raises(Timeout):
        run_captured([sys.executable, "-c", PARENT_AND_CHILD, str(note)], timeout=1.0)
    child = int(note.read_text())
    assert wait_dead(child), "the program's child outlived the deadline"


def test_the_program_stays_in_the_agent_process_group(tmp_path: Path) -> None:
    """So that Pacemaker's own kill (SIGKILL to the agent's group) still reaches it."""
    code, out, _ = run_captured(
        [sys.executable, "-c", "import os; print(os.getpgrp())"], timeout=10
    )
    assert (code, int(out)) == (0, os.getpgrp())


# An agent leading its process group, as Pacemaker starts it: its program
# orphans a child that keeps the output pipe, then exits.  The orphan is no
# descendant any more, but it is in the agent's group.
ORPHANING_AGENT = """
import os, sys
sys.path.insert(0, sys.argv[1])
from ocfkit.spawn import Timeout, run_captured
program = (
    "import os, sys, time\\n"
    "pid = os.fork()\\n"
    "if pid == 0:\\n"
    "    time.sleep(60)\\n"
    "    os._exit(0)\\n"
    "open(sys.argv[1], 'w').write(str(pid))\\n"
)
assert os.getpgrp() == os.getpid()
try:
    run_captured([sys.executable, "-c", program, sys.argv[2]], timeout=1.0)
except Timeout:
    print("timeout")
"""


def test_a_group_leading_agent_kills_what_its_program_orphaned(tmp_path: Path) -> None:
    note = tmp_path / "orphan"
    sibling = subprocess.Popen(["sleep", "60"], start_new_session=False)
    try:
        done = subprocess.run(
            [sys.executable, "-c", ORPHANING_AGENT, str(Path(__file__).parents[2] / "src"), note],
            capture_output=True,
            text=True,
            timeout=30,
            start_new_session=True,  # the agent leads its own group, as under Pacemaker
            check=False,
        )
        assert done.stdout == "timeout\n", done.stderr
        orphan = int(note.read_text())
        assert wait_dead(orphan), "the orphan outlived the agent's deadline"
        assert sibling.poll() is None  # nothing outside the agent's group is touched
    finally:
        sibling.kill()
        sibling.wait()
