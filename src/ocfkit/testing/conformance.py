"""The conformance suite: everything ocf-tester checks, and what it misses.

Runs against an agent in-process (a factory of agent instances) or as an
executable, the way Pacemaker runs it.  ocf-tester's checks (meta-data as
``nobody`` and against the DTD, validate-all, probe and monitor when stopped,
start/stop idempotence, notify, promote/demote cycles) are here, plus exit
reasons on errors, OCF 1.1 meta-data against both RELAX NG schemas,
deterministic meta-data, unknown actions answering 3, the invalid-environment
rules for probe and stop, and rejection of bad parameter values.
"""

from __future__ import annotations

import os
import subprocess
import tempfile
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any, Protocol

import attrs
from lxml import etree

from ocfkit.codes import ExitCode
from ocfkit.testing.environ import OCFEnv
from ocfkit.testing.runner import AgentRunner, extract_exit_reason
from ocfkit.testing.startup import StartupCost
from ocfkit.validation import validate


@attrs.frozen
class Outcome:
    """What one run of an action produced."""

    action: str
    exit_code: int
    stdout: str
    stderr: str

    @property
    def exit_reason(self) -> str | None:
        return extract_exit_reason(self.stderr)


class Target(Protocol):
    """Something that runs agent actions: an executable or an in-process factory."""

    description: str

    def run(
        self, action: str | None, environ: Mapping[str, str], *, user: str | None = None
    ) -> Outcome: ...


class InProcessTarget:
    """Runs actions through ``ResourceAgent.main`` with a fresh instance each time."""

    def __init__(self, factory: Callable[[], Any], description: str = "in-process") -> None:
        self.runner = AgentRunner(factory)
        self.description = description

    def run(
        self, action: str | None, environ: Mapping[str, str], *, user: str | None = None
    ) -> Outcome:
        if user is not None:
            raise NotImplementedError("an in-process agent cannot change user")
        result = self.runner.invoke(action, environ)
        return Outcome(action or "", result.exit_code, result.stdout, result.stderr)


class ExecutableTarget:
    """Runs an installed agent (a shim or any OCF executable) as Pacemaker does."""

    def __init__(self, path: str, timeout: float = 60.0) -> None:
        self.path = path
        self.timeout = timeout
        self.description = path

    def run(
        self, action: str | None, environ: Mapping[str, str], *, user: str | None = None
    ) -> Outcome:
        argv = [self.path] if action is None else [self.path, action]
        env = {"PATH": os.environ.get("PATH", "/usr/sbin:/usr/bin:/sbin:/bin"), **environ}
        try:
            done = subprocess.run(
                argv,
                env=env,
                capture_output=True,
                text=True,
                errors="replace",
                timeout=self.timeout,
                user=user,
                cwd="/",
                check=False,
                stdin=subprocess.DEVNULL,
            )
        except OSError as error:
            # What Pacemaker's executor answers when the agent cannot be run at
            # all; a failed check, not the end of the suite.
            code = (
                ExitCode.ERR_PERM if isinstance(error, PermissionError) else ExitCode.ERR_INSTALLED
            )
            return Outcome(action or "", code, "", f"cannot run {self.path}: {error}")
        except subprocess.TimeoutExpired:
            return Outcome(
                action or "", ExitCode.ERR_GENERIC, "", f"timed out after {self.timeout:g}s"
            )
        return Outcome(action or "", done.returncode, done.stdout, done.stderr)


@attrs.frozen
class Check:
    name: str
    passed: bool
    detail: str = ""
    skipped: bool = False


@attrs.define
class Report:
    target: str
    checks: list[Check] = attrs.Factory(list)
    locating: tuple[str, ...] = ()
    startup: StartupCost | None = None
    notes: list[str] = attrs.Factory(list)

    @property
    def ok(self) -> bool:
        return all(c.passed or c.skipped for c in self.checks)

    @property
    def failures(self) -> list[Check]:
        return [c for c in self.checks if not c.passed and not c.skipped]

    def render(self) -> str:
        lines = [f"Conformance of {self.target}:"]
        for check in self.checks:
            mark = "skip" if check.skipped else ("ok  " if check.passed else "FAIL")
            lines.append(f"  [{mark}] {check.name}" + (f": {check.detail}" if check.detail else ""))
        passed = sum(c.passed for c in self.checks if not c.skipped)
        failed = len(self.failures)
        skipped = sum(c.skipped for c in self.checks)
        if self.startup is not None:
            lines += self.startup.render()
        lines += self.notes
        lines.append(
            f"{passed} passed, {failed} failed" + (f", {skipped} skipped" if skipped else "")
        )
        return "\n".join(lines)


@attrs.frozen
class DeclaredParameter:
    name: str
    type: str
    required: bool
    options: tuple[str, ...]


class Suite:
    """One conformance run; each ``check_*`` method adds results to the report."""

    def __init__(
        self,
        target: Target,
        *,
        params: Mapping[str, str] | None = None,
        instance: str = "conformance",
        rsctmp: str | None = None,
        as_nobody: bool | None = None,
        locating: Iterable[str] = (),
        measure: Callable[[Suite], StartupCost | None] | None = None,
    ) -> None:
        self.target = target
        self.locating = frozenset(locating)
        self.measure = measure
        self.params = dict(params or {})
        self.instance = instance
        self.rsctmp = rsctmp
        self.as_nobody = (
            os.geteuid() == 0 and isinstance(target, ExecutableTarget)
            if as_nobody is None
            else as_nobody
        )
        self.report = Report(target.description, locating=tuple(sorted(self.locating)))
        self.actions: set[str] = set()
        self.declared: list[DeclaredParameter] = []

    # ------------------------------------------------------------------ helpers

    def env(self, **meta: object) -> OCFEnv:
        base = OCFEnv(instance=self.instance, rsctmp=self.rsctmp)
        for name, value in self.params.items():
            base = base.param(name, value)
        return base.meta(**meta) if meta else base

    def record(self, name: str, passed: bool, detail: str = "") -> bool:
        self.report.checks.append(Check(name, passed, detail))
        return passed

    def skip(self, name: str, why: str) -> None:
        self.report.checks.append(Check(name, True, why, skipped=True))

    def expect(self, name: str, action: str, env: Mapping[str, str], *codes: int) -> Outcome:
        outcome = self.target.run(action, env)
        passed = outcome.exit_code in codes
        detail = f"rc={ExitCode.describe(outcome.exit_code)}"
        if not passed:
            wanted = " or ".join(ExitCode.describe(c) for c in codes)
            detail += f", expected {wanted}"
            if outcome.exit_reason:
                detail += f" ({outcome.exit_reason})"
        self.record(name, passed, detail)
        if outcome.exit_code not in (ExitCode.SUCCESS, ExitCode.NOT_RUNNING):
            self.record(
                f"{name}: error carries an exit reason",
                bool(outcome.exit_reason),
                outcome.exit_reason or "no ocf-exit-reason: line on stderr",
            )
        return outcome

    # ------------------------------------------------------------------- checks

    def check_metadata(self) -> bool:
        outcome = self.target.run("meta-data", OCFEnv(ra_version=(1, 1), timeout_ms=None))
        if not self.record(
            "meta-data returns 0", outcome.exit_code == 0, outcome.exit_reason or ""
        ):
            return False
        for schema in ("ocf-1.1-rng", "pacemaker-1.1-rng"):
            verdict = validate(outcome.stdout, schema)
            self.record(
                f"meta-data (1.1) valid against {schema}",
                verdict.valid,
                "; ".join(verdict.errors[:3]),
            )
        again = self.target.run("meta-data", OCFEnv(ra_version=(1, 1), timeout_ms=None))
        self.record("meta-data is deterministic", again.stdout == outcome.stdout)
        compat = self.target.run("meta-data", OCFEnv(ra_version=(1, 0), timeout_ms=None))
        verdict = validate(compat.stdout, "ra-api-1-dtd")
        self.record(
            "meta-data for OCF 1.0 callers valid against ra-api-1.dtd (ocf-tester)",
            compat.exit_code == 0 and verdict.valid and "<!DOCTYPE" in compat.stdout,
            "; ".join(verdict.errors[:3]),
        )
        # Only what every caller sets (ocf-tester and Pacemaker both set OCF_ROOT).
        bare_env = {"OCF_ROOT": "/usr/lib/ocf"}
        bare = self.target.run("meta-data", bare_env)
        self.record(
            "meta-data works without parameters or meta attributes",
            bare.exit_code == 0 and bare.stdout.strip() != "",
        )
        if self.as_nobody:
            nobody = self.target.run("meta-data", bare_env, user="nobody")
            self.record(
                "meta-data works as user nobody",
                nobody.exit_code == 0,
                nobody.stderr.strip()[-200:],
            )
        else:
            self.skip("meta-data works as user nobody", "needs root and an installed agent")
        self._read_declarations(outcome.stdout)
        mandatory = {"start", "stop", "monitor", "meta-data"}
        missing = mandatory - self.actions
        self.record(
            "meta-data lists start, stop, monitor and meta-data",
            not missing,
            ", ".join(sorted(missing)),
        )
        return True

    def _read_declarations(self, document: str) -> None:
        root = etree.fromstring(document.encode())
        self.actions = {a.get("name", "") for a in root.iter("action")}
        for parameter in root.iter("parameter"):
            content = parameter.find("content")
            self.declared.append(
                DeclaredParameter(
                    name=parameter.get("name", ""),
                    type=content.get("type", "string") if content is not None else "string",
                    required=parameter.get("required") == "1",
                    options=tuple(o.get("value", "") for o in parameter.iter("option")),
                )
            )

    def check_actions_and_usage(self) -> None:
        self.expect(
            "an unknown action answers 3", "no-such-action", self.env(), ExitCode.ERR_UNIMPLEMENTED
        )
        outcome = self.target.run(None, self.env())
        self.record(
            "no action at all answers 3 with usage on stderr",
            outcome.exit_code == ExitCode.ERR_UNIMPLEMENTED and "usage" in outcome.stderr.lower(),
            f"rc={outcome.exit_code}",
        )

    def check_validation(self) -> None:
        if "validate-all" in self.actions:
            self.expect(
                "validate-all accepts the given parameters",
                "validate-all",
                self.env(),
                ExitCode.SUCCESS,
            )
        else:
            self.skip("validate-all accepts the given parameters", "no validate-all action")
        for parameter, bad in self.bad_values():
            env = self.env().param(parameter.name, bad)
            if "validate-all" in self.actions:
                self.expect(
                    f"validate-all rejects {parameter.name}={bad}",
                    "validate-all",
                    env,
                    ExitCode.ERR_CONFIGURED,
                    ExitCode.ERR_ARGS,
                )
            self.expect(
                f"a probe with {parameter.name}={bad} answers 7",
                "monitor",
                env.probe(),
                ExitCode.NOT_RUNNING,
            )
            self.expect(
                f"stop with {parameter.name}={bad} answers 0", "stop", env, ExitCode.SUCCESS
            )
        for parameter in self.declared:
            if parameter.required and parameter.name in self.params:
                env = self.env().param(parameter.name, None)
                self.expect(
                    f"start without required {parameter.name} fails",
                    "start",
                    env,
                    ExitCode.ERR_CONFIGURED,
                    ExitCode.ERR_ARGS,
                )
                # What Pacemaker does next: stop, with the same parameters.  A
                # failure there gets the node fenced.
                outcome = self.target.run("stop", env)
                hint = ""
                if outcome.exit_code != ExitCode.SUCCESS and parameter.name not in self.locating:
                    hint = (
                        f" ({outcome.exit_reason}); a required parameter that does not locate "
                        "the resource leaves stop nothing to go on: declare it locates=True "
                        "or give it a default"
                    )
                self.record(
                    f"the stop after that failed start (without {parameter.name}) answers 0",
                    outcome.exit_code == ExitCode.SUCCESS,
                    f"rc={ExitCode.describe(outcome.exit_code)}{hint}",
                )

    def bad_values(self) -> list[tuple[DeclaredParameter, str]]:
        """A value each integer and select parameter must refuse."""
        found = []
        for parameter in self.declared:
            bad = {"integer": "not-a-number", "select": "no-such-option"}.get(parameter.type)
            if bad is not None:
                found.append((parameter, bad))
        return found

    def check_stop_with_broken_parameters(self, recurring: OCFEnv) -> None:
        """A stop with a broken parameter that does not locate the resource still stops it.

        Answering 0 while the resource runs is how it ends up running twice;
        only a parameter that locates the resource may make stop answer 0
        without looking (the resource cannot be found, so it is not here).
        """
        for parameter, bad in self.bad_values():
            name = f"stop with {parameter.name}={bad} while running"
            if parameter.name in self.locating:
                self.skip(name, "it locates the resource: stop answers 0 without looking")
                continue
            self.expect(f"start (before {name})", "start", self.env(), ExitCode.SUCCESS)
            stop = self.target.run("stop", self.env().param(parameter.name, bad))
            after = self.target.run("monitor", recurring)
            stopped = after.exit_code == ExitCode.NOT_RUNNING
            if stop.exit_code == ExitCode.SUCCESS:
                self.record(
                    f"{name} stops the resource",
                    stopped,
                    "" if stopped else "stop answered 0 and the resource still runs",
                )
            else:
                self.record(
                    f"{name} stops the resource",
                    False,
                    f"rc={ExitCode.describe(stop.exit_code)} ({stop.exit_reason})",
                )
            if not stopped:
                self.target.run("stop", self.env())

    def check_lifecycle(self) -> None:
        recurring = self.env(interval=10000)
        probe = self.env(interval=0)
        first = self.target.run("monitor", probe)
        if first.exit_code not in (ExitCode.NOT_RUNNING,):
            self.target.run("stop", self.env())
        self.expect("probe of a stopped resource answers 7", "monitor", probe, ExitCode.NOT_RUNNING)
        unset = self.env().set(OCF_RESKEY_CRM_meta_interval=None)
        self.expect(
            "a monitor without interval is a probe: answers 7",
            "monitor",
            unset,
            ExitCode.NOT_RUNNING,
        )
        self.expect(
            "monitor of a stopped resource answers 7", "monitor", recurring, ExitCode.NOT_RUNNING
        )
        self.expect("start", "start", self.env(), ExitCode.SUCCESS)
        self.expect(
            "monitor of a started resource answers 0", "monitor", recurring, ExitCode.SUCCESS
        )
        self.expect("probe of a started resource answers 0", "monitor", probe, ExitCode.SUCCESS)
        self.expect("start of a started resource answers 0", "start", self.env(), ExitCode.SUCCESS)
        self.expect(
            "monitor after a second start answers 0", "monitor", recurring, ExitCode.SUCCESS
        )
        if self.measure is not None:
            self.report.startup = self.measure(self)
        if "notify" in self.actions:
            notify = (
                self.env()
                .clone(instance=0, max=2)
                .notification(
                    "post",
                    "start",
                    start=["node2"],
                    active=["node1", "node2"],
                    all=["node1", "node2"],
                )
            )
            self.expect("notify (post-start) answers 0", "notify", notify, ExitCode.SUCCESS)
            empty = self.env().clone(instance=0, max=2).notification("pre", "stop")
            self.expect("notify with every list empty answers 0", "notify", empty, ExitCode.SUCCESS)
        else:
            self.skip("notify answers 0", "no notify action")
        if {"promote", "demote"} <= self.actions:
            for step in ("demote", "promote", "promote", "demote", "demote"):
                self.expect(f"{step} (cycle)", step, self.env(), ExitCode.SUCCESS)
        elif {"promote", "demote"} & self.actions:
            self.record("promote and demote come together", False, "only one of them is declared")
        self.expect("stop", "stop", self.env(), ExitCode.SUCCESS)
        self.expect("monitor after stop answers 7", "monitor", recurring, ExitCode.NOT_RUNNING)
        self.expect("stop of a stopped resource answers 0", "stop", self.env(), ExitCode.SUCCESS)
        self.expect(
            "monitor after a second stop answers 7", "monitor", recurring, ExitCode.NOT_RUNNING
        )
        self.check_stop_with_broken_parameters(recurring)

    def check_shim_is_current(self) -> None:
        """An ocfkit shim's embedded meta-data must be what its agent renders now."""
        from pathlib import Path

        from ocfkit.shims import is_shim, shim_state

        path = Path(getattr(self.target, "path", ""))
        if not is_shim(path):
            return
        state = shim_state(path)
        self.record(
            "the shim's meta-data is what the installed agent renders now",
            state.state == "current",
            state.detail,
        )

    def run(self) -> Report:
        if self.check_metadata():
            self.check_actions_and_usage()
            self.check_validation()
            self.check_lifecycle()
        return self.report


@contextmanager
def _rsctmp(directory: str | None) -> Iterator[str]:
    if directory is not None:
        yield directory
        return
    with tempfile.TemporaryDirectory(prefix="ocfkit-check-") as made:
        os.chmod(made, 0o755)  # noqa: S103 (agents may run as nobody)
        yield made


def check(
    target: Target | Callable[[], Any] | str,
    *,
    params: Mapping[str, str] | None = None,
    instance: str = "conformance",
    rsctmp: str | None = None,
    locating: Iterable[str] | None = None,
    measure_startup: bool = False,
) -> Report:
    """Run the whole suite against an executable path, a factory or a :class:`Target`.

    ``locating`` names the parameters that locate the resource (a broken
    one lets stop answer 0 without looking); by default what the agent
    declares, found from the factory's class or from an ocfkit shim's
    marker line, and none for other executables.  ``measure_startup`` adds
    the agent's start-up cost as whole processes to the report.
    """
    if isinstance(target, str):
        target = ExecutableTarget(target)
    elif callable(target) and not hasattr(target, "run"):
        target = InProcessTarget(target)
    agent_class = _agent_class(target)
    if locating is None:
        locating = agent_class.locating_parameters() if agent_class is not None else ()
    measure = _startup_measure(target) if measure_startup else None
    with _rsctmp(rsctmp) as directory:
        suite = Suite(
            target,  # type: ignore[arg-type]
            params=params,
            instance=instance,
            rsctmp=directory,
            locating=locating,
            measure=measure,
        )
        if measure_startup and measure is None:
            suite.report.notes.append(
                "Start-up cost: not measured on the agent's test doubles; "
                "check the installed shim (--installed PATH) for it"
            )
        if isinstance(target, ExecutableTarget):
            suite.check_shim_is_current()
        return suite.run()


def _agent_class(target: object) -> Any:
    """The ocfkit agent class behind a target, when there is one to find."""
    if isinstance(target, InProcessTarget):
        from ocfkit.agent import ResourceAgent

        agent = target.runner.agent
        if isinstance(agent, type):
            return agent
        if isinstance(agent, ResourceAgent):
            return type(agent)
        try:
            return type(agent())
        except Exception:  # a factory that cannot build outside its test: no declarations
            return None
    if isinstance(target, ExecutableTarget):
        from pathlib import Path

        from ocfkit.registry import load
        from ocfkit.shims import shim_reference

        reference = shim_reference(Path(target.path))
        if reference is None:
            return None
        try:
            return load(reference)
        except Exception:  # an agent that no longer imports: the suite shows it
            return None
    return None


def _startup_measure(target: object) -> Callable[[Suite], StartupCost | None] | None:
    """How to time the target as whole processes: itself, or a temporary shim of its class."""
    from ocfkit.testing import startup

    def env_of(suite: Suite) -> tuple[dict[str, str], dict[str, str]]:
        path = {"PATH": os.environ.get("PATH", "/usr/sbin:/usr/bin:/sbin:/bin")}
        monitor = {**path, **suite.env(interval=10000)}
        meta = {**path, **OCFEnv(timeout_ms=None)}
        return monitor, meta

    if isinstance(target, ExecutableTarget):
        path = target.path

        def measure_executable(suite: Suite) -> StartupCost | None:
            return startup.measure(path, *env_of(suite))

        return measure_executable
    if isinstance(target, InProcessTarget):
        agent = target.runner.agent
        if not isinstance(agent, type):
            return None  # test doubles wired by a factory: the real agent would differ
        reference = f"{agent.__module__}:{agent.__qualname__}"
        if "<" in reference or agent.__module__ == "__main__":
            return None

        def measure_shim(suite: Suite) -> StartupCost | None:
            from ocfkit.shims import install

            with tempfile.TemporaryDirectory(prefix="ocfkit-timing-") as root:
                os.chmod(root, 0o755)  # noqa: S103 (meta-data may run as nobody)
                (shim,) = install("timing", [reference], ocf_root=root)
                return startup.measure(str(shim.path), *env_of(suite))

        return measure_shim
    return None
