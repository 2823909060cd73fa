"""Finding agents: the ``ocfkit.agents`` entry-point group, or a ``module:Class`` reference.

Used by the CLI and the shim installer, never by an action (reading entry
points costs tens of milliseconds).
"""

from __future__ import annotations

import importlib
from importlib.metadata import entry_points
from typing import Any

from ocfkit.agent import ResourceAgent
from ocfkit.errors import AgentDefinitionError

GROUP = "ocfkit.agents"


def registered() -> dict[str, str]:
    """Registered agent names and their ``module:Class`` references."""
    return {ep.name: ep.value for ep in entry_points(group=GROUP)}


def reference(name_or_ref: str) -> str:
    """The ``module:Class`` reference of a registered name (or of a reference itself)."""
    if ":" in name_or_ref:
        return name_or_ref
    known = registered()
    if name_or_ref not in known:
        choices = ", ".join(sorted(known)) or "none"
        raise LookupError(f"no agent named {name_or_ref!r} (registered: {choices})")
    return known[name_or_ref]


def load(name_or_ref: str) -> type[ResourceAgent[Any]]:
    """The agent class for a registered name or a ``module:Class`` reference."""
    module_name, _, attribute = reference(name_or_ref).partition(":")
    module = importlib.import_module(module_name)
    agent = getattr(module, attribute, None)
    if not (isinstance(agent, type) and issubclass(agent, ResourceAgent)):
        raise AgentDefinitionError(f"{name_or_ref}: {attribute} is not a ResourceAgent subclass")
    return agent
