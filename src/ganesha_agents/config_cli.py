"""``ganesha-agents config``: print the cluster configuration for a list of nodes.

A click command object, ``config_command``, for the ``ganesha-agents`` group
to add; it imports nothing of the agents, so it works on any machine.
"""

from __future__ import annotations

from typing import IO, Any

import attrs
import click

from ganesha_agents.config import ClusterSpec, NodeAddress, Timing, cib, pcs, plan


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
@click.option(
    "--node",
    "nodes",
    multiple=True,
    required=True,
    metavar="NODE=IP",
    callback=_nodes,
    help="A node (its Pacemaker name) and the virtual IP whose home it is.  Repeat for each "
    "node; the order decides the failover order.",
)
@click.option("--format", "output_format", type=click.Choice(["cib", "pcs"]), default="cib")
@click.option(
    "--provider", default=_default("provider"), help="OCF provider of ganesha_mon/ganesha_grace."
)
@click.option("--vip-agent", default=_default("vip_agent"), help="Agent of the virtual IPs.")
@click.option(
    "--cidr-netmask",
    type=click.IntRange(1, 128),
    default=None,
    help="Prefix length of the virtual IPs.  [default: 32, or 128 for IPv6]",
)
@click.option("--nic", default=None, help="Interface for the virtual IPs (default: the agent's).")
@click.option(
    "--grace-delay",
    type=click.IntRange(min=0),
    default=None,
    help="ganesha_mon's grace_delay in seconds.  [default: the agent's, 5]",
)
@click.option(
    "--ganesha-active", default=_default("ganesha_active"), help="Attribute the IPs follow."
)
@click.option(
    "--grace-active", default=_default("grace_active"), help="Attribute nfs-grace follows."
)
@click.option("--mon-monitor-interval", type=SECONDS, default=_default("mon_monitor").interval)
@click.option("--mon-monitor-timeout", type=SECONDS, default=_default("mon_monitor").timeout)
@click.option("--grace-monitor-interval", type=SECONDS, default=_default("grace_monitor").interval)
@click.option("--grace-monitor-timeout", type=SECONDS, default=_default("grace_monitor").timeout)
@click.option("--vip-monitor-interval", type=SECONDS, default=_default("vip_monitor").interval)
@click.option("--vip-monitor-timeout", type=SECONDS, default=_default("vip_monitor").timeout)
@click.option(
    "--failure-timeout",
    type=click.IntRange(min=0),
    default=_default("grace_failure_timeout"),
    help="Seconds after which Pacemaker forgets an nfs-grace failure (0: never, until a cleanup).",
)
@click.option(
    "--properties/--no-properties",
    default=_default("properties"),
    help="Also set cluster properties: stonith-enabled, and no-quorum-policy=ignore below 3 nodes.",
)
@click.option(
    "--stonith/--no-stonith",
    default=_default("stonith_enabled"),
    help="stonith-enabled, with --properties.  Without fencing, a node lost outright puts "
    "no survivor into grace.",
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
    nodes: tuple[NodeAddress, ...],
    output_format: str,
    provider: str,
    vip_agent: str,
    cidr_netmask: int | None,
    nic: str | None,
    grace_delay: int | None,
    ganesha_active: str,
    grace_active: str,
    mon_monitor_interval: int,
    mon_monitor_timeout: int,
    grace_monitor_interval: int,
    grace_monitor_timeout: int,
    vip_monitor_interval: int,
    vip_monitor_timeout: int,
    failure_timeout: int,
    properties: bool,
    stonith: bool,
    pcs_cib_file: str,
    output: IO[str],
) -> None:
    """The Pacemaker configuration for NFS-Ganesha HA, as CIB XML or pcs commands.

    nfs-mon and nfs-grace clones, one virtual IP per node (NODE-cluster_ip-1)
    that runs only where ganesha-active is 1, prefers its home node, fails
    over to the node listed just before it, and comes home by itself.
    """
    try:
        spec = ClusterSpec(
            nodes=nodes,
            provider=provider,
            vip_agent=vip_agent,
            cidr_netmask=cidr_netmask,
            nic=nic,
            grace_delay=grace_delay,
            ganesha_active=ganesha_active,
            grace_active=grace_active,
            mon_monitor=_timing(mon_monitor_interval, mon_monitor_timeout),
            grace_monitor=_timing(grace_monitor_interval, grace_monitor_timeout),
            vip_monitor=_timing(vip_monitor_interval, vip_monitor_timeout),
            grace_failure_timeout=failure_timeout,
            properties=properties,
            stonith_enabled=stonith,
        )
    except ValueError as error:
        raise click.UsageError(str(error)) from error
    config = plan(spec)
    text = cib.render(config) if output_format == "cib" else pcs.script(config, pcs_cib_file)
    output.write(text)
