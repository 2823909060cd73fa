"""Questions the scenarios ask of the logs and of the samples, one small function each.

The agents' lines carry the resource instance and the pid of the action
that wrote them: every grace call a notification led to is logged by that
notify action, so grouping the calls by pid tells how many notifications
a node received and which nodes each one named.  ganesha.nfsd's own log
counts the calls it accepted, independently of the agents.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Hashable, Iterable, Mapping
from dataclasses import dataclass

from tests.scenarios.logs import LogLine, select

#: Pacemaker stamps its lines to the millisecond, truncated.
MS = 0.002
DETECTION = "ganesha.nfsd is not running: deleting grace-active"
REVIVAL = "ganesha.nfsd runs: ganesha-active and grace-active set to 1"


def first(lines: list[LogLine]) -> LogLine | None:
    return lines[0] if lines else None


def detection(lines: Iterable[LogLine], node: str) -> LogLine | None:
    """ganesha_mon's first word that the daemon is gone."""
    return first(select(lines, node=node, program="ganesha_mon", startswith=DETECTION))


def revival(lines: Iterable[LogLine], node: str) -> LogLine | None:
    return first(select(lines, node=node, program="ganesha_mon", startswith=REVIVAL))


def ganesha_active_deleted(lines: Iterable[LogLine], node: str) -> LogLine | None:
    return first(
        select(lines, node=node, program="ganesha_mon", startswith="deleted ganesha-active")
    )


def grace_calls(lines: Iterable[LogLine], node: str, argument: str) -> list[LogLine]:
    """Calls with ``argument`` that ganesha on ``node`` accepted, as the agent logged them."""
    return select(
        lines, node=node, program="ganesha_grace", startswith=f"grace('{argument}'): Started"
    )


def notifications(lines: Iterable[LogLine], node: str) -> list[list[str]]:
    """The grace arguments ganesha_grace sent on ``node``, one list per notify action."""
    by_pid: dict[int, list[str]] = {}
    for line in select(lines, node=node, program="ganesha_grace", startswith="grace('"):
        by_pid.setdefault(line.pid, []).append(line.text.split("'")[1])
    return list(by_pid.values())


def takeovers(ganesha_log: Mapping[str, list[str]], node: str, dead: str) -> int:
    """``grace("5:<dead>")`` calls as ganesha.nfsd on ``node`` itself reports them."""
    return sum(line.endswith(f"recovery event 5 nodeid -1 ip {dead}") for line in ganesha_log[node])


def grace_periods(ganesha_log: Mapping[str, list[str]], node: str) -> int:
    """Grace periods ganesha on ``node`` started, whatever the event."""
    return sum("NFS Server Now IN GRACE" in line for line in ganesha_log[node])


def vip_added(lines: Iterable[LogLine], node: str, vip: str) -> LogLine | None:
    """IPaddr2's line just before it adds the address."""
    return first(
        select(lines, node=node, program="IPaddr2", startswith=f"Adding inet address {vip}/")
    )


def attrd_deleted(lines: Iterable[LogLine], node: str, name: str) -> LogLine | None:
    """attrd on ``node`` taking the deletion of ``name`` for ``node``."""
    return first(
        select(
            lines,
            node=node,
            program="pacemaker-attrd",
            startswith=f"Setting {name}[{node}]: 1 -> (unset)",
        )
    )


def op_done(lines: Iterable[LogLine], rsc: str, op: str, node: str) -> LogLine | None:
    """The controller on ``node`` reporting ``op`` of ``rsc`` there as done."""
    return first(
        select(
            lines,
            node=node,
            program="pacemaker-controld",
            startswith=f"Result of {op} operation for {rsc} on {node}: ok",
        )
    )


def notify_sent(lines: Iterable[LogLine], node: str, kind: str) -> LogLine | None:
    """The DC sending ``node`` an nfs-grace notification of ``kind`` (post_notify_stop...)."""
    pattern = re.compile(rf"nfs-grace_{kind}_0 (?:locally )?on {re.escape(node)}\b")
    return first(
        [
            line
            for line in lines
            if line.program == "pacemaker-controld"
            and line.text.startswith("Initiating notify operation")
            and pattern.search(line.text)
        ]
    )


def fence_complete(lines: Iterable[LogLine], target: str) -> LogLine | None:
    return first(
        select(
            lines,
            program="pacemaker-fenced",
            startswith=f"Operation 'reboot' targeting {target} by",
        )
    )


def fence_agent_done(lines: Iterable[LogLine]) -> LogLine | None:
    """The fencer that ran the device saying the agent returned."""
    return first(select(lines, program="pacemaker-fenced", startswith="Operation 'reboot' ["))


@dataclass(frozen=True)
class Transition:
    """A transition a DC ran, with the nodes where it does ``verb`` to nfs-grace instances."""

    dc: str
    number: int
    nodes: tuple[str, ...]


_CALCULATED = re.compile(r"Calculated transition (\d+)")
_PROCESSING = re.compile(r"Processing graph (\d+)")
_ABORTED = re.compile(r"Transition (\d+) aborted(?: by)? (.*?)(?: \| |$)")


def grace_transitions(lines: Iterable[LogLine], verb: str) -> list[Transition]:
    """Transitions that ``verb`` ("Stop", "Start") nfs-grace instances, and on which nodes.

    The scheduler lists a transition's actions before "Calculated
    transition N"; it runs when the controller says "Processing graph N"
    (a calculation overtaken by a newer one never does).
    """
    action = re.compile(rf"Actions: {verb} +nfs-grace:\d+ +\( *(\S+) *\)")
    pending: dict[str, list[str]] = {}
    calculated: dict[tuple[str, int], tuple[str, ...]] = {}
    ran: list[Transition] = []
    for line in lines:
        if line.program == "pacemaker-schedulerd":
            found = action.search(line.text)
            if found:
                pending.setdefault(line.node, []).append(found.group(1))
            done = _CALCULATED.search(line.text)
            if done:
                calculated[line.node, int(done.group(1))] = tuple(pending.pop(line.node, []))
        elif line.program == "pacemaker-controld":
            graph = _PROCESSING.search(line.text)
            if graph:
                nodes = calculated.get((line.node, int(graph.group(1))), ())
                if nodes:
                    ran.append(Transition(line.node, int(graph.group(1)), nodes))
    return ran


def aborts(lines: Iterable[LogLine]) -> list[str]:
    """The DC's "Transition N aborted by ..." lines, shortened."""
    found = []
    for line in lines:
        match = _ABORTED.search(line.text) if line.program == "pacemaker-controld" else None
        if match:
            found.append(f"{match.group(1)}: {match.group(2)}")
    return found


# -- samples ---------------------------------------------------------------------------------


def is_true(value: Hashable) -> bool:
    return value is True


def not_one(value: Hashable) -> bool:
    return value != "1"


def is_one(value: Hashable) -> bool:
    return value == "1"


def only_on(node: str) -> Callable[[Hashable], bool]:
    """An address probe's value: configured on ``node`` and nowhere else."""
    return lambda value: value == (node,)


def also_on(node: str) -> Callable[[Hashable], bool]:
    """An address probe's value: configured on ``node`` (a node cut off may still hold it)."""
    return lambda value: isinstance(value, tuple) and node in value


def before(a: float | None, b: float | None, slack: float = 0.0) -> bool:
    """``a`` no later than ``b`` (within ``slack``); False when either is unknown."""
    return a is not None and b is not None and a <= b + slack
