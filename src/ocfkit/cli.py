"""The ``ocfkit`` command: list, inspect, run, check, install and document agents.

Agents themselves never go through this module (their shims call the agent
class directly), so click's import cost is paid only by people and tests.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

import click

from ocfkit.codes import ExitCode


def _split_assignments(values: tuple[str, ...], what: str) -> dict[str, str]:
    result = {}
    for item in values:
        name, sep, value = item.partition("=")
        if not sep or not name:
            raise click.BadParameter(f"{item!r} is not NAME=VALUE", param_hint=what)
        result[name] = value
    return result


def _load(agent: str) -> Any:
    from ocfkit.registry import load

    try:
        return load(agent)
    except (LookupError, ImportError) as error:
        raise click.ClickException(str(error)) from error


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="ocfkit")
def main() -> None:
    """Write, check and install OCF resource agents for Pacemaker."""


@main.command("list")
@click.option(
    "--ocf-root",
    default="/usr/lib/ocf",
    show_default=True,
    type=click.Path(file_okay=False),
    help="Where to look for installed shims.",
)
def list_agents(ocf_root: str) -> None:
    """Registered agents, and the shims installed under OCF_ROOT with their state.

    A shim is stale when the meta-data it embeds is no longer what its agent,
    as installed now, renders (the package was upgraded, the shim was not
    rewritten); it exits 1 when a shim is stale or broken.
    """
    from ocfkit.registry import registered
    from ocfkit.shims import installed_shims

    for name, ref in sorted(registered().items()):
        click.echo(f"{name}\t{ref}")
    found = installed_shims(ocf_root)
    if found:
        click.echo(f"\nshims under {ocf_root}/resource.d:")
    for shim in found:
        detail = f": {shim.detail}" if shim.detail else ""
        click.echo(
            f"  ocf:{shim.provider}:{shim.path.name}\t{shim.reference}\t{shim.state}{detail}"
        )
    sys.exit(1 if any(s.state != "current" for s in found) else 0)


@main.command("meta-data")
@click.argument("agent")
@click.option(
    "--ocf-1.0", "ocf_1_0", is_flag=True, help="The 1.0 dialect ocf-tester's DTD accepts."
)
def meta_data(agent: str, ocf_1_0: bool) -> None:
    """Print an agent's meta-data (OCF 1.1 unless --ocf-1.0)."""
    from ocfkit.metadata import render

    click.echo(render(_load(agent), "1.0" if ocf_1_0 else "1.1"), nl=False)


@main.command("run", context_settings={"ignore_unknown_options": True})
@click.argument("agent")
@click.argument("action")
@click.option(
    "-p", "--param", "params", multiple=True, metavar="NAME=VALUE", help="OCF_RESKEY_NAME."
)
@click.option(
    "--meta", "metas", multiple=True, metavar="NAME=VALUE", help="OCF_RESKEY_CRM_meta_NAME."
)
@click.option("--instance", default=None, help="OCF_RESOURCE_INSTANCE (default: the agent name).")
def run(
    agent: str, action: str, params: tuple[str, ...], metas: tuple[str, ...], instance: str | None
) -> None:
    """Run one action in-process, with parameters and meta attributes as Pacemaker passes them."""
    agent_class = _load(agent)
    environ = dict(os.environ)
    environ.setdefault("OCF_ROOT", "/usr/lib/ocf")
    environ.setdefault("OCF_RA_VERSION_MAJOR", "1")
    environ.setdefault("OCF_RA_VERSION_MINOR", "1")
    environ["OCF_RESOURCE_INSTANCE"] = instance or agent_class.name
    environ["OCF_RESOURCE_TYPE"] = agent_class.name
    for name, value in _split_assignments(params, "--param").items():
        environ[f"OCF_RESKEY_{name}"] = value
    for name, value in _split_assignments(metas, "--meta").items():
        environ[f"OCF_RESKEY_CRM_meta_{name.replace('-', '_')}"] = value
    code = agent_class().main([agent_class.name, action], environ)
    click.echo(f"{action}: {ExitCode.describe(code)} ({code})", err=True)
    sys.exit(code)


@main.command("check")
@click.argument("agent", required=False)
@click.option(
    "--installed",
    "installed",
    type=click.Path(exists=True, dir_okay=False),
    default=None,
    help="Check this executable (an installed shim) instead of running in-process.",
)
@click.option("-p", "--param", "params", multiple=True, metavar="NAME=VALUE")
@click.option(
    "--locating",
    multiple=True,
    metavar="NAME",
    help="A parameter that locates the resource (default: what the agent declares).",
)
@click.option(
    "--real-backends",
    is_flag=True,
    help="In-process: use the agent's real backends instead of its test doubles.",
)
@click.option("--no-timing", is_flag=True, help="Skip the start-up cost measurement.")
def check(
    agent: str | None,
    installed: str | None,
    params: tuple[str, ...],
    locating: tuple[str, ...],
    real_backends: bool,
    no_timing: bool,
) -> None:
    """Run the conformance suite (ocf-tester's checks and more) against an agent.

    AGENT runs in-process; --installed PATH runs an executable as Pacemaker
    does (AGENT is then optional: an ocfkit shim names its agent).  Either
    way the report ends with the agent's start-up cost as whole processes.
    """
    from ocfkit.testing.conformance import check as run_check

    values = _split_assignments(params, "--param")
    target: Any
    wanted_locating: Any = locating or None
    if installed:
        target = installed
        if agent is not None and wanted_locating is None:
            wanted_locating = _load(agent).locating_parameters()
    elif agent is None:
        raise click.UsageError("give an AGENT, or --installed PATH")
    else:
        agent_class = _load(agent)
        target = agent_class if real_backends else agent_class.conformance_factory()
    report = run_check(
        target, params=values, locating=wanted_locating, measure_startup=not no_timing
    )
    click.echo(report.render())
    sys.exit(0 if report.ok else 1)


@main.command("install")
@click.option("--provider", required=True, help="The OCF provider directory (ocf:PROVIDER:agent).")
@click.option(
    "--ocf-root", default="/usr/lib/ocf", show_default=True, type=click.Path(file_okay=False)
)
@click.option("--force", is_flag=True, help="Replace files that ocfkit did not install.")
@click.option("--all", "every", is_flag=True, help="Every registered agent (see `ocfkit list`).")
@click.argument("agents", nargs=-1)
def install(
    provider: str, ocf_root: str, force: bool, every: bool, agents: tuple[str, ...]
) -> None:
    """Install executable shims for AGENTS (names or module:Class), or --all."""
    from ocfkit.registry import registered
    from ocfkit.shims import install as do_install

    if every and agents:
        raise click.UsageError("name agents or give --all, not both")
    if not every and not agents:
        raise click.UsageError("name the agents to install, or give --all (see `ocfkit list`)")
    names = sorted(registered()) if every else list(agents)
    try:
        shims = do_install(provider, names, ocf_root=ocf_root, force=force)
    except (OSError, LookupError, ValueError) as error:
        raise click.ClickException(str(error)) from error
    for shim in shims:
        click.echo(f"installed {shim.path} ({shim.reference})")


@main.command("uninstall")
@click.option("--provider", required=True)
@click.option(
    "--ocf-root", default="/usr/lib/ocf", show_default=True, type=click.Path(file_okay=False)
)
@click.argument("agents", nargs=-1)
def uninstall(provider: str, ocf_root: str, agents: tuple[str, ...]) -> None:
    """Remove the shims ocfkit installed (and nothing else)."""
    from ocfkit.shims import uninstall as do_uninstall

    try:
        removed = do_uninstall(provider, list(agents) or None, ocf_root=ocf_root)
    except ValueError as error:
        raise click.ClickException(str(error)) from error
    for path in removed:
        click.echo(f"removed {path}")


@main.command("docs")
@click.argument("agent")
@click.option(
    "--format", "fmt", type=click.Choice(["markdown", "man"]), default="markdown", show_default=True
)
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), default=None)
def docs(agent: str, fmt: str, output: Path | None) -> None:
    """A Markdown or man page made from the agent's meta-data."""
    from ocfkit.docs import man_page, markdown

    text = (markdown if fmt == "markdown" else man_page)(_load(agent))
    if output is None:
        click.echo(text, nl=False)
    else:
        output.write_text(text, encoding="utf-8")


from ocfkit.lab.cli import lab_group  # noqa: E402

main.add_command(lab_group)
