"""What ``ganesha-agents status`` knows: the cluster as crm_mon reports it, and per node."""

from __future__ import annotations

from collections.abc import Mapping

import attrs

#: Membership of a node, as the status names it.
ONLINE = "online"
STANDBY = "standby"
MAINTENANCE = "maintenance"
PENDING = "pending"
OFFLINE = "offline"
UNCLEAN = "unclean"

#: The resource roles crm_mon reports, and the one for "not running on this node".
STARTED = "Started"
STOPPED = "Stopped"
PROMOTED = "Promoted"
UNPROMOTED = "Unpromoted"
#: Roles that mean "an instance runs here".
RUNNING_ROLES = frozenset({STARTED, PROMOTED, UNPROMOTED})

#: Layouts, by the agents found in the configuration.
TAKEOVER = "takeover"
GLUSTER_37 = "3.7"
UNKNOWN = "unknown"


@attrs.frozen
class NodeRecord:
    """One ``<nodes><node>`` element."""

    name: str
    online: bool = False
    standby: bool = False
    maintenance: bool = False
    pending: bool = False
    unclean: bool = False
    shutdown: bool = False

    @property
    def membership(self) -> str:
        """The one word an operator needs: unclean before offline, standby before online."""
        if self.unclean:
            return UNCLEAN
        if self.pending:
            return PENDING
        if not self.online:
            return OFFLINE
        if self.maintenance:
            return MAINTENANCE
        if self.standby:
            return STANDBY
        return ONLINE


@attrs.frozen
class Instance:
    """One ``<resource>`` element: a primitive, or one instance of a clone."""

    resource: str
    agent: str
    role: str
    failed: bool = False
    nodes: tuple[str, ...] = ()
    clone: str | None = None


@attrs.frozen
class FailedAction:
    """One ``<failures><failure>`` element: an operation that failed and is still recorded."""

    operation: str
    node: str
    exit_status: str = ""
    exit_reason: str = ""
    exit_code: int | None = None
    last_change: str = ""


@attrs.frozen
class ClusterState:
    """What one crm_mon call said, reduced to what the status uses."""

    dc: str | None
    quorate: bool
    nodes: tuple[NodeRecord, ...]
    instances: tuple[Instance, ...]
    attributes: Mapping[str, Mapping[str, str]]
    failures: tuple[FailedAction, ...]


@attrs.frozen
class LocalView:
    """What the node running the command sees of its own ganesha.nfsd.

    ``alive`` comes from the pid file's lock, ``in_grace`` from ``get_grace``
    over D-Bus; ``None`` where the question could not be answered, with the
    reason in the detail.
    """

    node: str
    alive: bool | None
    alive_detail: str
    in_grace: bool | None
    grace_detail: str


@attrs.frozen
class Observation:
    """A yes/no about a node, where it came from, and why (``value`` None: not known)."""

    value: bool | None
    source: str
    detail: str
    #: For a grace published by another node's watcher: the epoch second it was first seen.
    since: int | None = None


@attrs.frozen
class NodeStatus:
    name: str
    membership: str
    local: bool
    ganesha: Observation
    grace: Observation
    #: The two attributes ganesha_mon publishes, None when not set.
    attributes: Mapping[str, str | None]
    nfs_mon: str | None
    nfs_grace: str | None
    #: (clone id, this node's role in it) for every takeover clone.
    takeover: tuple[tuple[str, str], ...]
    #: The virtual IP resources active here.
    vips: tuple[str, ...]


@attrs.frozen
class VipStatus:
    resource: str
    home: str | None
    holders: tuple[str, ...]
    failed: bool
    #: Where its takeover clone is promoted (takeover layout), else None.
    promoted: tuple[str, ...] | None = None

    @property
    def at_home(self) -> bool:
        return self.home is not None and self.holders == (self.home,)


@attrs.frozen
class Status:
    dc: str | None
    quorate: bool
    layout: str
    local_node: str | None
    nodes: tuple[NodeStatus, ...]
    vips: tuple[VipStatus, ...]
    failures: tuple[FailedAction, ...]


@attrs.frozen
class Verdict:
    """``ready``, ``in-grace`` (nothing missing, but a server is in grace) or ``not-ready``."""

    state: str
    summary: str
    problems: tuple[str, ...] = ()
    waiting: tuple[str, ...] = ()

    @property
    def ready(self) -> bool:
        return self.state == READY


READY = "ready"
IN_GRACE = "in-grace"
NOT_READY = "not-ready"
