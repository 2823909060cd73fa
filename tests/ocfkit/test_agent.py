"""Dispatch: what ``ResourceAgent.main`` answers for each action, return value and exception.

Everything is judged the way Pacemaker judges an agent: by the exit code, by
stdout (meta-data only), and by the exit reason it extracts from stderr.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from ocfkit import (
    ConfigurationError,
    DeadlineExceeded,
    ExitCode,
    GenericError,
    InsufficientPrivilegeError,
    InvalidArgumentError,
    NotInstalledError,
    NotRunningError,
    OCFError,
    ResourceAgent,
    UnimplementedError,
    action,
    entry_point,
)
from ocfkit.codes import VALID_CODES
from ocfkit.testing import OCFEnv, extract_exit_reason

from .agents import (
    EveryAction,
    MandatoryOnly,
    Required,
    Scripted,
    raising,
    returning,
    run,
)

REPO = Path(__file__).resolve().parents[2]

# (argv action, method that must run) for every optional action.
OPTIONAL_ACTIONS = [
    ("notify", "notify"),
    ("promote", "promote"),
    ("demote", "demote"),
    ("reload", "reload"),
    ("reload-agent", "reload_agent"),
    ("migrate_to", "migrate_to"),
    ("migrate_from", "migrate_from"),
    ("recover", "recover"),
    ("validate-all", "validate_all"),
]


def env() -> OCFEnv:
    return OCFEnv(instance="rsc1")


# ------------------------------------------------------------------ meta-data, usage


def test_meta_data_needs_no_environment_at_all() -> None:
    result = run(MandatoryOnly(), "meta-data", {})
    assert result.exit_code == 0
    assert result.stdout.startswith('<?xml version="1.0"?>')
    assert '<resource-agent name="mandatory-only"' in result.stdout
    assert result.stderr == ""


@pytest.mark.parametrize("spelling", ["meta_data", "metadata"])
def test_meta_data_answers_to_the_spellings_shell_agents_accept(spelling: str) -> None:
    result = run(MandatoryOnly(), spelling, {})
    assert result.exit_code == 0
    assert result.stdout == run(MandatoryOnly(), "meta-data", {}).stdout


def test_meta_data_ignores_parameters_and_validation() -> None:
    """meta-data is answered before parameters are read: broken ones cannot break it."""
    agent = Scripted(validator=raising(ConfigurationError("never checked")))
    result = run(agent, "meta-data", env().params(count="garbage"))
    assert result.exit_code == 0
    assert "<parameters>" in result.stdout


@pytest.mark.parametrize("word", ["usage", "help", "--help", "-h"])
def test_usage_goes_to_stdout_with_success(word: str) -> None:
    result = run(EveryAction(), word, {})
    assert result.exit_code == 0
    assert result.stdout.startswith("usage: every-action {")
    listed = result.stdout.strip().split("{", 1)[1].rstrip("}").split("|")
    assert set(listed) >= {"start", "stop", "monitor", "reload-agent", "validate-all", "meta-data"}
    assert result.stderr == ""


@pytest.mark.parametrize(
    "word", ["bogus", "START", "reload_agent", "validate_all", "main", "__init__", "", " start"]
)
def test_unknown_action_answers_3_with_usage_and_reason(word: str) -> None:
    result = run(EveryAction(), word, env())
    assert result.exit_code == ExitCode.ERR_UNIMPLEMENTED
    assert result.stdout == ""
    assert "usage: every-action" in result.stderr
    assert result.exit_reason == f"unknown action {word!r}"


def test_missing_action_answers_3_with_usage_and_reason() -> None:
    result = run(EveryAction(), None, env())
    assert result.exit_code == ExitCode.ERR_UNIMPLEMENTED
    assert result.stdout == ""
    assert "usage: every-action" in result.stderr
    assert result.exit_reason == "no action given"


# --------------------------------------------------------------------------- dispatch


@pytest.mark.parametrize(("word", "method"), [*OPTIONAL_ACTIONS, ("start", "start")])
def test_each_declared_action_runs_its_method(word: str, method: str) -> None:
    agent = EveryAction()
    result = run(agent, word, env())
    assert result.exit_code == 0, result.stderr
    assert agent.called == [method]


@pytest.mark.parametrize(("word", "method"), OPTIONAL_ACTIONS)
def test_an_optional_action_not_declared_answers_3(word: str, method: str) -> None:
    result = run(MandatoryOnly(), word, env())
    if word == "validate-all":
        # Every agent has validate-all: parameters converted and validate() passed.
        assert result.exit_code == 0
        return
    assert result.exit_code == ExitCode.ERR_UNIMPLEMENTED
    assert result.exit_reason == f"unknown action {word!r}"


def test_entry_point_runs_the_agent_with_given_argv_and_environ() -> None:
    main = entry_point(MandatoryOnly)
    assert main(["x", "monitor"], dict(env().probe())) == ExitCode.NOT_RUNNING
    assert main(["x", "start"], dict(env())) == ExitCode.SUCCESS
    assert "mandatory-only" in (main.__doc__ or "")


# ---------------------------------------------------------------------- return values


def test_none_means_success() -> None:
    result = run(Scripted(returning(None)), "start", env())
    assert result.exit_code == 0
    assert result.exit_reason is None


@pytest.mark.parametrize("code", sorted(VALID_CODES))
def test_every_valid_code_is_passed_through(code: int) -> None:
    for value in (code, ExitCode(code)):
        result = run(Scripted(returning(value)), "monitor", env().recurring())
        assert result.exit_code == code
        # A returned code is the agent's own answer: no reason is invented for it.
        assert result.exit_reason is None


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        (42, "action returned invalid code 42"),
        (-1, "action returned invalid code -1"),
        (256, "action returned invalid code 256"),
        (True, "action returned bool"),
        (False, "action returned bool"),
        ("0", "action returned str"),
        (0.0, "action returned float"),
        ([0], "action returned list"),
    ],
)
def test_an_invalid_return_value_is_a_generic_error(value: object, reason: str) -> None:
    result = run(Scripted(returning(value)), "start", env())
    assert result.exit_code == ExitCode.ERR_GENERIC
    assert result.exit_reason == reason


# ------------------------------------------------------------------- OCFError raised


@pytest.mark.parametrize(
    ("error", "code"),
    [
        (GenericError("generic trouble"), 1),
        (InvalidArgumentError("bad here"), 2),
        (UnimplementedError("not here"), 3),
        (InsufficientPrivilegeError("need root"), 4),
        (NotInstalledError("no binary"), 5),
        (ConfigurationError("bad everywhere"), 6),
        (DeadlineExceeded("took too long"), 1),
        (OCFError("plain"), 1),
        (OCFError("degraded on purpose", code=ExitCode.DEGRADED), 190),
        (OCFError("promoted but failing", code=ExitCode.FAILED_PROMOTED), 9),
    ],
)
def test_ocf_errors_become_their_code_and_exit_reason(error: OCFError, code: int) -> None:
    result = run(Scripted(raising(error)), "start", env())
    assert result.exit_code == code
    assert result.exit_reason == error.reason
    assert result.stdout == ""
    # Exactly one reason line: Pacemaker keeps the last, there must be no other.
    assert result.stderr.count("ocf-exit-reason:") == 1


def test_not_running_from_monitor_is_a_clean_7_without_reason() -> None:
    result = run(Scripted(raising(NotRunningError("not there"))), "monitor", env().recurring())
    assert result.exit_code == ExitCode.NOT_RUNNING
    assert result.exit_reason is None


def test_exit_reason_is_one_line_as_pacemaker_keeps_it() -> None:
    error = GenericError("first line\nsecond\tline\r\n   third  ")
    result = run(Scripted(raising(error)), "start", env())
    # Pacemaker takes the text after the LAST prefix up to the end of that line.
    assert result.exit_reason == "first line second line third"
    assert result.stderr.endswith("ocf-exit-reason:first line second line third\n")


def test_empty_reason_still_gives_a_reason() -> None:
    result = run(Scripted(raising(GenericError("   "))), "start", env())
    assert result.exit_code == 1
    assert result.exit_reason == "unknown error"


def test_custom_exit_reason_prefix_is_used_everywhere() -> None:
    custom = env().set(OCF_EXIT_REASON_PREFIX="REASON>> ")
    failed = run(Scripted(raising(GenericError("broken"))), "start", custom)
    assert "ocf-exit-reason:" not in failed.stderr
    assert extract_exit_reason(failed.stderr, "REASON>> ") == "broken"
    unknown = run(Scripted(), "bogus", custom)
    assert extract_exit_reason(unknown.stderr, "REASON>> ") == "unknown action 'bogus'"


def test_a_prefix_spanning_lines_falls_back_to_the_default() -> None:
    """A newline in the prefix would split the reason from it: Pacemaker would see nothing."""
    odd = env().set(OCF_EXIT_REASON_PREFIX="a\nb:")
    result = run(Scripted(raising(GenericError("broken"))), "start", odd)
    assert extract_exit_reason(result.stderr, "ocf-exit-reason:") == "broken"
    assert "OCF_EXIT_REASON_PREFIX" in result.stderr  # the warning says why


# ------------------------------------------------------------------ unexpected errors


def test_uncaught_exception_is_1_with_one_line_reason_and_traceback_in_the_log() -> None:
    error = KeyError("missing\nkey")
    result = run(Scripted(raising(error)), "start", env())
    assert result.exit_code == ExitCode.ERR_GENERIC
    assert result.exit_reason == "internal error: KeyError: 'missing\\nkey'"
    assert result.stdout == ""
    # With neither HA_LOGFACILITY nor HA_LOGFILE the log is stderr: the traceback is there.
    assert "Traceback (most recent call last)" in result.stderr
    assert result.stderr.rstrip("\n").splitlines()[-1].startswith("ocf-exit-reason:")


def test_uncaught_exception_traceback_goes_to_ha_logfile(tmp_path: Path) -> None:
    logfile = tmp_path / "ha.log"
    result = run(
        Scripted(raising(ValueError("bad value"))), "start", env().set(HA_LOGFILE=str(logfile))
    )
    assert result.exit_code == 1
    # stderr holds only what Pacemaker should read: the reason.
    assert result.stderr == "ocf-exit-reason:internal error: ValueError: bad value\n"
    logged = logfile.read_text()
    assert "Traceback (most recent call last)" in logged
    assert "ValueError: bad value" in logged


def test_traceback_never_reaches_stdout_of_a_real_process(tmp_path: Path) -> None:
    """The whole process, as Pacemaker runs it: stdout stays clean, stderr ends with the reason."""
    code = "from tests.ocfkit.agents import Crashing; raise SystemExit(Crashing().main())"
    environ = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "PYTHONPATH": f"{REPO / 'src'}:{REPO}",
        "OCF_RESOURCE_INSTANCE": "c1",
        "HA_RSCTMP": str(tmp_path),
    }
    done = subprocess.run(
        [sys.executable, "-c", code, "start"],
        env=environ,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 1
    assert done.stdout == ""
    assert "Traceback" in done.stderr
    assert "ZeroDivisionError" in done.stderr
    assert extract_exit_reason(done.stderr) == (
        "internal error: ZeroDivisionError: division by zero with a second line"
    )


@pytest.mark.parametrize(
    ("leaving", "code", "reason"),
    [
        (SystemExit(), 0, None),
        (SystemExit(None), 0, None),
        (SystemExit(0), 0, None),
        (SystemExit(7), 7, None),
        (SystemExit(6), 6, None),
        (SystemExit(42), 1, "action returned invalid code 42"),
        (SystemExit("cannot go on"), 1, "cannot go on"),
    ],
)
def test_system_exit_inside_an_action(leaving: SystemExit, code: int, reason: str | None) -> None:
    result = run(Scripted(raising(leaving)), "start", env())
    assert result.exit_code == code
    assert result.exit_reason == reason


# ------------------------------------------------- stop and probe, broken configuration
# The invalid-environment idiom (stop 0, probe 7) holds only for what locates
# the resource; everything else must not make a stop answer 0 without looking.

INVALID = [
    pytest.param(ConfigurationError, 6, id="configuration"),
    pytest.param(NotInstalledError, 5, id="not-installed"),
    pytest.param(InvalidArgumentError, 2, id="invalid-argument"),
]
PROBES = [
    pytest.param("0", id="interval-0"),
    pytest.param(None, id="unset"),
    pytest.param("", id="empty"),
]


def noting(seen: list[str], answer: object = ExitCode.SUCCESS) -> Any:
    def behave(agent: Scripted) -> object:
        seen.append(agent.env.action)
        return answer

    return behave


@pytest.mark.parametrize(("kind", "code"), INVALID)
def test_validate_refusing_the_location_makes_stop_succeed(kind: type[OCFError], code: int) -> None:
    seen: list[str] = []
    agent = Scripted(noting(seen), validator=raising(kind("no such slot", parameters=["slot"])))
    result = run(agent, "stop", env())
    assert result.exit_code == ExitCode.SUCCESS
    assert result.exit_reason is None
    assert result.logged("the resource cannot be running here")
    assert seen == []  # nothing to look for: the stop did not run


@pytest.mark.parametrize(("kind", "code"), INVALID)
@pytest.mark.parametrize("interval", PROBES)
def test_validate_refusing_the_location_makes_a_probe_answer_7(
    kind: type[OCFError], code: int, interval: str | None
) -> None:
    probe = env().set(OCF_RESKEY_CRM_meta_interval=interval)
    agent = Scripted(validator=raising(kind("no such slot", parameters=["slot"])))
    result = run(agent, "monitor", probe)
    assert result.exit_code == ExitCode.NOT_RUNNING
    assert result.exit_reason is None


@pytest.mark.parametrize(("kind", "code"), INVALID)
@pytest.mark.parametrize("word", ["start", "notify", "validate-all"])
def test_validate_refusing_fails_the_other_actions(
    kind: type[OCFError], code: int, word: str
) -> None:
    for about in (["slot"], ["count"], []):
        result = run(Scripted(validator=raising(kind("refused", parameters=about))), word, env())
        assert result.exit_code == code
        assert result.exit_reason == "refused"


@pytest.mark.parametrize(("kind", "code"), INVALID)
def test_validate_refusing_fails_a_recurring_monitor(kind: type[OCFError], code: int) -> None:
    result = run(Scripted(validator=raising(kind("refused"))), "monitor", env().recurring(30_000))
    assert result.exit_code == code
    assert result.exit_reason == "refused"


@pytest.mark.parametrize(("kind", "code"), INVALID)
@pytest.mark.parametrize("about", [["count"], []], ids=["other-parameter", "unnamed"])
def test_stop_goes_on_when_validate_refuses_something_else(
    kind: type[OCFError], code: int, about: list[str]
) -> None:
    """A stop must still find what runs: it is what decides, not the refusal."""
    for answer in (ExitCode.SUCCESS, ExitCode.ERR_GENERIC):
        seen: list[str] = []
        refusal = raising(kind("count and value disagree", parameters=about))
        result = run(Scripted(noting(seen, answer), validator=refusal), "stop", env())
        assert seen == ["stop"]
        assert result.exit_code == answer
        assert result.logged("count and value disagree; stop goes on to find the resource")


@pytest.mark.parametrize(("kind", "code"), INVALID)
@pytest.mark.parametrize("answer", [ExitCode.SUCCESS, ExitCode.NOT_RUNNING])
def test_a_probe_goes_on_when_validate_refuses_something_else(
    kind: type[OCFError], code: int, answer: ExitCode
) -> None:
    """A running resource must not be reported stopped because of an unrelated refusal."""
    seen: list[str] = []
    refusal = raising(kind("refused", parameters=["count"]))
    result = run(Scripted(noting(seen, answer), validator=refusal), "monitor", env().probe())
    assert seen == ["monitor"]
    assert result.exit_code == answer


@pytest.mark.parametrize(("kind", "code"), INVALID)
def test_a_stop_own_failure_stays_a_failure(kind: type[OCFError], code: int) -> None:
    """'program not found' inside stop is no proof that the resource is stopped."""
    result = run(Scripted(raising(kind("kill: program not found"))), "stop", env())
    assert result.exit_code == code
    assert result.exit_reason == "kill: program not found"


def test_not_installed_during_a_probe_answers_7() -> None:
    missing = raising(NotInstalledError("daemon binary missing"))
    assert run(Scripted(missing), "monitor", env().probe()).exit_code == 7
    start = run(Scripted(missing), "start", env())
    assert (start.exit_code, start.exit_reason) == (5, "daemon binary missing")
    recurring = run(Scripted(missing), "monitor", env().recurring())
    assert (recurring.exit_code, recurring.exit_reason) == (5, "daemon binary missing")


def test_generic_errors_are_not_hidden_by_the_idiom() -> None:
    """Only 'cannot run here at all' is forgiven; a failing stop must stay a failure."""
    failing = raising(GenericError("stop failed"))
    assert run(Scripted(failing), "stop", env()).exit_code == 1
    assert run(Scripted(failing), "monitor", env().probe()).exit_code == 1
    refusing = Scripted(validator=raising(GenericError("odd", parameters=["slot"])))
    assert run(refusing, "stop", env()).exit_code == 1


@pytest.mark.parametrize(
    ("params", "reason"),
    [
        ({"count": "many"}, "parameter 'count': 'many' is not an integer"),
        ({"count": "11"}, "parameter 'count': 11 is more than the maximum 10"),
    ],
)
def test_stop_and_probe_use_the_default_of_a_broken_parameter(
    params: dict[str, str], reason: str
) -> None:
    bad = env().params(**params)
    counts: list[int] = []

    def look(agent: Scripted) -> object:
        counts.append(agent.params.count)
        return ExitCode.NOT_RUNNING if agent.env.action == "monitor" else ExitCode.SUCCESS

    stop = run(Scripted(look), "stop", bad)
    assert stop.exit_code == 0
    assert stop.logged(f"{reason}; using the default (1) to go on")
    assert run(Scripted(look), "monitor", bad.probe()).exit_code == 7
    assert counts == [1, 1]
    for word, rsc_env in (("start", bad), ("monitor", bad.recurring())):
        result = run(Scripted(look), word, rsc_env)
        assert result.exit_code == ExitCode.ERR_CONFIGURED
        assert result.exit_reason == reason
    assert counts == [1, 1]


@pytest.mark.parametrize("value", ["far", "-1"])
def test_a_broken_locating_parameter_means_not_running_here(value: str) -> None:
    bad = env().params(slot=value)
    seen: list[str] = []
    assert run(Scripted(noting(seen)), "stop", bad).exit_code == 0
    assert run(Scripted(noting(seen)), "monitor", bad.probe()).exit_code == 7
    assert seen == []
    start = run(Scripted(noting(seen)), "start", bad)
    assert start.exit_code == ExitCode.ERR_CONFIGURED
    assert start.exit_reason is not None and start.exit_reason.startswith("parameter 'slot'")


def test_required_parameters_locating_or_not() -> None:
    both = env().params(target="t", mode="m")
    for word in ("start", "stop"):
        assert run(Required(), word, both).exit_code == 0
    # Without what locates it, the resource cannot be running here.
    no_target = both.params(target=None)
    assert run(Required(), "stop", no_target).exit_code == 0
    assert run(Required(), "monitor", no_target.probe()).exit_code == 7
    # Without a value the stop needs and cannot default, it cannot be sure: it fails.
    no_mode = both.params(mode=None)
    for word, rsc_env in (("stop", no_mode), ("monitor", no_mode.probe())):
        agent = Required()
        result = run(agent, word, rsc_env)
        assert result.exit_code == ExitCode.ERR_CONFIGURED
        assert result.exit_reason == "required parameter 'mode' is not set"
        assert agent.ran == []


class RequiredPromotable(Required):
    """Required, promotable: its demote needs what locates the resource."""

    @action(timeout=20)
    def promote(self) -> None:
        self.ran.append("promote")

    @action(timeout=20)
    def demote(self) -> None:
        self.ran.append("demote")


def test_a_demote_without_its_location_leaves_the_instance_to_the_stop() -> None:
    """Pacemaker demotes an orphan (a resource removed from the CIB) with no parameters."""
    both = env().params(target="t", mode="m")
    agent = RequiredPromotable()
    assert run(agent, "demote", both).exit_code == 0 and agent.ran == ["demote"]
    orphan = both.params(target=None, mode=None)
    agent = RequiredPromotable()
    result = run(agent, "demote", orphan)
    assert (result.exit_code, result.exit_reason, agent.ran) == (0, None, [])
    assert result.logged("nothing here to demote")
    # Only what locates the resource: without the other, the demote fails as before.
    agent = RequiredPromotable()
    result = run(agent, "demote", both.params(mode=None))
    assert result.exit_code == ExitCode.ERR_CONFIGURED and agent.ran == []
    # The promote still needs it.
    assert run(RequiredPromotable(), "promote", orphan).exit_code == ExitCode.ERR_CONFIGURED


def test_validate_runs_before_every_action_but_not_meta_data_or_usage() -> None:
    seen: list[str] = []

    def note(agent: Scripted) -> object:
        seen.append(agent.env.action)
        return None

    for word in ("start", "monitor", "stop", "notify", "validate-all", "meta-data", "usage"):
        run(Scripted(validator=note), word, env())
    assert seen == ["start", "monitor", "stop", "notify", "validate-all"]


# ------------------------------------------------------------- what an action sees


def test_an_action_sees_its_environment_parameters_and_deadline() -> None:
    seen: dict[str, object] = {}

    def look(agent: Scripted) -> object:
        seen["action"] = agent.env.action
        seen["instance"] = agent.env.instance
        seen["probe"] = agent.is_probe
        seen["params"] = agent.params
        seen["timeout"] = agent.deadline.timeout
        return None

    rsc_env = env().params(value="v", count="3").timeout(45_000).recurring()
    assert run(Scripted(look), "monitor", rsc_env).exit_code == 0
    assert seen["action"] == "monitor"
    assert seen["instance"] == "rsc1"
    assert seen["probe"] is False
    assert seen["params"] == Scripted.parameters(value="v", count=3)
    assert seen["timeout"] == 45.0


def test_an_action_reads_its_notification() -> None:
    seen = []

    def look(agent: Scripted) -> object:
        seen.append(agent.notification)
        return None

    note = env().clone(instance=1, max=3).notification("post", "stop", stop=["node2"])
    assert run(Scripted(look), "notify", note).exit_code == 0
    assert seen[0].event == "post-stop"
    assert seen[0].unames(seen[0].stop) == ("node2",)


def test_state_is_kept_per_instance(tmp_path: Path) -> None:
    """Without an injected store the state lives in HA_RSCTMP, one file per instance."""
    agent_env = env().set(HA_RSCTMP=str(tmp_path))

    def remember(agent: Scripted) -> object:
        agent.state.write(agent.env.instance or "")
        return None

    assert run(Scripted(remember, files=True), "start", agent_env).exit_code == 0
    assert (tmp_path / "scripted-rsc1.state").read_text() == "rsc1"


def test_agent_name_defaults_to_the_class_name() -> None:
    class Bare(ResourceAgent[Any]):
        pass

    class Variant(MandatoryOnly):
        """A subclass names a new agent unless it says otherwise."""

    assert Bare.name == "Bare"
    assert Variant.name == "Variant"
    assert MandatoryOnly.name == "mandatory-only"


def test_one_action_may_call_another() -> None:
    """start calling monitor: same process, environment, parameters and deadline."""
    seen: list[tuple[str, bool, float]] = []

    class Checking(Scripted):
        @action(timeout=20)
        def start(self) -> object:
            first = self.monitor()
            seen.append((self.env.action, self.is_probe, self.deadline.timeout))
            return first

    def look(agent: Scripted) -> object:
        seen.append((agent.env.action, agent.is_probe, agent.deadline.timeout))
        return ExitCode.SUCCESS

    result = run(Checking(look), "start", env().timeout(45_000))
    assert result.exit_code == 0
    assert seen == [("start", False, 45.0), ("start", False, 45.0)]
