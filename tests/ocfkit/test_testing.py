"""The testing kit itself: runner isolation, the environment builder, the fakes, the fixtures."""

from __future__ import annotations

import logging
import os
import re
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from ocfkit import DeadlineExceeded, ExitCode, NotInstalledError
from ocfkit import log as ocf_log
from ocfkit.examples.dummy import Dummy
from ocfkit.runner import CommandFailed, CommandResult
from ocfkit.testing import (
    AgentRunner,
    FakeClock,
    FakeCommandRunner,
    MemoryStateStore,
    OCFEnv,
    extract_exit_reason,
    pacemaker_list,
    parse_env_dump,
    timeout_error,
)

from .agents import Scripted, raising

# ------------------------------------------------------------------- AgentRunner


def test_runner_swaps_environ_and_streams_and_restores_them(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("OUTSIDE_ONLY", "1")
    stdout, stderr = sys.stdout, sys.stderr
    inside: dict[str, Any] = {}

    def look(agent: Scripted) -> object:
        inside["environ"] = dict(os.environ)
        inside["streams"] = (sys.stdout, sys.stderr)
        print("to stdout")
        print("to stderr", file=sys.stderr)
        return None

    result = AgentRunner(Scripted(look)).invoke("start", {"OCF_RESOURCE_INSTANCE": "r"})
    assert inside["environ"] == {"OCF_RESOURCE_INSTANCE": "r"}
    assert inside["streams"] != (stdout, stderr)
    assert (result.stdout, result.stderr) == ("to stdout\n", "to stderr\n")
    assert os.environ["OUTSIDE_ONLY"] == "1"
    assert (sys.stdout, sys.stderr) == (stdout, stderr)


def test_runner_restores_everything_when_the_agent_escapes(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("OUTSIDE_ONLY", "1")
    saved = dict(os.environ)
    stdout = sys.stdout
    with pytest.raises(KeyboardInterrupt):  # not an Exception: main() lets it through
        AgentRunner(Scripted(raising(KeyboardInterrupt()))).invoke("start", {})
    assert dict(os.environ) == saved
    assert sys.stdout is stdout
    assert ocf_log.capture_handlers == []


def test_runner_captures_log_records() -> None:
    def chat(agent: Scripted) -> object:
        agent.log.info("hello %s", "there")
        agent.log.warning("careful")
        return ExitCode.SUCCESS

    result = AgentRunner(Scripted(chat)).invoke("start", OCFEnv())
    assert result.messages == ["hello there", "careful"]
    assert result.logged("careful", logging.WARNING)
    assert not result.logged("careful", logging.INFO)
    assert not result.logged("absent")


def test_result_names_its_code() -> None:
    result = AgentRunner(Scripted(raising(NotInstalledError("gone")))).invoke("start", OCFEnv())
    assert result.code is ExitCode.ERR_INSTALLED
    assert repr(result) == "<Result start -> ERR_INSTALLED reason='gone'>"


def test_a_factory_gives_a_fresh_agent_per_action_an_instance_is_reused() -> None:
    made: list[Scripted] = []

    def factory() -> Scripted:
        made.append(Scripted())
        return made[-1]

    runner = AgentRunner(factory)
    runner.invoke("start", {})
    runner.invoke("stop", {})
    assert len(made) == 2 and made[0] is not made[1]
    agent = Scripted()
    reused = AgentRunner(agent)
    reused.invoke("start", {})
    reused.invoke("stop", {})
    assert reused.agent is agent


@pytest.mark.parametrize(
    ("stderr", "reason"),
    [
        ("", None),
        ("noise\n", None),
        ("ocf-exit-reason:one\n", "one"),
        ("ocf-exit-reason:first\nlog\nocf-exit-reason:last\nmore log\n", "last"),
        ("x ocf-exit-reason:mid-line\n", "mid-line"),
        ("ocf-exit-reason:", ""),
        ("ocf-exit-reason:a ocf-exit-reason:b", "b"),
    ],
)
def test_extract_exit_reason_as_pacemaker_does(stderr: str, reason: str | None) -> None:
    assert extract_exit_reason(stderr) == reason


# ------------------------------------------------------------------------- OCFEnv


def test_ocfenv_looks_like_what_pacemaker_sets() -> None:
    env = OCFEnv(instance="nfs", resource_type="ganesha_mon", provider="heartbeat")
    assert env["OCF_RESOURCE_INSTANCE"] == "nfs"
    assert env["OCF_RA_VERSION_MAJOR"] == "1" and env["OCF_RA_VERSION_MINOR"] == "1"
    assert env["OCF_RESKEY_CRM_meta_timeout"] == "20000"
    assert env["OCF_EXIT_REASON_PREFIX"] == "ocf-exit-reason:"
    assert env["HA_debug"] == "0"
    assert "OCF_RESKEY_CRM_meta_interval" not in env
    assert "OCF_RA_VERSION_MAJOR" not in OCFEnv(ra_version=None)
    assert "OCF_RESKEY_CRM_meta_timeout" not in OCFEnv(timeout_ms=None)


def test_ocfenv_is_immutable() -> None:
    base = OCFEnv()
    changed = base.params(a=1).probe()
    assert "OCF_RESKEY_a" not in base
    assert changed["OCF_RESKEY_a"] == "1"
    assert len(changed) == len(base) + 2
    assert dict(base) == dict(OCFEnv())


def test_ocfenv_setters() -> None:
    env = (
        OCFEnv()
        .params(flag=True, off=False, many=["a", "b"], n=3)
        .param("config-file", "/etc/x")
        .meta(**{"clone-max": 3})
        .on_node("node1")
        .check_level(10)
        .recurring(15_000)
    )
    assert env["OCF_RESKEY_flag"] == "true" and env["OCF_RESKEY_off"] == "false"
    assert env["OCF_RESKEY_many"] == "a b" and env["OCF_RESKEY_n"] == "3"
    assert env["OCF_RESKEY_config-file"] == "/etc/x"
    assert env["OCF_RESKEY_CRM_meta_clone_max"] == "3"
    assert env["OCF_RESKEY_CRM_meta_on_node"] == env["OCF_RESKEY_CRM_meta_on_node_uuid"] == "node1"
    assert env["OCF_CHECK_LEVEL"] == "10"
    assert env["OCF_RESKEY_CRM_meta_interval"] == "15000"
    assert "OCF_RESKEY_n" not in env.param("n", None)
    assert "OCF_ROOT" not in env.set(OCF_ROOT=None)


def test_ocfenv_clone() -> None:
    env = OCFEnv().clone(instance=2, max=4, node_max=1, notify=False, globally_unique=True)
    assert env["OCF_RESKEY_CRM_meta_clone"] == "2"
    assert env["OCF_RESKEY_CRM_meta_clone_max"] == "4"
    assert env["OCF_RESKEY_CRM_meta_notify"] == "false"
    assert env["OCF_RESKEY_CRM_meta_globally_unique"] == "true"


def test_ocfenv_notification_numbers_unnamed_instances_in_order() -> None:
    env = OCFEnv(instance="grace").notification(
        "post", "stop", stop=["node2"], active=["node1", "node2", ("grace:7", "node3")]
    )
    meta = "OCF_RESKEY_CRM_meta_notify_"
    assert env[meta + "stop_resource"] == "grace:0"
    assert env[meta + "active_resource"] == "grace:1 grace:0 grace:7"
    assert env[meta + "active_uname"] == "node1 node2 node3"
    assert env[meta + "start_uname"] == " "  # an empty list, as Pacemaker writes it
    assert env[meta + "key_operation"] == "stopped"
    assert env[meta + "master_uname"] == env[meta + "promoted_uname"] == " "


def test_pacemaker_list() -> None:
    assert pacemaker_list([]) == " "
    assert pacemaker_list(["a"]) == "a"
    assert pacemaker_list(["a", "b"]) == "a b"


def test_parse_env_dump() -> None:
    text = (
        "ignored before the first header\n"
        "===== 10:00 first\n"
        "A=1\n"
        "EMPTY_LIST= \n"
        "WITH_EQUALS=a=b\n"
        "not a variable\n"
        "===== second =====\n"
        "B=\n"
    )
    assert parse_env_dump(text) == [
        {"#header": "10:00 first", "A": "1", "EMPTY_LIST": " ", "WITH_EQUALS": "a=b"},
        {"#header": "second", "B": ""},
    ]


# ---------------------------------------------------------------------- FakeClock


def test_fake_clock_sleep_advances_instantly() -> None:
    clock = FakeClock(start=100.0, wall_offset=1000.0)
    clock.sleep(5)
    clock.sleep(-1)
    assert clock.monotonic() == 105.0
    assert clock.time() == 1105.0
    assert clock.sleeps == [5, -1]


def test_fake_clock_runs_due_callbacks_in_time_order_at_their_time() -> None:
    clock = FakeClock(start=0.0)
    seen: list[tuple[str, float]] = []

    def note(name: str) -> Callable[[], None]:
        return lambda: seen.append((name, clock.monotonic()))

    clock.schedule(3, note("c"))
    clock.schedule(1, note("a"))
    clock.schedule(2, note("b1"))
    clock.schedule(2, note("b2"))  # same time: in the order scheduled
    clock.schedule(10, note("late"))
    clock.schedule(-5, note("now"))
    clock.sleep(3)
    assert seen == [("now", 0.0), ("a", 1.0), ("b1", 2.0), ("b2", 2.0), ("c", 3.0)]
    assert clock.monotonic() == 3.0
    assert clock.pending == 1


def test_fake_clock_nested_sleeps_move_time_further() -> None:
    """A callback that sleeps (another process waiting) runs what falls due meanwhile."""
    clock = FakeClock(start=0.0)
    seen: list[tuple[str, float]] = []

    def waits() -> None:
        seen.append(("a", clock.monotonic()))
        clock.sleep(5)

    clock.schedule(1, waits)
    clock.schedule(3, lambda: seen.append(("b", clock.monotonic())))
    clock.schedule(10, lambda: seen.append(("c", clock.monotonic())))
    clock.sleep(4)
    assert seen == [("a", 1.0), ("b", 3.0)]
    assert clock.monotonic() == 6.0  # the nested sleep ended later than the outer one
    clock.run_until_idle()
    assert seen[-1] == ("c", 10.0)
    assert clock.pending == 0


def test_fake_clock_run_until_idle_follows_chains_within_the_limit() -> None:
    clock = FakeClock(start=0.0)
    ticks: list[float] = []

    def tick() -> None:
        ticks.append(clock.monotonic())
        clock.schedule(10, tick)

    clock.schedule(0, tick)
    clock.run_until_idle(limit=35)
    assert ticks == [0.0, 10.0, 20.0, 30.0]
    assert clock.pending == 1


# -------------------------------------------------------------- FakeCommandRunner


def test_fake_runner_defaults_to_silent_success_and_records() -> None:
    fake = FakeCommandRunner()
    result = fake.run(["tool", "a"], timeout=3)
    assert (result.returncode, result.stdout) == (0, "")
    fake.run(("other",))
    fake.run(["tool", "b"])
    assert fake.calls == [("tool", "a"), ("other",), ("tool", "b")]
    assert fake.timeouts == [3, None, None]
    assert fake.commands("tool") == [("tool", "a"), ("tool", "b")]


def test_fake_runner_handler_answers() -> None:
    answers: dict[str, Any] = {
        "code": 4,
        "text": "some output",
        "result": CommandResult(("result",), 0, "x", "y"),
        "error": DeadlineExceeded("slow"),
        "none": None,
    }
    fake = FakeCommandRunner(lambda argv: answers[argv[0]])
    assert fake.run(["code"]).returncode == 4
    assert fake.run(["text"]).stdout == "some output"
    assert fake.run(["result"]).stderr == "y"
    assert fake.run(["none"]).ok
    with pytest.raises(DeadlineExceeded):
        fake.run(["error"])
    with pytest.raises(CommandFailed, match="code exited 4"):
        fake.run(["code"], check=True)


def test_fake_runner_missing_programs_and_bad_argv() -> None:
    fake = FakeCommandRunner(missing=["ganesha.nfsd"])
    with pytest.raises(NotInstalledError, match=re.escape("ganesha.nfsd: program not found")):
        fake.run(["ganesha.nfsd", "-v"])
    with pytest.raises(TypeError):
        fake.run("ganesha.nfsd -v")  # a str is a Sequence[str]: only run time can tell
    assert isinstance(timeout_error("x"), DeadlineExceeded)


def test_memory_store_is_exported_for_agents() -> None:
    store = MemoryStateStore()
    store.state("k").write("v")
    assert store.values == {"k": "v"}


# ------------------------------------------------------------------ pytest plugin


def test_plugin_fixtures(
    ocf_env: OCFEnv,
    fake_clock: FakeClock,
    agent_runner: Callable[[Any], AgentRunner],
    ocf_conformance: Callable[..., Any],
) -> None:
    rsctmp = Path(ocf_env["HA_RSCTMP"])
    assert rsctmp.is_dir() and not any(rsctmp.iterdir())
    assert fake_clock.monotonic() == FakeClock().monotonic()
    runner = agent_runner(Dummy)
    assert runner.invoke("start", ocf_env).exit_code == 0
    assert any(rsctmp.iterdir())
    assert ocf_conformance(lambda: Dummy(clock=FakeClock())).ok
