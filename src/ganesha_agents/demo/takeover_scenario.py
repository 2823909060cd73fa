"""The takeover demo's paths, and the invariant every move of a virtual IP must keep.

The invariant, for a VIP moving from node X to node Y: before the VIP's
start begins on Y (the earliest moment the address may answer there),

1. Y's ganesha.nfsd accepted ``grace("5:<VIP>")`` since the fault, reading
   the records of X (the recovery root the call read is X's), and is in grace;
2. every other running ganesha.nfsd accepted a grace call since the fault,
   and is in grace.

A VIP that comes back to the node it left after that node released its
clients (``2:<VIP>`` on its demote, e.g. when the promote elsewhere failed)
is a move too, X = Y: the clients it released must be taken over again.

The paths are those of the lab's scenarios (``tests/scenarios/paths.py``):
``kill`` (kill -9 ganesha.nfsd), ``link`` (a node's link cut: the cluster
fences it), ``fence`` (``stonith_admin --reboot`` from another node),
``move`` (``crm_resource --move``, then ``--clear``), ``standby`` (node
standby, then back), ``two`` (two daemons killed at once), and one more:
``refuse`` (a daemon killed while the node its VIP should go to cannot be
put in grace: the promote fails there, and the VIP goes to the next node,
which must still take over the first node's records).  Each can undo its
fault afterwards (failback), which moves the VIP again.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence

import attrs

from ganesha_agents.config.plan import failover_targets
from ganesha_agents.demo import costs
from ganesha_agents.demo.takeover_model import TakeoverModel, VipStart
from ganesha_agents.fakes import FakeAddressRecords, GraceCall

PATHS = ("kill", "link", "fence", "move", "standby", "two", "refuse")
MAX_NODES = 32
#: Virtual seconds between cluster start (or a phase) and the next fault: every
#: grace period has ended, so "in grace" at the VIP's start means a new one.
QUIET = costs.GRACE_PERIOD + 30.0


@attrs.frozen
class MoveVerdict:
    """One move of a VIP and what was true when its start began on the new node."""

    phase: str
    start: VipStart
    fault_at: float
    up: float | None
    takeover: GraceCall | None
    expected_records: str | None
    others: dict[str, GraceCall | None]
    grace_calls: int
    problems: tuple[str, ...]

    @property
    def holds(self) -> bool:
        return not self.problems

    @property
    def vip(self) -> str:
        return f"{self.start.home}-cluster_ip-1"

    @property
    def fault_to_up(self) -> float | None:
        return None if self.up is None else self.up - self.fault_at

    @property
    def decision_to_up(self) -> float | None:
        return None if self.up is None else self.up - self.start.graph.started


@attrs.frozen
class Phase:
    """One fault (or its undoing) and the moves it caused."""

    name: str
    fault: str
    at: float
    verdicts: tuple[MoveVerdict, ...]
    missing: tuple[str, ...]

    @property
    def holds(self) -> bool:
        return not self.missing and all(v.holds for v in self.verdicts)


@attrs.frozen
class TakeoverOutcome:
    path: str
    nodes: tuple[str, ...]
    phases: tuple[Phase, ...]
    model: TakeoverModel

    @property
    def holds(self) -> bool:
        return all(p.holds for p in self.phases)

    @property
    def verdicts(self) -> list[MoveVerdict]:
        return [v for p in self.phases for v in p.verdicts]


def check(
    model: TakeoverModel,
    phase: str,
    start: VipStart,
    fault_at: float,
    since: float | None = None,
) -> MoveVerdict:
    """The invariant for one VIP start, from the daemons' own records of accepted grace calls.

    Only grace calls accepted after ``since`` count (the fault, or this VIP's
    previous start when it moves twice): each move needs its own.
    """
    problems: list[str] = []
    vip = f"{start.home}-cluster_ip-1"
    since = fault_at if since is None else since

    def accepted(node: str) -> list[GraceCall]:
        calls = model.nodes[node].daemon.grace_calls
        return [c for c in calls if since <= c.time <= start.begun]

    expected = None if start.source is None else FakeAddressRecords.root_of(start.source)
    takeovers = [c for c in accepted(start.target) if c.argument == f"5:{start.ip}"]
    takeover = takeovers[-1] if takeovers else None
    if start.source is not None and (start.source != start.target or released(model, start, since)):
        if takeover is None:
            problems.append(
                f"{start.target} did not take over 5:{start.ip} before {vip} started there"
            )
        elif takeover.records != expected:
            problems.append(
                f"{start.target} took over 5:{start.ip} reading {takeover.records}, "
                f"not the previous holder's records ({expected})"
            )
    if start.in_grace.get(start.target) is not True:
        problems.append(f"{start.target} was not in grace when {vip} started there")
    others: dict[str, GraceCall | None] = {}
    for node, in_grace in start.in_grace.items():
        if node == start.target or in_grace is None:
            continue
        calls = accepted(node)
        others[node] = calls[-1] if calls else None
        if not calls:
            problems.append(f"{node} accepted no grace call before {vip} started on {start.target}")
        elif not in_grace:
            problems.append(f"{node} was not in grace when {vip} started on {start.target}")
    up = start.op.ended
    if up is None or start.op.code != 0:
        problems.append(f"{vip} did not come up on {start.target}")
    count = sum(
        len(op.calls)
        for graph in model.graphs
        if since <= graph.started <= start.begun
        for op in graph.ops
        if op.home == start.home
    )
    return MoveVerdict(
        phase, start, fault_at, up, takeover, expected, others, count, tuple(problems)
    )


def released(model: TakeoverModel, start: VipStart, since: float) -> bool:
    """Whether the VIP's new node released the address's clients (``2:``) since ``since``."""
    calls = model.nodes[start.target].daemon.grace_calls
    return any(c.argument == f"2:{start.ip}" and since <= c.time <= start.begun for c in calls)


class Driver:
    """Runs a path's phases on a model and checks every move."""

    def __init__(self, model: TakeoverModel) -> None:
        self.model = model
        self.phases: list[Phase] = []

    def phase(
        self,
        name: str,
        fault: str,
        act: Callable[[], None],
        expected: Sequence[tuple[str, str]],
    ) -> None:
        """Wait until every grace period is over, ``act``, run until quiet, check the moves."""
        model = self.model
        model.run_for(QUIET)
        at = model.clock.monotonic()
        already = len(model.vip_starts)
        act()
        model.settle()
        verdicts = []
        previous: dict[str, float] = {}
        for start in model.vip_starts[already:]:
            since = previous.get(start.home, at)
            if start.source != start.target or released(model, start, since):
                verdicts.append(check(model, name, start, at, since))
            previous[start.home] = start.begun
        missing = []
        for home in dict.fromkeys(home for home, _target in expected):
            vip = f"{home}-cluster_ip-1"
            wanted = [target for h, target in expected if h == home]
            went = [v.start.target for v in verdicts if v.start.home == home]
            if went != wanted:
                missing.append(
                    f"{vip} went to {' then '.join(went) or 'no node'}; the configuration's "
                    f"scores say {' then '.join(wanted)}"
                )
        self.phases.append(Phase(name, fault, at, tuple(verdicts), tuple(missing)))


def node_names(count: int) -> list[str]:
    return [f"node{i}" for i in range(1, count + 1)]


def default_victims(path: str, names: Sequence[str]) -> tuple[str, ...]:
    """The lab's choices, where the cluster has the nodes for them."""
    if path in ("kill", "refuse"):
        return ("node2",)
    if path == "link":
        return ("node3",)
    if path == "fence":
        return ("node2",)
    if path == "standby":
        return ("node1",)
    if path == "two":
        return ("node2", "node4") if len(names) >= 4 else ("node2", "node3")
    return ()


def check_request(path: str, nodes: int, fail: Sequence[str]) -> tuple[str, ...]:
    """The nodes the path breaks; ValueError saying why when the request makes no sense."""
    if path not in PATHS:
        raise ValueError(f"no such path: {path} (paths are {', '.join(PATHS)})")
    if not 2 <= nodes <= MAX_NODES:
        raise ValueError(f"the takeover demo runs 2 to {MAX_NODES} nodes, not {nodes}")
    names = node_names(nodes)
    if path in ("link", "fence", "two", "refuse") and nodes < 3:
        raise ValueError(f"--path {path} needs at least 3 nodes (quorum, or a survivor)")
    if path == "move":
        if fail:
            raise ValueError("--path move moves the last node's VIP to node1; it takes no --fail")
        return ()
    victims = tuple(dict.fromkeys(fail)) or default_victims(path, names)
    unknown = [n for n in victims if n not in names]
    if unknown:
        raise ValueError(f"no such node: {', '.join(unknown)} (nodes are {', '.join(names)})")
    if path in ("link", "fence", "standby", "refuse") and len(victims) != 1:
        raise ValueError(f"--path {path} breaks one node, not {len(victims)}")
    if path == "two" and len(victims) != 2:
        raise ValueError(f"--path two kills two daemons, not {len(victims)}")
    if len(victims) >= nodes:
        raise ValueError("at least one node must keep its ganesha.nfsd")
    return victims


def run(
    path: str = "kill",
    nodes: int = 4,
    *,
    fail: Sequence[str] = (),
    failback: bool = False,
    grace_delay: int = 0,
    drop: Sequence[str] = (),
) -> TakeoverOutcome:
    """Start a cluster of ``nodes``, break it along ``path``, optionally undo it; check every move.

    ``drop`` names notifications not to deliver (``pre-promote``): only to
    show that the check notices what they do.
    """
    victims = check_request(path, nodes, fail)
    names = node_names(nodes)
    model = TakeoverModel(names, grace_delay=grace_delay, drop=drop)
    model.start()
    driver = Driver(model)
    PLAYS[path](driver, victims, failback)
    model.settle()
    return TakeoverOutcome(path, tuple(names), tuple(driver.phases), model)


def first_target(model: TakeoverModel, home: str, unavailable: Sequence[str]) -> str:
    """Where the configuration's scores send ``home``'s VIP while ``unavailable`` cannot hold it."""
    nodes = model.node_addresses
    home_address = next(n for n in nodes if n.name == home)
    return next(n for n in failover_targets(nodes, home_address) if n not in unavailable)


def _kill(driver: Driver, victims: tuple[str, ...], failback: bool) -> None:
    model = driver.model
    name = "kill" if len(victims) == 1 else "two"
    expected = [(v, first_target(model, v, victims)) for v in victims]

    def kill() -> None:
        for victim in victims:
            model.kill_daemon(victim)

    driver.phase(name, f"kill -9 ganesha.nfsd on {' and '.join(victims)}", kill, expected)
    if failback:

        def restart() -> None:
            for victim in victims:
                model.restart_daemon(victim)

        back = f"ganesha.nfsd started again on {' and '.join(victims)}"
        driver.phase(f"{name}: failback", back, restart, [(v, v) for v in victims])


def _link(driver: Driver, victims: tuple[str, ...], failback: bool) -> None:
    model = driver.model
    (victim,) = victims
    expected = [(victim, first_target(model, victim, victims))]
    driver.phase("link", f"{victim}'s link cut", lambda: model.cut_link(victim), expected)
    if failback:
        driver.phase(
            "link: failback", f"{victim} booted", lambda: model.boot(victim), [(victim, victim)]
        )


def _fence(driver: Driver, victims: tuple[str, ...], failback: bool) -> None:
    model = driver.model
    (victim,) = victims
    via = next(n for n in reversed(model.names) if n != victim)
    expected = [(victim, first_target(model, victim, victims))]
    fault = f"stonith_admin --reboot {victim} on {via}"
    driver.phase("fence", fault, lambda: model.fence_externally(victim, via), expected)
    if failback:
        driver.phase(
            "fence: failback", f"{victim} booted", lambda: model.boot(victim), [(victim, victim)]
        )


def _move(driver: Driver, victims: tuple[str, ...], failback: bool) -> None:
    model = driver.model
    home, to = model.names[-1], model.names[0]
    vip = f"{home}-cluster_ip-1"
    driver.phase(
        "move", f"crm_resource --move {vip} to {to}", lambda: model.move(home, to), [(home, to)]
    )
    if failback:
        driver.phase(
            "move: clear", f"crm_resource --clear {vip}", lambda: model.clear(home), [(home, home)]
        )


def _standby(driver: Driver, victims: tuple[str, ...], failback: bool) -> None:
    model = driver.model
    (node,) = victims
    expected = [(node, first_target(model, node, victims))]
    driver.phase("standby", f"{node} in standby", lambda: model.set_standby(node, True), expected)
    if failback:
        driver.phase(
            "standby: off",
            f"{node} online again",
            lambda: model.set_standby(node, False),
            [(node, node)],
        )


def _refuse(driver: Driver, victims: tuple[str, ...], failback: bool) -> None:
    model = driver.model
    (victim,) = victims
    refuser = first_target(model, victim, victims)
    then = first_target(model, victim, (victim, refuser))

    def act() -> None:
        model.nodes[refuser].daemon.fail_next(1, "org.freedesktop.DBus.Error.NoReply: timed out")
        model.kill_daemon(victim)

    fault = f"kill -9 ganesha.nfsd on {victim}; {refuser}'s does not answer its grace call"
    # After failure-timeout the scores bring the address to the node that refused.
    driver.phase("refuse", fault, act, [(victim, then), (victim, refuser)])
    if failback:
        back = f"ganesha.nfsd started again on {victim}"
        driver.phase(
            "refuse: failback", back, lambda: model.restart_daemon(victim), [(victim, victim)]
        )


PLAYS: dict[str, Callable[[Driver, tuple[str, ...], bool], None]] = {
    "refuse": _refuse,
    "kill": _kill,
    "two": _kill,
    "link": _link,
    "fence": _fence,
    "move": _move,
    "standby": _standby,
}


def scale(
    sizes: Sequence[int], paths: Sequence[str] = PATHS
) -> list[tuple[int, float, TakeoverOutcome]]:
    """Every path with its failback at every size: (nodes, wall-clock seconds, outcome)."""
    rows = []
    for nodes in sizes:
        for path in paths:
            began = time.perf_counter()
            outcome = run(path, nodes, failback=True)
            rows.append((nodes, time.perf_counter() - began, outcome))
    return rows
