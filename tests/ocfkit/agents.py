"""Agents the framework tests run: small classes that each exercise one corner.

They live in a module (not inside test functions) so that shims and
subprocesses can import them by ``module:Class`` reference, exactly as an
installed agent is imported.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from ocfkit import (
    Boolean,
    ExitCode,
    Integer,
    Parameters,
    ResourceAgent,
    Select,
    action,
    parameter,
)
from ocfkit.state import MemoryStateStore
from ocfkit.testing import AgentRunner, FakeClock, Result

# ----------------------------------------------------------------------------
# An agent with every optional OCF 1.1 action, recording which method ran.


class RecordingParameters(Parameters):
    note: str | None = parameter(default=None, shortdesc="A value with no effect")


class EveryAction(ResourceAgent[RecordingParameters]):
    """Declares every optional action of OCF 1.1 (and Pacemaker's migrate_*)."""

    name = "every-action"
    parameters = RecordingParameters

    def __init__(self) -> None:
        super().__init__(clock=FakeClock(), state_store=MemoryStateStore())
        self.called: list[str] = []

    def _did(self, what: str) -> ExitCode:
        self.called.append(what)
        return ExitCode.SUCCESS

    @action(timeout=20)
    def start(self) -> ExitCode:
        return self._did("start")

    @action(timeout=20)
    def stop(self) -> ExitCode:
        return self._did("stop")

    @action(timeout=20, interval=10)
    def monitor(self) -> ExitCode:
        return self._did("monitor")

    @action(timeout=20)
    def notify(self) -> ExitCode:
        return self._did("notify")

    @action(timeout=20)
    def promote(self) -> ExitCode:
        return self._did("promote")

    @action(timeout=20)
    def demote(self) -> ExitCode:
        return self._did("demote")

    @action(timeout=20)
    def reload(self) -> ExitCode:
        return self._did("reload")

    @action(timeout=20)
    def reload_agent(self) -> ExitCode:
        return self._did("reload_agent")

    @action(timeout=20)
    def migrate_to(self) -> ExitCode:
        return self._did("migrate_to")

    @action(timeout=20)
    def migrate_from(self) -> ExitCode:
        return self._did("migrate_from")

    @action(timeout=20)
    def recover(self) -> ExitCode:
        return self._did("recover")

    @action(timeout=20)
    def validate_all(self) -> ExitCode:
        return self._did("validate_all")


class MandatoryOnly(ResourceAgent[RecordingParameters]):
    """Declares start, stop and monitor only (validate-all comes from the base class)."""

    name = "mandatory-only"
    parameters = RecordingParameters

    @action(timeout=20)
    def start(self) -> None:
        return None

    @action(timeout=20)
    def stop(self) -> None:
        return None

    @action(timeout=20, interval=10)
    def monitor(self) -> ExitCode:
        return ExitCode.NOT_RUNNING


# ----------------------------------------------------------------------------
# An agent whose behaviour each test scripts.

Behaviour = Callable[["Scripted"], object]


class ScriptedParameters(Parameters):
    value: str | None = parameter(default=None, shortdesc="Anything")
    count: int = parameter(default=1, type=Integer(min=0, max=10), shortdesc="A bounded count")
    slot: int | None = parameter(
        default=None, type=Integer(min=0), locates=True, shortdesc="Where the resource is"
    )


def _succeed(agent: Scripted) -> object:
    return ExitCode.SUCCESS


class Scripted(ResourceAgent[ScriptedParameters]):
    """Every action (and ``validate``) does what the test hands it."""

    name = "scripted"
    parameters = ScriptedParameters

    def __init__(
        self,
        behaviour: Behaviour = _succeed,
        validator: Behaviour | None = None,
        *,
        files: bool = False,
    ) -> None:
        # files=True: state files in HA_RSCTMP, as an installed agent keeps them.
        super().__init__(clock=FakeClock(), state_store=None if files else MemoryStateStore())
        self.behaviour = behaviour
        self.validator = validator

    def validate(self) -> None:
        if self.validator is not None:
            self.validator(self)

    @action(timeout=20)
    def start(self) -> object:
        return self.behaviour(self)

    @action(timeout=20)
    def stop(self) -> object:
        return self.behaviour(self)

    @action(timeout=20, interval=10)
    def monitor(self) -> object:
        return self.behaviour(self)

    @action(timeout=20)
    def notify(self) -> object:
        return self.behaviour(self)


class RequiredParameters(Parameters):
    target: str = parameter(shortdesc="What the resource is", locates=True)
    mode: str = parameter(shortdesc="How it runs (needed by every action)")


class Required(ResourceAgent[RequiredParameters]):
    """Two required parameters: one locates the resource, the other does not."""

    name = "required"
    parameters = RequiredParameters

    def __init__(self) -> None:
        super().__init__(clock=FakeClock(), state_store=MemoryStateStore())
        self.ran: list[str] = []

    @action(timeout=20)
    def start(self) -> None:
        self.ran.append("start")

    @action(timeout=20)
    def stop(self) -> None:
        self.ran.append("stop")

    @action(timeout=20, interval=10)
    def monitor(self) -> ExitCode:
        self.ran.append("monitor")
        return ExitCode.NOT_RUNNING


def raising(error: BaseException) -> Behaviour:
    """A behaviour that raises ``error``."""

    def behave(agent: Scripted) -> object:
        raise error

    return behave


def returning(value: object) -> Behaviour:
    def behave(agent: Scripted) -> object:
        return value

    return behave


def run(
    agent: ResourceAgent[Any] | Callable[[], ResourceAgent[Any]],
    action_name: str | None,
    environ: Mapping[str, str] | None = None,
) -> Result:
    return AgentRunner(agent).invoke(action_name, environ)


# ----------------------------------------------------------------------------
# An agent using every feature of OCF 1.1 meta-data, for the golden files.


class FullParameters(Parameters):
    config_file: str = parameter(
        name="config-file",
        shortdesc="Configuration file",
        longdesc="The daemon's configuration: <path> & \"quotes\" 'too' survive escaping.",
        unique_group="config",
    )
    ip: str = parameter(
        default="*", shortdesc="Address", longdesc="Where to listen.", unique_group="address"
    )
    port: int = parameter(
        default=2049,
        type=Integer(min=1, max=65535),
        shortdesc="Port",
        longdesc="The port, which with ip must be unique.",
        unique_group="address",
    )
    mode: str = parameter(
        default="fast",
        type=Select("fast", "safe", "a<b&c"),
        shortdesc="Mode",
        longdesc="How to run.",
        reloadable=True,
    )
    verbose: bool = parameter(default=False, type=Boolean(), shortdesc="Verbose", reloadable=True)
    loglevel: str = parameter(
        default='say "hi" & <bye>',
        shortdesc="Old logging switch",
        longdesc="Replaced by verbose.",
        deprecated="Kept for configurations written for the shell agent.",
        replaced_with=("verbose", "mode"),
    )
    retries: int | None = parameter(default=None, shortdesc="Retries", deprecated=True)


class Full(ResourceAgent[FullParameters]):
    """Every OCF 1.1 meta-data feature

    Parameters with unique groups, reloadable parameters, a select, deprecated
    parameters; reload-agent; promote and demote; monitors at several depths
    and roles.
    """

    name = "full"
    version = "2.3.1"
    parameters = FullParameters

    @action(timeout=30, start_delay=2)
    def start(self) -> None:
        return None

    @action(timeout="1m")
    def stop(self) -> None:
        return None

    @action(timeout=20, interval=10, depth=0)
    @action(timeout=60, interval=3600, depth=10)
    @action(timeout=20, interval=9, role="Promoted")
    @action(timeout=20, interval=11, role="unpromoted")
    def monitor(self) -> None:
        return None

    @action(timeout=10)
    def promote(self) -> None:
        return None

    @action(timeout=10)
    def demote(self) -> None:
        return None

    @action(timeout=5)
    def reload_agent(self) -> None:
        return None

    @action(timeout=20)
    def notify(self) -> None:
        return None


class NoParameters(Parameters):
    """Declares nothing, which meta-data cannot express."""


class Parameterless(ResourceAgent[NoParameters]):
    name = "parameterless"
    parameters = NoParameters

    @action(timeout=20)
    def start(self) -> None:
        return None

    @action(timeout=20)
    def stop(self) -> None:
        return None

    @action(timeout=20)
    def monitor(self) -> None:
        return None


class WithoutParametersAttribute(ResourceAgent[Any]):
    """Forgets the ``parameters`` class attribute altogether."""

    name = "forgetful"

    @action(timeout=20)
    def start(self) -> None:
        return None


# ----------------------------------------------------------------------------
# Deliberately broken agents the conformance suite must reject.


class _StateParameters(Parameters):
    fake: str = parameter(default="x", shortdesc="Fake")


class _InMemory(ResourceAgent[_StateParameters]):
    """Keeps its running flag in a store shared by the instances of one factory."""

    parameters = _StateParameters

    def __init__(self, store: MemoryStateStore) -> None:
        super().__init__(clock=FakeClock(), state_store=store)

    def running(self) -> bool:
        return self.state.read() is not None

    @action(timeout=20)
    def start(self) -> object:
        self.state.write("up")
        return ExitCode.SUCCESS

    @action(timeout=20)
    def stop(self) -> object:
        self.state.remove()
        return ExitCode.SUCCESS

    @action(timeout=20, interval=10)
    def monitor(self) -> object:
        return ExitCode.SUCCESS if self.running() else ExitCode.NOT_RUNNING


class WellBehaved(_InMemory):
    name = "well-behaved"


class MonitorAlwaysRunning(_InMemory):
    """Answers 0 to every monitor, even when stopped: Pacemaker would never start it."""

    name = "always-running"

    @action(timeout=20, interval=10)
    def monitor(self) -> object:
        return ExitCode.SUCCESS


class NoExitReasons(_InMemory):
    """A stop that fails the first time it is asked, with a bare code and no reason."""

    name = "no-reasons"

    @action(timeout=20)
    def stop(self) -> object:
        if self.state.read() == "up":
            self.state.write("stop failed once")
            return ExitCode.ERR_GENERIC
        self.state.remove()
        return ExitCode.SUCCESS


class InvalidMetadata(_InMemory):
    """Prints meta-data without parameters or actions, which no schema accepts."""

    name = "invalid-metadata"

    def main(self, argv: Any = None, environ: Any = None) -> int:
        if argv is not None and list(argv)[1:2] == ["meta-data"]:
            import sys

            sys.stdout.write('<?xml version="1.0"?>\n<resource-agent name="x"/>\n')
            return ExitCode.SUCCESS
        return super().main(argv, environ)


class HalfPromotable(_InMemory):
    """Declares promote without demote."""

    name = "half-promotable"

    @action(timeout=20)
    def promote(self) -> object:
        return ExitCode.SUCCESS


def factory(agent_class: type[_InMemory]) -> Callable[[], _InMemory]:
    """A fresh instance per action sharing one store, as processes share HA_RSCTMP."""
    store = MemoryStateStore()
    return lambda: agent_class(store)


class Crashing(ResourceAgent[RecordingParameters]):
    """A start with a programming error, to see where the traceback goes."""

    name = "crashing"
    parameters = RecordingParameters

    @action(timeout=20)
    def start(self) -> None:
        raise ZeroDivisionError("division by zero\nwith a second line")

    @action(timeout=20)
    def stop(self) -> None:
        return None

    @action(timeout=20)
    def monitor(self) -> ExitCode:
        return ExitCode.NOT_RUNNING
