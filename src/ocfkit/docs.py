"""Documentation pages made from an agent's declarations: Markdown and man(7).

Both read the same facts meta-data shows, so a page can never disagree with
what Pacemaker is told.
"""

from __future__ import annotations

from typing import Any

from ocfkit.agent import ResourceAgent
from ocfkit.metadata import descriptions, parameters_of
from ocfkit.params import ParameterSpec


def _parameter_facts(spec: ParameterSpec) -> list[str]:
    facts = [f"type {spec.type.ocf_name}"]
    if spec.required:
        facts.append("required")
    if spec.has_default:
        facts.append(f"default `{spec.type.render_default(spec.default)}`")
    if spec.unique_group:
        facts.append(f"unique group `{spec.unique_group}`")
    if spec.reloadable:
        facts.append("reloadable")
    if spec.locates:
        facts.append("locates the resource")
    if spec.deprecated is not None:
        replaced = ", ".join(spec.deprecated.replaced_with)
        facts.append("deprecated" + (f" (use {replaced})" if replaced else ""))
    return facts


def markdown(agent: type[ResourceAgent[Any]]) -> str:
    shortdesc, longdesc = descriptions(agent)
    lines = [f"# {agent.name}", "", f"{shortdesc}", "", longdesc, "", "## Parameters", ""]
    for spec in parameters_of(agent):
        lines.append(f"### `{spec.name}`")
        lines.append("")
        lines.append(f"{spec.shortdesc} ({'; '.join(_parameter_facts(spec))}).")
        lines.append("")
        if spec.longdesc != spec.shortdesc:
            lines += [spec.longdesc, ""]
        extra = spec.type.describe()
        if extra:
            lines += [extra, ""]
    lines += [
        "## Actions",
        "",
        "| action | timeout | interval | depth | role |",
        "| --- | --- | --- | --- | --- |",
    ]
    for action in agent.actions().specs:
        lines.append(
            f"| {action.name} | {action.timeout} | {action.interval or ''} | "
            f"{'' if action.depth is None else action.depth} | {action.role or ''} |"
        )
    return "\n".join(lines) + "\n"


def _roff(text: str) -> str:
    escaped = text.replace("\\", "\\e")
    return "\n".join(
        "\\&" + line if line.startswith((".", "'")) else line for line in escaped.split("\n")
    )


def man_page(agent: type[ResourceAgent[Any]], section: str = "7") -> str:
    shortdesc, longdesc = descriptions(agent)
    lines = [
        f'.TH {agent.name.upper()} {section} "" "ocfkit" "OCF resource agents"',
        ".SH NAME",
        # The "\-" separator is roff (whatis reads it); only the agent's words are escaped.
        f"{_roff(agent.name)} \\- {_roff(shortdesc)}",
        ".SH DESCRIPTION",
        _roff(longdesc),
        ".SH PARAMETERS",
    ]
    for spec in parameters_of(agent):
        lines += [".TP", f"\\fB{_roff(spec.name)}\\fR ({_roff(', '.join(_parameter_facts(spec)))})"]
        lines.append(_roff(spec.longdesc))
    lines.append(".SH ACTIONS")
    for action in agent.actions().specs:
        detail = f"timeout {action.timeout}"
        if action.interval:
            detail += f", interval {action.interval}"
        if action.depth is not None:
            detail += f", depth {action.depth}"
        if action.role:
            detail += f", role {action.role}"
        lines += [".TP", f"\\fB{_roff(action.name)}\\fR", detail]
    return "\n".join(lines) + "\n"
