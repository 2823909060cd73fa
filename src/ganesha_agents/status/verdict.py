"""Is the cluster ready to survive the loss of any one node, and if not, what is missing?

Ready means: a DC with quorum; at least two nodes; every node online (not
standby, maintenance, offline or unclean) with its ganesha.nfsd running and
both attributes published, its nfs-mon (and nfs-grace, in 3.7's layout)
started, an instance of every takeover clone (which is what gets it the
notifications that put it in grace); every virtual IP running once, at home,
where its takeover clone is promoted; no failed action recorded (a failed
promote bans that node from taking the address until ``failure-timeout``).
Then the loss of any node moves only its own address, to a node that can
take it over.  When nothing is missing but a ganesha.nfsd is in grace (this
node's, asked over D-Bus, or another's, as its ganesha_mon watcher
publishes it), the verdict is ``in-grace``: clients are reclaiming,
and another failure now would extend the wait, not lose state.
"""

from __future__ import annotations

from ganesha_agents.status.build import ATTRIBUTE
from ganesha_agents.status.model import (
    GLUSTER_37,
    IN_GRACE,
    NOT_READY,
    ONLINE,
    READY,
    RUNNING_ROLES,
    STARTED,
    TAKEOVER,
    UNKNOWN,
    NodeStatus,
    Status,
    Verdict,
    VipStatus,
)

READY_SUMMARY = "ready to survive the loss of any one node"


def judge(status: Status) -> Verdict:
    problems = _cluster(status)
    for node in status.nodes:
        problems += _node(node, status.layout)
    able = {node.name for node in status.nodes if not _node(node, status.layout)}
    for vip in status.vips:
        problems += _vip(vip, able)
    problems += [
        f"failed action: {f.operation} on {f.node or '?'}: "
        f"{f.exit_reason or f.exit_status or 'no reason given'} "
        "(crm_resource --cleanup once the cause is fixed)"
        for f in status.failures
    ]
    waiting = [_in_grace(n) for n in status.nodes if n.grace.value]
    if problems:
        count = len(problems)
        summary = f"NOT ready to survive the loss of any one node: {count} problem" + (
            "s" if count > 1 else ""
        )
        return Verdict(NOT_READY, summary, tuple(problems), tuple(waiting))
    if waiting:
        names = ", ".join(n.name for n in status.nodes if n.grace.value)
        summary = f"not ready yet: in NFS grace on {names} (clients reclaim); ready when it ends"
        return Verdict(IN_GRACE, summary, (), tuple(waiting))
    return Verdict(READY, READY_SUMMARY)


def _in_grace(node: NodeStatus) -> str:
    if node.grace.source == ATTRIBUTE:
        return f"{node.name}: ganesha.nfsd is in grace (as its watcher published)"
    return f"{node.name}: ganesha.nfsd is in grace"


def _cluster(status: Status) -> list[str]:
    found = []
    if status.dc is None:
        found.append("no DC: this node's cluster has elected no controller")
    elif not status.quorate:
        found.append("the cluster partition has no quorum")
    if status.layout == UNKNOWN:
        found.append(
            "no ganesha_takeover or ganesha_grace resource: NFS-Ganesha HA is not configured"
        )
    if len(status.nodes) < 2:
        found.append(f"{len(status.nodes)} node(s): a cluster needs two to survive the loss of one")
    if not status.vips and status.layout != UNKNOWN:
        found.append("no virtual IP (<node>-cluster_ip-<n>) is configured")
    return found


def _node(node: NodeStatus, layout: str) -> list[str]:
    name = node.name
    if node.membership != ONLINE:
        return [f"{name} is {node.membership}"]
    found = []
    if node.ganesha.value is False:
        found.append(f"{name}: ganesha.nfsd is not running ({node.ganesha.detail})")
    elif node.ganesha.value is None:
        found.append(f"{name}: whether ganesha.nfsd runs is unknown ({node.ganesha.detail})")
    else:
        missing = [key for key, value in node.attributes.items() if value != "1"]
        if missing:
            found.append(
                f"{name}: ganesha.nfsd runs but {' and '.join(missing)} "
                f"{'is' if len(missing) == 1 else 'are'} not 1: it cannot take an address over"
            )
    if node.nfs_mon is None:
        found.append(f"{name}: no ganesha_mon (nfs-mon) resource is configured")
    elif node.nfs_mon != STARTED:
        found.append(f"{name}: nfs-mon is {node.nfs_mon}")
    if layout == GLUSTER_37 and node.nfs_grace != STARTED:
        found.append(f"{name}: nfs-grace is {node.nfs_grace}: it gets no grace notification")
    if layout == TAKEOVER:
        for clone, role in node.takeover:
            if role not in RUNNING_ROLES:
                found.append(
                    f"{name}: {clone} is {role}: no grace notification for that address, "
                    "and it cannot take it over"
                )
    return found


def _vip(vip: VipStatus, able: set[str]) -> list[str]:
    """What is wrong with one address; ``able``: the nodes with nothing missing."""
    name = vip.resource
    if vip.failed:
        return [f"{name} has failed"]
    if not vip.holders:
        return [f"{name} is not running"]
    if len(vip.holders) > 1:
        return [f"{name} is active on {', '.join(vip.holders)} at once"]
    holder = vip.holders[0]
    found = []
    if vip.home is None:
        found.append(f"{name} runs on {holder}; its home node is not in the cluster")
    elif holder != vip.home:
        why = (
            f"back when {vip.home} is ready again"
            if vip.home not in able
            else "is a crm_resource --move (cli-prefer) constraint left? crm_resource --clear"
        )
        found.append(f"{name} runs on {holder}, away from its home {vip.home} ({why})")
    if vip.promoted is not None and vip.promoted != (holder,):
        where = ", ".join(vip.promoted) or "nowhere"
        found.append(f"{name} runs on {holder} but its takeover clone is promoted on {where}")
    return found
