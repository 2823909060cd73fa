"""A model of what Pacemaker does with the takeover layout, and nothing more.

The configuration it decides for (``ganesha-agents config``, takeover layout):

- ``nfs-mon-clone`` (ganesha_mon, ``grace_delay=0``) on every node;
- per virtual IP ``H-cluster_ip-1`` (H its home node), a promotable clone
  ``H-takeover-clone`` of ganesha_takeover with ``notify=true``,
  ``promoted-max=1``, running on every node; the VIP is colocated with the
  Promoted role and started after the promote (Mandatory, symmetrical);
- the promotion may go only where ``ganesha-active`` is 1, and prefers nodes
  by the generated configuration's scores
  (:func:`ganesha_agents.config.plan.preferences`), plus INFINITY for the
  node a ``crm_resource --move`` named; a failed promote bans the instance
  from that node for ``failure-timeout`` (``migration-threshold=1``).

On every change (ganesha-active set or deleted, a node lost or fenced, a
node in standby or back, a move or clear) the placement is recomputed and a
transition graph built the way Pacemaker 2.1.5 builds it for this layout
(checked with ``crm_simulate``).  For each clone, in order::

    stop VIP (old node), and at the same time the pre-demote notify
    -> demote (old node), post-demote notify
    -> pre-stop notify, stop (instances leaving), post-stop notify
    -> pre-start notify, start (instances arriving), post-start notify
    -> pre-promote notify, promote (new node), post-promote notify
    -> start VIP (new node)

each stage only when it has something to do.  Notifications go to every
instance on a node the cluster still counts as up, at that point of the
graph (a stopped instance gets no post-stop; an arriving one gets the
post-start and what follows); their ``notify_*`` lists are the whole
transition's, as Pacemaker writes them.  A node lost from the membership is
fenced first, and its stop and demote are then implied (pseudo-actions
whose notifications still go out).  A node fenced from outside the
cluster's decisions has its state erased when the fencing is reported: its
instances simply vanish, with no demote and no notification naming it.

The agents are the real classes, run through ``main()`` with the OCF
environment of each operation, on in-memory backends: one attribute store
for the cluster, per node a :class:`~ganesha_agents.fakes.FakeNFSDaemon`
reading a shared :class:`~ganesha_agents.fakes.FakeAddressRecords`, and a
memory state store.  Time is virtual and every duration comes from
:mod:`ganesha_agents.demo.costs`.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import attrs

from ganesha_agents.config.plan import preferences
from ganesha_agents.config.spec import NodeAddress
from ganesha_agents.demo import costs
from ganesha_agents.demo.graph import Executor, Graph, Op
from ganesha_agents.demo.threadio import PerThreadStderr
from ganesha_agents.demo.timed import ActionDaemon, TimedAttributes
from ganesha_agents.demo.timeline import Timeline
from ganesha_agents.fakes import (
    AttributeChange,
    FakeAddressRecords,
    FakeAttributeStore,
    FakeNFSDaemon,
)
from ganesha_agents.mon import GaneshaMon
from ganesha_agents.takeover import GaneshaTakeover
from ocfkit import ResourceAgent
from ocfkit.state import MemoryStateStore
from ocfkit.testing import OCFEnv, extract_exit_reason
from ocfkit.testing.simulation import VirtualTime

GANESHA_ACTIVE = "ganesha-active"
GRACE_ACTIVE = "grace-active"
MON = "nfs-mon"
PROVIDER = "ganesha"
#: The agents' timeouts in the takeover configuration (ms), as Pacemaker passes them.
TIMEOUTS = {"monitor": 10_000, "notify": 20_000}
DEFAULT_TIMEOUT = 20_000


@attrs.define
class SimNode:
    """A node: its machine, its ganesha.nfsd, its state directory, and what the cluster thinks."""

    name: str
    index: int
    daemon: FakeNFSDaemon
    store: MemoryStateStore = attrs.Factory(MemoryStateStore)
    #: The machine runs (its ganesha.nfsd may still be dead).
    powered: bool = True
    #: In the membership the DC sees.
    member: bool = True
    #: Lost from the membership and not fenced yet.
    unclean: bool = False
    standby: bool = False
    #: After the node rejoined: the resources probed here so far (None: nothing to probe).
    probed: set[str] | None = None

    def needs_probe(self, resource: str) -> bool:
        """Pacemaker probes every resource on a node that (re)joins before starting any there."""
        return self.probed is not None and resource not in self.probed

    @property
    def up(self) -> bool:
        """The cluster counts its instances as running: it gets notifications."""
        return self.member and not self.unclean

    @property
    def can_run(self) -> bool:
        return self.up and not self.standby


@attrs.define
class Address:
    """One virtual IP and its takeover clone, as the cluster records them."""

    home: str
    ip: str
    promoted: str | None = None
    instances: set[str] = attrs.Factory(set)
    #: Where the VIP runs, as recorded.
    location: str | None = None
    #: Where the VIP last ran: whose records its clients are in.
    last_on: str | None = None
    #: The node a ``crm_resource --move`` prefers (its ``cli-prefer-`` constraint).
    prefer: str | None = None
    #: node -> when a failed promote's ban expires.
    bans: dict[str, float] = attrs.Factory(dict)

    @property
    def vip(self) -> str:
        return f"{self.home}-cluster_ip-1"

    @property
    def primitive(self) -> str:
        return f"{self.home}-takeover"

    @property
    def clone(self) -> str:
        return f"{self.home}-takeover-clone"


@attrs.frozen
class VipStart:
    """A VIP start as it began: what the invariant is checked against.

    ``in_grace`` is each node's ganesha.nfsd at that moment: True or False,
    None when it is not running (or the machine is off).
    """

    home: str
    ip: str
    source: str | None
    target: str
    begun: float
    op: Op
    graph: Graph
    in_grace: dict[str, bool | None]


class TakeoverModel:
    """The simulated cluster with the takeover layout: nodes, agents, transitions, addresses."""

    def __init__(
        self,
        node_names: Sequence[str],
        *,
        grace_delay: int = 0,
        drop: Iterable[str] = (),
        clock: VirtualTime | None = None,
    ) -> None:
        self.clock = clock or VirtualTime()
        self.names = list(node_names)
        self.grace_delay = grace_delay
        #: Notifications not delivered (``"pre-promote"``): only to show the check catches it.
        self.drop = frozenset(drop)
        self.stderr = PerThreadStderr(sys.stderr)
        self.timeline = Timeline(self.clock.monotonic())
        self.attributes = FakeAttributeStore(self.clock)
        self.attributes.listeners.append(self._attribute_changed)
        self.records = FakeAddressRecords(self.clock)
        self.nodes = {
            name: SimNode(name, i, FakeNFSDaemon(name, self.clock, records=self._reader(name)))
            for i, name in enumerate(self.names)
        }
        self.node_addresses = tuple(
            NodeAddress(name, f"192.0.2.{i + 1}") for i, name in enumerate(self.names)
        )
        self.addresses = {
            node.name: Address(node.name, str(node.ip)) for node in self.node_addresses
        }
        self.scores = {
            node.name: dict(preferences(self.node_addresses, node)) for node in self.node_addresses
        }
        self.mon_instances: set[str] = set()
        self.executor = Executor(self.clock, costs.NODE_ACTION_LIMIT)
        self.executor.completed.append(self._op_completed)
        self.graphs: list[Graph] = []
        #: Actions run outside transitions: ganesha_mon acting on its watcher.
        self.loose_ops: list[Op] = []
        self.vip_starts: list[VipStart] = []
        self._current: Graph | None = None
        self._pending = False
        self._dirty = False
        self._why: list[str] = []

    def _reader(self, node: str) -> Callable[[str], str | None]:
        return lambda address: self.records.read(node, address)

    # ------------------------------------------------------------------ driving

    def run_for(self, seconds: float) -> None:
        saved, sys.stderr = sys.stderr, self.stderr
        try:
            self.clock.advance(seconds)
        finally:
            sys.stderr = saved

    def settle(self, limit: float = 600.0, step: float = 1.0) -> None:
        """Run until nothing is scheduled any more (at most ``limit`` virtual seconds)."""
        waited = 0.0
        while self.clock.pending and waited < limit:
            self.run_for(step)
            waited += step
        if self.clock.pending:
            raise RuntimeError(f"the simulated cluster is still busy after {limit:.0f} s")

    @property
    def now(self) -> float:
        """Virtual seconds since the model began."""
        return self.clock.monotonic() - self.timeline.origin

    def start(self) -> None:
        """Bring the cluster up: nfs-mon and the clones everywhere, each address at home."""
        self.timeline.add(self.clock.monotonic(), "-", "operator", "cluster start")
        self._cib_changed("cluster start")
        self.settle()

    def note(
        self, node: str, actor: str, action: str, detail: str = "", step: int | None = None
    ) -> None:
        self.timeline.add(self.clock.monotonic(), node, actor, action, detail, step)

    # ------------------------------------------------------------------ faults and requests

    def kill_daemon(self, name: str) -> None:
        self.nodes[name].daemon.kill()
        self.note(name, "operator", "kill -9 ganesha.nfsd")
        self.clock.schedule(costs.DETECTION, self._watcher(name, "ganesha.nfsd is not running"))

    def restart_daemon(self, name: str) -> None:
        self.nodes[name].daemon.revive()
        self.note(name, "operator", "ganesha.nfsd started again", "it begins in grace")
        self.clock.schedule(costs.DETECTION, self._watcher(name, "ganesha.nfsd runs again"))

    def cut_link(self, name: str) -> None:
        """The node's network goes: corosync loses it, the cluster fences it."""
        self.note(name, "operator", "link cut")
        lost = costs.membership_loss(len(self.names))

        def membership() -> None:
            node = self.nodes[name]
            node.member, node.unclean = False, True
            self.attributes.forget_node(name)
            self.note(
                name,
                "corosync",
                "node lost",
                f"no token for {lost:.2f} s: a new membership without it, fencing needed",
                step=1,
            )
            self._cib_changed(f"{name} lost")

        self.clock.schedule(lost, membership)

    def fence_externally(self, name: str, via: str) -> None:
        """``stonith_admin --reboot NAME`` run on ``via``: the cluster learns only afterwards."""
        self.note(via, "operator", f"stonith_admin --reboot {name}")
        lost = costs.membership_loss(len(self.names))

        def switched_off() -> None:
            self._power_off(name)
            self.note(name, "fence agent", "switched off")

        def reported() -> None:
            node = self.nodes[name]
            node.member, node.unclean = False, False
            self.attributes.forget_node(name)
            for address in self.addresses.values():
                address.instances.discard(name)
                if address.promoted == name:
                    address.promoted = None
                if address.location == name:
                    address.location = None
            self.mon_instances.discard(name)
            self.note(
                name,
                "controller",
                "external fencing complete",
                "all state of the node erased: no stop, no demote",
                step=1,
            )
            self._cib_changed(f"{name} fenced from outside")

        self.clock.schedule(costs.FENCE_ACTION, switched_off)
        self.clock.schedule(costs.FENCE_ACTION + lost, reported)

    def boot(self, name: str) -> None:
        """The node is switched on and rejoins the cluster; ganesha.nfsd starts in grace."""
        node = self.nodes[name]
        node.powered = node.member = True
        node.unclean = False
        node.probed = set()
        node.store.values.clear()
        node.daemon.revive()
        self.note(name, "operator", "booted", "rejoins the cluster; ganesha.nfsd starts in grace")
        self._cib_changed(f"{name} joined")

    def move(self, home: str, to: str) -> None:
        address = self.addresses[home]
        address.prefer = to
        self.note(to, "operator", f"crm_resource --move -r {address.vip} --node {to}", step=1)
        self._cib_changed(f"cli-prefer-{address.vip} added")

    def clear(self, home: str) -> None:
        address = self.addresses[home]
        address.prefer = None
        self.note(home, "operator", f"crm_resource --clear -r {address.vip}", step=1)
        self._cib_changed(f"cli-prefer-{address.vip} removed")

    def set_standby(self, name: str, on: bool) -> None:
        self.nodes[name].standby = on
        value = "on" if on else "off"
        self.note(name, "operator", f"crm_attribute -N {name} -n standby -v {value}", step=1)
        self._cib_changed(f"{name} standby {value}")

    def _power_off(self, name: str) -> None:
        node = self.nodes[name]
        node.powered = False
        node.daemon.kill()
        node.store.values.clear()

    def _watcher(self, name: str, seen: str) -> Callable[[], None]:
        """ganesha_mon's watcher noticed: its monitor logic runs now (grace_delay 0)."""

        def process() -> None:
            node = self.nodes[name]
            if name not in self.mon_instances or not node.powered:
                return
            self.note(name, "ganesha_mon", "watcher", seen)
            env = self._mon_env(node).meta(interval=10_000, timeout=TIMEOUTS["monitor"])
            op = Op(f"{MON}_monitor_10000", MON, "monitor", name)
            run = self._agent(op, GaneshaMon, node, "monitor", env).run
            assert run is not None
            op.started = self.clock.monotonic()
            self.clock.sleep(op.lead)
            op.code = run(op)
            op.ended = self.clock.monotonic()
            self.loose_ops.append(op)

        return process

    # ------------------------------------------------------------------ changes -> transitions

    def _attribute_changed(self, change: AttributeChange) -> None:
        verb = (
            f"set {change.name}={change.value}"
            if change.value is not None
            else f"delete {change.name}"
        )
        step = 1 if change.name == GANESHA_ACTIVE else None
        self.timeline.add(change.time, change.node, "attrd", verb, step=step)
        if change.name == GANESHA_ACTIVE:
            self._cib_changed(f"{change.node}: {verb}")

    def _cib_changed(self, why: str) -> None:
        """Something the scheduler reads changed: abort what runs, compute again."""
        self._why.append(why)
        if self._current is not None:
            if not self._current.aborted:
                self._current.abort()
            self._dirty = True
            return
        if not self._pending:
            self._pending = True
            self.clock.schedule(costs.TRANSITION_DELAY, self._transition)

    def _transition(self) -> None:
        self._pending = False
        why, self._why = "; ".join(dict.fromkeys(self._why)), []
        graph = Graph(len(self.graphs) + 1, self.clock.monotonic(), why)
        self._plan(graph)
        if not graph.ops:
            return
        self.graphs.append(graph)
        self._current = graph
        self.executor.run(graph, self._graph_done)

    def _graph_done(self, graph: Graph) -> None:
        self._current = None
        if self._dirty or graph.aborted:
            self._dirty = False
            if not self._why:
                self._why.append(f"transition {graph.number} aborted")
            self._pending = True
            self.clock.schedule(costs.TRANSITION_DELAY, self._transition)

    # ------------------------------------------------------------------ the scheduler

    def target(self, address: Address, live: Sequence[str]) -> str | None:
        """Where the promotion (and so the VIP) goes: the highest score allowed."""
        scores = self.scores[address.home]
        best: tuple[int, str] | None = None
        for name in live:
            if self.attributes.value(name, GANESHA_ACTIVE) != "1":
                continue
            score = scores[name] + (costs.INFINITY if address.prefer == name else 0)
            candidate = (min(score, costs.INFINITY), name)
            if best is None or candidate[0] > best[0]:
                best = candidate
        return best[1] if best else None

    def _live(self, address: Address) -> list[str]:
        now = self.clock.monotonic()
        return [
            name
            for name in self.names
            if self.nodes[name].can_run and address.bans.get(name, 0.0) <= now
        ]

    def _plan(self, graph: Graph) -> None:
        gate: list[Op] = []
        for node in self.nodes.values():
            if node.unclean:
                fence = Op(f"stonith-{node.name}-reboot", "stonith", "fence", None)
                fence.run = self._fence(node)
                gate.append(graph.add(fence))
        self._plan_mon(graph, gate)
        for address in self.addresses.values():
            self._plan_address(graph, address, gate)

    def _plan_mon(self, graph: Graph, gate: list[Op]) -> None:
        for node in self.nodes.values():
            running = node.name in self.mon_instances
            if running and not node.can_run:
                op = Op(f"{MON}_stop_0", MON, "stop", node.name, after=list(gate))
                if not node.unclean:
                    self._agent(op, GaneshaMon, node, "stop", self._mon_env(node))
                graph.add(op)
            elif not running and node.can_run:
                after = list(gate)
                if node.needs_probe(MON):
                    probe = Op(f"{MON}_monitor_0", MON, "monitor", node.name, after=list(gate))
                    self._agent(probe, GaneshaMon, node, "monitor", self._mon_env(node).probe())
                    after = [graph.add(probe)]
                op = Op(f"{MON}_start_0", MON, "start", node.name, after=after)
                self._agent(op, GaneshaMon, node, "start", self._mon_env(node))
                graph.add(op)

    def _plan_address(self, graph: Graph, address: Address, gate: list[Op]) -> None:
        live = self._live(address)
        have = [name for name in self.names if name in address.instances]
        stops = [name for name in have if name not in live]
        starts = [name for name in live if name not in address.instances]
        target = self.target(address, live)
        holder = address.promoted
        moving = holder != target
        vip_moves = address.location != target
        if not (stops or starts or moving or vip_moves):
            return
        lists = self._lists(address, have, holder, target, stops, starts, moving)
        alive = [name for name in have if self.nodes[name].up]
        previous = list(gate)
        home = address.home

        def add(op: Op) -> Op:
            op.home = home
            return graph.add(op)

        def wave(when: str, operation: str, recipients: list[str], after: list[Op]) -> list[Op]:
            ops = []
            if f"{when}-{operation}" not in self.drop:
                for name in recipients:
                    node = self.nodes[name]
                    env = self._clone_env(address, node).notification(
                        when,
                        operation,
                        key_operation=self._key_operation(when, operation, stops),
                        **lists,
                    )
                    op = Op(
                        f"{address.primitive}_{when}_notify_{operation}_0",
                        address.clone,
                        "notify",
                        name,
                        after=list(after),
                        notify=(when, operation),
                    )
                    self._agent(op, GaneshaTakeover, node, "notify", env, address)
                    ops.append(add(op))
            confirmed = Op(
                f"{address.clone}_confirmed-{when}_notify_{operation}_0",
                address.clone,
                "confirmed",
                None,
                after=ops or list(after),
            )
            if f"{when}-{operation}" in self.drop:
                confirmed.remark = (
                    f"notify {when}-{operation} ({address.clone}) NOT delivered "
                    f"to {len(recipients)} instances: dropped on purpose"
                )
            return [add(confirmed)]

        vip_probes: dict[str, list[Op]] = {}
        for name in live:
            if self.nodes[name].needs_probe(address.vip):
                probe = Op(f"{address.vip}_monitor_0", address.vip, "monitor", name)
                probe.after = list(gate)
                probe.run = self._vip(address, "monitor", name)
                vip_probes[name] = [add(probe)]
        before_stop = previous
        if vip_moves and address.location is not None:
            where = self.nodes[address.location]
            stop = Op(f"{address.vip}_stop_0", address.vip, "stop", where.name, after=previous)
            if not where.unclean:
                stop.run = self._vip(address, "stop", where.name)
            previous = [add(stop)]
        if moving and holder is not None:
            # The pre-demote round waits for nothing the address does: it runs
            # while the address stops, and the demote waits for both.
            previous = [*previous, *wave("pre", "demote", alive, before_stop)]
            where = self.nodes[holder]
            demote = Op(f"{address.primitive}_demote_0", address.clone, "demote", holder)
            demote.after = previous
            if not where.unclean:
                self._agent(
                    demote,
                    GaneshaTakeover,
                    where,
                    "demote",
                    self._clone_env(address, where),
                    address,
                )
            previous = wave("post", "demote", alive, [add(demote)])
        if stops:
            previous = wave("pre", "stop", alive, previous)
            stopped = []
            for name in stops:
                where = self.nodes[name]
                op = Op(f"{address.primitive}_stop_0", address.clone, "stop", name, after=previous)
                if not where.unclean:
                    self._agent(
                        op, GaneshaTakeover, where, "stop", self._clone_env(address, where), address
                    )
                stopped.append(add(op))
            alive = [name for name in alive if name not in stops]
            previous = wave("post", "stop", alive, stopped)
        if starts:
            previous = wave("pre", "start", alive, previous)
            started = []
            for name in starts:
                where = self.nodes[name]
                after = previous
                if where.needs_probe(address.clone):
                    probe = Op(
                        f"{address.primitive}_monitor_0", address.clone, "monitor", name,
                        after=list(gate),
                    )  # fmt: skip
                    self._agent(
                        probe,
                        GaneshaTakeover,
                        where,
                        "monitor",
                        self._clone_env(address, where).probe(),
                        address,
                    )
                    after = [*previous, add(probe)]
                op = Op(f"{address.primitive}_start_0", address.clone, "start", name, after=after)
                self._agent(
                    op, GaneshaTakeover, where, "start", self._clone_env(address, where), address
                )
                started.append(add(op))
            alive = [*alive, *starts]
            previous = wave("post", "start", alive, started)
        if moving and target is not None:
            previous = wave("pre", "promote", alive, previous)
            where = self.nodes[target]
            promote = Op(f"{address.primitive}_promote_0", address.clone, "promote", target)
            promote.after = previous
            self._agent(
                promote, GaneshaTakeover, where, "promote", self._clone_env(address, where), address
            )
            previous = wave("post", "promote", alive, [add(promote)])
        if vip_moves and target is not None:
            after = [*previous, *vip_probes.get(target, [])]
            start = Op(f"{address.vip}_start_0", address.vip, "start", target, after=after)
            start.run = self._vip(address, "start", target)
            add(start)

    def _lists(
        self,
        address: Address,
        have: list[str],
        holder: str | None,
        target: str | None,
        stops: list[str],
        starts: list[str],
        moving: bool,
    ) -> dict[str, Any]:
        """The ``notify_*`` lists of this transition, as (instance, node) pairs."""

        def pairs(names: Iterable[str | None]) -> list[tuple[str, str]]:
            return [
                (f"{address.primitive}:{self.nodes[n].index}", n) for n in names if n is not None
            ]

        return {
            "active": pairs(have),
            "promoted": pairs([holder]),
            "unpromoted": pairs(n for n in have if n != holder),
            "promote": pairs([target] if moving else []),
            "demote": pairs([holder] if moving else []),
            "start": pairs(starts),
            "stop": pairs(stops),
            "inactive": [
                f"{address.primitive}:{self.nodes[n].index}"
                for n in self.names
                if n not in address.instances
            ],
            "available": [n for n in self.names if self.nodes[n].can_run],
            "all": self.names,
        }

    def _key_operation(self, when: str, operation: str, stops: list[str]) -> str | None:
        """``stonith`` for the post-stop of stops implied by fencing, as Pacemaker writes it."""
        if when == "post" and operation == "stop" and any(self.nodes[n].unclean for n in stops):
            return "stonith"
        return None

    # ------------------------------------------------------------------ environments

    def _clone_env(self, address: Address, node: SimNode) -> OCFEnv:
        return (
            OCFEnv(instance=address.primitive, resource_type="ganesha_takeover", provider=PROVIDER)
            .clone(instance=node.index, max=len(self.names), notify=True)
            .meta(promotable="true", promoted_max=1, promoted_node_max=1)
            .on_node(node.name, str(node.index + 1))
            .params(ip=address.ip)
        )

    def _mon_env(self, node: SimNode) -> OCFEnv:
        return (
            OCFEnv(instance=MON, resource_type="ganesha_mon", provider=PROVIDER)
            .clone(instance=node.index, max=len(self.names), notify=False)
            .on_node(node.name, str(node.index + 1))
            .params(grace_delay=self.grace_delay)
        )

    # ------------------------------------------------------------------ what ops do

    def _agent(
        self,
        op: Op,
        agent_class: type[ResourceAgent[Any]],
        node: SimNode,
        action: str,
        env: OCFEnv,
        address: Address | None = None,
    ) -> Op:
        """Make ``op`` one operation of a real agent, as Pacemaker's executor runs it on ``node``.

        The process takes ``AGENT_PROCESS`` to start before the action acts.
        """
        timeout = TIMEOUTS.get(action, DEFAULT_TIMEOUT)
        if "OCF_RESKEY_CRM_meta_interval" in env and action == "monitor":
            timeout = TIMEOUTS["monitor"]
        env = env.meta(timeout=timeout)

        def run(op: Op) -> int:
            backends: dict[str, Any] = {
                "attributes": TimedAttributes(self.attributes.for_node(node.name), self.clock),
                "daemon": ActionDaemon(node.daemon, self.clock, op.calls),
                "clock": self.clock,
                "state_store": node.store,
                "node_name": node.name,
            }
            if agent_class is GaneshaTakeover:
                backends["records"] = self.records.for_node(node.name)
            agent = agent_class(**backends)
            with self.stderr.capture() as captured:
                code = agent.main([agent_class.name, action], env)
            op.said = captured.getvalue()
            op.reason = extract_exit_reason(op.said) or ""
            return code

        op.run = run
        op.lead = costs.AGENT_PROCESS
        return op

    def _vip(self, address: Address, action: str, node: str) -> Callable[[Op], int]:
        def run(op: Op) -> int:
            if action == "start":
                self.vip_starts.append(
                    VipStart(
                        address.home,
                        address.ip,
                        address.last_on,
                        node,
                        self.clock.monotonic(),
                        op,
                        self._graph_of(op),
                        self._grace_now(),
                    )
                )
            if action == "monitor":
                # A probe: IPaddr2 finds the address is not configured here.
                self.clock.sleep(costs.AGENT_PROCESS)
                return 7
            self.clock.sleep(costs.VIP_ACTION)
            return 0

        return run

    def _graph_of(self, op: Op) -> Graph:
        return next(g for g in reversed(self.graphs) if op in g.ops)

    def _grace_now(self) -> dict[str, bool | None]:
        seen: dict[str, bool | None] = {}
        for name, node in self.nodes.items():
            daemon = node.daemon
            seen[name] = daemon.in_grace() if node.powered and daemon.alive else None
        return seen

    def _fence(self, node: SimNode) -> Callable[[Op], int]:
        def run(op: Op) -> int:
            self.clock.sleep(costs.FENCE_ACTION)
            self._power_off(node.name)
            node.unclean = False
            self.note(node.name, "fencer", "fenced", "switched off by the cluster", step=1)
            return 0

        return run

    def _op_completed(self, graph: Graph, op: Op) -> None:
        """The cluster's record of what an op did (the CIB status section)."""
        if op.node is None or op.code is None:
            return
        node = self.nodes[op.node]
        if op.key.endswith("_monitor_0") and node.probed is not None:
            node.probed.add(op.resource)
            if len(node.probed) == 1 + 2 * len(self.addresses):
                node.probed = None
            return
        if op.resource == MON:
            if op.operation == "start" and op.code == 0:
                self.mon_instances.add(op.node)
            elif op.operation == "stop":
                self.mon_instances.discard(op.node)
            return
        if op.home is None:
            return
        address = self.addresses[op.home]
        if op.resource == address.vip:
            if op.operation == "stop":
                address.location = None
            elif op.operation == "start":
                address.location = address.last_on = op.node
            return
        if op.operation == "start" and op.code == 0:
            address.instances.add(op.node)
        elif op.operation == "stop":
            address.instances.discard(op.node)
            if address.promoted == op.node:
                address.promoted = None
        elif op.operation == "demote":
            address.promoted = None
        elif op.operation == "promote":
            # A failed promote leaves the instance promoted-and-failed: the next
            # transition demotes and stops it there (migration-threshold=1).
            address.promoted = op.node
            if op.code != 0:
                address.bans[op.node] = self.clock.monotonic() + costs.FAILURE_TIMEOUT
                self.clock.schedule(
                    costs.FAILURE_TIMEOUT, lambda: self._cib_changed("failure-timeout expired")
                )
