"""The cluster as Pacemaker reports it: ``crm_mon --output-as=xml``, parsed.

Tests and waits ask questions such as "is node3 offline and clean?" or
"where does the clone run?"; answering them from the XML API rather than
from crm_mon's text keeps them independent of its wording.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from lxml import etree


@dataclass(frozen=True)
class NodeStatus:
    name: str
    online: bool
    unclean: bool
    pending: bool
    shutdown: bool
    is_dc: bool


@dataclass(frozen=True)
class ResourceStatus:
    id: str
    agent: str
    role: str
    active: bool
    failed: bool
    nodes: tuple[str, ...]
    #: The clone, group or bundle the resource is part of, if any.
    parent: str | None = None


@dataclass(frozen=True)
class ClusterStatus:
    dc: str | None
    quorate: bool
    nodes: dict[str, NodeStatus] = field(default_factory=dict)
    resources: list[ResourceStatus] = field(default_factory=list)

    def online(self) -> list[str]:
        return [n.name for n in self.nodes.values() if n.online]

    def offline(self) -> list[str]:
        return [n.name for n in self.nodes.values() if not n.online]

    def running_on(self, resource: str) -> list[str]:
        """Nodes where ``resource`` (a primitive, or a clone or group id) is active."""
        found = {
            node
            for r in self.resources
            if (r.id == resource or r.parent == resource) and r.active
            for node in r.nodes
        }
        return sorted(found)

    def started_on(self, resource: str) -> list[str]:
        found = {
            node
            for r in self.resources
            if (r.id == resource or r.parent == resource) and r.role == "Started"
            for node in r.nodes
        }
        return sorted(found)

    def promoted_on(self, resource: str) -> list[str]:
        """Nodes where ``resource`` (a promotable clone or its primitive) runs promoted."""
        found = {
            node
            for r in self.resources
            if (r.id == resource or r.parent == resource) and r.role == "Promoted"
            for node in r.nodes
        }
        return sorted(found)

    def failed(self) -> list[ResourceStatus]:
        return [r for r in self.resources if r.failed]


def _flag(element: etree._Element, name: str) -> bool:
    return element.get(name) == "true"


def parse_crm_mon(xml: str | bytes) -> ClusterStatus:
    root = etree.fromstring(xml.encode() if isinstance(xml, str) else xml)
    dc_element = root.find("summary/current_dc")
    dc = None
    quorate = False
    if dc_element is not None and _flag(dc_element, "present"):
        dc = dc_element.get("name")
        quorate = _flag(dc_element, "with_quorum")
    nodes = {}
    for node in root.iterfind("nodes/node"):
        name = node.get("name", "")
        nodes[name] = NodeStatus(
            name=name,
            online=_flag(node, "online"),
            unclean=_flag(node, "unclean"),
            pending=_flag(node, "pending"),
            shutdown=_flag(node, "shutdown"),
            is_dc=_flag(node, "is_dc"),
        )
    resources = []
    for resource in root.iter("resource"):
        container = resource.getparent()
        parent = None
        if container is not None and container.tag in ("clone", "group", "bundle"):
            parent = container.get("id")
            outer = container.getparent()
            if outer is not None and outer.tag == "clone":
                parent = outer.get("id")  # a group inside a clone
        resources.append(
            ResourceStatus(
                id=resource.get("id", ""),
                agent=resource.get("resource_agent", ""),
                role=resource.get("role", ""),
                active=_flag(resource, "active"),
                failed=_flag(resource, "failed"),
                nodes=tuple(n.get("name", "") for n in resource.iterfind("node")),
                parent=parent,
            )
        )
    return ClusterStatus(dc=dc, quorate=quorate, nodes=nodes, resources=resources)


@dataclass(frozen=True)
class FenceEvent:
    target: str
    action: str
    status: str
    origin: str
    delegate: str
    completed: str

    @property
    def succeeded(self) -> bool:
        return self.status == "success"


def parse_fence_history(xml: str | bytes) -> list[FenceEvent]:
    """``stonith_admin --history '*' --output-as=xml``."""
    root = etree.fromstring(xml.encode() if isinstance(xml, str) else xml)
    return [
        FenceEvent(
            target=event.get("target", ""),
            action=event.get("action", ""),
            status=event.get("status", ""),
            origin=event.get("origin", ""),
            delegate=event.get("delegate", ""),
            completed=event.get("completed", ""),
        )
        for event in root.iter("fence_event")
    ]
