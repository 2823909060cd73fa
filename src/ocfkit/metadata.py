"""Meta-data XML, generated with lxml from the agent class.

Two flavours:

``1.1`` (the default)
    Everything OCF 1.1 can say: ``unique-group``, ``reloadable``,
    ``deprecated``, ``select``, ``reload-agent``.  Valid against the spec's
    RELAX NG schema and Pacemaker's.  When the agent uses nothing that
    resource-agents' ``ra-api-1.dtd`` rejects, the document also carries the
    DOCTYPE line, because it then *is* valid against that DTD and DTD-based
    tools (``ocf-tester``) accept it as it is.
``1.0``
    The compatibility flavour: the DOCTYPE line and only what the DTD accepts.
    1.1-only features are folded into the descriptions (allowed values,
    deprecation) or left out (``reloadable``, ``reload-agent``).

An agent answers ``meta-data`` in 1.0 only when its caller says it speaks
OCF 1.0 (``OCF_RA_VERSION_MAJOR=1``, ``OCF_RA_VERSION_MINOR=0``).  This module
imports lxml, so only the meta-data action and tools load it.
"""

from __future__ import annotations

import inspect
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Literal

from lxml import etree

from ocfkit.errors import AgentDefinitionError
from ocfkit.params import ParameterSpec, parameter_specs
from ocfkit.paramtypes import Select

if TYPE_CHECKING:
    from ocfkit.agent import ResourceAgent

Flavour = Literal["1.1", "1.0"]
DOCTYPE = '<!DOCTYPE resource-agent SYSTEM "ra-api-1.dtd">'
DTD_ACTIONS = frozenset(
    {
        "start", "stop", "recover", "monitor", "restart", "migrate_to", "migrate_from",
        "promote", "demote", "notify", "status", "reload", "meta-data", "usage", "methods",
        "validate-all",
    }
)  # fmt: skip
LANG = "en"


def flavour_for(environ: Mapping[str, str]) -> Flavour:
    """1.0 when the caller declares OCF 1.0, otherwise 1.1."""
    major = (environ.get("OCF_RA_VERSION_MAJOR") or "").strip()
    minor = (environ.get("OCF_RA_VERSION_MINOR") or "").strip()
    return "1.0" if major == "1" and minor == "0" else "1.1"


def descriptions(agent: type[ResourceAgent[Any]]) -> tuple[str, str]:
    """(shortdesc, longdesc): from the class attributes, else from the docstring.

    The docstring's first line is the short description and the rest the long
    one, the way Python documents itself.
    """
    doc = inspect.cleandoc(agent.__doc__ or "")
    first, _, rest = doc.partition("\n")
    shortdesc = agent.shortdesc or first.strip() or agent.name
    longdesc = agent.longdesc or rest.strip() or shortdesc
    return shortdesc, longdesc


def parameters_of(agent: type[ResourceAgent[Any]]) -> tuple[ParameterSpec, ...]:
    declared = getattr(agent, "parameters", None)
    if declared is None:  # a clear error, not an AttributeError from main()
        raise AgentDefinitionError(f"{agent.name}: no parameters class declared")
    specs = parameter_specs(declared)
    if not specs:
        raise AgentDefinitionError(
            f"{agent.name}: OCF meta-data needs at least one parameter (the schemas require one)"
        )
    return specs


def dtd_compatible(agent: type[ResourceAgent[Any]]) -> bool:
    """Whether the 1.1 document is also valid against ra-api-1.dtd."""
    for spec in parameters_of(agent):
        if spec.unique_group or spec.reloadable or spec.deprecated is not None:
            return False
        if isinstance(spec.type, Select):
            return False
    return all(a.name in DTD_ACTIONS for a in agent.actions().specs)


def build(agent: type[ResourceAgent[Any]], flavour: Flavour = "1.1") -> etree._Element:
    """The ``<resource-agent>`` element."""
    compat = flavour == "1.0"
    shortdesc, longdesc = descriptions(agent)
    root = etree.Element("resource-agent", name=agent.name, version=agent.version)
    etree.SubElement(root, "version").text = flavour
    _text(root, "longdesc", longdesc)
    _text(root, "shortdesc", shortdesc)
    parameters = etree.SubElement(root, "parameters")
    specs = parameters_of(agent)
    groups = [s.unique_group for s in specs if s.unique_group]
    for spec in specs:
        # 1.0's unique="1" says "this parameter alone is unique": true only of a
        # group of one.  Marking each member of a larger group would claim more.
        alone = spec.unique_group is not None and groups.count(spec.unique_group) == 1
        _parameter(parameters, spec, compat, alone)
    actions = etree.SubElement(root, "actions")
    for spec_ in agent.actions().specs:
        if compat and spec_.name not in DTD_ACTIONS:
            continue
        element = etree.SubElement(actions, "action", name=spec_.name, timeout=spec_.timeout)
        if spec_.interval is not None:
            element.set("interval", spec_.interval)
        if spec_.start_delay is not None:
            element.set("start-delay", spec_.start_delay)
        if spec_.depth is not None:
            element.set("depth", str(spec_.depth))
        if spec_.role is not None:
            element.set("role", spec_.role)
    return root


def render(agent: type[ResourceAgent[Any]], flavour: Flavour = "1.1") -> str:
    """The meta-data document as text: deterministic, ending in a newline."""
    root = build(agent, flavour)
    etree.indent(root, space="  ")
    body = etree.tostring(root, encoding="unicode")
    header = '<?xml version="1.0"?>\n'
    if flavour == "1.0" or dtd_compatible(agent):
        header += DOCTYPE + "\n"
    return header + body + "\n"


def _text(parent: etree._Element, tag: str, text: str) -> etree._Element:
    element = etree.SubElement(parent, tag, lang=LANG)
    element.text = text
    return element


def _parameter(
    parent: etree._Element, spec: ParameterSpec, compat: bool, unique_alone: bool
) -> None:
    element = etree.SubElement(parent, "parameter", name=spec.name)
    longdesc, shortdesc = spec.longdesc, spec.shortdesc
    if compat:
        element.set("unique", "1" if unique_alone else "0")
        element.set("required", "1" if spec.required else "0")
        extra = spec.type.describe() if isinstance(spec.type, Select) else ""
        if spec.deprecated is not None:
            shortdesc = f"{shortdesc} (deprecated)"
            extra += " " + _deprecation_words(spec)
        if extra.strip():
            longdesc = f"{longdesc}\n{extra.strip()}"
    else:
        if spec.unique_group:
            element.set("unique-group", spec.unique_group)
        if spec.required:
            element.set("required", "1")
        if spec.reloadable:
            element.set("reloadable", "1")
        if spec.deprecated is not None:
            deprecated = etree.SubElement(element, "deprecated")
            for replacement in spec.deprecated.replaced_with:
                etree.SubElement(deprecated, "replaced-with", name=replacement)
            if spec.deprecated.desc:
                _text(deprecated, "desc", spec.deprecated.desc)
    _text(element, "longdesc", longdesc)
    _text(element, "shortdesc", shortdesc)
    options = spec.type.options if isinstance(spec.type, Select) and not compat else ()
    type_name = "string" if compat and isinstance(spec.type, Select) else spec.type.ocf_name
    content = etree.SubElement(element, "content", type=type_name)
    if spec.has_default:
        content.set("default", spec.type.render_default(spec.default))
    for option in options:
        etree.SubElement(content, "option", value=option)


def _deprecation_words(spec: ParameterSpec) -> str:
    assert spec.deprecated is not None
    words = "Deprecated."
    if spec.deprecated.replaced_with:
        words += " Use " + " or ".join(spec.deprecated.replaced_with) + " instead."
    if spec.deprecated.desc:
        words += " " + spec.deprecated.desc
    return words
