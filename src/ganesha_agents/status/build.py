"""From crm_mon's state (and the local node's own view) to the status of every node.

Pure: no I/O, so each verdict is tested from captured crm_mon XML.  Resources
are recognised by their agent (``ocf:<provider>:ganesha_mon``,
``ganesha_grace``, ``ganesha_takeover``), whatever their ids; a virtual IP by
the id ``ganesha-agents config`` (and GlusterFS 3.7's ganesha-ha.sh) gives
it, ``<home node>-cluster_ip-<n>``.

Whether ganesha.nfsd runs on another node is known from what its
ganesha_mon publishes: ``ganesha-active=1`` while it runs, deleted the
moment it dies (by ganesha_mon's watcher).  That answer holds only while
that node's nfs-mon instance runs; otherwise it is "unknown".  Whether a
remote ganesha is in grace is what that node's ganesha_mon watcher
publishes (``ganesha-grace``, :mod:`ganesha_agents.published_grace`): the
epoch second it first saw the server in grace, deleted out of grace.  It is
asked every 2 s, so it may lag by about 3 s, and read only where the
daemon is known to run (the same conditions).  The local node's grace is
asked directly (``get_grace``).
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterable

from ganesha_agents import published_grace
from ganesha_agents.status.model import (
    GLUSTER_37,
    OFFLINE,
    PROMOTED,
    RUNNING_ROLES,
    STARTED,
    STOPPED,
    TAKEOVER,
    UNCLEAN,
    UNKNOWN,
    ClusterState,
    Instance,
    LocalView,
    NodeStatus,
    Observation,
    Status,
    VipStatus,
)

GANESHA_ACTIVE = "ganesha-active"
GRACE_ACTIVE = "grace-active"
MON_AGENT = "ganesha_mon"
GRACE_AGENT = "ganesha_grace"
TAKEOVER_AGENT = "ganesha_takeover"
VIP_ID = re.compile(r"^(?P<home>.+)-cluster_ip-\d+$")

#: Where an observation came from.
PID_FILE = "pid-file"
DBUS = "dbus"
ATTRIBUTES = "attributes"
ATTRIBUTE = "attribute"
NONE = "none"
#: How late a published grace may be: the watcher's poll, and its next wake-up to write it.
LAG = 3.0


def build(
    state: ClusterState,
    local: LocalView | None = None,
    *,
    ganesha_active: str = GANESHA_ACTIVE,
    grace_active: str = GRACE_ACTIVE,
) -> Status:
    """The status of every node crm_mon lists, and of every virtual IP."""
    mon = _of_agent(state.instances, MON_AGENT)
    grace = _of_agent(state.instances, GRACE_AGENT)
    takeover = _of_agent(state.instances, TAKEOVER_AGENT)
    layout = TAKEOVER if takeover else GLUSTER_37 if grace else UNKNOWN
    names = {node.name for node in state.nodes}
    vips = _vips(state.instances, names, takeover)
    clones = sorted({i.clone or i.resource for i in takeover})
    nodes = []
    for record in state.nodes:
        name = record.name
        values = state.attributes.get(name, {})
        attributes = {
            ganesha_active: values.get(ganesha_active),
            grace_active: values.get(grace_active),
        }
        mon_role = _role_on(mon, name) if mon else None
        is_local = local is not None and local.node == name
        ganesha = _ganesha(
            record.membership, mon_role, values.get(ganesha_active), local if is_local else None
        )
        nodes.append(
            NodeStatus(
                name=name,
                membership=record.membership,
                local=is_local,
                ganesha=ganesha,
                grace=(
                    _grace(local)
                    if is_local and local is not None
                    else _published_grace(ganesha, values.get(published_grace.ATTRIBUTE))
                ),
                attributes=attributes,
                nfs_mon=mon_role,
                nfs_grace=_role_on(grace, name) if grace else None,
                takeover=tuple(
                    (
                        clone,
                        _role_on([i for i in takeover if (i.clone or i.resource) == clone], name),
                    )
                    for clone in clones
                ),
                vips=tuple(v.resource for v in vips if name in v.holders),
            )
        )
    return Status(
        dc=state.dc,
        quorate=state.quorate,
        layout=layout,
        local_node=local.node if local is not None else None,
        nodes=tuple(nodes),
        vips=tuple(vips),
        failures=state.failures,
    )


def _of_agent(instances: Iterable[Instance], agent: str) -> list[Instance]:
    return [i for i in instances if i.agent.rsplit(":", 1)[-1] == agent]


def _role_on(instances: Iterable[Instance], node: str) -> str:
    """The role of the instance on ``node`` (``Stopped`` when none runs there)."""
    for instance in instances:
        if node in instance.nodes:
            return f"{instance.role} (failed)" if instance.failed else instance.role
    return STOPPED


def _ganesha(
    membership: str, mon_role: str | None, published: str | None, local: LocalView | None
) -> Observation:
    if local is not None and local.alive is not None:
        return Observation(local.alive, PID_FILE, local.alive_detail)
    if membership in (OFFLINE, UNCLEAN):
        return Observation(None, NONE, f"the node is {membership}")
    if mon_role != STARTED:
        what = "no nfs-mon is configured" if mon_role is None else f"nfs-mon is {mon_role} there"
        return Observation(None, NONE, f"{what}: nothing is published")
    if published == "1":
        return Observation(True, ATTRIBUTES, f"{GANESHA_ACTIVE}=1, published by ganesha_mon")
    value = "not set" if published is None else f"{published!r}"
    return Observation(False, ATTRIBUTES, f"ganesha_mon runs and {GANESHA_ACTIVE} is {value}")


def _grace(local: LocalView) -> Observation:
    return Observation(
        local.in_grace, DBUS if local.in_grace is not None else NONE, local.grace_detail
    )


def _published_grace(ganesha: Observation, value: str | None) -> Observation:
    """Another node's grace, from what its watcher published; only where its daemon runs."""
    name = published_grace.ATTRIBUTE
    if ganesha.value is not True:
        why = "it is not running" if ganesha.value is False else "whether it runs is unknown"
        return Observation(None, NONE, f"{why}: {name} is not read")
    every = (
        f"published by ganesha_mon's watcher, asked every "
        f"{published_grace.POLL_INTERVAL:g}s: up to {LAG:g}s late"
    )
    if value is None or value == "":
        return Observation(False, ATTRIBUTE, f"{name} is not set; {every}")
    since = published_grace.since_of(value)
    if since is None:
        return Observation(None, NONE, f"{name} is {value!r}, not an epoch second")
    stamp = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(since))
    return Observation(True, ATTRIBUTE, f"{name}={value}: since {stamp}; {every}", since)


def _vips(
    instances: Iterable[Instance], nodes: set[str], takeover: list[Instance]
) -> list[VipStatus]:
    by_id: dict[str, list[Instance]] = {}
    for instance in instances:
        if instance.clone is None and VIP_ID.match(instance.resource):
            by_id.setdefault(instance.resource, []).append(instance)
    found = []
    for resource, parts in by_id.items():
        match = VIP_ID.match(resource)
        home = match.group("home") if match and match.group("home") in nodes else None
        holders = sorted(
            {node for i in parts if i.role in RUNNING_ROLES or i.failed for node in i.nodes}
        )
        promoted = None
        if takeover and home is not None:
            mine = [i for i in takeover if i.resource == f"{home}-takeover"]
            promoted = tuple(sorted({n for i in mine if i.role == PROMOTED for n in i.nodes}))
        found.append(
            VipStatus(
                resource=resource,
                home=home,
                holders=tuple(holders),
                failed=any(i.failed for i in parts),
                promoted=promoted,
            )
        )
    return sorted(found, key=lambda v: v.resource)
