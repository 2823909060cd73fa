"""Every way a virtual IP moves, through Pacemaker's scheduler, on an offline cluster.

A *path* is what an operator or a failure does to a running cluster (a
ganesha.nfsd killed, a node lost and fenced by the cluster or from outside,
``crm_resource --move``, standby, two addresses at once, a second failure in
the middle of a takeover) followed by its failback.  Each transition of a
path is a :class:`Move`; :func:`violations` says what in it breaks the
takeover layout's promise, :func:`cost` what it costs:

- a virtual IP starts only after the promote of its takeover clone on the
  same node, and that promote only after the grace round of every instance
  that is alive after the transition: the pre-demote notification when the
  transition demotes the old holder (alive, or lost and fenced by the
  cluster: the demote is then implied), the pre-promote one when it does
  not (fenced from outside), and the pre-promote one for an instance the
  transition starts (it missed the pre-demote round);
- every such notification names the new holder (``promote_uname``) and the
  previous one (``demote_uname``, ``promoted_uname``), or nobody (blank)
  when the previous holder was fenced from outside;
- no virtual IP runs where ganesha-active is not 1, none is left stopped
  while a node could hold it, and after a failback each one is home.

The simulated cluster fences lost nodes (a fence device, ``stonith-enabled``),
as a production one does.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable, Iterable, Mapping
from typing import Protocol

import attrs

from ganesha_agents.config.offline import Action, SimulationError, Transition
from ganesha_agents.config.plan import failover_targets
from ganesha_agents.config.spec import ClusterSpec, NodeAddress

FIRST_ADDRESS = ipaddress.IPv4Address("10.77.0.0")


def numbered_spec(count: int, **options: object) -> ClusterSpec:
    """``node1`` ... ``nodeN``, each the home of one address (10.77.0.1 ...)."""
    nodes = [NodeAddress(f"node{i}", FIRST_ADDRESS + i) for i in range(1, count + 1)]
    return ClusterSpec(nodes=nodes, **options)  # type: ignore[arg-type]


class Cluster(Protocol):
    """What a path needs of a simulated cluster (:class:`~.offline.OfflineCluster`, or
    :class:`~.split.SplitCluster` for the big ones)."""

    def step(self, *options: str) -> Transition: ...
    def set(self, node: str, name: str, value: str) -> None: ...
    def delete(self, node: str, name: str) -> None: ...
    def attributes(self, name: str) -> dict[str, str]: ...
    def online(self) -> frozenset[str]: ...
    def move(self, resource: str, node: str) -> None: ...
    def clear(self, resource: str) -> None: ...
    def standby(self, node: str, on: bool = True) -> None: ...
    def fence_externally(self, node: str) -> None: ...
    def record_failure(self, resource: str, node: str, operation: str, count: str = "1") -> int: ...


# --- moves -----------------------------------------------------------------------------------


@attrs.frozen
class Move:
    """One transition of a path, with where each virtual IP was before and after it."""

    path: str
    phase: str
    transition: Transition
    before: Mapping[str, str | None]
    after: Mapping[str, str | None]
    # Nodes whose ganesha-active is 1 and that can run resources, after the transition.
    serving: frozenset[str]
    ganesha_active: Mapping[str, bool]
    # VIP -> its takeover primitive (``N-takeover``).
    takeover: Mapping[str, str] = attrs.field(factory=dict)
    fenced_outside: frozenset[str] = frozenset()
    home: Mapping[str, str] = attrs.field(factory=dict)
    settled: bool = True

    @property
    def moved(self) -> dict[str, tuple[str | None, str | None]]:
        """VIP -> (from, to), for the addresses this transition moved or started."""
        return {
            vip: (self.before[vip], self.after[vip])
            for vip in self.after
            if self.after[vip] != self.before[vip]
        }


@attrs.frozen
class Cost:
    """What a move costs.

    ``grace_calls``: the grace round's notifications (:func:`grace_round`) to
    nodes other than the new and the old holder (each puts one ganesha.nfsd
    in grace), one takeover per promote, one release per demote on a live
    node.  ``others`` counts that round, whichever notification it is.
    """

    vips: int
    grace_calls: int
    others: int
    promotes: int
    releases: int
    actions: int
    notifications: int


class Driver:
    """Runs a path on one cluster and keeps the moves."""

    def __init__(self, spec: ClusterSpec, cluster: Cluster, path: str) -> None:
        self.spec = spec
        self.cluster = cluster
        self.path = path
        self.vips = {spec.vip_id(node): node.name for node in spec.nodes}
        self.takeover = {spec.vip_id(node): spec.takeover_id(node) for node in spec.nodes}
        self.where: dict[str, str | None] = {}
        self.moves: list[Move] = []
        probe = cluster.step()
        if probe.changes():
            raise SimulationError(f"{path}: the cluster is not at rest before the path")
        self.where = {vip: _single(probe.placement(vip)) for vip in self.vips}

    def node(self, index: int) -> str:
        """The name of the ``index``-th node (1-based), as in the spec."""
        return self.spec.nodes[index - 1].name

    def vip(self, node: str) -> str:
        return next(vip for vip, home in self.vips.items() if home == node)

    def kill(self, *nodes: str) -> None:
        """ganesha.nfsd dies: ganesha_mon's watcher deletes both attributes at once."""
        for node in nodes:
            self.cluster.delete(node, self.spec.grace_active)
            self.cluster.delete(node, self.spec.ganesha_active)

    def revive(self, *nodes: str) -> None:
        """ganesha.nfsd runs again: ganesha_mon sets both attributes."""
        for node in nodes:
            self.cluster.set(node, self.spec.grace_active, "1")
            self.cluster.set(node, self.spec.ganesha_active, "1")

    def step(
        self,
        phase: str,
        *options: str,
        fenced_outside: Iterable[str] = (),
        settled: bool = True,
    ) -> Move:
        """One transition; ``settled=False`` when it is expected to stop half-way (-F)."""
        before = dict(self.where)
        transition = self.cluster.step(*options)
        self.where = {vip: _single(transition.placement(vip)) for vip in self.vips}
        online = self.cluster.online()
        values = self.cluster.attributes(self.spec.ganesha_active)
        active = {node.name: values.get(node.name) == "1" for node in self.spec.nodes}
        move = Move(
            path=self.path,
            phase=phase,
            transition=transition,
            before=before,
            after=dict(self.where),
            serving=frozenset(node for node in online if active[node]),
            ganesha_active=active,
            takeover=self.takeover,
            fenced_outside=frozenset(fenced_outside),
            home=dict(self.vips) if phase == "failback" else {},
            settled=settled,
        )
        self.moves.append(move)
        return move


def _single(nodes: set[str]) -> str | None:
    if len(nodes) > 1:
        raise SimulationError(f"a virtual IP is active on {sorted(nodes)}")
    return next(iter(nodes), None)


# --- the paths -------------------------------------------------------------------------------


def ganesha_killed(d: Driver) -> None:
    victim = d.node(2)
    d.kill(victim)
    d.step("move")
    d.revive(victim)
    d.step("failback")


def cluster_fencing(d: Driver) -> None:
    victim = d.node(2)
    d.step("move", "--node-fail", victim)
    _rejoin(d, victim)


def external_fencing(d: Driver) -> None:
    victim = d.node(2)
    d.cluster.fence_externally(victim)
    d.step("move", fenced_outside=[victim])
    _rejoin(d, victim)


def _rejoin(d: Driver, *nodes: str) -> None:
    """The nodes boot and join; their ganesha_mon sets the attributes; the addresses go home."""
    options = [option for node in nodes for option in ("--node-up", node)]
    d.step("rejoin", *options)
    d.revive(*nodes)
    d.step("failback")


def manual_move(d: Driver) -> None:
    """``crm_resource --move`` (``pcs resource move-with-constraint``), then ``--clear``."""
    vip = d.vip(d.node(2))
    target = failover_targets(d.spec.nodes, d.spec.nodes[1])[-1]
    d.cluster.move(vip, target)
    d.step("move")
    d.cluster.clear(vip)
    d.step("failback")


def standby(d: Driver) -> None:
    victim = d.node(2)
    d.cluster.standby(victim, on=True)
    d.step("move")
    d.cluster.standby(victim, on=False)
    d.step("failback")


def two_at_once(d: Driver) -> None:
    victims = (d.node(2), d.node(3))
    d.kill(*victims)
    d.step("move")
    d.revive(*victims)
    d.step("failback")


def promote_fails(d: Driver) -> None:
    """The first target cannot be put in grace: its promote fails, the next node takes over."""
    victim = d.node(2)
    target = failover_targets(d.spec.nodes, d.spec.nodes[1])[0]
    resource = d.spec.takeover_id(d.spec.nodes[1])
    d.kill(victim)
    d.step("move", "--op-fail", f"{resource}_promote_0@{target}=1", settled=False)
    d.cluster.record_failure(resource, target, "promote")
    d.step("second move")
    d.revive(victim)
    d.step("failback")


def target_lost(d: Driver) -> None:
    """The node that just took an address over is lost too: both of its addresses move."""
    victim = d.node(2)
    target = failover_targets(d.spec.nodes, d.spec.nodes[1])[0]
    d.kill(victim)
    d.step("move")
    d.step("second move", "--node-fail", target)
    d.step("rejoin", "--node-up", target)
    d.revive(target, victim)
    d.step("failback")


PATHS: dict[str, Callable[[Driver], None]] = {
    "ganesha-killed": ganesha_killed,
    "cluster-fencing": cluster_fencing,
    "external-fencing": external_fencing,
    "manual-move": manual_move,
    "standby": standby,
    "two-at-once": two_at_once,
    "promote-fails": promote_fails,
    "target-lost": target_lost,
}


def run_path(name: str, spec: ClusterSpec, cluster: Cluster) -> list[Move]:
    """Path ``name`` on ``cluster`` (running ``spec``, at rest; it is changed); its moves."""
    driver = Driver(spec, cluster, name)
    PATHS[name](driver)
    return driver.moves


# --- what a move must show -------------------------------------------------------------------


def _one(actions: list[Action], what: str) -> Action | str:
    executed = [a for a in actions if a.kind == "rsc_op"]
    if len(executed) != 1:
        return f"{len(executed)} {what}"
    return executed[0]


def violations(move: Move) -> list[str]:
    """Everything in ``move`` that breaks the takeover layout's promise (empty: none)."""
    problems: list[str] = []
    t = move.transition
    for vip, (old, new) in move.moved.items():
        if new is not None:
            clone = move.takeover[vip]
            problems += _takeover_before_start(t, vip, clone, old, new, move.fenced_outside)
    for vip, node in move.after.items():
        if node is None:
            if move.settled and move.serving:
                problems.append(f"{vip} left stopped (was on {move.before[vip]})")
        elif not move.ganesha_active.get(node, False):
            problems.append(f"{vip} runs on {node}, where ganesha-active is not 1")
        if move.home and move.home[vip] in move.serving and node != move.home[vip]:
            problems.append(f"{vip} is on {node}, not home on {move.home[vip]}")
    return problems


def _takeover_before_start(
    t: Transition,
    vip: str,
    clone: str,
    old: str | None,
    new: str,
    fenced_outside: frozenset[str],
) -> list[str]:
    start = _one(t.find(vip, "start", new), f"starts of {vip} on {new}")
    promote = _one(t.find(clone, "promote", new), f"promotes of {clone} on {new}")
    if isinstance(start, str) or isinstance(promote, str):
        return [text for text in (start, promote) if isinstance(text, str)]
    problems = []
    if not t.waits_for_action(start, promote):
        problems.append(f"{vip} starts on {new} without waiting for the promote")
    pre = grace_round(t, clone)
    notified = {a.node for a in pre}
    alive = t.placement(clone)
    if not alive <= notified:
        problems.append(
            f"{clone}: grace round notified {sorted(n or '' for n in notified)}, "
            f"not every instance alive after: {sorted(alive)}"
        )
    for notification in pre:
        if not t.waits_for_action(promote, notification):
            problems.append(f"{clone} promoted before the notification on {notification.node}")
        problems += _variables(clone, notification, old, new, fenced_outside)
    for demote in t.find(clone, "demote"):
        stops = [a for a in t.find(vip, "stop", demote.node) if a.kind == "rsc_op"]
        if demote.kind == "rsc_op" and stops and not t.waits_for_action(demote, stops[0]):
            problems.append(f"{clone} demoted on {demote.node} before {vip} stopped there")
    return problems


def grace_round(t: Transition, clone: str) -> list[Action]:
    """The notifications in which ganesha_takeover puts each node in grace for a move.

    The pre-demote round when the transition demotes an instance, and the
    pre-promote notification of every instance that round did not reach
    (started by the transition); the pre-promote round otherwise.  The
    agent's ``notify_settled_by`` and its shim answer every other
    pre-promote at once.
    """
    if not t.find(clone, "demote"):
        return t.notifications("pre", "promote", clone)
    early = t.notifications("pre", "demote", clone)
    reached = {a.node for a in early}
    started = {a.node for a in t.find(clone, "start")}
    late = [
        a
        for a in t.notifications("pre", "promote", clone)
        if a.node in started and a.node not in reached
    ]
    return early + late


def _variables(
    clone: str, notification: Action, old: str | None, new: str, fenced_outside: frozenset[str]
) -> list[str]:
    """The variables the agent reads, against where the address was before the transition.

    When it was nowhere (a promote failed in the transition before), only the
    new holder is checked: Pacemaker then names the node whose promote failed.
    """
    expected_previous = " " if old is None or old in fenced_outside else old
    seen = {
        "promote_uname": notification.notify("promote_uname"),
        "demote_uname": notification.notify("demote_uname"),
        "promoted_uname": notification.notify("promoted_uname"),
    }
    expected = {"promote_uname": new}
    if old is not None:
        expected |= {"demote_uname": expected_previous, "promoted_uname": expected_previous}
    return [
        f"{clone} {notification.notify('type')}-{notification.notify('operation')} on "
        f"{notification.node}: {name}={seen[name]!r}, "
        f"expected {expected[name]!r}"
        for name in expected
        if (seen[name] or " ").strip() != expected[name].strip()
    ]


def cost(move: Move) -> Cost:
    t = move.transition
    others = promotes = releases = 0
    clones = set(move.takeover.values())
    for promote in (a for a in t.executed() if a.operation == "promote"):
        if promote.base not in clones:
            continue
        promotes += 1
        demoted = {a.node for a in t.find(promote.base, "demote")}
        others += sum(
            1
            for a in grace_round(t, promote.base)
            if a.node != promote.node and a.node not in demoted
        )
    releases = sum(1 for a in t.executed() if a.operation == "demote" and a.base in clones)
    notifications = sum(1 for a in t.executed() if a.operation == "notify")
    return Cost(
        vips=len(move.moved),
        grace_calls=others + promotes + releases,
        others=others,
        promotes=promotes,
        releases=releases,
        actions=len(t.executed()),
        notifications=notifications,
    )
