"""What the person configuring the cluster decides: nodes, addresses and tunables.

Everything is checked here, once, so the planners and renderers can trust
their input.  The defaults are the agents' own meta-data values and the
GlusterFS 3.7 choices; :mod:`ganesha_agents.config.plan` explains the ones
that differ from 3.7.
"""

from __future__ import annotations

import enum
import ipaddress
from typing import Any

import attrs

from ganesha_agents.config.model import check_id

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

# ganesha_mon sleeps grace_delay inside its monitor and needs this much more
# for the attribute updates around the sleep (the agent's validate-all says so too).
ATTRIBUTE_UPDATE_RESERVE = 2
# ganesha_takeover's promote and notifications get this long (its meta-data's
# timeouts); one grace step must fit in it with room for the process itself.
TAKEOVER_ACTION_TIMEOUT = 20
TAKEOVER_RESERVE = 5


class NfsdMode(enum.Enum):
    """How ganesha_nfsd puts a node's recovery records on the state volume.

    ``LINK``: /var/lib/nfs becomes a link to the node's directory there, so
    ganesha's default RecoveryRoot is on the volume (GlusterFS 3.7's way).
    ``DIRECT``: ganesha.conf names the RecoveryRoot on the volume.  ``NONE``:
    no ganesha_nfsd resource; the volume is given to ganesha_takeover only
    and kept by other means.
    """

    LINK = "link"
    DIRECT = "direct"
    NONE = "none"


class Layout(enum.Enum):
    """Which configuration to generate.

    ``TAKEOVER``: one promotable ganesha_takeover clone per virtual IP; every
    move of an address goes through a promote that Pacemaker runs only after
    every other node's pre-promote notification.  ``GLUSTER_37``: GlusterFS
    3.7's nfs-grace clone and timed attributes, as ganesha-ha.sh built it.
    """

    TAKEOVER = "takeover"
    GLUSTER_37 = "3.7"


def _address(value: str | IPAddress) -> IPAddress:
    try:
        return ipaddress.ip_address(value)
    except ValueError as error:
        raise ValueError(f"{value!r} is not an IP address") from error


@attrs.frozen
class NodeAddress:
    """A cluster node (its Pacemaker node name) and the virtual IP whose home it is."""

    name: str = attrs.field(validator=lambda _i, _a, v: check_id(v))
    ip: IPAddress = attrs.field(converter=_address)

    @classmethod
    def parse(cls, text: str) -> NodeAddress:
        """``NODE=IP``, as given on the command line."""
        name, sep, ip = text.partition("=")
        if not sep or not name or not ip:
            raise ValueError(f"{text!r} is not NODE=IP")
        return cls(name.strip(), ip.strip())


@attrs.frozen
class Timing:
    """A recurring operation: how often, and how long one run may take (seconds)."""

    interval: int
    timeout: int

    def __attrs_post_init__(self) -> None:
        if self.interval < 1 or self.timeout < 1:
            raise ValueError(f"interval and timeout must be at least 1s, not {self}")


def _nodes(value: Any) -> tuple[NodeAddress, ...]:
    nodes = tuple(value)
    if not nodes:
        raise ValueError("at least one node is needed")
    for what, keys in (
        ("node", [node.name for node in nodes]),
        ("virtual IP", [str(node.ip) for node in nodes]),
    ):
        twice = sorted({key for key in keys if keys.count(key) > 1})
        if twice:
            raise ValueError(f"{what} {twice[0]} is given twice")
    return nodes


def _absolute_path(value: str | None) -> str | None:
    if value is not None and (not value.startswith("/") or any(c in value for c in "\0\n")):
        raise ValueError(f"{value!r} is not an absolute path")
    return value


def _nfsd_mode(value: str | NfsdMode | None) -> NfsdMode | None:
    return None if value is None else NfsdMode(value)


def _agent(value: str) -> tuple[str, str | None, str]:
    parts = value.split(":")
    if len(parts) == 3 and parts[0] == "ocf" and all(parts):
        return parts[0], parts[1], parts[2]
    if len(parts) == 2 and parts[0] != "ocf" and all(parts):
        return parts[0], None, parts[1]
    raise ValueError(f"{value!r} is not an agent (ocf:PROVIDER:TYPE or CLASS:TYPE)")


@attrs.frozen(kw_only=True)
class ClusterSpec:
    """The NFS-Ganesha HA configuration to generate.

    ``nodes`` are in the order that decides the failover order (see
    :func:`ganesha_agents.config.plan.preferences`).  ``grace_delay`` is
    passed to ganesha_mon only when set, so the agent's default applies
    otherwise; the takeover layout writes 0 unless told otherwise.
    ``failure_timeout`` applies to nfs-grace (3.7 layout) or to each
    ganesha_takeover (takeover layout); 0 writes none (a failed start or
    promote then needs a manual cleanup).  ``ha_vol_mnt`` and
    ``grace_budget`` are ganesha_takeover's parameters, written only when set.
    ``properties`` adds the cluster options; ``stonith_enabled`` is only
    written then.
    """

    nodes: tuple[NodeAddress, ...] = attrs.field(converter=_nodes)
    layout: Layout = attrs.field(default=Layout.TAKEOVER, converter=Layout)
    provider: str = "ganesha"
    vip_agent: str = "ocf:heartbeat:IPaddr2"
    cidr_netmask: int | None = None
    nic: str | None = None
    grace_delay: int | None = None
    ganesha_active: str = "ganesha-active"
    grace_active: str = "grace-active"
    mon_monitor: Timing = Timing(10, 10)
    grace_monitor: Timing = Timing(5, 10)
    vip_monitor: Timing = Timing(15, 20)
    takeover_monitor: Timing = Timing(30, 10)
    failure_timeout: int = 60
    ha_vol_mnt: str | None = attrs.field(default=None, converter=_absolute_path)
    nfsd_mode: NfsdMode | None = attrs.field(default=None, converter=_nfsd_mode)
    grace_budget: int | None = None
    properties: bool = False
    stonith_enabled: bool = True

    def __attrs_post_init__(self) -> None:
        _agent(self.vip_agent)
        check_id(self.provider)
        check_id(self.ganesha_active)
        check_id(self.grace_active)
        for node in self.nodes:
            check_id(self.vip_id(node))
            check_id(self.takeover_id(node))
        if self.ganesha_active == self.grace_active:
            raise ValueError("ganesha-active and grace-active must be different attributes")
        if self.grace_delay is not None:
            limit = self.mon_monitor.timeout - ATTRIBUTE_UPDATE_RESERVE
            if not 0 <= self.grace_delay <= limit:
                raise ValueError(
                    f"grace_delay must be between 0 and {limit}s: ganesha_mon waits it inside "
                    f"its {self.mon_monitor.timeout}s monitor and needs "
                    f"{ATTRIBUTE_UPDATE_RESERVE}s for the attribute updates"
                )
        if self.failure_timeout < 0:
            raise ValueError("failure_timeout cannot be negative")
        if self.grace_budget is not None:
            limit = TAKEOVER_ACTION_TIMEOUT - TAKEOVER_RESERVE
            if not 1 <= self.grace_budget <= limit:
                raise ValueError(
                    f"grace_budget must be between 1 and {limit}s: ganesha_takeover's promote "
                    f"and notifications have {TAKEOVER_ACTION_TIMEOUT}s and need "
                    f"{TAKEOVER_RESERVE}s besides the grace step"
                )
        if self.layout is not Layout.TAKEOVER and self.grace_budget is not None:
            raise ValueError("grace_budget is a ganesha_takeover parameter: use layout takeover")
        if self.nfsd_mode is not None and self.ha_vol_mnt is None:
            raise ValueError("nfsd_mode needs ha_vol_mnt: the state volume it keeps the records on")
        if self.layout is not Layout.TAKEOVER and self.nfsd_mode is NfsdMode.NONE:
            raise ValueError(
                "nfsd_mode none leaves the 3.7 layout nothing to do with ha_vol_mnt: "
                "ganesha_nfsd is its only user"
            )
        for node in self.nodes:
            self.netmask(node.ip)

    @property
    def nfsd(self) -> NfsdMode | None:
        """ganesha_nfsd's mode when the configuration has its clone, else None."""
        if self.ha_vol_mnt is None:
            return None
        mode = self.nfsd_mode or NfsdMode.LINK
        return None if mode is NfsdMode.NONE else mode

    @property
    def vip_class(self) -> tuple[str, str | None, str]:
        return _agent(self.vip_agent)

    def netmask(self, ip: IPAddress) -> int:
        """The prefix length for one virtual IP: the option, else a host route (/32, /128)."""
        if self.cidr_netmask is None:
            return ip.max_prefixlen
        if not 1 <= self.cidr_netmask <= ip.max_prefixlen:
            raise ValueError(f"cidr_netmask {self.cidr_netmask} does not fit {ip}")
        return self.cidr_netmask

    @staticmethod
    def vip_id(node: NodeAddress) -> str:
        """The 3.7 name of a node's virtual IP resource."""
        return f"{node.name}-cluster_ip-1"

    @staticmethod
    def takeover_id(node: NodeAddress) -> str:
        """The ganesha_takeover primitive of a node's virtual IP (its clone: ``...-clone``)."""
        return f"{node.name}-takeover"
