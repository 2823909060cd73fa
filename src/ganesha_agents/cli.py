"""The ``ganesha-agents`` command: the failover demo and the cluster configuration."""

from __future__ import annotations

import sys

import click

from ganesha_agents.config_cli import config_command, config_report_command
from ganesha_agents.demo import render
from ganesha_agents.demo.scenario import run as run_scenario


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="ocfkit")
def main() -> None:
    """NFS-Ganesha high availability on Pacemaker: agents, demo and configuration."""


@main.command()
@click.option("--nodes", default=4, show_default=True, type=click.IntRange(2, 16))
@click.option(
    "--fail",
    "fail",
    multiple=True,
    metavar="NODE",
    help="Node whose ganesha.nfsd dies (repeat for two at once).  [default: node2]",
)
@click.option("--failback", is_flag=True, help="Restart the dead daemons afterwards.")
@click.option("--grace-delay", default=5, show_default=True, type=click.IntRange(0, 8))
@click.option("--mermaid", is_flag=True, help="Print a Mermaid sequence diagram instead of text.")
@click.option("--verbose", is_flag=True, help="Also print what the agents logged.")
def demo(
    nodes: int,
    fail: tuple[str, ...],
    failback: bool,
    grace_delay: int,
    mermaid: bool,
    verbose: bool,
) -> None:
    """The seed's example: ganesha.nfsd dies on one node of a simulated cluster.

    The real agent classes run through main() with Pacemaker's environment on
    in-memory backends and a virtual clock; a small model stands in for
    Pacemaker.  Exits non-zero if a virtual IP moved before every surviving
    server was in grace.
    """
    try:
        outcome = run_scenario(
            nodes, fail or ("node2",), grace_delay=grace_delay, failback=failback, verbose=verbose
        )
    except ValueError as error:
        raise click.BadParameter(str(error), param_hint="--fail") from error
    since = min((e.time for e in outcome.timeline.events if e.actor == "operator"), default=0.0)
    click.echo((render.mermaid if mermaid else render.text)(outcome, since), nl=False)
    sys.exit(0 if outcome.holds else 1)


main.add_command(config_command)
main.add_command(config_report_command)
