"""A big cluster simulated as independent parts, and scheduled as a whole.

crm_simulate rewrites the whole CIB for every action it simulates, so its
cost grows with the actions times the size of the CIB: at 32 nodes (1024
takeover clone instances) one node failure took 389 s to simulate on the
development machine, while the scheduler itself decided the transition in
about 4 s.  But the configuration falls apart into pieces that no constraint
links (nfs-mon; each virtual IP with its takeover clone), and the
scheduler decides for each piece alone.  So:

- each part runs in its own small cluster (same nodes, same events) where
  crm_simulate is fast, and carries the resource histories forward;
- before each transition the whole cluster's status is put together from
  the parts, and the scheduler runs on the WHOLE cluster (``crm_simulate
  --run``): that transition graph is what is checked and measured;
- the whole graph must hold exactly the resource actions of the parts'
  graphs together, or :class:`SimulationError` says where they differ.

A part the whole graph gives nothing to do is not simulated at all (when no
node joins, leaves or is fenced): its state does not change.

The parts share one fence device's worth of behaviour: each has its own
device (a part without one could not fence), and the whole takes the first
part's.
"""

from __future__ import annotations

import copy
import os
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from lxml import etree

from ganesha_agents.config import cib
from ganesha_agents.config.model import (
    Clone,
    Colocation,
    Configuration,
    Constraint,
    NodePreference,
    Order,
    Resource,
    RuleLocation,
)
from ganesha_agents.config.offline import (
    FENCE_ID,
    OfflineCluster,
    SimulationError,
    Transition,
)
from ganesha_agents.config.plan import plan
from ganesha_agents.config.spec import ClusterSpec


def _endpoints(constraint: Constraint) -> tuple[str, ...]:
    if isinstance(constraint, RuleLocation | NodePreference):
        return (constraint.resource,)
    if isinstance(constraint, Colocation):
        return (constraint.resource, constraint.with_resource)
    if isinstance(constraint, Order):
        return (constraint.first, constraint.then)
    raise TypeError(constraint)


def independent_parts(config: Configuration) -> list[Configuration]:
    """``config`` split into the smallest configurations that no constraint links."""
    group = {resource.id: resource.id for resource in config.resources}

    def root(key: str) -> str:
        while group[key] != key:
            key = group[key]
        return key

    for constraint in config.constraints:
        first, *others = _endpoints(constraint)
        for other in others:
            group[root(other)] = root(first)
    parts: dict[str, tuple[list[Resource], list[Constraint]]] = {}
    for resource in config.resources:
        parts.setdefault(root(resource.id), ([], []))[0].append(resource)
    for constraint in config.constraints:
        parts[root(_endpoints(constraint)[0])][1].append(constraint)
    return [Configuration(tuple(rs), tuple(cs)) for rs, cs in parts.values()]


def _ids(resource: Resource) -> set[str]:
    if isinstance(resource, Clone):
        return {resource.id, resource.primitive.id}
    return {resource.id}


class SplitCluster:
    """The cluster of a spec, every node online and running ganesha.nfsd, in parts."""

    def __init__(self, directory: Path, whole: OfflineCluster, parts: list[OfflineCluster]):
        self.directory = directory
        self.whole = whole
        self.parts = parts
        self.owner: dict[str, OfflineCluster] = {}
        self._assembled = False

    @classmethod
    def start(cls, spec: ClusterSpec, directory: Path, *, fencing: bool = True) -> SplitCluster:
        """Everything configured and started; Pacemaker then finds nothing to do."""
        names = [node.name for node in spec.nodes]
        attributes = {spec.ganesha_active: "1", spec.grace_active: "1"}
        config = plan(spec)
        whole = OfflineCluster(directory / "whole", names, attributes)
        whole.load(cib.render(config))
        parts: list[OfflineCluster] = []
        owners: dict[str, int] = {}
        for number, part in enumerate(independent_parts(config)):
            cluster = OfflineCluster(directory / f"part-{number}", names, attributes)
            cluster.load(cib.render(part))
            parts.append(cluster)
            for resource in part.resources:
                owners |= dict.fromkeys(_ids(resource), number)
        if fencing:
            for cluster in (whole, *parts):
                cluster.add_fencing()
        split = cls(directory, whole, parts)
        split.owner = {resource: parts[number] for resource, number in owners.items()}
        with ThreadPoolExecutor(max_workers=os.cpu_count() or 1) as pool:
            list(pool.map(lambda cluster: cluster.step(), parts))
        check = split.schedule()
        if check.changes():
            raise SimulationError(
                "the started cluster is not at rest: "
                + ", ".join(sorted({f"{a.operation} {a.base}" for a in check.changes()}))
            )
        return split

    def copy(self, directory: Path) -> SplitCluster:
        """The same cluster in another directory, to try something else from here."""
        self._assemble()
        whole = self.whole.copy(directory / "whole")
        parts = [part.copy(directory / part.directory.name) for part in self.parts]
        index = {id(part): number for number, part in enumerate(self.parts)}
        other = SplitCluster(directory, whole, parts)
        other.owner = {key: parts[index[id(part)]] for key, part in self.owner.items()}
        other._assembled = True
        return other

    @property
    def nodes(self) -> tuple[str, ...]:
        return self.whole.nodes

    # --- events: what an operator or a failure does --------------------------------------

    def _everywhere(self) -> Iterable[OfflineCluster]:
        self._assembled = False
        return self.parts

    def set(self, node: str, name: str, value: str) -> None:
        for part in self._everywhere():
            part.write_transient(node, name, value)

    def delete(self, node: str, name: str) -> None:
        for part in self._everywhere():
            part.write_transient(node, name, None)

    def standby(self, node: str, on: bool = True) -> None:
        self.whole.standby(node, on)
        for part in self._everywhere():
            part.standby(node, on)

    def fence_externally(self, node: str) -> None:
        for part in self._everywhere():
            part.fence_externally(node)

    def move(self, resource: str, node: str) -> None:
        self._assembled = False
        self.whole.move(resource, node)
        self.owner[resource].move(resource, node)

    def clear(self, resource: str) -> None:
        self._assembled = False
        self.whole.clear(resource)
        self.owner[resource].clear(resource)

    def record_failure(self, resource: str, node: str, operation: str, count: str = "1") -> int:
        self._assembled = False
        return self.owner[resource].record_failure(resource, node, operation, count)

    # --- what is there -----------------------------------------------------------------------

    def attributes(self, name: str) -> dict[str, str]:
        return self.parts[0].attributes(name)

    def online(self) -> frozenset[str]:
        return self.parts[0].online()

    # --- transitions ------------------------------------------------------------------------

    def schedule(self, *options: str) -> Transition:
        """The whole cluster's next transition, only scheduled.

        ``--op-fail`` is for the parts alone: it changes what a simulation
        records, not what the scheduler decides.
        """
        self._assemble()
        return self.whole.schedule(*_without_failures(options))

    def step(self, *options: str) -> Transition:
        """Schedule the whole, then simulate the parts: the whole's graph, the parts' results."""
        whole = self.schedule(*options)
        touched = {a.base for a in whole.executed() if a.base is not None}
        nodes_change = any(option in NODE_EVENTS for option in options) or any(
            a.operation == "stonith" for a in whole.executed()
        )
        todo = [
            number
            for number, part in enumerate(self.parts)
            if nodes_change or touched & self._owned(part)
        ]
        # Each part is its own files and its own crm_simulate: they can run side by side.
        with ThreadPoolExecutor(max_workers=os.cpu_count() or 1) as pool:
            results = pool.map(lambda number: self.parts[number].step(*options), todo)
            stepped = dict(zip(todo, results, strict=True))
        self._assembled = False
        _same_actions(whole, list(stepped.values()))
        current = whole.result.find("cluster_status")
        statuses = {
            resource: (stepped[index].status(resource) if index in stepped else current)
            for resource, index in self._owner_index().items()
        }
        return SplitTransition(whole, statuses)

    def _owned(self, part: OfflineCluster) -> frozenset[str]:
        return frozenset(resource for resource, owner in self.owner.items() if owner is part)

    def _owner_index(self) -> dict[str, int]:
        index = {id(part): number for number, part in enumerate(self.parts)}
        return {resource: index[id(part)] for resource, part in self.owner.items()}

    def _assemble(self) -> None:
        """The whole's status: the first part's, plus the other parts' resource histories."""
        if self._assembled:
            return
        tree = etree.parse(str(self.whole.path))
        root = tree.getroot()
        old = root.find("status")
        if old is not None:
            root.remove(old)
        first = etree.parse(str(self.parts[0].path)).find("status")
        if first is None:
            raise SimulationError(f"{self.parts[0].path} has no status section")
        status = copy.deepcopy(first)
        root.append(status)
        states = {state.get("uname"): state for state in status.iter("node_state")}
        for part in self.parts[1:]:
            for theirs in etree.parse(str(part.path)).iter("node_state"):
                mine = states.get(theirs.get("uname"))
                if mine is None:
                    raise SimulationError(f"{part.path}: unknown node {theirs.get('uname')}")
                _merge_node_state(mine, theirs)
        tree.write(str(self.whole.path))
        self._assembled = True


def _without_failures(options: Sequence[str]) -> list[str]:
    kept: list[str] = []
    skip = False
    for option in options:
        if skip:
            skip = False
        elif option in ("--op-fail", "-F"):
            skip = True
        elif not option.startswith("--op-fail="):
            kept.append(option)
    return kept


NODE_EVENTS = frozenset({"--node-up", "--node-down", "--node-fail", "-u", "-d", "-f"})


class SplitTransition(Transition):
    """The whole cluster's transition; where things ended, from the parts that ran it."""

    def __init__(self, whole: Transition, statuses: Mapping[str, etree._Element | None]) -> None:
        super().__init__(whole.result, whole.graph, whole.elapsed, whole.scheduler_input)
        self._statuses = statuses

    def status(self, resource: str) -> etree._Element | None:
        return self._statuses.get(resource)


def _child(parent: etree._Element, tag: str, **attributes: str) -> etree._Element:
    found = parent.find(tag)
    return found if found is not None else etree.SubElement(parent, tag, attrib=attributes)


def _merge_node_state(mine: etree._Element, theirs: etree._Element) -> None:
    """Add ``theirs``'s resource histories (not the fence device's) and attributes it adds."""
    resources = theirs.find("lrm/lrm_resources")
    if resources is not None:
        lrm = _child(mine, "lrm", id=mine.get("id", ""))
        target = _child(lrm, "lrm_resources")
        for resource in resources:
            if resource.get("id") != FENCE_ID:
                target.append(copy.deepcopy(resource))
    values = theirs.find("transient_attributes/instance_attributes")
    if values is None:
        return
    transient = _child(mine, "transient_attributes", id=mine.get("id", ""))
    target = _child(transient, "instance_attributes", id=values.get("id", ""))
    present = {nvpair.get("name") for nvpair in target}
    for nvpair in values:
        if nvpair.get("name") not in present:
            target.append(copy.deepcopy(nvpair))


def _signature(transition: Transition) -> Counter[tuple[str | None, ...]]:
    return Counter(
        (a.kind, a.operation, a.base, a.node, a.notify("type"), a.notify("operation"))
        for a in transition.executed()
        if a.base != FENCE_ID and not (a.kind == "crm_event" and a.operation == "stonith")
    )


def _same_actions(whole: Transition, parts: Sequence[Transition]) -> None:
    """The whole's graph must be the parts' graphs together (fencing: once each)."""
    combined: Counter[tuple[str | None, ...]] = Counter()
    for part in parts:
        combined += _signature(part)
    expected = _signature(whole)
    fenced = {(a.operation, a.node) for a in whole.executed() if a.operation == "stonith"}
    part_fenced = {
        (a.operation, a.node) for part in parts for a in part.executed() if a.operation == "stonith"
    }
    if expected != combined or fenced != part_fenced:
        missing = expected - combined
        extra = combined - expected
        raise SimulationError(
            "the whole cluster's transition is not its parts' transitions together: "
            f"only in the whole {sorted(missing.elements(), key=str)[:5]}, "
            f"only in the parts {sorted(extra.elements(), key=str)[:5]}, "
            f"fencing {sorted(fenced)} / {sorted(part_fenced)}"
        )
