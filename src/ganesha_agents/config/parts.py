"""What both layouts share: ganesha_mon's clone, the virtual IPs, the rules and the scores.

Kept from GlusterFS 3.7 (ganesha-ha.sh):

- ``nfs-mon-clone`` (ganesha_mon) on every node: it sets ganesha-active (and
  grace-active) to 1 while the local ganesha.nfsd runs, and deletes them
  when it does not.
- ``-INFINITY`` rules "where ganesha-active is not 1", written
  ``not_defined OR ne 1``.  Pacemaker 2.1.5 lets ``ne 1`` alone match a
  missing attribute too, but its documentation does not promise that, and
  the deleted attribute is exactly the case that matters.
- Preference scores: for the virtual IP whose home is N, the other nodes in
  the rotated order "after N, then before N" score 1000, 2000, 3000 ... and N
  scores 1000 x (number of nodes).  The highest other score is the LAST node
  of the rotated order, so the IP goes first to the node just BEFORE N in the
  list (for the first node: the last one), then to the one before that.
- ``resource-stickiness=0`` on each IP, so that failback does not depend on
  ``rsc_defaults``: with a default stickiness of INFINITY the scores above
  never bring an IP home.

New, with a shared state volume (``ha_vol_mnt``; GlusterFS 3.7 ran its
ganesha_nfsd outside of this configuration):

- ``nfs-state-clone`` (ganesha_nfsd) on every node: it keeps the node's
  recovery records on the volume, so that whoever takes an address over
  can let its clients reclaim.
- ``nfs-state-clone then nfs-mon-clone`` (Mandatory, symmetrical) and
  nfs-mon colocated with it: ganesha_mon runs only where the records are
  kept, starts after ganesha_nfsd and stops before it.  ``interleave=true``
  on nfs-mon ties each instance to the one on its own node; without it a
  restart of ganesha_nfsd on one node would restart nfs-mon everywhere.
- ganesha_mon's stop leaves the attributes as they are, so these two do not
  move an address off a node whose ganesha_nfsd stops: each layout adds its
  own constraints for that (:mod:`.takeover`, :mod:`.gluster37`).
"""

from __future__ import annotations

from ganesha_agents.config.model import (
    Clone,
    Colocation,
    Constraint,
    Expression,
    Operation,
    Order,
    Primitive,
    RuleLocation,
)
from ganesha_agents.config.spec import ClusterSpec, NfsdMode, NodeAddress

PREFERENCE_STEP = 1000
AGENT_START_STOP_TIMEOUT = 40
VIP_START_STOP_TIMEOUT = 20
# The agents' own parameter defaults: only other values are written out.
MON_DEFAULTS = {"ganesha_active": "ganesha-active", "grace_active": "grace-active"}
NFSD_DEFAULTS = {"ha_vol_mnt": "/var/run/gluster/shared_storage", "mode": NfsdMode.LINK.value}
# ganesha_nfsd's own action timeouts and monitor (its meta-data).
NFSD_START_STOP_TIMEOUT = 30
NFSD_MONITOR_INTERVAL = 20
NFSD_MONITOR_TIMEOUT = 20
NFSD = "nfs-state"
MON = "nfs-mon"
# A clone whose instances depend on the state clone's instance on the same node only.
INTERLEAVE = (("interleave", "true"),)

Pairs = tuple[tuple[str, str], ...]


def failover_order(nodes: tuple[NodeAddress, ...], home: NodeAddress) -> tuple[NodeAddress, ...]:
    """The other nodes in 3.7's rotated order: those after ``home``, then those before it."""
    at = nodes.index(home)
    return nodes[at + 1 :] + nodes[:at]


def preferences(nodes: tuple[NodeAddress, ...], home: NodeAddress) -> tuple[tuple[str, int], ...]:
    """(node, score) for one virtual IP, exactly as ganesha-ha.sh scored them.

    The rotated order gets 1000, 2000, 3000 ... and home the next step up, so
    the LAST node of the rotated order (the one just before home in the list,
    cyclically) is the first failover target.
    """
    scores = [
        (node.name, PREFERENCE_STEP * rank)
        for rank, node in enumerate(failover_order(nodes, home), start=1)
    ]
    scores.append((home.name, PREFERENCE_STEP * len(nodes)))
    return tuple(scores)


def failover_targets(nodes: tuple[NodeAddress, ...], home: NodeAddress) -> tuple[str, ...]:
    """Where ``home``'s virtual IP goes, best first, while home cannot hold it."""
    ranked = sorted(preferences(nodes, home), key=lambda item: -item[1])
    return tuple(name for name, _ in ranked if name != home.name)


def not_one(
    location_id: str, resource: str, attribute: str, role: str | None = None
) -> RuleLocation:
    """``-INFINITY`` for ``resource`` (in ``role``) wherever ``attribute`` is not 1."""
    return RuleLocation(
        location_id,
        resource,
        "-INFINITY",
        (Expression(attribute, "not_defined"), Expression(attribute, "ne", "1")),
        role=role,
    )


def non_default(params: list[tuple[str, str]], defaults: dict[str, str]) -> Pairs:
    return tuple((k, v) for k, v in params if defaults.get(k) != v)


def mon(spec: ClusterSpec, grace_delay: int | None) -> Clone:
    """``nfs-mon-clone``; ``grace_delay`` is written only when not None."""
    params = [("ganesha_active", spec.ganesha_active), ("grace_active", spec.grace_active)]
    explicit = [] if grace_delay is None else [("grace_delay", str(grace_delay))]
    return Clone(
        Primitive(
            MON,
            "ocf",
            spec.provider,
            "ganesha_mon",
            params=non_default(params, MON_DEFAULTS) + tuple(explicit),
            operations=(
                Operation("start", AGENT_START_STOP_TIMEOUT),
                Operation("stop", AGENT_START_STOP_TIMEOUT),
                Operation("monitor", spec.mon_monitor.timeout, spec.mon_monitor.interval),
            ),
        ),
        meta=INTERLEAVE if spec.nfsd else (),
    )


def nfsd(spec: ClusterSpec) -> Clone | None:
    """``nfs-state-clone`` (ganesha_nfsd) when the spec has a state volume, else None."""
    mode = spec.nfsd
    if mode is None or spec.ha_vol_mnt is None:
        return None
    params = [("ha_vol_mnt", spec.ha_vol_mnt), ("mode", mode.value)]
    return Clone(
        Primitive(
            NFSD,
            "ocf",
            spec.provider,
            "ganesha_nfsd",
            params=non_default(params, NFSD_DEFAULTS),
            operations=(
                Operation("start", NFSD_START_STOP_TIMEOUT),
                Operation("stop", NFSD_START_STOP_TIMEOUT),
                Operation("monitor", NFSD_MONITOR_TIMEOUT, NFSD_MONITOR_INTERVAL),
            ),
        )
    )


def mon_after_nfsd(state: Clone, mon_clone: Clone) -> list[Constraint]:
    """nfs-mon only where ganesha_nfsd runs, started after it and stopped before it."""
    return [
        Order(state.id, mon_clone.id),
        Colocation(mon_clone.id, state.id),
    ]


def vip(spec: ClusterSpec, node: NodeAddress) -> Primitive:
    """``N-cluster_ip-1``: the virtual IP whose home is ``node``, stickiness 0."""
    standard, provider, kind = spec.vip_class
    params = [("ip", str(node.ip)), ("cidr_netmask", str(spec.netmask(node.ip)))]
    if spec.nic:
        params.append(("nic", spec.nic))
    return Primitive(
        spec.vip_id(node),
        standard,
        provider,
        kind,
        params=tuple(params),
        operations=(
            Operation("start", VIP_START_STOP_TIMEOUT),
            Operation("stop", VIP_START_STOP_TIMEOUT),
            Operation("monitor", spec.vip_monitor.timeout, spec.vip_monitor.interval),
        ),
        meta=(("resource-stickiness", "0"),),
    )


def vip_needs_ganesha(spec: ClusterSpec, vip_id: str) -> RuleLocation:
    return not_one(f"location-{vip_id}-{spec.ganesha_active}", vip_id, spec.ganesha_active)


def properties(spec: ClusterSpec) -> Pairs:
    """Cluster options, only on request; fencing stays on unless switched off.

    Without fencing a node lost outright is neither demoted nor stopped, so
    nothing puts the survivors in grace for it (3.7: no stop notification).
    """
    if not spec.properties:
        return ()
    props = [("stonith-enabled", "true" if spec.stonith_enabled else "false")]
    if len(spec.nodes) < 3:
        props.append(("no-quorum-policy", "ignore"))
    return tuple(props)
