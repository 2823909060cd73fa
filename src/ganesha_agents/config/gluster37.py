"""GlusterFS 3.7's layout: what ganesha-ha.sh built, holes closed (``--layout 3.7``).

Kept from 3.7, besides :mod:`ganesha_agents.config.parts`:

- ``nfs-grace-clone`` (ganesha_grace) with ``notify=true`` on the CLONE.
  Pacemaker reads ``notify`` from the clone only: on the primitive it
  schedules no notifications at all (BZ 1461019).
- ``-INFINITY`` where grace-active is not 1 on nfs-grace-clone.  It also
  keeps nfs-grace from starting before nfs-mon has set the attribute (the
  two-node start race, BZ 1341772).
- The preference scores as plain node scores on each virtual IP.
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
- Cluster properties only on request (:func:`~ganesha_agents.config.parts.properties`).

With a state volume (``nfs-state-clone``, :mod:`.parts`; 3.7 ran its
ganesha_nfsd outside the cluster configuration):

- ``nfs-grace-clone`` colocated with ``nfs-state-clone``, and each virtual
  IP too.  Where ganesha_nfsd cannot run, nfs-grace stops (its post-stop
  notifications put the survivors in grace for that node's clients) and the
  IP moves, in one transition, so the ``stop nfs-grace-clone then start``
  order above makes the IP start after those notifications.  Not ordered
  after it: a restart of ganesha_nfsd in place would restart nfs-grace and
  put every node in grace for nothing.
"""

from __future__ import annotations

from ganesha_agents.config import parts
from ganesha_agents.config.model import (
    Clone,
    Colocation,
    Configuration,
    Constraint,
    NodePreference,
    Operation,
    Order,
    Primitive,
)
from ganesha_agents.config.spec import ClusterSpec

AGENT_NOTIFY_TIMEOUT = 10
GRACE_DEFAULTS = {"grace_active": "grace-active"}

# What the takeover layout no longer has, selected by what the elements are
# rather than by their ids, so that it also finds what ganesha-ha.sh itself
# created (``order-nfs-grace-clone-N-cluster_ip-1-mandatory`` ...): the
# nfs-grace clone, its rule and orders, and the virtual IPs' node scores
# (never ``cli-prefer-`` constraints of crm_resource --move).  For
# ``cibadmin --delete-all --force --xpath``, one CIB update.
LEFTOVERS_XPATH = (
    "//constraints/rsc_order[@first='nfs-grace-clone']"
    " | //constraints/rsc_location[@rsc='nfs-grace-clone']"
    " | //constraints/rsc_location[@node][starts-with(@id, 'location-')]"
    "[contains(@rsc, '-cluster_ip-')]"
    " | //resources/clone[@id='nfs-grace-clone']"
)


def _grace(spec: ClusterSpec) -> Clone:
    meta: parts.Pairs = ()
    if spec.failure_timeout:
        meta = (("failure-timeout", f"{spec.failure_timeout}s"),)
    return Clone(
        Primitive(
            "nfs-grace",
            "ocf",
            spec.provider,
            "ganesha_grace",
            params=parts.non_default([("grace_active", spec.grace_active)], GRACE_DEFAULTS),
            operations=(
                Operation("start", parts.AGENT_START_STOP_TIMEOUT),
                Operation("stop", parts.AGENT_START_STOP_TIMEOUT),
                Operation("notify", AGENT_NOTIFY_TIMEOUT),
                Operation("monitor", spec.grace_monitor.timeout, spec.grace_monitor.interval),
            ),
            meta=meta,
        ),
        meta=(("notify", "true"),),
    )


def plan(spec: ClusterSpec) -> Configuration:
    """The 3.7 layout for ``spec``."""
    mon, grace = parts.mon(spec, spec.grace_delay), _grace(spec)
    state = parts.nfsd(spec)
    vips = tuple(parts.vip(spec, node) for node in spec.nodes)
    constraints: list[Constraint] = []
    if state is not None:
        constraints += parts.mon_after_nfsd(state, mon)
        constraints.append(Colocation(grace.id, state.id))
    constraints.append(
        parts.not_one(f"location-{grace.id}-{spec.grace_active}", grace.id, spec.grace_active)
    )
    for node, vip in zip(spec.nodes, vips, strict=True):
        constraints.append(parts.vip_needs_ganesha(spec, vip.id))
        constraints.extend(
            NodePreference(vip.id, name, score)
            for name, score in parts.preferences(spec.nodes, node)
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
        if state is not None:
            constraints.append(Colocation(vip.id, state.id))
    first = () if state is None else (state,)
    return Configuration((*first, mon, grace, *vips), tuple(constraints), parts.properties(spec))
