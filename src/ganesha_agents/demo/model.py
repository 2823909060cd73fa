"""A model of what Pacemaker does with the NFS-Ganesha HA configuration, and nothing more.

It decides as the generated configuration makes Pacemaker decide:

- ``nfs-mon`` (ganesha_mon) runs on every node and is monitored every 10 s;
- ``nfs-grace`` (ganesha_grace, notify on the clone) may run only where
  ``grace-active`` is 1; when its placement changes, a transition stops and
  starts instances with pre- and post- notifications to the active instances
  (the ``notify_*`` lists hold the whole transition, as Pacemaker's do);
- each node's virtual IP may run only where ``ganesha-active`` is 1, on the
  allowed node with the highest preference score (home first, then the
  others as ``ganesha_agents.config`` scores them), and only after the
  transition's nfs-grace actions (the order constraints between
  ``nfs-grace-clone`` and each VIP);
- an attribute change reaches the scheduler a moment later
  (``TRANSITION_DELAY``: attrd's CIB write plus the scheduler run).

Agents run as Pacemaker runs them: a fresh instance per action, ``main()``
with the OCF environment of that operation, each node with its own attribute
view, daemon and state directory.  Time is virtual
(``ocfkit.testing.simulation.VirtualTime``): every operation is a simulated
process, so ganesha_mon's grace_delay is a real ``sleep`` on that clock during
which the other nodes' operations run, as they would on a cluster.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from typing import Any

import attrs

from ganesha_agents.config.plan import failover_targets
from ganesha_agents.config.spec import NodeAddress
from ganesha_agents.demo.threadio import PerThreadStderr
from ganesha_agents.demo.timeline import Timeline
from ganesha_agents.fakes import (
    AttributeChange,
    FakeAttrdTracker,
    FakeAttributeStore,
    FakeNFSDaemon,
    FakeWatcherControl,
    MemoryLock,
)
from ganesha_agents.grace import GaneshaGrace
from ganesha_agents.mon import GaneshaMon
from ocfkit import ExitCode, ResourceAgent
from ocfkit.state import MemoryStateStore
from ocfkit.testing import OCFEnv, extract_exit_reason
from ocfkit.testing.simulation import VirtualTime

TRANSITION_DELAY = 0.2
MON_INTERVAL = 10.0
GRACE_INTERVAL = 5.0
GANESHA_ACTIVE = "ganesha-active"
GRACE_ACTIVE = "grace-active"


def preference_order(nodes: Sequence[str], home: str) -> list[str]:
    """Where a node's VIP may run, best first: home, then the failover targets.

    The scores are the generated configuration's (ganesha-ha.sh's); the
    addresses are placeholders from the documentation range, never used.
    """
    addresses = tuple(NodeAddress(name, f"192.0.2.{i + 1}") for i, name in enumerate(nodes))
    return [home, *failover_targets(addresses, addresses[list(nodes).index(home)])]


@attrs.define
class SimulatedNode:
    name: str
    index: int
    daemon: FakeNFSDaemon
    state: MemoryStateStore = attrs.Factory(MemoryStateStore)
    grace_running: bool = False
    grace_failed: bool = False


class PacemakerModel:
    """The simulated cluster: nodes, agents, transitions and virtual IPs."""

    def __init__(
        self,
        node_names: Sequence[str],
        *,
        grace_delay: int = 5,
        clock: VirtualTime | None = None,
        verbose: bool = False,
    ) -> None:
        self.clock = clock or VirtualTime()
        self.stderr = PerThreadStderr(sys.stderr)
        self.timeline = Timeline(self.clock.monotonic())
        self.attributes = FakeAttributeStore(self.clock)
        self.attributes.listeners.append(self._attribute_changed)
        self.names = list(node_names)
        self.nodes = {
            name: SimulatedNode(name, i, FakeNFSDaemon(name, self.clock))
            for i, name in enumerate(self.names)
        }
        self.grace_delay = grace_delay
        self.verbose = verbose
        self.vip_location: dict[str, str | None] = dict.fromkeys(self.names)
        for node in self.nodes.values():
            node.daemon.check_listeners.append(self._liveness_seen(node))
        self._transition_pending = False
        self._timers_running = False

    # ------------------------------------------------------------- agents

    def environment(self, node: SimulatedNode, resource: str, rsc_type: str) -> OCFEnv:
        return (
            OCFEnv(instance=resource, resource_type=rsc_type, provider="ganesha")
            .clone(instance=node.index, max=len(self.names), notify=resource == "nfs-grace")
            .on_node(node.name, str(node.index + 1))
            .set(HA_debug="0")
        )

    def run(
        self,
        node: SimulatedNode,
        agent_class: type[ResourceAgent[Any]],
        action: str,
        env: OCFEnv,
    ) -> int:
        """One operation, as Pacemaker's executor would run it on ``node``."""
        # ganesha_mon runs without its watcher process here (watch=false):
        # detection is the monitor's, as the timeline shows it.
        extra: dict[str, Any] = (
            {"lock": MemoryLock(), "watchers": FakeWatcherControl(), "attrd": FakeAttrdTracker()}
            if agent_class is GaneshaMon
            else {}
        )
        agent = agent_class(  # type: ignore[call-arg]
            **extra,
            attributes=self.attributes.for_node(node.name),
            daemon=node.daemon,
            clock=self.clock,
            state_store=node.state,
        )
        saved, sys.stderr = sys.stderr, self.stderr
        try:
            with self.stderr.capture() as captured:
                code = agent.main([agent_class.name, action], env)
        finally:
            sys.stderr = saved
        reason = extract_exit_reason(captured.getvalue())
        if self.verbose and captured.getvalue().strip():
            sys.stdout.write(captured.getvalue())
        if code not in (ExitCode.SUCCESS, ExitCode.NOT_RUNNING) or (reason and action != "monitor"):
            self.timeline.add(
                self.clock.monotonic(),
                node.name,
                agent_class.name,
                f"{action} -> {ExitCode.describe(code)}",
                reason or "",
            )
        return code

    def mon(self, node: SimulatedNode, action: str, interval_ms: int = 0) -> int:
        env = (
            self.environment(node, "nfs-mon", "ganesha_mon")
            .meta(interval=interval_ms, timeout=10_000 if action == "monitor" else 40_000)
            .params(grace_delay=self.grace_delay, watch="false")
        )
        return self.run(node, GaneshaMon, action, env)

    def grace(self, node: SimulatedNode, action: str, env: OCFEnv | None = None) -> int:
        base = env or self.environment(node, "nfs-grace", "ganesha_grace")
        timeout = {"monitor": 10_000, "notify": 10_000}.get(action, 40_000)
        return self.run(node, GaneshaGrace, action, base.meta(timeout=timeout))

    # -------------------------------------------------------------- start-up

    def start(self) -> None:
        """Start the cluster: nfs-mon everywhere, then nfs-grace, then the VIPs; then the timers."""
        for node in self.nodes.values():
            self.mon(node, "start")
        self._transition()
        self._timers_running = True
        for node in self.nodes.values():
            # Pacemaker starts recurring monitors right after the start; stagger them.
            self.clock.schedule(
                1.0 + 2.3 * node.index % MON_INTERVAL, self._monitor_timer(node, "mon")
            )
            self.clock.schedule(
                0.5 + 1.1 * node.index % GRACE_INTERVAL, self._monitor_timer(node, "grace")
            )

    def _monitor_timer(self, node: SimulatedNode, which: str) -> Callable[[], None]:
        interval = MON_INTERVAL if which == "mon" else GRACE_INTERVAL

        def tick() -> None:
            if not self._timers_running:
                return
            if which == "mon":
                self.mon(node, "monitor", int(MON_INTERVAL * 1000))
            elif node.grace_running:
                env = self.environment(node, "nfs-grace", "ganesha_grace").meta(
                    interval=int(interval * 1000)
                )
                code = self.grace(node, "monitor", env)
                if code != ExitCode.SUCCESS:
                    node.grace_failed = True
                    self._schedule_transition()
            self.clock.schedule(interval, tick)

        return tick

    def _liveness_seen(self, node: SimulatedNode) -> Callable[[bool], None]:
        """Mark the first check that finds a dead daemon: step 1 of the seed's example."""
        seen_dead = False

        def seen(alive: bool) -> None:
            nonlocal seen_dead
            if not alive and not seen_dead:
                self.timeline.add(
                    self.clock.monotonic(),
                    node.name,
                    "ganesha_mon",
                    "monitor",
                    "ganesha.nfsd is not running",
                    step=1,
                )
            seen_dead = not alive

        return seen

    # ----------------------------------------------------------- transitions

    def _attribute_changed(self, change: AttributeChange) -> None:
        verb = (
            f"set {change.name}={change.value}"
            if change.value is not None
            else f"delete {change.name}"
        )
        step = None
        if change.value is None:
            step = 2 if change.name == GRACE_ACTIVE else 5
        self.timeline.add(change.time, change.node, "attrd", verb, step=step)
        self._schedule_transition()

    def _schedule_transition(self) -> None:
        if not self._transition_pending and self._timers_running:
            self._transition_pending = True
            self.clock.schedule(TRANSITION_DELAY, self._transition)

    def _grace_allowed(self, node: SimulatedNode) -> bool:
        return self.attributes.value(node.name, GRACE_ACTIVE) == "1" and not node.grace_failed

    def _transition(self) -> None:
        self._transition_pending = False
        running = [n for n in self.nodes.values() if n.grace_running]
        stopping = [n for n in running if not self._grace_allowed(n)]
        starting = [
            n for n in self.nodes.values() if not n.grace_running and self._grace_allowed(n)
        ]
        if stopping or starting:
            self._grace_transition(running, stopping, starting)
        self._place_vips()

    def _notify(
        self,
        when: str,
        operation: str,
        targets: list[SimulatedNode],
        active: list[SimulatedNode],
        stopping: list[SimulatedNode],
        starting: list[SimulatedNode],
    ) -> None:
        def pairs(nodes: list[SimulatedNode]) -> list[tuple[str, str]]:
            return [(f"nfs-grace:{n.index}", n.name) for n in nodes]

        for node in targets:
            env = self.environment(node, "nfs-grace", "ganesha_grace").notification(
                when,
                operation,
                start=pairs(starting),
                stop=pairs(stopping),
                active=pairs(active),
                inactive=[f"nfs-grace:{n.index}" for n in self.nodes.values() if n not in active],
                available=self.names,
                all=self.names,
            )
            before = len(node.daemon.grace_calls)
            self.grace(node, "notify", env)
            names = " ".join(n.name for n in (stopping if operation == "stop" else starting))
            for call in node.daemon.grace_calls[before:]:
                self.timeline.add(
                    call.time,
                    node.name,
                    "ganesha_grace",
                    f"notify {when}-{operation} ({names})",
                    f'grace("{call.argument}")',
                    step=4 if call.argument.startswith("5:") else None,
                )

    def _grace_transition(
        self,
        running: list[SimulatedNode],
        stopping: list[SimulatedNode],
        starting: list[SimulatedNode],
    ) -> None:
        now = self.clock.monotonic()
        for node in stopping:
            self.timeline.add(
                now, node.name, "pacemaker", "stop nfs-grace", "grace-active is not 1 here", step=3
            )
        for node in starting:
            self.timeline.add(
                now, node.name, "pacemaker", "start nfs-grace", "grace-active is 1 here"
            )
        if stopping:
            self._notify("pre", "stop", running, running, stopping, starting)
            for node in stopping:
                self.grace(node, "stop")
                node.grace_running = False
            remaining = [n for n in running if n not in stopping]
            self._notify("post", "stop", remaining, running, stopping, starting)
            running = remaining
        if starting:
            self._notify("pre", "start", running, running, stopping, starting)
            for node in starting:
                code = self.grace(node, "start")
                if code == ExitCode.SUCCESS:
                    node.grace_running = True
                else:
                    node.grace_failed = True
            active = [n for n in self.nodes.values() if n.grace_running]
            self._notify("post", "start", active, active, stopping, starting)

    def _place_vips(self) -> None:
        for home in self.names:
            allowed = [
                n
                for n in preference_order(self.names, home)
                if self.attributes.value(n, GANESHA_ACTIVE) == "1"
            ]
            target = allowed[0] if allowed else None
            current = self.vip_location[home]
            if target == current:
                continue
            self.vip_location[home] = target
            vip = f"{home}-cluster_ip-1"
            if target is None:
                self.timeline.add(
                    self.clock.monotonic(),
                    current or home,
                    "pacemaker",
                    f"stop {vip}",
                    "no node has ganesha-active=1",
                )
            else:
                moved = current is not None
                self.timeline.add(
                    self.clock.monotonic(),
                    target,
                    "pacemaker",
                    f"start {vip}",
                    f"moved from {current}" if moved else "",
                    step=5 if moved and target != home else None,
                )

    # ------------------------------------------------------------ faults

    def kill_daemon(self, name: str) -> None:
        self.nodes[name].daemon.kill()
        self.timeline.add(self.clock.monotonic(), name, "operator", "kill -9 ganesha.nfsd")

    def revive_daemon(self, name: str) -> None:
        self.nodes[name].daemon.revive()
        self.nodes[name].grace_failed = False
        self.timeline.add(self.clock.monotonic(), name, "operator", "restart ganesha.nfsd")

    def run_for(self, seconds: float) -> None:
        self.clock.advance(seconds)

    def stop(self) -> None:
        self._timers_running = False
