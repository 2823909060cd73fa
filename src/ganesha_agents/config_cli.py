"""``ganesha-agents config``: print the cluster configuration for a list of nodes.

Also ``ganesha-agents config-report``: every move path of the takeover layout
through Pacemaker's scheduler, at the sizes asked for.  Click command objects
for the ``ganesha-agents`` group to add; they import nothing of the agents.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import IO, Any

import attrs
import click

from ganesha_agents.config import (
    ClusterSpec,
    Layout,
    NfsdMode,
    NodeAddress,
    Timing,
    cib,
    pcs,
    plan,
    takeover,
)
from ganesha_agents.config.moves import PATHS


def _nodes(_ctx: click.Context, param: click.Parameter, values: tuple[str, ...]) -> Any:
    try:
        return tuple(NodeAddress.parse(value) for value in values)
    except ValueError as error:
        raise click.BadParameter(str(error), param=param) from error


def _timing(interval: int, timeout: int) -> Timing:
    return Timing(interval=interval, timeout=timeout)


def _default(name: str) -> Any:
    """ClusterSpec's default, so that the command and the API cannot disagree."""
    return getattr(attrs.fields(ClusterSpec), name).default


SECONDS = click.IntRange(min=1)


#: The options of every command that takes a ClusterSpec (config, setup), in --help order.
SPEC_OPTIONS = (
    click.option(
        "--node",
        "nodes",
        multiple=True,
        required=True,
        metavar="NODE=IP",
        callback=_nodes,
        help="A node (its Pacemaker name) and the virtual IP whose home it is.  Repeat for each "
        "node; the order decides the failover order.",
    ),
    click.option(
        "--layout",
        type=click.Choice([layout.value for layout in Layout]),
        default=_default("layout").value,
        help="takeover: one promotable ganesha_takeover clone per virtual IP, every move of an "
        "address after every node is in grace.  3.7: GlusterFS 3.7's nfs-grace clone.",
    ),
    click.option(
        "--provider", default=_default("provider"), help="OCF provider of the ganesha agents."
    ),
    click.option("--vip-agent", default=_default("vip_agent"), help="Agent of the virtual IPs."),
    click.option(
        "--cidr-netmask",
        type=click.IntRange(1, 128),
        default=None,
        help="Prefix length of the virtual IPs.  [default: 32, or 128 for IPv6]",
    ),
    click.option(
        "--nic", default=None, help="Interface for the virtual IPs (default: the agent's)."
    ),
    click.option(
        "--grace-delay",
        type=click.IntRange(min=0),
        default=None,
        help="ganesha_mon's grace_delay in seconds.  [default: 0 with --layout takeover; "
        "the agent's, 5, with --layout 3.7]",
    ),
    click.option(
        "--ganesha-active", default=_default("ganesha_active"), help="Attribute the IPs follow."
    ),
    click.option(
        "--grace-active", default=_default("grace_active"), help="Attribute nfs-grace follows."
    ),
    click.option("--mon-monitor-interval", type=SECONDS, default=_default("mon_monitor").interval),
    click.option("--mon-monitor-timeout", type=SECONDS, default=_default("mon_monitor").timeout),
    click.option(
        "--grace-monitor-interval", type=SECONDS, default=_default("grace_monitor").interval
    ),
    click.option(
        "--grace-monitor-timeout", type=SECONDS, default=_default("grace_monitor").timeout
    ),
    click.option("--vip-monitor-interval", type=SECONDS, default=_default("vip_monitor").interval),
    click.option("--vip-monitor-timeout", type=SECONDS, default=_default("vip_monitor").timeout),
    click.option(
        "--takeover-monitor-interval",
        type=SECONDS,
        default=_default("takeover_monitor").interval,
        help="Of the promoted instance; the unpromoted ones use one second more.",
    ),
    click.option(
        "--takeover-monitor-timeout", type=SECONDS, default=_default("takeover_monitor").timeout
    ),
    click.option(
        "--failure-timeout",
        type=click.IntRange(min=0),
        default=_default("failure_timeout"),
        help="Seconds after which Pacemaker forgets a failure of ganesha_takeover (nfs-grace with "
        "--layout 3.7); 0: never, until a cleanup.",
    ),
    click.option(
        "--ha-vol-mnt",
        default=None,
        metavar="DIR",
        help="Where the shared state volume is mounted on every node: adds the nfs-state clone "
        "(ganesha_nfsd), before nfs-mon and before every takeover, and is ganesha_takeover's "
        "ha_vol_mnt (a takeover reads the previous holder's records there).  [default: none, "
        "records stay on each node and every move is plain grace]",
    ),
    click.option(
        "--nfsd-mode",
        type=click.Choice([mode.value for mode in NfsdMode]),
        default=None,
        help="ganesha_nfsd's mode, with --ha-vol-mnt: link (/var/lib/nfs links to the volume), "
        "direct (ganesha.conf's RecoveryRoot is on the volume), none (no nfs-state clone; the "
        "volume is kept by other means).  See ganesha-agents ganesha-conf for the settings "
        "ganesha needs.  [default: link]",
    ),
    click.option(
        "--grace-budget",
        type=click.IntRange(min=1),
        default=None,
        help="ganesha_takeover's grace_budget: the seconds one grace step may take.  "
        "[default: the agent's]",
    ),
    click.option(
        "--properties/--no-properties",
        default=_default("properties"),
        help="Also set cluster properties: stonith-enabled, and no-quorum-policy=ignore "
        "below 3 nodes.",
    ),
    click.option(
        "--stonith/--no-stonith",
        default=_default("stonith_enabled"),
        help="stonith-enabled, with --properties.  Without fencing, a node lost outright puts "
        "no survivor into grace.",
    ),
)

#: Their parameter names, as click passes them.
SPEC_KEYS = (
    "nodes",
    "layout",
    "provider",
    "vip_agent",
    "cidr_netmask",
    "nic",
    "grace_delay",
    "ganesha_active",
    "grace_active",
    "mon_monitor_interval",
    "mon_monitor_timeout",
    "grace_monitor_interval",
    "grace_monitor_timeout",
    "vip_monitor_interval",
    "vip_monitor_timeout",
    "takeover_monitor_interval",
    "takeover_monitor_timeout",
    "failure_timeout",
    "ha_vol_mnt",
    "nfsd_mode",
    "grace_budget",
    "properties",
    "stonith",
)


def spec_options(command: Any) -> Any:
    """Decorate ``command`` with :data:`SPEC_OPTIONS`."""
    for option in reversed(SPEC_OPTIONS):
        command = option(command)
    return command


def spec_from(values: dict[str, Any]) -> ClusterSpec:
    """The ClusterSpec the options give; removes their keys from ``values``."""
    options = {key: values.pop(key) for key in SPEC_KEYS}
    try:
        return ClusterSpec(
            nodes=options["nodes"],
            layout=Layout(options["layout"]),
            provider=options["provider"],
            vip_agent=options["vip_agent"],
            cidr_netmask=options["cidr_netmask"],
            nic=options["nic"],
            grace_delay=options["grace_delay"],
            ganesha_active=options["ganesha_active"],
            grace_active=options["grace_active"],
            mon_monitor=_timing(options["mon_monitor_interval"], options["mon_monitor_timeout"]),
            grace_monitor=_timing(
                options["grace_monitor_interval"], options["grace_monitor_timeout"]
            ),
            vip_monitor=_timing(options["vip_monitor_interval"], options["vip_monitor_timeout"]),
            takeover_monitor=_timing(
                options["takeover_monitor_interval"], options["takeover_monitor_timeout"]
            ),
            failure_timeout=options["failure_timeout"],
            ha_vol_mnt=options["ha_vol_mnt"],
            nfsd_mode=options["nfsd_mode"],
            grace_budget=options["grace_budget"],
            properties=options["properties"],
            stonith_enabled=options["stonith"],
        )
    except ValueError as error:
        raise click.UsageError(str(error)) from error


@click.command(
    "config",
    context_settings={"help_option_names": ["-h", "--help"], "show_default": True},
    epilog=(
        "Load the XML (one CIB update that leaves nodes and other resources alone) with:  "
        "cibadmin --modify --scope configuration --xml-file FILE.  "
        "Run the pcs lines as they are on a cluster node where the agents are installed: "
        "they edit a copy of the CIB and push it back once."
    ),
)
@spec_options
@click.option("--format", "output_format", type=click.Choice(["cib", "pcs"]), default="cib")
@click.option(
    "--takeover-clones-only",
    is_flag=True,
    help="Only the takeover clones and their rules: the first step of an upgrade from a "
    "3.7-layout configuration (see docs/cluster-config.md).",
)
@click.option(
    "--pcs-cib-file",
    default=pcs.DEFAULT_CIB_FILE,
    help="The CIB copy the pcs commands edit.",
)
@click.option(
    "-o",
    "--output",
    type=click.File("w"),
    default="-",
    show_default=False,
    help="Where to write (default: standard output).",
)
def config_command(
    output_format: str,
    takeover_clones_only: bool,
    pcs_cib_file: str,
    output: IO[str],
    **values: Any,
) -> None:
    """The Pacemaker configuration for NFS-Ganesha HA, as CIB XML or pcs commands.

    One virtual IP per node (NODE-cluster_ip-1) that runs only where
    ganesha-active is 1, prefers its home node, fails over to the node listed
    just before it, and comes home by itself; the nfs-mon clone.  With the
    takeover layout each IP follows the promoted instance of its own
    ganesha_takeover clone (NODE-takeover-clone); with the 3.7 layout an
    nfs-grace clone puts the survivors in grace.  With --ha-vol-mnt, the
    nfs-state clone (ganesha_nfsd) keeps every node's recovery records on the
    shared state volume, and nothing that needs them runs where it does not.
    """
    spec = spec_from(values)
    config = plan(spec)
    if takeover_clones_only:
        if spec.layout is not Layout.TAKEOVER:
            raise click.UsageError("--takeover-clones-only needs --layout takeover")
        config = takeover.clones_only(config)
    text = cib.render(config) if output_format == "cib" else pcs.script(config, pcs_cib_file)
    output.write(text)


@click.command(
    "config-report",
    context_settings={"help_option_names": ["-h", "--help"], "show_default": True},
)
@click.option(
    "--nodes",
    "counts",
    type=click.IntRange(3, 64),
    multiple=True,
    default=(4, 16, 32),
    help="Cluster sizes; repeat the option for each.  [default: 4, 16, 32]",
    show_default=False,
)
@click.option(
    "--path",
    "paths",
    type=click.Choice(list(PATHS)),
    multiple=True,
    help="Only these move paths (repeat).  [default: all]",
)
@click.option(
    "--repeat",
    type=click.IntRange(1, 20),
    default=1,
    help="Run the scheduler this many times on each transition and keep the best time.",
)
@click.option(
    "--keep",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Keep the CIB files, graphs and scheduler inputs in this directory.",
)
@click.option("-o", "--output", type=click.File("w"), default="-", show_default=False)
def config_report_command(
    counts: tuple[int, ...],
    paths: tuple[str, ...],
    repeat: int,
    keep: Path | None,
    output: IO[str],
) -> None:
    """Every move path of the takeover layout through Pacemaker's scheduler, checked and costed.

    Needs Pacemaker's command-line tools (crm_simulate, cibadmin, crm_resource,
    crm_attribute), no cluster.  For each size: a ganesha.nfsd killed, a node
    fenced by the cluster or from outside, crm_resource --move and --clear,
    standby, two addresses at once, a promote that fails, the new holder lost;
    each with its failback.  Prints one Markdown row per transition, then
    every problem found; exits 1 if there is one (an address that started
    before its takeover's grace steps, ran without ganesha, was left stopped
    or did not come home).
    """
    from ganesha_agents.config.offline import SimulationError
    from ganesha_agents.config.report import markdown, measure_all

    def progress(text: str) -> None:
        click.echo(text, err=True)

    try:
        rows = measure_all(
            counts, paths or list(PATHS), repeat=repeat, keep=keep, progress=progress
        )
    except SimulationError as error:
        raise click.ClickException(str(error)) from error
    output.write(markdown(rows))
    if any(row.problems for row in rows):
        sys.exit(1)
