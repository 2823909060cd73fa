"""The ``ganesha-agents`` command: the failover demo, the configuration, the state layout."""

from __future__ import annotations

import sys

import click

from ganesha_agents.config_cli import config_command
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

#: ``state-volume`` exit codes (also in its help and docs/cli.md).
LAYOUT_IN_PLACE = 0
DRIFT_REMAINS = 1
VOLUME_UNUSABLE = 3


@main.command("state-volume")
@click.option(
    "--ha-vol-mnt",
    "volume",
    required=True,
    metavar="DIR",
    help="Where the shared state volume is mounted (the same path on every node).",
)
@click.option(
    "--node",
    "nodes",
    multiple=True,
    required=True,
    metavar="NODE",
    help="A node of the cluster, by its cluster name (repeat for every node).",
)
@click.option("--check", is_flag=True, help="Change nothing; report what differs.")
@click.option(
    "--fix",
    is_flag=True,
    help="Also repair what can be repaired without losing anything: re-point links, "
    "remove group and other write bits.",
)
@click.option("--json", "as_json", is_flag=True, help="One JSON document, for scripts.")
@click.option(
    "--no-mount-check",
    is_flag=True,
    help="Accept a DIR that is not a mount point (a shared directory in a lab).",
)
def state_volume(
    volume: str, nodes: tuple[str, ...], check: bool, fix: bool, as_json: bool, no_mount_check: bool
) -> None:
    """Create, check or fix the shared state layout on the state volume.

    Without --check or --fix, creates what is missing (nfs-ganesha/<node>/nfs/
    ganesha/{v4recov,v4old} for every NODE, a link in each to every other
    node's, nfs-ganesha/.addresses) and reports anything else that differs.
    Nothing is ever removed, and nothing that may hold records is changed.

    Exit codes: 0 the layout is in place; 1 differences remain (listed);
    2 bad arguments; 3 the volume cannot be used (missing, not a mount point,
    reached through a directory or link another user controls, read-only).
    """
    import json

    from ganesha_agents import state_volume as layout

    if check and fix:
        raise click.UsageError("--check and --fix do not go together")
    change = layout.CHECK if check else layout.FIX if fix else layout.CREATE
    try:
        report = layout.survey(volume, nodes, change=change, require_mount=not no_mount_check)
    except ValueError as error:
        raise click.BadParameter(str(error), param_hint="--node") from error
    except layout.VolumeError as error:
        if as_json:
            document = {"volume": volume, "nodes": list(nodes), "ok": False, "error": error.reason}
            click.echo(json.dumps(document, indent=2))
        else:
            click.echo(f"error: {error.reason}", err=True)
        sys.exit(VOLUME_UNUSABLE)
    if as_json:
        click.echo(json.dumps(report.as_dict(), indent=2))
    else:
        click.echo(report.text(), nl=False)
    sys.exit(LAYOUT_IN_PLACE if report.ok else DRIFT_REMAINS)
