"""Declaring actions: a decorator that carries what meta-data says about them.

    @action(timeout=20)
    def start(self) -> ExitCode: ...

    @action(timeout=20, interval=10, depth=0)
    @action(timeout=60, interval=3600, depth=10)
    def monitor(self) -> ExitCode: ...

The method name is the action name, except where OCF's name is not a Python
identifier (``validate_all`` is ``validate-all``, ``reload_agent`` is
``reload-agent``); ``name=`` declares any other spelling or an alias such as
``status``.
"""

from __future__ import annotations

from ocfkit._record import Record
from ocfkit.errors import AgentDefinitionError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any, TypeVar

    F = TypeVar("F", bound=Callable[..., Any])

STANDARD_ACTIONS = (
    "start",
    "stop",
    "monitor",
    "notify",
    "promote",
    "demote",
    "reload",
    "reload-agent",
    "migrate_to",
    "migrate_from",
    "recover",
    "validate-all",
    "meta-data",
)
"""The OCF 1.1 actions (plus Pacemaker's migrate_*), in the order meta-data lists them."""

_METHOD_TO_ACTION = {"validate_all": "validate-all", "reload_agent": "reload-agent"}
_ROLES = {
    "promoted": "Promoted",
    "unpromoted": "Unpromoted",
    "started": "Started",
    "stopped": "Stopped",
    "master": "Promoted",
    "slave": "Unpromoted",
}
_UNITS = ("msec", "ms", "sec", "s", "min", "m", "hr", "h")
ATTRIBUTE = "__ocf_actions__"


def action_name(method_name: str) -> str:
    """The OCF action a method of this name implements."""
    return _METHOD_TO_ACTION.get(method_name, method_name)


def format_duration(value: float | str, what: str) -> str:
    """Seconds as meta-data writes them (``20s``), or a checked duration string."""
    if isinstance(value, bool):
        raise AgentDefinitionError(f"{what}: {value!r} is not a duration")
    if isinstance(value, int | float):
        if value < 0:
            raise AgentDefinitionError(f"{what}: {value!r} is negative")
        return f"{value:g}s"
    number = value
    for unit in _UNITS:
        if value.endswith(unit):
            number = value[: -len(unit)]
            break
    if not (number.isascii() and number.isdigit()):
        raise AgentDefinitionError(f"{what}: {value!r} is not a duration like 20s or 2m")
    return value


class ActionSpec(Record):
    """One ``<action>`` line of meta-data."""

    __slots__ = ("depth", "interval", "name", "role", "start_delay", "timeout")

    def __init__(
        self,
        name: str,
        timeout: str,
        interval: str | None = None,
        depth: int | None = None,
        role: str | None = None,
        start_delay: str | None = None,
    ) -> None:
        self.name = name
        self.timeout = timeout
        self.interval = interval
        self.depth = depth
        self.role = role
        self.start_delay = start_delay


def action(
    *,
    timeout: float | str,
    interval: float | str | None = None,
    depth: int | None = None,
    role: str | None = None,
    start_delay: float | str | None = None,
    name: str | None = None,
) -> Callable[[F], F]:
    """Mark a method as an OCF action; stack it for several meta-data entries."""
    if role is not None and role.lower() not in _ROLES:
        raise AgentDefinitionError(f"role {role!r} is not one of Promoted, Unpromoted")

    def decorate(method: F) -> F:
        spec = ActionSpec(
            name=name or action_name(method.__name__),
            timeout=format_duration(timeout, "timeout"),
            interval=None if interval is None else format_duration(interval, "interval"),
            depth=depth,
            role=None if role is None else _ROLES[role.lower()],
            start_delay=None
            if start_delay is None
            else format_duration(start_delay, "start_delay"),
        )
        existing: tuple[ActionSpec, ...] = getattr(method, ATTRIBUTE, ())
        # Decorators apply bottom-up; keep the order they are written in.
        setattr(method, ATTRIBUTE, (spec, *existing))
        return method

    return decorate


class ActionTable(Record):
    """The actions a class implements: which method runs each, and its meta-data."""

    __slots__ = ("methods", "specs")

    def __init__(self, methods: dict[str, str], specs: tuple[ActionSpec, ...]) -> None:
        self.methods = methods
        self.specs = specs

    def __contains__(self, name: object) -> bool:
        return name in self.methods

    @classmethod
    def of(cls, agent_class: type, builtin: tuple[ActionSpec, ...] = ()) -> ActionTable:
        """Collect declared actions; the most-derived class declaring a name wins.

        ``builtin`` lists actions answered without a method (meta-data), for
        meta-data's benefit only; a declared action of the same name wins.
        """
        methods: dict[str, str] = {}
        specs: dict[str, list[ActionSpec]] = {}
        for klass in agent_class.__mro__:
            found: dict[str, str] = {}
            for attribute, value in vars(klass).items():
                for spec in getattr(value, ATTRIBUTE, ()):
                    if spec.name in methods:
                        continue  # a subclass already declared this action
                    if found.setdefault(spec.name, attribute) != attribute:
                        raise AgentDefinitionError(
                            f"{klass.__qualname__}: action {spec.name!r} is declared on both "
                            f"{found[spec.name]}() and {attribute}()"
                        )
                    specs.setdefault(spec.name, []).append(spec)
            methods.update(found)
        for spec in builtin:
            specs.setdefault(spec.name, [spec])
        ordered = sorted(
            specs,
            key=lambda n: (STANDARD_ACTIONS.index(n) if n in STANDARD_ACTIONS else 99, n),
        )
        return cls(methods, tuple(s for n in ordered for s in specs[n]))
