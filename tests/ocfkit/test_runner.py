"""Running programs: argv only, within the deadline, with errors that map to OCF codes."""

from __future__ import annotations

import io
import json
import re
import sys
import time
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ocfkit import (
    Deadline,
    DeadlineExceeded,
    ExitCode,
    GenericError,
    NotInstalledError,
    SystemClock,
)
from ocfkit.log import AgentLog, LogSettings
from ocfkit.runner import CommandFailed, CommandResult, CommandRunner
from ocfkit.testing import FakeClock, OCFEnv

from .agents import Scripted, run

ECHO_ARGV = "import json, sys; print(json.dumps(sys.argv[1:]))"


def runner(timeout: float = 20.0, log: AgentLog | None = None) -> CommandRunner:
    return CommandRunner(Deadline(SystemClock(), timeout), log)


def test_a_shell_string_is_refused() -> None:
    with pytest.raises(TypeError, match="never a shell string"):
        runner().run("echo hello")  # a str is a Sequence[str]: only run time can tell
    with pytest.raises(TypeError):
        runner().run(b"echo hello")  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        runner().run([])


def test_nul_in_an_argument_is_an_error() -> None:
    with pytest.raises(GenericError, match="NUL"):
        runner().run(["echo", "a\0b"])


HOSTILE = [
    "two words",
    "'single'",
    '"double"',
    "semi;colon",
    "$(touch {marker})",
    "`touch {marker}`",
    "; touch {marker}",
    "&& touch {marker} ||",
    "*",
    "~",
    "$HOME",
    "new\nline",
    "-n",
    "",
    "back\\slash",
    "ünïcödé",
]


def test_hostile_arguments_arrive_literally(tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    args = [a.format(marker=marker) for a in HOSTILE]
    result = runner().run([sys.executable, "-c", ECHO_ARGV, *args], check=True)
    assert json.loads(result.stdout) == args
    assert not marker.exists()


@settings(max_examples=25, deadline=None)
@given(
    st.lists(
        st.text(alphabet=st.characters(exclude_categories=["Cs"], exclude_characters="\0")),
        max_size=5,
    )
)
def test_any_argument_arrives_literally(args: list[str]) -> None:
    result = runner().run([sys.executable, "-c", ECHO_ARGV, *args], check=True)
    assert json.loads(result.stdout) == args


def test_result_of_a_program() -> None:
    result = runner().run(
        [sys.executable, "-c", "import sys; print('out'); print('err', file=sys.stderr); exit(3)"]
    )
    assert (result.returncode, result.stdout, result.stderr) == (3, "out\n", "err\n")
    assert not result.ok
    assert result.argv[0] == sys.executable
    assert result.duration > 0
    assert result.describe() == f"{sys.executable} exited 3: err"


def test_input_is_passed_and_stdin_is_closed_otherwise() -> None:
    cat = runner().run(["cat"], input="fed\n")
    assert cat.stdout == "fed\n"
    # Without input, a program reading stdin sees end-of-file instead of hanging.
    assert runner(timeout=5).run(["cat"]).stdout == ""


def test_missing_program_is_not_installed() -> None:
    with pytest.raises(NotInstalledError, match="no-such-program-here: program not found"):
        runner().run(["no-such-program-here", "x"])
    with pytest.raises(NotInstalledError):
        runner().run(["/nonexistent/bin/tool"])


def test_program_that_cannot_be_executed_is_not_installed(tmp_path: Path) -> None:
    script = tmp_path / "tool"
    script.write_text("#!/bin/sh\necho hi\n")
    script.chmod(0o644)
    with pytest.raises(NotInstalledError, match="cannot be executed"):
        runner().run([str(script)])


def test_check_raises_with_stderr_in_the_reason() -> None:
    failing = [sys.executable, "-c", "import sys; sys.stderr.write('no  such\\n  volume'); exit(2)"]
    with pytest.raises(CommandFailed) as caught:
        runner().run(failing, check=True)
    assert caught.value.code == ExitCode.ERR_GENERIC
    assert caught.value.reason == f"{sys.executable} exited 2: no such volume"
    assert caught.value.result.returncode == 2


def test_check_reason_falls_back_to_stdout_then_to_the_code() -> None:
    assert CommandResult(("tool",), 1, stdout="only  out\n").describe() == "tool exited 1: only out"
    assert CommandResult(("tool",), 1).describe() == "tool exited 1"
    assert len(CommandResult(("tool",), 1, stderr="x" * 1000).describe()) < 350


def test_a_program_outliving_its_timeout_is_killed() -> None:
    started = time.monotonic()
    with pytest.raises(DeadlineExceeded, match=re.escape("sleep did not finish within 0.3s")):
        runner().run(["sleep", "10"], timeout=0.3)
    assert time.monotonic() - started < 3


def test_a_program_outliving_the_deadline_is_killed() -> None:
    deadline = Deadline(SystemClock(), 0.5, reserve=0.1)  # 0.4 s left
    started = time.monotonic()
    with pytest.raises(DeadlineExceeded):
        CommandRunner(deadline).run(["sleep", "10"], timeout=60)
    assert time.monotonic() - started < 3


def test_nothing_starts_after_the_deadline() -> None:
    clock = FakeClock()
    deadline = Deadline(clock, 10)
    clock.sleep(60)
    with pytest.raises(DeadlineExceeded):
        CommandRunner(deadline).run(["no-such-program-here"])


def test_commands_are_logged_when_debugging() -> None:
    stream = io.StringIO()
    log = AgentLog(LogSettings("t", debug=True), stderr=stream)
    runner(log=log).run([sys.executable, "-c", "import sys; sys.stderr.write('warn'); exit(1)"])
    text = stream.getvalue()
    assert "DEBUG: ran " in text and "-> 1 in" in text
    # stderr of a failing program is a warning, worth seeing without debug.
    assert "WARNING: " in text and "stderr: warn" in text


def test_an_agent_using_the_real_runner() -> None:
    """NotInstalledError from the runner follows the invalid-environment rules."""

    def use(agent: Scripted) -> object:
        agent.runner.run(["no-such-daemon-binary", "--version"])
        return None

    assert run(Scripted(use), "monitor", OCFEnv().probe()).exit_code == ExitCode.NOT_RUNNING
    start = run(Scripted(use), "start", OCFEnv())
    assert start.exit_code == ExitCode.ERR_INSTALLED
    assert start.exit_reason == "no-such-daemon-binary: program not found"
