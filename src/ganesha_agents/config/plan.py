"""The NFS-Ganesha HA configuration: what ganesha-ha.sh (GlusterFS 3.7) built, holes closed.

Kept from 3.7:

- ``nfs-mon-clone`` (ganesha_mon) and ``nfs-grace-clone`` (ganesha_grace) with
  ``notify=true`` on the CLONE.  Pacemaker reads ``notify`` from the clone
  only: on the primitive it schedules no notifications at all (BZ 1461019).
- ``-INFINITY`` rules: nfs-grace-clone where grace-active is not 1, each
  virtual IP where ganesha-active is not 1.  Written ``not_defined OR ne 1``.
  Pacemaker 2.1.5 lets ``ne 1`` alone match a missing attribute too, but its
  documentation does not promise that, and the deleted attribute is exactly
  the case that matters.  The grace rule also keeps nfs-grace from starting
  before nfs-mon has set the attribute (the two-node start race, BZ 1341772).
- Preference scores: for the virtual IP whose home is N, the other nodes in
  the rotated order "after N, then before N" score 1000, 2000, 3000 ... and N
  scores 1000 x (number of nodes).  The highest other score is the LAST node
  of the rotated order, so the IP goes first to the node just BEFORE N in the
  list (for the first node: the last one), then to the one before that.
- ``nfs-grace-clone then N-cluster_ip-1`` (start before start): on failback
  the IP comes home only after the pre-start notifications.

Changed, each for a reason seen with crm_simulate on Pacemaker 2.1.5:

- That order is ``Optional``, not Mandatory.  Mandatory restarts the IP on a
  node whenever that node's nfs-grace instance starts while the IP already
  runs there ("due to required nfs-grace-clone notified").  Optional still
  orders the two whenever they are in one transition (first start, failback).
- A second order, ``stop nfs-grace-clone then start N-cluster_ip-1``
  (Optional, not symmetrical).  When the nfs-grace stop and the IP move fall
  into one transition (a fenced node; both attributes deleted together),
  the IP now starts after the post-stop notifications that put the
  survivors into grace.  3.7 started it before them.
- ``failure-timeout`` on nfs-grace (60s by default).  A start that answers 7
  sets the fail-count to INFINITY (start-failure-is-fatal), and the instance
  stays banned from that node until someone runs a cleanup: the node comes
  back without its nfs-grace, and its next failure notifies nobody.  With a
  failure-timeout Pacemaker forgets the failure itself; 2.1.5 schedules the
  recheck for the expiry (``recheck-by`` in the transition graph), so
  ``cluster-recheck-interval`` needs no change.  The grace rule makes that
  safe: while grace-active is not 1 an expired failure brings no new start,
  so no pre-start notification pushes the survivors into grace again.
- ``resource-stickiness=0`` on each IP, so that failback does not depend on
  ``rsc_defaults``: with a default stickiness of INFINITY the scores above
  never bring an IP home.
- Cluster properties only on request, and fencing stays on unless switched
  off: without it a node lost outright produces no stop notification, so the
  survivors are not put into grace for it.
"""

from __future__ import annotations

from ganesha_agents.config.model import (
    Clone,
    Configuration,
    Constraint,
    Expression,
    NodePreference,
    Operation,
    Order,
    Primitive,
    RuleLocation,
)
from ganesha_agents.config.spec import ClusterSpec, NodeAddress

PREFERENCE_STEP = 1000
AGENT_START_STOP_TIMEOUT = 40
AGENT_NOTIFY_TIMEOUT = 10
VIP_START_STOP_TIMEOUT = 20
# The agents' own parameter defaults: only other values are written out.
MON_DEFAULTS = {"ganesha_active": "ganesha-active", "grace_active": "grace-active"}
GRACE_DEFAULTS = {"grace_active": "grace-active"}


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


def _not_one(location_id: str, resource: str, attribute: str) -> RuleLocation:
    return RuleLocation(
        location_id,
        resource,
        "-INFINITY",
        (Expression(attribute, "not_defined"), Expression(attribute, "ne", "1")),
    )


def _mon(spec: ClusterSpec) -> Clone:
    params = [("ganesha_active", spec.ganesha_active), ("grace_active", spec.grace_active)]
    if spec.grace_delay is not None:
        params.append(("grace_delay", str(spec.grace_delay)))
    return Clone(
        Primitive(
            "nfs-mon",
            "ocf",
            spec.provider,
            "ganesha_mon",
            params=_non_default(params, MON_DEFAULTS),
            operations=(
                Operation("start", AGENT_START_STOP_TIMEOUT),
                Operation("stop", AGENT_START_STOP_TIMEOUT),
                Operation("monitor", spec.mon_monitor.timeout, spec.mon_monitor.interval),
            ),
        )
    )


def _grace(spec: ClusterSpec) -> Clone:
    meta: tuple[tuple[str, str], ...] = ()
    if spec.grace_failure_timeout:
        meta = (("failure-timeout", f"{spec.grace_failure_timeout}s"),)
    return Clone(
        Primitive(
            "nfs-grace",
            "ocf",
            spec.provider,
            "ganesha_grace",
            params=_non_default([("grace_active", spec.grace_active)], GRACE_DEFAULTS),
            operations=(
                Operation("start", AGENT_START_STOP_TIMEOUT),
                Operation("stop", AGENT_START_STOP_TIMEOUT),
                Operation("notify", AGENT_NOTIFY_TIMEOUT),
                Operation("monitor", spec.grace_monitor.timeout, spec.grace_monitor.interval),
            ),
            meta=meta,
        ),
        meta=(("notify", "true"),),
    )


def _non_default(
    params: list[tuple[str, str]], defaults: dict[str, str]
) -> tuple[tuple[str, str], ...]:
    return tuple((k, v) for k, v in params if defaults.get(k) != v)


def _vip(spec: ClusterSpec, node: NodeAddress) -> Primitive:
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


def plan(spec: ClusterSpec) -> Configuration:
    """The whole configuration for ``spec``."""
    mon, grace = _mon(spec), _grace(spec)
    vips = tuple(_vip(spec, node) for node in spec.nodes)
    constraints: list[Constraint] = [
        _not_one(f"location-{grace.id}-{spec.grace_active}", grace.id, spec.grace_active)
    ]
    for node, vip in zip(spec.nodes, vips, strict=True):
        constraints.append(
            _not_one(f"location-{vip.id}-{spec.ganesha_active}", vip.id, spec.ganesha_active)
        )
        constraints.extend(
            NodePreference(vip.id, name, score) for name, score in preferences(spec.nodes, node)
        )
        constraints.append(Order(grace.id, vip.id, kind="Optional"))
        constraints.append(
            Order(
                grace.id,
                vip.id,
                kind="Optional",
                first_action="stop",
                then_action="start",
                symmetrical=False,
            )
        )
    return Configuration((mon, grace, *vips), tuple(constraints), _properties(spec))


def _properties(spec: ClusterSpec) -> tuple[tuple[str, str], ...]:
    if not spec.properties:
        return ()
    props = [("stonith-enabled", "true" if spec.stonith_enabled else "false")]
    if len(spec.nodes) < 3:
        props.append(("no-quorum-policy", "ignore"))
    return tuple(props)
