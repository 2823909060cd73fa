"""The ``ganesha-agents`` command: the demo, the configuration, the state layout and the
ganesha.conf settings it needs, the status, and the commands that change a live cluster."""

from __future__ import annotations

import sys

import click

from ganesha_agents.config_cli import config_command, config_report_command
from ganesha_agents.demo import render, takeover_render
from ganesha_agents.demo.scenario import run as run_scenario
from ganesha_agents.demo.takeover_scenario import MAX_NODES, PATHS, scale
from ganesha_agents.demo.takeover_scenario import run as run_takeover
from ganesha_agents.operate_cli import (
    add_command,
    delete_command,
    refresh_config_command,
    setup_command,
    teardown_command,
)
from ganesha_agents.status_cli import status_command


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="ocfkit")
def main() -> None:
    """NFS-Ganesha high availability on Pacemaker: agents, demo and configuration."""


LAYOUTS = ("takeover", "3.7")
#: How many nodes GlusterFS 3.7's model was built and checked for.
MAX_NODES_37 = 16
#: Notifications the model can be told not to deliver, to show the check catches it.
DROPPABLE = ("pre-promote", "pre-demote", "post-promote")


@main.command()
@click.option(
    "--layout",
    type=click.Choice(LAYOUTS),
    default="takeover",
    show_default=True,
    help="The cluster configuration: the takeover layout, or GlusterFS 3.7's.",
)
@click.option(
    "--path",
    "path",
    type=click.Choice(PATHS),
    default="kill",
    show_default=True,
    help="What moves the VIP: kill -9 ganesha.nfsd, a node's link cut (the cluster fences "
    "it), stonith_admin --reboot from outside, crm_resource --move, node standby, two "
    "daemons killed at once, a kill whose first target cannot enter grace (the promote "
    "fails there).  The 3.7 layout knows kill and two.",
)
@click.option("--nodes", default=4, show_default=True, type=click.IntRange(2, MAX_NODES))
@click.option(
    "--fail",
    "fail",
    multiple=True,
    metavar="NODE",
    help="The node the path breaks (repeat for two at once).  [default: the lab's: node2 "
    "for kill, fence and refuse, node3 for link, node1 for standby, node2 and node4 for two]",
)
@click.option(
    "--failback",
    is_flag=True,
    help="Undo the fault afterwards (daemon restarted, node booted, --clear, standby off).",
)
@click.option(
    "--grace-delay",
    type=click.IntRange(0, 8),
    default=None,
    help="ganesha_mon's grace_delay.  [default: 5 with 3.7's layout, 0 with the takeover's]",
)
@click.option(
    "--scale",
    "sizes",
    metavar="N,N,...",
    default=None,
    help="Run every path with its failback at each size (e.g. 4,16,32) and print, per "
    "move, the takeover's virtual time and its grace calls.",
)
@click.option("--mermaid", is_flag=True, help="Print a Mermaid sequence diagram instead of text.")
@click.option("--verbose", is_flag=True, help="List every action, and what the agents logged.")
@click.option(
    "--drop-notification", "drop", multiple=True, type=click.Choice(DROPPABLE), hidden=True
)
def demo(
    layout: str,
    path: str,
    nodes: int,
    fail: tuple[str, ...],
    failback: bool,
    grace_delay: int | None,
    sizes: str | None,
    mermaid: bool,
    verbose: bool,
    drop: tuple[str, ...],
) -> None:
    """A virtual IP moves in a simulated cluster, and the demo checks it moved safely.

    The real agent classes run through main() with Pacemaker's environment on
    in-memory backends and a virtual clock; a small model stands in for
    Pacemaker.  With the takeover layout (the default), every move must find
    the new node's ganesha.nfsd in grace with the address's clients taken over
    from the previous holder's records, and every other running ganesha.nfsd
    in grace, before the address starts there.  With --layout 3.7, GlusterFS
    3.7's sequence: every survivor in grace for the failed node before its
    VIP moves.  Exits 1 if a move broke the invariant.
    """
    if layout == "3.7":
        demo_37(path, nodes, fail, failback, grace_delay, sizes, mermaid, verbose, drop)
        return
    if sizes is not None:
        counts = _sizes(sizes)
        rows = scale(counts)
        click.echo(takeover_render.scale_table(rows), nl=False)
        sys.exit(0 if all(outcome.holds for _n, _w, outcome in rows) else 1)
    try:
        outcome = run_takeover(
            path,
            nodes,
            fail=fail,
            failback=failback,
            grace_delay=0 if grace_delay is None else grace_delay,
            drop=drop,
        )
    except ValueError as error:
        raise click.BadParameter(str(error), param_hint="--fail") from error
    render = takeover_render.mermaid if mermaid else takeover_render.text
    click.echo(render(outcome, verbose), nl=False)
    sys.exit(0 if outcome.holds else 1)


def demo_37(
    path: str,
    nodes: int,
    fail: tuple[str, ...],
    failback: bool,
    grace_delay: int | None,
    sizes: str | None,
    mermaid: bool,
    verbose: bool,
    drop: tuple[str, ...],
) -> None:
    """GlusterFS 3.7's sequence: the daemons die, nfs-grace's notifications, grace_delay."""
    if path not in ("kill", "two"):
        raise click.BadParameter("the 3.7 layout's model knows kill and two", param_hint="--path")
    if sizes is not None or drop:
        raise click.UsageError("--scale is for the takeover layout")
    if nodes > MAX_NODES_37:
        raise click.BadParameter(
            f"the 3.7 layout's model runs up to {MAX_NODES_37} nodes", param_hint="--nodes"
        )
    default = ("node2",) if path == "kill" else ("node2", "node4")
    try:
        outcome = run_scenario(
            nodes,
            fail or default,
            grace_delay=5 if grace_delay is None else grace_delay,
            failback=failback,
            verbose=verbose,
        )
    except ValueError as error:
        raise click.BadParameter(str(error), param_hint="--fail") from error
    since = min((e.time for e in outcome.timeline.events if e.actor == "operator"), default=0.0)
    click.echo((render.mermaid if mermaid else render.text)(outcome, since), nl=False)
    sys.exit(0 if outcome.holds else 1)


def _sizes(text: str) -> list[int]:
    try:
        counts = [int(word) for word in text.split(",") if word.strip()]
    except ValueError as error:
        raise click.BadParameter(
            f"{text!r} is not a list of node counts", param_hint="--scale"
        ) from error
    if not counts or any(not 3 <= count <= MAX_NODES for count in counts):
        raise click.BadParameter(
            f"node counts from 3 to {MAX_NODES}, comma-separated, not {text!r}",
            param_hint="--scale",
        )
    return counts


main.add_command(config_command)
main.add_command(config_report_command)
main.add_command(status_command)
main.add_command(setup_command)
main.add_command(teardown_command)
main.add_command(add_command)
main.add_command(delete_command)
main.add_command(refresh_config_command)

#: The shared state volume, as ``state-volume`` and ``ganesha-conf`` take it.
volume_option = click.option(
    "--ha-vol-mnt",
    "volume",
    required=True,
    metavar="DIR",
    help="Where the shared state volume is mounted (the same path on every node).",
)

#: ``state-volume`` exit codes (also in its help and docs/cli.md).
LAYOUT_IN_PLACE = 0
DRIFT_REMAINS = 1
VOLUME_UNUSABLE = 3


@main.command("state-volume")
@volume_option
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


#: ``ganesha-conf --check`` exit codes (also in its help and docs/cli.md): 0 and 1 as
#: ``state-volume``'s, 2 bad arguments (click), and this one.
CONF_UNREADABLE = 3


@main.command("ganesha-conf")
@volume_option
@click.option(
    "--nfsd-mode",
    type=click.Choice(["link", "direct"]),
    default="link",
    show_default=True,
    help="ganesha_nfsd's mode: link (/var/lib/nfs links to the volume) or direct "
    "(RecoveryRoot names the node's directory on the volume).",
)
@click.option(
    "--node",
    default=None,
    metavar="NODE",
    help="This node's cluster name (crm_node -n); needed with --nfsd-mode direct, where every "
    "node's RecoveryRoot is its own.",
)
@click.option(
    "--check",
    "conf_file",
    default=None,
    metavar="FILE",
    help="Check this ganesha.conf (and what it %include-s) instead of printing the settings.",
)
@click.option("--json", "as_json", is_flag=True, help="With --check: one JSON document.")
def ganesha_conf(
    volume: str, nfsd_mode: str, node: str | None, conf_file: str | None, as_json: bool
) -> None:
    """Print, or check, the ganesha.conf settings the shared state layout needs.

    Without --check, prints them as a ganesha.conf fragment (NFS_CORE_PARAM
    and NFSv4 blocks), each with why it is there: Clustered = false (with
    ganesha's default, true, clients are recorded under v4recov/node<N>,
    where no takeover looks, and every reclaim is refused), the fs recovery
    backend, the RecoveryRoot of the mode, Graceless = false.

    With --check FILE, reads the file as ganesha does and lists every setting
    that differs.  Exit codes: 0 the settings are in place; 1 some differ
    (listed); 2 bad arguments; 3 the file cannot be read or is not ganesha
    configuration syntax.
    """
    import json

    from ganesha_agents import ganesha_conf as conf

    try:
        layout = conf.Layout(volume, nfsd_mode, node)
    except ValueError as error:
        raise click.UsageError(str(error)) from error
    if conf_file is None:
        if as_json:
            raise click.UsageError("--json goes with --check")
        click.echo(conf.fragment(layout), nl=False)
        return
    document: dict[str, object] = {
        "file": conf_file,
        "ha_vol_mnt": volume,
        "mode": nfsd_mode,
        "node": node,
    }
    try:
        findings = conf.check_file(conf_file, layout)
    except (OSError, conf.ConfError) as error:
        reason = (
            str(error) if isinstance(error, conf.ConfError) else f"{conf_file}: {error.strerror}"
        )
        if as_json:
            click.echo(json.dumps(document | {"ok": False, "error": reason}, indent=2))
        else:
            click.echo(f"error: {reason}", err=True)
        sys.exit(CONF_UNREADABLE)
    if as_json:
        items = [finding.as_dict() for finding in findings]
        click.echo(json.dumps(document | {"ok": not findings, "findings": items}, indent=2))
    else:
        click.echo(conf.summary(findings, conf_file, layout), nl=False)
    sys.exit(LAYOUT_IN_PLACE if not findings else DRIFT_REMAINS)
