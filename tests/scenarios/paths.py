"""Every way a virtual IP moves, each run once from a healthy cluster and back to healthy.

A path breaks something the way it breaks in production, follows the VIP to
its new node, then undoes the break (failback) and follows the VIP home.
Each move is checked with :func:`tests.scenarios.moves.check`; the path's
timeline carries the figures.  The same functions serve the test suite (one
run each, invariant asserted) and the report command (many runs, figures and
violations counted): see ``tests/scenarios/campaign.py``.

Paths: ``kill`` (kill -9 ganesha.nfsd), ``link`` (a node's link cut: the
cluster fences it), ``fence`` (``stonith_admin --reboot`` from another node),
``move`` (``crm_resource --move`` then ``--clear``), ``standby`` (node
standby, then back), ``two`` (two daemons killed at once).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

from ganesha_agents import state_volume
from ocfkit.lab.recorder import Recorder
from tests.scenarios.evidence import also_on, fence_complete, vip_added
from tests.scenarios.ha import GRACE_PERIOD, HaCluster, vip_resource
from tests.scenarios.logs import LogLine, select
from tests.scenarios.moves import Move, Verdict, check
from tests.scenarios.timeline import Timeline

#: How long a VIP may take to come up elsewhere before the path gives up on it.
MOVE_TIMEOUT = 60.0


@dataclass
class PathRun:
    """One run of a path: its timeline and the verdict on every move it caused."""

    path: str
    stack: str
    timeline: Timeline
    verdicts: list[Verdict] = field(default_factory=list)
    new_failures: list[str] = field(default_factory=list)

    @property
    def violations(self) -> list[str]:
        return [v for verdict in self.verdicts for v in verdict.violations]


# -- what the logs say ------------------------------------------------------------------------


def detection(lines: list[LogLine], node: str) -> LogLine | None:
    """ganesha_mon's first word (watcher or monitor) that ganesha.nfsd is gone on ``node``."""
    found = select(lines, node=node, program="ganesha_mon", contains="ganesha.nfsd is not running")
    return found[0] if found else None


def vip_stopped(lines: list[LogLine], vip_home: str, node: str) -> LogLine | None:
    found = select(
        lines,
        node=node,
        program="pacemaker-controld",
        startswith=f"Result of stop operation for {vip_resource(vip_home)} on {node}: ok",
    )
    return found[0] if found else None


# -- the parts every path shares ----------------------------------------------------------------


class Watch:
    """One break observed: marks the logs, records samples, and checks the moves it caused."""

    def __init__(self, ha: HaCluster, name: str, fault: str) -> None:
        self.ha = ha
        self.mark = ha.logs.mark()
        # The invariant needs the VIP and grace samples only; attributes come from the logs.
        self.rec: Recorder = ha.recorder(attributes=False)
        self.timeline = Timeline(name, fault, time.time())
        self.lines: list[LogLine] = []
        self.glog: dict[str, list[str]] = {}
        self.failures_before = set(ha.failed_actions())

    def __enter__(self) -> Watch:
        self.rec.start()
        self.timeline.t0 = time.time()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.rec.stop()
        self.lines = self.ha.logs.since(self.mark)
        self.glog = self.ha.logs.ganesha_since(self.mark)

    def wait_vip(self, vip: str, node: str, timeout: float = MOVE_TIMEOUT) -> bool:
        return bool(self.rec.wait("vip", lambda v: also_on(node)(v.get(vip)), timeout))

    def check(self, move: Move, running: list[str], records_of: str | None) -> Verdict:
        ha = self.ha
        stack = ha.stack
        records = None
        if stack.takes_over_by_address and records_of is not None:
            records = state_volume.recovery_root(ha.volume, records_of)
        verdict = check(
            move,
            self.rec,
            self.lines,
            self.glog,
            since=self.timeline.t0,
            running=running,
            by_address=stack.takes_over_by_address,
            agent_logs_grace=stack.agents is not None,
            records=records,
        )
        tl = self.timeline
        if verdict.up is not None:
            tl.sampled(f"{move.vip} on {move.target}", verdict.up, move.target)
        tl.sampled("in grace (get_grace)", verdict.target_grace, move.target)
        for node, seen in verdict.survivors.items():
            tl.sampled("in grace (get_grace)", seen, node)
        tl.log(f"took over {move.vip}'s clients", verdict.takeover)
        tl.log(f"{move.vip} added", vip_added(self.lines, move.target, move.vip))
        return verdict

    def new_failures(self) -> list[str]:
        return sorted(set(self.ha.failed_actions()) - self.failures_before)


def wait_out_of_grace(ha: HaCluster, nodes: list[str]) -> None:
    ha.lab.wait_for(
        lambda: all(ha.lab.ganesha_in_grace(n) is not True for n in nodes),
        GRACE_PERIOD + 15,
        f"{' '.join(nodes)} out of grace",
        interval=0.2,
    )


def failback_gap(watch: Watch, move: Move) -> None:
    """The time the address answered nowhere, from the logs and from the samples."""
    tl = watch.timeline
    assert move.source is not None
    stopped = tl.log(
        f"{move.vip} stopped on {move.source}", vip_stopped(watch.lines, move.home, move.source)
    )
    added = vip_added(watch.lines, move.target, move.vip)
    tl.interval("VIP nowhere (logs: stop done to add)", stopped, added.time if added else None)
    gone = also_on(move.source)
    left = watch.rec.first("vip", move.vip, lambda v: not gone(v), tl.t0)
    back = watch.rec.first("vip", move.vip, also_on(move.target), tl.t0)
    if left is not None and back is not None:
        tl.figure("VIP nowhere (sampled, at most)", back.latest - left.earliest)


def settle(ha: HaCluster) -> None:
    ha.lab.wait_for(lambda: ha.lab.idle(ha.live_nodes()[0]), 60, "the DC idle", interval=0.2)


# -- the paths ----------------------------------------------------------------------------------


def kill(ha: HaCluster) -> list[PathRun]:
    """kill -9 ganesha.nfsd on node2, then start it again: failover and failback."""
    dead = "node2"
    target, vip = ha.failover_target(dead), ha.vips[dead]
    others = ha.others(dead)
    with Watch(ha, "kill", f"kill -9 ganesha.nfsd on {dead}") as w:
        t0 = time.time()
        ha.lab.kill_ganesha(dead)
        w.wait_vip(vip, target)
        settle(ha)
    out = Move(vip, dead, dead, target)
    verdict = w.check(out, others, records_of=dead)
    tl = w.timeline
    tl.add(f"ganesha.nfsd on {dead} killed", t0, "test", dead)
    detected = tl.log("ganesha_mon: ganesha.nfsd is not running", detection(w.lines, dead))
    tl.interval("kill to detection", t0, detected)
    tl.interval("detection to VIP up", detected, verdict.up.earliest if verdict.up else None)
    tl.interval("kill to VIP up (sampled, at most)", t0, verdict.up.latest if verdict.up else None)
    first = PathRun("kill", ha.stack.name, tl, [verdict], w.new_failures())

    wait_out_of_grace(ha, others)
    with Watch(ha, "kill: failback", f"ganesha.nfsd started again on {dead}") as w:
        t1 = time.time()
        ha.lab.start_ganesha(dead)
        w.wait_vip(vip, dead)
        settle(ha)
    back = Move(vip, dead, target, dead)
    verdict = w.check(back, list(ha.nodes), records_of=target)
    w.timeline.add(f"ganesha.nfsd on {dead} started", t1, "test", dead)
    w.timeline.interval("start to VIP home (sampled, at most)", t1, _latest(verdict))
    failback_gap(w, back)
    second = PathRun("kill: failback", ha.stack.name, w.timeline, [verdict], w.new_failures())
    return [first, second]


def _latest(verdict: Verdict) -> float | None:
    return verdict.up.latest if verdict.up else None


def _lost_node(ha: HaCluster, name: str, victim: str, fault: Callable[[], None]) -> list[PathRun]:
    """A node lost (its link cut, or fenced from outside), then booted again."""
    target, vip = ha.failover_target(victim), ha.vips[victim]
    others = ha.others(victim)
    with Watch(ha, name, f"{name} {victim}") as w:
        t0 = time.time()
        fault()
        w.wait_vip(vip, target)
        settle(ha)
    verdict = w.check(Move(vip, victim, victim, target), others, records_of=victim)
    tl = w.timeline
    tl.add(name, t0, "test", victim)
    fenced = tl.log(f"{victim} fenced", fence_complete(w.lines, victim))
    tl.interval("fault to fenced", t0, fenced)
    tl.interval("fenced to VIP up", fenced, verdict.up.earliest if verdict.up else None)
    tl.interval("fault to VIP up (sampled, at most)", t0, _latest(verdict))
    first = PathRun(name, ha.stack.name, tl, [verdict], w.new_failures())

    wait_out_of_grace(ha, others)
    with Watch(ha, f"{name}: failback", f"{victim} booted") as w:
        t1 = time.time()
        ha.lab.boot(victim)
        w.wait_vip(vip, victim, MOVE_TIMEOUT + 30)
        settle(ha)
    back = Move(vip, victim, target, victim)
    # The booted node's ganesha starts in grace by itself; the others must be put there.
    verdict = w.check(back, list(ha.nodes), records_of=target)
    w.timeline.add(f"{victim} booted", t1, "test", victim)
    w.timeline.interval("boot to VIP home (sampled, at most)", t1, _latest(verdict))
    failback_gap(w, back)
    second = PathRun(f"{name}: failback", ha.stack.name, w.timeline, [verdict], w.new_failures())
    return [first, second]


def link(ha: HaCluster) -> list[PathRun]:
    """node3's link cut: the cluster fences it; then it is booted again."""
    victim = "node3"
    return _lost_node(ha, "link", victim, lambda: ha.lab.link_down(victim))


def fence(ha: HaCluster) -> list[PathRun]:
    """``stonith_admin --reboot node2`` from node4, nothing dead before; then it boots."""
    victim, witness = "node2", "node4"
    return _lost_node(ha, "fence", victim, lambda: ha.lab.fence(victim, via=witness))


def _graceful(
    ha: HaCluster,
    name: str,
    home: str,
    target: str,
    away: Callable[[], None],
    back: Callable[[], None],
) -> list[PathRun]:
    """A VIP moved away from a healthy home by an operator, then allowed home again."""
    vip = ha.vips[home]
    with Watch(ha, name, f"{name} {vip}") as w:
        t0 = time.time()
        away()
        w.wait_vip(vip, target)
        settle(ha)
    out = Move(vip, home, home, target)
    verdict = w.check(out, list(ha.nodes), records_of=home)
    w.timeline.add(name, t0, "test", home)
    w.timeline.interval("request to VIP up elsewhere (sampled, at most)", t0, _latest(verdict))
    failback_gap(w, out)
    first = PathRun(name, ha.stack.name, w.timeline, [verdict], w.new_failures())

    wait_out_of_grace(ha, list(ha.nodes))
    with Watch(ha, f"{name}: back", f"{name} undone") as w:
        t1 = time.time()
        back()
        w.wait_vip(vip, home)
        settle(ha)
    home_again = Move(vip, home, target, home)
    verdict = w.check(home_again, list(ha.nodes), records_of=target)
    w.timeline.add(f"{name} undone", t1, "test", home)
    w.timeline.interval("request to VIP home (sampled, at most)", t1, _latest(verdict))
    failback_gap(w, home_again)
    second = PathRun(f"{name}: back", ha.stack.name, w.timeline, [verdict], w.new_failures())
    return [first, second]


def move(ha: HaCluster) -> list[PathRun]:
    """``crm_resource --move`` node4's VIP to node1, then ``--clear``."""
    home, target = "node4", "node1"
    resource = vip_resource(home)

    def run(argv: list[str]) -> None:
        done = ha.lab.exec(ha.live_nodes()[0], argv, timeout=30)
        assert done.returncode == 0, done.stderr

    return _graceful(
        ha,
        "move",
        home,
        target,
        lambda: run(["crm_resource", "--move", "-r", resource, "--node", target]),
        lambda: run(["crm_resource", "--clear", "-r", resource]),
    )


def standby(ha: HaCluster) -> list[PathRun]:
    """node1 in standby (its VIP moves to its failover target), then online again."""
    home = "node1"
    target = ha.failover_target(home)

    def run(value: str) -> None:
        argv = ["crm_attribute", "-N", home, "-n", "standby", "-v", value]
        done = ha.lab.exec(ha.live_nodes()[0], argv, timeout=30)
        assert done.returncode == 0, done.stderr

    return _graceful(ha, "standby", home, target, lambda: run("on"), lambda: run("off"))


def two(ha: HaCluster) -> list[PathRun]:
    """ganesha.nfsd killed on node2 and node4 at once: two VIPs move together."""
    dead = ["node2", "node4"]
    survivors = ha.others(*dead)
    targets = {d: ha.failover_target(d) for d in dead}
    with Watch(ha, "two", f"kill -9 ganesha.nfsd on {' and '.join(dead)}") as w:
        t0 = time.time()
        for node in dead:
            ha.lab.kill_ganesha(node)
        for d in dead:
            w.wait_vip(ha.vips[d], targets[d])
        settle(ha)
    verdicts = [w.check(Move(ha.vips[d], d, d, targets[d]), survivors, records_of=d) for d in dead]
    for d in dead:
        w.timeline.add(f"ganesha.nfsd on {d} killed", t0, "test", d)
        detected = w.timeline.log("ganesha_mon: not running", detection(w.lines, d))
        w.timeline.interval(f"kill to detection on {d}", t0, detected)
    ups = [v.up.latest for v in verdicts if v.up]
    if len(ups) == len(dead):
        w.timeline.interval("kill to last VIP up (sampled, at most)", t0, max(ups))
    first = PathRun("two", ha.stack.name, w.timeline, verdicts, w.new_failures())

    wait_out_of_grace(ha, survivors)
    with Watch(ha, "two: failback", "both ganesha.nfsd started again") as w:
        for node in dead:
            ha.lab.start_ganesha(node)
        for d in dead:
            w.wait_vip(ha.vips[d], d)
        settle(ha)
    verdicts = [
        w.check(Move(ha.vips[d], d, targets[d], d), list(ha.nodes), records_of=targets[d])
        for d in dead
    ]
    second = PathRun("two: failback", ha.stack.name, w.timeline, verdicts, w.new_failures())
    return [first, second]


PATHS: dict[str, Callable[[HaCluster], list[PathRun]]] = {
    "kill": kill,
    "link": link,
    "fence": fence,
    "move": move,
    "standby": standby,
    "two": two,
}
