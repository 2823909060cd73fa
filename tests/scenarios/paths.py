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

The failure paths (``kill``, ``link``, ``fence``) also follow NFSv4.1
clients through both moves (:mod:`tests.scenarios.clients`): state held
through the VIP before the fault must be reclaimed on the node that takes
the address over, and again on the home node after the failback (with
state first taken while the address was away), while a second client is
refused the held ranges.
The operators' paths (``move``, ``standby``), where the old holder stays
up, follow one such client through both moves: its open and lock must be
reclaimed on the new node and again at home, which needs the old holder's
demote to let go of it.  What they saw goes into the timeline's figures and
counts, and what broke into :attr:`PathRun.client_problems`.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

from ganesha_agents import state_volume
from ocfkit.lab.recorder import Recorder
from tests.scenarios.clients import (
    Holder,
    ganesha_state_log,
    granted,
    handles,
    lock_release_watch,
    release_matches,
    shared_file,
    witness,
)
from tests.scenarios.evidence import also_on, fence_complete, vip_added
from tests.scenarios.ha import GRACE_PERIOD, HaCluster, vip_resource
from tests.scenarios.logs import LogLine, select
from tests.scenarios.moves import Move, Verdict, check
from tests.scenarios.timeline import Timeline

#: How long a VIP may take to come up elsewhere before the path gives up on it.
MOVE_TIMEOUT = 60.0
#: How long a client may take to notice a move and reclaim (or be refused).
RECLAIM_TIMEOUT = 30.0
#: How long the evidence of a refused reclaim is followed (the old holder's lock, until it goes).
EVIDENCE_TIMEOUT = 40.0


@dataclass
class PathRun:
    """One run of a path: its timeline and the verdict on every move it caused."""

    path: str
    stack: str
    timeline: Timeline
    verdicts: list[Verdict] = field(default_factory=list)
    new_failures: list[str] = field(default_factory=list)
    #: What the NFS clients met that HA must not give them: a refused reclaim,
    #: a lock granted to another client, data lost, handles that differ by node.
    client_problems: list[str] = field(default_factory=list)

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


@dataclass(frozen=True)
class Failure:
    """How a path loses ``victim``'s server and brings it back, and what it logs of both.

    The clients' part of a failover and its failback is the same whoever
    caused it; what differs is the break, the undoing, and the path's own
    figures (``noted``: the detection of a dead daemon, or the fencing of
    a lost node).
    """

    path: str
    victim: str
    #: The break, as the timeline names it, and the call that causes it.
    fault: str
    cause: Callable[[], object]
    #: The undoing (the daemon started, the node booted), as the timeline names it.
    recovery: str
    recover: Callable[[], object]
    #: The first word of the failback's figure: "<word> to VIP home (sampled, at most)".
    recovery_word: str
    #: The path's own figures of the failover, from its watch and its verdict (t0: the fault).
    noted: Callable[[Watch, Verdict, float], None]
    #: How long the VIP may take to come home after the recovery.
    home_timeout: float = MOVE_TIMEOUT


def failover_and_back(ha: HaCluster, failure: Failure) -> list[PathRun]:
    """``failure`` and its undoing, each followed by NFSv4.1 clients of the victim's VIP.

    A client (client a) holds an open and a write lock on the shared export
    through the victim's VIP; it must reclaim both on the node that takes
    the address over, and on the victim after the failback, where a second
    client (client c) that took its state while the address was away must
    reclaim too.  The witness, on a third node, asks for the held range
    before, during and after each grace.
    """
    dead = failure.victim
    target, vip = ha.failover_target(dead), ha.vips[dead]
    others = ha.others(dead)
    reader = ha.client_for(dead, target)
    other = ha.client_for(dead, target, reader)
    name_a, name_c = f"held-{failure.path}-a", f"held-{failure.path}-c"
    path_a, path_c = shared_file(ha, name_a), shared_file(ha, name_c)
    same = handles(ha, reader, path_a)
    problems: list[str] = []
    if len(set(same.values())) != 1:
        problems.append(f"{path_a}'s file handle differs between nodes: {same}")
    held = Holder.through(ha, "a", reader, vip, path_a, lock_release_watch(ha, name_a, vip))
    held.start(b"written through " + dead.encode())
    late: Holder | None = None
    try:
        before = witness(ha, other, vip, path_a)
        with Watch(ha, failure.path, failure.fault) as w:
            t0 = time.time()
            failure.cause()
            w.wait_vip(vip, target)
            held.wait_outcomes(1, RECLAIM_TIMEOUT)
            during = witness(ha, other, vip, path_a)
            during_grace = ha.lab.ganesha_in_grace(target)
            settle(ha)
        out = Move(vip, dead, dead, target)
        verdict = w.check(out, others, records_of=dead)
        tl = w.timeline
        failure.noted(w, verdict, t0)
        tl.observations[f"{path_a}'s file handle by node"] = {
            node: fh.hex() if isinstance(fh, bytes) else fh for node, fh in same.items()
        }
        problems += follow(tl, held, 1, target, t0)
        wait_out_of_grace(ha, others)
        after = witness(ha, other, vip, path_a)
        problems += witnessed(tl, held, target, before, during, during_grace, after)
        first = PathRun(failure.path, ha.stack.name, tl, [verdict], w.new_failures(), problems)

        # A client whose state was first taken on the target, while the address was there.
        late = Holder.through(ha, "c", other, vip, path_c, lock_release_watch(ha, name_c, vip))
        late.start(b"written through " + target.encode())
        problems = []
        debug = ganesha_state_log(ha, target, "NIV_DEBUG")
        with Watch(ha, f"{failure.path}: failback", failure.recovery) as w:
            t1 = time.time()
            failure.recover()
            w.wait_vip(vip, dead, failure.home_timeout)
            if held.holds:
                held.wait_outcomes(2, RECLAIM_TIMEOUT)
            late.wait_outcomes(1, RECLAIM_TIMEOUT)
            during = witness(ha, other, vip, path_a)
            during_grace = ha.lab.ganesha_in_grace(dead)
            settle(ha)
        if debug:
            ganesha_state_log(ha, target, "NIV_EVENT")
        back = Move(vip, dead, target, dead)
        # The victim's ganesha starts in grace by itself; the others must be put there.
        verdict = w.check(back, list(ha.nodes), records_of=target)
        tl = w.timeline
        if debug:
            # ganesha's own word on which of its clients the demote's releases let go:
            # 2:<VIP>, then one 2:<owner> per client that used the address.
            tl.observations[f"{target}'s releases compared"] = release_matches(w.glog[target])
            released = [ln for ln in w.glog[target] if "recovery release ip" in ln]
            tl.observations[f"{target}'s release calls"] = len(released)
        released_by_owner(w, target, vip)
        tl.add(failure.recovery, t1, "test", dead)
        tl.interval(f"{failure.recovery_word} to VIP home (sampled, at most)", t1, _latest(verdict))
        failback_gap(w, back)
        left = _left(w, back)
        problems += follow(tl, held, 2, dead, left)
        problems += follow(tl, late, 1, dead, left)
        wait_out_of_grace(ha, [dead])
        after = witness(ha, other, vip, path_a)
        problems += witnessed(tl, held, dead, None, during, during_grace, after)
        after_c = witness(ha, reader, vip, path_c)
        tl.observations[f"witness on {path_c} after grace"] = after_c
        tl.count("conflicting lock grants", int(late.holds and granted(after_c)))
        if late.holds and granted(after_c):
            problems.append(f"a second client was granted {path_c}'s lock held by client c")
        second = PathRun(
            f"{failure.path}: failback", ha.stack.name, tl, [verdict], w.new_failures(), problems
        )
    finally:
        held.stop()
        if late is not None:
            late.stop()
    return [first, second]


def first_sign(
    fault: str,
    node: str,
    words: tuple[str, str],
    sign: str,
    find: Callable[[list[LogLine]], LogLine | None],
) -> Callable[[Watch, Verdict, float], None]:
    """A failover's own figures, for :attr:`Failure.noted`: from the fault to the
    first sign of it in the logs (``find``), and from there to the VIP up.

    ``words`` name the fault and the sign in the figures ("kill to detection",
    "detection to VIP up", "kill to VIP up (sampled, at most)").
    """
    fault_word, sign_word = words

    def noted(w: Watch, verdict: Verdict, t0: float) -> None:
        tl = w.timeline
        tl.add(fault, t0, "test", node)
        seen = tl.log(sign, find(w.lines))
        tl.interval(f"{fault_word} to {sign_word}", t0, seen)
        tl.interval(f"{sign_word} to VIP up", seen, verdict.up.earliest if verdict.up else None)
        tl.interval(f"{fault_word} to VIP up (sampled, at most)", t0, _latest(verdict))

    return noted


def kill(ha: HaCluster) -> list[PathRun]:
    """kill -9 ganesha.nfsd on node2, then start it again: failover and failback."""
    dead = "node2"
    noted = first_sign(
        f"ganesha.nfsd on {dead} killed",
        dead,
        ("kill", "detection"),
        "ganesha_mon: ganesha.nfsd is not running",
        lambda lines: detection(lines, dead),
    )
    return failover_and_back(
        ha,
        Failure(
            "kill",
            dead,
            f"kill -9 ganesha.nfsd on {dead}",
            lambda: ha.lab.kill_ganesha(dead),
            f"ganesha.nfsd on {dead} started",
            lambda: ha.lab.start_ganesha(dead),
            "start",
            noted,
        ),
    )


def released_by_owner(watch: Watch, node: str, vip: str) -> None:
    """The old holder's demote releasing the address's clients by owner, on the timeline."""
    found = select(watch.lines, node=node, program="ganesha_takeover", contains="released ")
    watch.timeline.log(f"released {vip}'s clients by owner", found[0] if found else None)


def _left(watch: Watch, move: Move) -> float | None:
    """When the address left its holder (the first sample without it), for the outage."""
    assert move.source is not None
    gone = also_on(move.source)
    left = watch.rec.first("vip", move.vip, lambda v: not gone(v), watch.timeline.t0)
    return left.earliest if left is not None else None


def follow(
    tl: Timeline, holder: Holder, number: int, server: str, fault: float | None
) -> list[str]:
    """The ``number``-th recovery of ``holder`` (on ``server``) on the timeline; its problems."""
    name = f"client {holder.name}"
    if holder.outcomes() < number:
        if holder.refused:
            tl.observations[f"{name} on {server}"] = "nothing to reclaim: lost at an earlier move"
            return []
        tl.count("reclaims not attempted")
        return [f"{name} did not notice the move to {server} within {RECLAIM_TIMEOUT:.0f}s"]
    ended = (holder.recoveries + holder.refused)[number - 1]
    for when, how in holder.losses[number - 1 : number]:
        tl.add(f"{name}: read failed ({how})", when, "client", holder.node)
    steps = " ".join(
        f"{s.name}={s.outcome} ({s.duration * 1000:.0f} ms, {s.attempts}x)" for s in ended.steps
    )
    tl.observations[f"{name} on {server}"] = steps
    if ended.last_ok_before is not None:
        tl.add(f"{name}: last op answered", ended.last_ok_before, "client", holder.node)
    if not ended.ok:
        tl.count("reclaims refused")
        status = ended.steps[-1].outcome if ended.steps else "?"
        tl.count(f"reclaim refused at {ended.failed_step}: {status}")
        if ended.steps:
            last = ended.steps[-1]
            refused = last.started + last.duration
            tl.add(
                f"{name}: {ended.failed_step} refused ({status})", refused, "client", holder.node
            )
            if fault is not None:
                tl.figure(f"{name}: fault to refusal", refused - fault)
        holder.wait_evidence(EVIDENCE_TIMEOUT)
        for what, value in holder.evidence.items():
            tl.observations[f"{name}: {what}"] = value
        retried = holder.evidence.get("reclaim retried once the locks were gone")
        if retried is not None:
            tl.count(f"refused reclaims retried once the old holder's lock went: {retried}")
        return [f"{name}'s reclaim on {server} refused at {ended.failed_step}: {ended.error}"]
    tl.count("reclaims granted")
    tl.add(
        f"{name}: read through the reclaimed state",
        ended.first_ok_after or 0,
        "client",
        holder.node,
    )
    tl.figure(
        f"{name}: outage (last op answered to first read on the reclaimed state)", ended.outage
    )
    if fault is not None and ended.first_ok_after is not None:
        tl.figure(
            f"{name}: fault to first read on the reclaimed state", ended.first_ok_after - fault
        )
    if ended.mode != "reclaimed":
        return [f"{name} on {server}: {ended.mode}, not a reclaim ({steps})"]
    if not ended.data_intact:
        return [f"{name} on {server}: the data read after the reclaim is not what was written"]
    return []


def witnessed(
    tl: Timeline,
    holder: Holder,
    server: str,
    before: dict[str, str] | None,
    during: dict[str, str],
    during_grace: bool | None,
    after: dict[str, str],
) -> list[str]:
    """What the second client was answered for ``holder``'s range; grants are conflicts."""
    problems: list[str] = []
    name = f"client {holder.name}"
    asked = {"before the move": before, "in grace": during, "after grace": after}
    conflicts = 0
    for when, answers in asked.items():
        if answers is None:
            continue
        tl.observations[f"witness on {holder.path} {when} ({server})"] = answers
        if granted(answers) and holder.holds:
            conflicts += 1
            problems.append(f"a second client was granted {name}'s lock {when} on {server}")
    tl.count("conflicting lock grants", conflicts)
    if not holder.holds:
        return problems
    if during_grace and "NFS4ERR_GRACE" not in (during.get("lockt"), during.get("open")):
        problems.append(
            f"the second client in {server}'s grace was not told NFS4ERR_GRACE: {during}"
        )
    if not during_grace:
        tl.observations[f"{server} in grace when the witness asked"] = during_grace
    for when, answers in (("before the move", before), ("after grace", after)):
        if answers is not None and answers.get("lock") != "NFS4ERR_DENIED":
            problems.append(f"the second client {when} on {server} was not denied: {answers}")
    return problems


def _latest(verdict: Verdict) -> float | None:
    return verdict.up.latest if verdict.up else None


def _lost_node(ha: HaCluster, name: str, victim: str, fault: Callable[[], None]) -> list[PathRun]:
    """A node lost (its link cut, or fenced from outside), then booted again."""
    noted = first_sign(
        name,
        victim,
        ("fault", "fenced"),
        f"{victim} fenced",
        lambda lines: fence_complete(lines, victim),
    )
    return failover_and_back(
        ha,
        Failure(
            name,
            victim,
            f"{name} {victim}",
            fault,
            f"{victim} booted",
            lambda: ha.lab.boot(victim),
            "boot",
            noted,
            home_timeout=MOVE_TIMEOUT + 30,
        ),
    )


def link(ha: HaCluster) -> list[PathRun]:
    """node3's link cut: the cluster fences it; then it is booted again."""
    victim = "node3"
    return _lost_node(ha, "link", victim, lambda: ha.lab.link_down(victim))


def fence(ha: HaCluster) -> list[PathRun]:
    """``stonith_admin --reboot node2`` from node4, nothing dead before; then it boots."""
    victim, via = "node2", "node4"
    return _lost_node(ha, "fence", victim, lambda: ha.lab.fence(victim, via=via))


def _graceful(
    ha: HaCluster,
    name: str,
    home: str,
    target: str,
    away: Callable[[], None],
    back: Callable[[], None],
) -> list[PathRun]:
    """A VIP moved away from a healthy home by an operator, then allowed home again.

    The old holder's ganesha stays up on both moves, so they are the moves
    where its demote must let go of the address's clients: an NFSv4.1
    client (on a third node) holds an open and a lock through the VIP, and
    must reclaim both on the new node, then again at home.
    """
    vip = ha.vips[home]
    reader = ha.client_for(home, target)
    path = shared_file(ha, f"held-{name}")
    held = Holder.through(ha, "a", reader, vip, path, lock_release_watch(ha, f"held-{name}", vip))
    held.start(b"written through " + home.encode())
    try:
        with Watch(ha, name, f"{name} {vip}") as w:
            t0 = time.time()
            away()
            w.wait_vip(vip, target)
            held.wait_outcomes(1, RECLAIM_TIMEOUT)
            settle(ha)
        out = Move(vip, home, home, target)
        verdict = w.check(out, list(ha.nodes), records_of=home)
        w.timeline.add(name, t0, "test", home)
        released_by_owner(w, home, vip)
        w.timeline.interval("request to VIP up elsewhere (sampled, at most)", t0, _latest(verdict))
        failback_gap(w, out)
        problems = follow(w.timeline, held, 1, target, _left(w, out))
        first = PathRun(name, ha.stack.name, w.timeline, [verdict], w.new_failures(), problems)

        wait_out_of_grace(ha, list(ha.nodes))
        with Watch(ha, f"{name}: back", f"{name} undone") as w:
            t1 = time.time()
            back()
            w.wait_vip(vip, home)
            if held.holds:
                held.wait_outcomes(2, RECLAIM_TIMEOUT)
            settle(ha)
        home_again = Move(vip, home, target, home)
        verdict = w.check(home_again, list(ha.nodes), records_of=target)
        w.timeline.add(f"{name} undone", t1, "test", home)
        released_by_owner(w, target, vip)
        w.timeline.interval("request to VIP home (sampled, at most)", t1, _latest(verdict))
        failback_gap(w, home_again)
        problems = follow(w.timeline, held, 2, home, _left(w, home_again))
        second = PathRun(
            f"{name}: back", ha.stack.name, w.timeline, [verdict], w.new_failures(), problems
        )
    finally:
        held.stop()
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
