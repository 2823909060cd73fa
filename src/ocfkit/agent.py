"""The ResourceAgent base class: one subclass per agent, one instance per action.

Pacemaker runs ``agent ACTION`` as a new process for every operation, with
everything else in the environment.  :meth:`ResourceAgent.main` reads that
environment once, converts the parameters, and calls the method declared for
the action; what the method returns or raises becomes the exit code, and an
exception's message becomes the ``ocf-exit-reason:`` line.  An agent author
writes only decisions; the conventions shell agents repeat by hand (probe
detection, the invalid-environment rules, exit reasons, deadlines) live here.
"""

from __future__ import annotations

import os
import sys

from ocfkit.actions import ActionSpec, ActionTable, action, format_duration
from ocfkit.clock import SystemClock
from ocfkit.codes import VALID_CODES, ExitCode
from ocfkit.deadline import Deadline
from ocfkit.environment import OCFEnvironment
from ocfkit.errors import AgentDefinitionError, OCFError
from ocfkit.log import AgentLog, LogSettings, printable
from ocfkit.params import Parameters, load_parameters, locating_names
from ocfkit.state import DirectoryStateStore

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Mapping, Sequence
    from typing import Any, ClassVar, Generic, TypeVar

    from ocfkit.clock import Clock
    from ocfkit.notify import Notification
    from ocfkit.runner import Runner
    from ocfkit.state import InstanceState, StateStore

    P = TypeVar("P", bound=Parameters)
else:
    from ocfkit._record import Subscriptable as Generic

    P = None

#: The notification lists that can settle a notification (see ``notify_settled_by``):
#: the instances a transition starts, stops, promotes or demotes.
SETTLING_LISTS = ("start", "stop", "promote", "demote")

# Errors that say "this environment cannot run the resource": about the
# parameters that locate it, they make a stop trivially successful and a
# probe find it stopped (see _refused and _failed).
_INVALID_ENVIRONMENT = frozenset(
    {ExitCode.ERR_CONFIGURED, ExitCode.ERR_INSTALLED, ExitCode.ERR_ARGS}
)
_HELP_ACTIONS = frozenset({"usage", "help", "--help", "-h"})
# Spellings of meta-data that shell agents (and people) use.
_META_DATA_ACTIONS = frozenset({"meta-data", "meta_data", "metadata"})

startup_warnings: list[str] = []
"""Warnings for the next action's log, left by the code that started it.

An installed shim puts here what it noticed before the agent could log
(that the package changed since the shim was written); the action logs them.
"""


class ResourceAgent(Generic[P]):
    """Base class of every ocfkit agent.

    Class attributes describe the agent (``name``, ``version``, descriptions,
    ``parameters``: a :class:`ocfkit.Parameters` subclass);
    methods decorated with :func:`ocfkit.action` implement the actions.
    Constructor arguments are the agent's collaborators, so tests pass fakes
    and the entry point lets the real ones be built on first use.
    """

    name: ClassVar[str] = ""
    version: ClassVar[str] = "1.0"
    meta_data_timeout: ClassVar[int | str] = 5
    shortdesc: ClassVar[str] = ""
    longdesc: ClassVar[str] = ""
    parameters: ClassVar[type[Parameters]]
    #: The clone notifications (``"pre-promote"``, ``"post-stop"`` ...) the agent acts on;
    #: every other one is answered 0 at once, by the installed shim without even
    #: starting Python.  None: every notification reaches ``notify``.
    notify_events: ClassVar[frozenset[str] | None] = None
    #: Events of :attr:`notify_events` answered 0 at once all the same when the
    #: transition also has instances in another list: ``{"pre-promote": "demote"}``
    #: settles a pre-promote by a demote in the same transition
    #: (``notify_demote_uname`` not blank), for an agent whose pre-demote round
    #: already did the work.  An instance the transition starts (its node in
    #: ``notify_start_uname``) missed that round, so it still acts.  The shim
    #: decides alike, without starting Python.
    notify_settled_by: ClassVar[Mapping[str, str]] = {}

    # Set by main() for the duration of one action.
    env: OCFEnvironment
    params: P
    deadline: Deadline
    log: AgentLog

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if not cls.__dict__.get("name"):
            cls.name = cls.__name__
        cls._action_table = None
        for event, settled_by in cls.__dict__.get("notify_settled_by", {}).items():
            if event not in (cls.notify_events or ()) or settled_by not in SETTLING_LISTS:
                raise AgentDefinitionError(
                    f"{cls.name}.notify_settled_by: {event!r} must be one of notify_events, "
                    f"settled by one of {', '.join(SETTLING_LISTS)}, not {settled_by!r}"
                )

    _action_table: ClassVar[ActionTable | None] = None

    def __init__(
        self,
        *,
        clock: Clock | None = None,
        state_store: StateStore | None = None,
        runner: Runner | None = None,
    ) -> None:
        self.clock: Clock = clock or SystemClock()
        self._state_store = state_store
        self._runner = runner

    # ----------------------------------------------------------------- actions

    @action(timeout=20)
    def validate_all(self) -> ExitCode | int | None:
        """Parameters converted and :meth:`validate` passed: nothing more to check."""
        return ExitCode.SUCCESS

    def validate(self) -> None:
        """Checks beyond each parameter's own type, run before every action.

        Raise :class:`ocfkit.ConfigurationError` (or another OCFError) with
        the reason.  Keep it free of I/O: it runs on every monitor.
        """

    # ------------------------------------------------------------- conveniences

    @property
    def is_probe(self) -> bool:
        return self.env.is_probe

    @property
    def notification(self) -> Notification:
        return self.env.notification

    @property
    def state(self) -> InstanceState:
        """This instance's remembered state (``HA_RSCTMP/<agent>-<instance>.state``)."""
        if self._state_store is None:
            self._state_store = DirectoryStateStore(self.env.rsctmp)
        return self._state_store.state(f"{self.name}-{self.env.instance or 'default'}")

    @property
    def runner(self) -> Runner:
        """Runs programs within this action's deadline (see :mod:`ocfkit.runner`)."""
        if self._runner is None:
            from ocfkit.runner import CommandRunner

            self._runner = CommandRunner(self.deadline, self.log)
        return self._runner

    @classmethod
    def actions(cls) -> ActionTable:
        if cls._action_table is None:
            meta_data = ActionSpec("meta-data", format_duration(cls.meta_data_timeout, "timeout"))
            cls._action_table = ActionTable.of(cls, builtin=(meta_data,))
        return cls._action_table

    @classmethod
    def conformance_factory(cls) -> Callable[[], ResourceAgent[Any]]:
        """What ``ocfkit check`` runs in-process: by default the agent with real collaborators.

        Agents whose real backends need a live cluster return a factory that
        wires their test doubles, so the suite can exercise every action.
        """
        return cls

    @classmethod
    def usage(cls) -> str:
        names = [*cls.actions().methods, "meta-data"]
        return f"usage: {cls.name} {{{'|'.join(names)}}}"

    # ---------------------------------------------------------------- dispatch

    def main(
        self, argv: Sequence[str] | None = None, environ: Mapping[str, str] | None = None
    ) -> int:
        """Run the action named by ``argv[1]`` and return its exit code."""
        argv = sys.argv if argv is None else argv
        environ = os.environ if environ is None else environ
        requested = argv[1] if len(argv) > 1 else None
        if requested in _META_DATA_ACTIONS:
            return self._print_metadata(environ)
        if requested in _HELP_ACTIONS:
            sys.stdout.write(self.usage() + "\n")
            return ExitCode.SUCCESS
        if requested is None or requested not in self.actions():
            reason = "no action given" if requested is None else f"unknown action {requested!r}"
            sys.stderr.write(self.usage() + "\n")
            prefix = environ.get("OCF_EXIT_REASON_PREFIX") or "ocf-exit-reason:"
            sys.stderr.write(f"{prefix}{_one_line(reason)}\n")
            return ExitCode.ERR_UNIMPLEMENTED
        return self._run(requested, environ)

    def _print_metadata(self, environ: Mapping[str, str]) -> int:
        from ocfkit.metadata import flavour_for, render

        try:
            document = render(type(self), flavour=flavour_for(environ))
        except AgentDefinitionError as error:
            prefix = environ.get("OCF_EXIT_REASON_PREFIX") or "ocf-exit-reason:"
            sys.stderr.write(f"{prefix}{_one_line(str(error))}\n")
            return ExitCode.ERR_GENERIC
        sys.stdout.write(document)
        return ExitCode.SUCCESS

    def _run(self, requested: str, environ: Mapping[str, str]) -> int:
        if requested == "notify" and not self._acts_on(environ):
            return ExitCode.SUCCESS
        self.env = OCFEnvironment.from_environ(environ, requested)
        self.log = AgentLog(LogSettings.from_environ(environ, self.name))
        self.deadline = Deadline.from_timeout_ms(self.clock, self.env.meta.timeout_ms)
        while startup_warnings:
            self.log.warning("%s", startup_warnings.pop(0))
        for warning in self.env.warnings:
            self.log.warning("%s", warning)
        # Stop and probes must find what runs even when an unrelated
        # parameter is broken: they fall back on defaults (see _refused).
        finding = requested == "stop" or self.env.is_probe
        try:
            try:
                loaded = load_parameters(self.parameters, environ, fall_back=finding)
                self.params = loaded.values
                for warning in loaded.warnings:
                    self.log.warning("%s", warning)
            except OCFError as error:
                return self._refused(error)
            try:
                self.validate()
            except OCFError as error:
                if not (finding and self._goes_on_despite(error)):
                    return self._refused(error)
            method = getattr(self, self.actions().methods[requested])
            return self._exit_code(method())
        except OCFError as error:
            return self._failed(error)
        except SystemExit as leaving:
            # As Python itself reads it: sys.exit() succeeds, sys.exit("why")
            # fails with that message, which becomes the exit reason.
            if leaving.code is None:
                return ExitCode.SUCCESS
            if isinstance(leaving.code, int):
                return self._exit_code(leaving.code)
            return self._report(ExitCode.ERR_GENERIC, str(leaving.code))
        except Exception as error:  # the last line of defence: never a bare traceback
            self.log.exception("%s failed unexpectedly", requested)
            return self._report(
                ExitCode.ERR_GENERIC, f"internal error: {type(error).__name__}: {error}"
            )

    @classmethod
    def locating_parameters(cls) -> frozenset[str]:
        """The OCF names of the parameters declared with ``locates=True``."""
        return locating_names(cls.parameters)

    def _locates(self, error: OCFError) -> bool:
        """Whether ``error`` says a parameter that locates the resource is unusable."""
        if error.code not in _INVALID_ENVIRONMENT or not error.parameters:
            return False
        locating = self.locating_parameters()
        return any(name in locating for name in error.parameters)

    def _goes_on_despite(self, error: OCFError) -> bool:
        """A stop or probe runs despite validate() rejecting what does not locate the resource.

        Such a configuration cannot start the resource, but one started
        before may still run: the stop must still find and stop it (a 0
        without looking could leave it running twice), and the probe must
        still see it.
        """
        if error.code not in _INVALID_ENVIRONMENT or self._locates(error):
            return False
        self.log.warning("%s; %s goes on to find the resource", error.reason, self.env.action)
        return True

    def _refused(self, error: OCFError) -> int:
        """An error before the action ran: the parameters or validate() refused them.

        About a parameter that locates the resource, the resource cannot be
        running here: stop answers 0 and a probe 7.  A demote answers 0 too:
        Pacemaker 2.1 passes a resource removed from the configuration (an
        orphan) its stored parameters on stop only, so the demote it runs
        first comes with none; refusing it (6) made the scheduler demote it
        again and again instead of going on to the stop, which finds and
        stops the instance.  Anything else is the error it is.
        """
        if self._locates(error):
            if self.env.action == "stop":
                self.log.info("%s; the resource cannot be running here", error.reason)
                return ExitCode.SUCCESS
            if self.env.action == "demote":
                self.log.warning(
                    "%s; nothing here to demote (a resource removed from the configuration "
                    "gets its parameters on stop only): the stop that follows stops it",
                    error.reason,
                )
                return ExitCode.SUCCESS
            if self.env.is_probe:
                self.log.info("%s; the resource cannot be running here", error.reason)
                return ExitCode.NOT_RUNNING
        return self._report(error.code, error.reason)

    def _acts_on(self, environ: Mapping[str, str]) -> bool:
        """Whether a notification is one of :attr:`notify_events` (the shim decides alike)."""
        if self.notify_events is None:
            return True
        prefix = "OCF_RESKEY_CRM_meta_notify_"
        event = f"{environ.get(prefix + 'type', '')}-{environ.get(prefix + 'operation', '')}"
        if event not in self.notify_events:
            return False
        settled_by = self.notify_settled_by.get(event)
        if settled_by is None or not environ.get(f"{prefix}{settled_by}_uname", "").strip(" "):
            return True
        # An instance started in this transition missed the earlier round: it acts.
        node = environ.get("OCF_RESKEY_CRM_meta_on_node", "")
        return f" {node} " in f" {environ.get(prefix + 'start_uname', '')} "

    def _exit_code(self, returned: object) -> int:
        if returned is None:
            return ExitCode.SUCCESS
        if isinstance(returned, int) and not isinstance(returned, bool):
            if returned in VALID_CODES:
                return int(returned)
            return self._report(ExitCode.ERR_GENERIC, f"action returned invalid code {returned}")
        return self._report(ExitCode.ERR_GENERIC, f"action returned {type(returned).__name__}")

    def _failed(self, error: OCFError) -> int:
        """An error the action itself raised.

        A stop's own failure stays a failure, whatever its code: answering 0
        while the resource may still run is how it ends up running twice.
        A probe that finds the software or its configuration missing
        answers 7, as the OCF rules want on nodes that cannot run it.
        """
        if error.code in _INVALID_ENVIRONMENT and self.env.is_probe:
            self.log.info("%s; resource considered stopped", error.reason)
            return ExitCode.NOT_RUNNING
        if error.code == ExitCode.NOT_RUNNING and self.env.action == "monitor":
            return ExitCode.NOT_RUNNING  # a clean "stopped": not an error, no reason
        return self._report(error.code, error.reason)

    def _report(self, code: ExitCode, reason: str) -> int:
        """Print the exit reason the way Pacemaker reads it, log it, return ``code``."""
        line = _one_line(reason)
        sys.stderr.write(f"{self.env.exit_reason_prefix}{line}\n")
        sys.stderr.flush()
        self.log.exit_reason(line)
        return int(code)


def _one_line(text: str) -> str:
    """One line of printable text: an exit reason ends up in the CIB and in every log."""
    return printable(" ".join(str(text).split())) or "unknown error"


def entry_point(agent_class: type[ResourceAgent[Any]]) -> Any:
    """A ``main(argv=None, environ=None) -> int`` for a console script or shim."""

    def main(argv: Sequence[str] | None = None, environ: Mapping[str, str] | None = None) -> int:
        return agent_class().main(argv, environ)

    main.__doc__ = f"Run the {agent_class.name} agent (Pacemaker calls it with one action)."
    return main
