"""The takeover layout: every move of a virtual IP goes through a promote (the default).

For the virtual IP ``N-cluster_ip-1`` there is a promotable clone
``N-takeover-clone`` of ``N-takeover`` (ganesha_takeover, ``ip`` = the
address), running unpromoted on every node; its promoted instance is the
node that holds the address.  Whatever moves the address (a dead
ganesha.nfsd, a node fenced by the cluster or from outside, ``crm_resource
--move``, standby, failback), Pacemaker runs, in this order::

    stop VIP (old node)
    -> pre-demote notify, demote (old node, when alive), post-demote notify
    -> pre-promote notify on every instance          (every node enters grace)
    -> promote (new node)                            (takes the address's clients over)
    -> post-promote notify
    -> start VIP (new node)

Each element, and what goes wrong without it (crm_simulate, Pacemaker 2.1.5):

- ``notify=true`` on the clone: without it there is no pre-promote
  notification, so nothing puts the other nodes in grace.
- ``promoted-max=1`` (and ``promoted-node-max=1``): one holder per address.
- Location rules with ``role=Promoted``: ``-INFINITY`` where ganesha-active
  is not 1 (the promotion, hence the address, leaves a node whose
  ganesha.nfsd died), and 3.7's preference scores as ``#uname eq NODE``
  rules (home first, then the node listed before it ...; failback).  They
  decide only where the promotion goes: the unpromoted instances run on
  every node, so every node with a ganesha.nfsd gets the notifications.
- The VIP colocated ``INFINITY`` with the Promoted role: the address is
  where the promotion is, and moves only when the promotion moves.
- ``promote N-takeover-clone then start N-cluster_ip-1`` (Mandatory,
  symmetrical): the address starts only after the promote, which Pacemaker
  runs after every pre-promote notification; the inverse stops the address
  before the old holder is demoted.
- The VIP keeps its own ``-INFINITY`` rule where ganesha-active is not 1,
  and ``resource-stickiness=0``; it has no preference scores of its own:
  it follows the promotion.
- ``migration-threshold=1`` on ganesha_takeover: a promote that fails (the
  node could not be put in grace) bans the instance from that node, and the
  promotion goes to the next node in the same order.  ``failure-timeout``
  (60 s) makes Pacemaker forget that failure by itself.
- nfs-mon with ``grace_delay=0``: the address no longer waits for a sleep,
  the notifications order the move.  No nfs-grace clone.

With a state volume (``nfs-state-clone``, :mod:`.parts`), per address:

- ``N-takeover-clone`` colocated with ``nfs-state-clone``: the address is
  held only where the node's records are kept on the volume.  When
  ganesha_nfsd cannot run on the holder, the address moves away in the same
  transition, through the usual demote and promote.  The colocation holds
  every role: with ``role=Promoted`` Pacemaker 2.1.5 puts every promotion
  on the first node (crm_simulate), whatever the scores say.  So a node
  without ganesha_nfsd leaves every address's clone, as in standby, and
  gets no notifications until it is back.
- ``start nfs-state-clone then promote N-takeover-clone`` (Optional,
  symmetrical): when both are in one transition (a cluster's start, a node
  coming back), the promote, which reads and writes the address's record
  on the volume, runs after ganesha_nfsd has started on its node; the
  inverse demotes (and, by the VIP's own order, stops the address) before
  ganesha_nfsd stops there.  Not Mandatory: a restart of ganesha_nfsd in
  place (a failed monitor) would then promote the address's instance again,
  and its pre-promote notifications would put every node in grace for
  nothing.  ``interleave=true`` on the takeover clone ties all this to the
  ganesha_nfsd instance of the same node.
"""

from __future__ import annotations

from ganesha_agents.config import parts
from ganesha_agents.config.model import (
    PROMOTED,
    UNPROMOTED,
    Clone,
    Colocation,
    Configuration,
    Constraint,
    Expression,
    Operation,
    Order,
    Primitive,
    Resource,
    RuleLocation,
)
from ganesha_agents.config.spec import TAKEOVER_ACTION_TIMEOUT, ClusterSpec, NodeAddress

# ganesha_mon's grace_delay here: nothing waits for a timed guess.
GRACE_DELAY = 0


def _takeover(spec: ClusterSpec, node: NodeAddress) -> Clone:
    params = [("ip", str(node.ip))]
    if spec.ha_vol_mnt is not None:
        params.append(("ha_vol_mnt", spec.ha_vol_mnt))
    if spec.grace_budget is not None:
        params.append(("grace_budget", str(spec.grace_budget)))
    meta = [("migration-threshold", "1")]
    if spec.failure_timeout:
        meta.append(("failure-timeout", f"{spec.failure_timeout}s"))
    monitor = spec.takeover_monitor
    actions = (
        Operation(name, TAKEOVER_ACTION_TIMEOUT)
        for name in ("start", "stop", "promote", "demote", "notify")
    )
    return Clone(
        Primitive(
            spec.takeover_id(node),
            "ocf",
            spec.provider,
            "ganesha_takeover",
            params=tuple(params),
            operations=(
                *actions,
                Operation("monitor", monitor.timeout, monitor.interval, PROMOTED),
                # Two monitors of one resource need different intervals.
                Operation("monitor", monitor.timeout, monitor.interval + 1, UNPROMOTED),
            ),
            meta=tuple(meta),
        ),
        meta=(
            ("notify", "true"),
            ("promoted-max", "1"),
            ("promoted-node-max", "1"),
            *(parts.INTERLEAVE if spec.nfsd else ()),
        ),
        promotable=True,
    )


def _preferences(spec: ClusterSpec, node: NodeAddress, clone: str) -> list[Constraint]:
    """3.7's scores, for the Promoted role of the clone, one rule per node."""
    return [
        RuleLocation(
            f"location-{clone}-prefers-{name}",
            clone,
            str(score),
            (Expression("#uname", "eq", name),),
            role=PROMOTED,
        )
        for name, score in parts.preferences(spec.nodes, node)
    ]


def plan(spec: ClusterSpec) -> Configuration:
    """The takeover layout for ``spec``."""
    grace_delay = GRACE_DELAY if spec.grace_delay is None else spec.grace_delay
    mon, state = parts.mon(spec, grace_delay), parts.nfsd(spec)
    resources: list[Resource] = [mon] if state is None else [state, mon]
    constraints: list[Constraint] = [] if state is None else parts.mon_after_nfsd(state, mon)
    for node in spec.nodes:
        takeover, vip = _takeover(spec, node), parts.vip(spec, node)
        resources += [takeover, vip]
        constraints.append(
            parts.not_one(
                f"location-{takeover.id}-{spec.ganesha_active}",
                takeover.id,
                spec.ganesha_active,
                role=PROMOTED,
            )
        )
        constraints += _preferences(spec, node, takeover.id)
        constraints.append(parts.vip_needs_ganesha(spec, vip.id))
        constraints.append(Colocation(vip.id, takeover.id, with_role=PROMOTED))
        constraints.append(Order(takeover.id, vip.id, first_action="promote"))
        if state is not None:
            constraints.append(Colocation(takeover.id, state.id))
            constraints.append(Order(state.id, takeover.id, kind="Optional", then_action="promote"))
    return Configuration(tuple(resources), tuple(constraints), parts.properties(spec))


def clones_only(config: Configuration) -> Configuration:
    """The takeover clones and their location rules alone: an upgrade's first step.

    Loaded into a running 3.7-layout cluster, the clones start everywhere and
    are promoted where the addresses already are, and nothing else moves.
    Loading the whole layout afterwards then ties each address to its
    clone's promotion without restarting it; loaded at once, Pacemaker would
    stop every address and start it again after its first promote.
    """
    clones = {r.id for r in config.resources if isinstance(r, Clone) and r.promotable}
    return Configuration(
        tuple(r for r in config.resources if r.id in clones),
        tuple(
            c for c in config.constraints if isinstance(c, RuleLocation) and c.resource in clones
        ),
    )
