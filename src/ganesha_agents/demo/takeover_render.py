"""Showing a takeover demo run: a text timeline, a Mermaid sequence diagram, the scale table.

Both views are built from the same :class:`Item` list, made from the
model's timeline (faults, attrd, corosync, fencing), its transition graphs
(each action as it ran) and the grace calls each action's ganesha.nfsd
accepted.  Actions that concern no moving address and did nothing to any
ganesha.nfsd (the other clones' instances stopping or starting with a node,
and their notifications) are counted, not listed, unless asked for.
"""

from __future__ import annotations

import re
import textwrap
from collections.abc import Iterable, Sequence

import attrs

from ganesha_agents.demo import costs
from ganesha_agents.demo.graph import Graph, Op
from ganesha_agents.demo.takeover_scenario import MoveVerdict, Phase, TakeoverOutcome

STEPS = {
    1: "the cluster learns of the change: ganesha_mon deletes (or sets) ganesha-active, "
    "corosync loses a node, a fencing is reported, an operator's request reaches the CIB",
    2: "the virtual IP stops on its old node",
    3: "every other running ganesha.nfsd enters grace (0:), confirmed: at the pre-demote "
    "notification, while the address stops, or at the pre-promote one when nothing is demoted "
    "(the old holder is gone)",
    4: "demote on the old node: its ganesha.nfsd releases the address's clients (2:VIP)",
    5: "promote on the new node: its ganesha.nfsd takes the address's clients over (5:VIP), "
    "reading the previous holder's records, in confirmed grace; the record then names this node",
    6: "the virtual IP starts on the new node",
}
_LOG_LINE = re.compile(r"^\S+: (?:INFO|WARNING|ERROR): (.*)$")
_STEP_OF_CALL = {"0": 3, "2": 4, "5": 5}
#: Name at most this many nodes in a line; beyond, count them.
NAMED = 6


@attrs.frozen
class Item:
    """One line of the story: when, which step, where, who, what."""

    time: float
    kind: str
    node: str
    actor: str
    text: str
    detail: str = ""
    step: int | None = None
    #: For a notification wave: the nodes it went to.
    nodes: tuple[str, ...] = ()
    #: When an action ended (the VIP up), if that is worth saying.
    ended: float | None = None

    @property
    def order(self) -> tuple[float, int]:
        """Time order; at one instant, what completed before what starts."""
        return (self.time, 0 if self.kind in ("grace", "said", "attrd", "note") else 1)

    def detail_since(self, since: float) -> str:
        if self.ended is None:
            return self.detail
        up = f"up at {_when(self.ended, since)}"
        return f"{self.detail}  {up}" if self.detail else up


def items(outcome: TakeoverOutcome, verbose: bool = False) -> list[Item]:
    """Everything after the cluster came up, in time order."""
    model = outcome.model
    origin = model.timeline.origin
    since = outcome.phases[0].at - origin if outcome.phases else 0.0
    found: list[Item] = []
    for event in model.timeline.events:
        if event.time < since:
            continue
        kind = "attrd" if event.actor == "attrd" else "note"
        found.append(
            Item(event.time, kind, event.node, event.actor, event.action, event.detail, event.step)
        )
    for graph in model.graphs:
        if graph.started - origin < since:
            continue
        found += _graph_items(graph, origin, verbose)
    return sorted(found, key=lambda item: item.order)


def _graph_items(graph: Graph, origin: float, verbose: bool) -> list[Item]:
    moving = {op.home for op in graph.ops if op.operation in ("promote", "demote") and op.home}
    moves = [
        f"{op.resource} {'-> ' + op.node if op.node else ''}".strip()
        for op in graph.ops
        if op.operation == "start" and op.resource.endswith("-cluster_ip-1")
    ]
    what = "; ".join(moves) if moves else "no address moves"
    found = [
        Item(
            graph.started - origin,
            "decision",
            "DC",
            "pacemaker",
            f"transition {graph.number}: {what}",
            f"({graph.reason})" + (", aborted" if graph.aborted else ""),
        )
    ]
    quiet = 0
    waves: dict[tuple[str, str, str], list[Op]] = {}
    for op in graph.ops:
        if op.remark and op.started is not None:
            found.append(Item(op.started - origin, "action", "DC", "pacemaker", op.remark))
        if op.started is None or op.operation == "confirmed":
            continue
        interesting = verbose or op.home in moving or op.calls or op.failed or _warned(op)
        if op.operation == "notify" and op.notify is not None:
            waves.setdefault((op.resource, *op.notify), []).append(op)
            continue
        if op.resource == "stonith":
            found.append(Item(op.started - origin, "action", op.node or "DC", "stonith", op.key))
            continue
        if not interesting and op.operation in ("start", "stop", "monitor") and not _is_vip(op):
            quiet += 1
            continue
        if _is_vip(op) and op.operation == "monitor" and not verbose:
            quiet += 1
            continue
        found += _op_items(op, origin)
    for (resource, when, operation), ops in waves.items():
        home = ops[0].home
        calls = any(op.calls for op in ops)
        if not (verbose or home in moving or calls or any(_warned(op) for op in ops)):
            quiet += len(ops)
            continue
        nodes = tuple(op.node for op in ops if op.node)
        started = min(op.started for op in ops if op.started is not None)
        found.append(
            Item(
                started - origin,
                "wave",
                _nodes_column(nodes),
                "ganesha_takeover",
                f"notify {when}-{operation} ({resource})",
                nodes=nodes,
            )
        )
        for op in ops:
            found += _calls(op, origin, step=3 if when == "pre" else None)
            found += _said(op, origin, f"{when}-{operation} ({resource})")
    if quiet:
        found.append(
            Item(
                graph.started - origin,
                "summary",
                "DC",
                "pacemaker",
                f"and {quiet} actions of the other clones and probes (instances "
                "started or stopped with a node, their notifications): nothing for ganesha.nfsd",
            )
        )
    return found


def _is_vip(op: Op) -> bool:
    return op.resource.endswith("-cluster_ip-1")


def _warned(op: Op) -> bool:
    return "WARNING" in op.said or "ERROR" in op.said


def _op_items(op: Op, origin: float) -> list[Item]:
    assert op.started is not None
    node = op.node or "DC"
    implied = " (implied by the fencing)" if op.pseudo else ""
    if _is_vip(op):
        if op.operation == "start":
            ended = None if op.ended is None else op.ended - origin
            start = f"start {op.resource}"
            return [
                Item(op.started - origin, "action", node, "IPaddr2", start, step=6, ended=ended)
            ]
        step = 2 if op.operation == "stop" else None
        what = f"{op.operation} {op.resource}{implied}"
        return [Item(op.started - origin, "action", node, "IPaddr2", what, step=step)]
    actor = "ganesha_mon" if op.resource == "nfs-mon" else "ganesha_takeover"
    step = {"demote": 4, "promote": 5}.get(op.operation)
    said = [m.group(1) for m in map(_LOG_LINE.match, op.said.splitlines()) if m]
    if op.failed:
        said.append(f"failed: {op.reason}")
    what = f"{op.operation} {op.resource}{implied}"
    found = [Item(op.started - origin, "action", node, actor, what, "; ".join(said), step)]
    return found + _calls(op, origin, step)


def _said(op: Op, origin: float, what: str) -> list[Item]:
    """What the agent logged, one item per line, at the end of its action."""
    found = []
    for line in op.said.splitlines():
        matched = _LOG_LINE.match(line)
        if matched and op.ended is not None:
            found.append(
                Item(
                    op.ended - origin,
                    "said",
                    op.node or "DC",
                    "ganesha_takeover",
                    what,
                    matched.group(1),
                )
            )
    return found


def _calls(op: Op, origin: float, step: int | None) -> list[Item]:
    found = []
    for call in op.calls:
        read = f", reading {call.records}" if call.records else ""
        found.append(
            Item(
                call.time - origin,
                "grace",
                call.node,
                "ganesha.nfsd",
                f'grace("{call.argument}") accepted{read}',
                step=_STEP_OF_CALL.get(call.argument.partition(":")[0], step),
            )
        )
    return found


def _nodes_column(nodes: Sequence[str]) -> str:
    return nodes[0] if len(nodes) == 1 else f"{len(nodes)} nodes"


def _when(seconds: float, since: float) -> str:
    return f"+{seconds - since:.3f}s"


def _names(nodes: Iterable[str]) -> str:
    listed = list(nodes)
    if len(listed) <= NAMED:
        return ", ".join(listed)
    return f"{', '.join(listed[:3])} ... {listed[-1]} ({len(listed)})"


# ---------------------------------------------------------------------- text


def header(outcome: TakeoverOutcome) -> list[str]:
    nodes = len(outcome.nodes)
    lines = [
        f"A {nodes}-node NFS-Ganesha cluster with the takeover layout, on fakes, in virtual time.",
        "",
        *_wrap(
            "Each virtual IP has a promotable clone of ganesha_takeover running on every node; "
            "the node that holds the address runs the promoted instance.  The real agents run "
            "through main() with Pacemaker's environment; only Pacemaker's decisions are "
            "modelled.  Every move of an address runs:"
        ),
        "",
    ]
    for number, words in STEPS.items():
        lines += _wrap(f"[{number}] {words}", indent="  ", hang="      ")
    lines.append("")
    lines += _wrap(costs.describe(nodes))
    return lines


def text(outcome: TakeoverOutcome, verbose: bool = False) -> str:
    lines = header(outcome)
    story = items(outcome, verbose)
    origin = outcome.model.timeline.origin
    for index, phase in enumerate(outcome.phases):
        since = phase.at - origin
        until = outcome.phases[index + 1].at - origin if index + 1 < len(outcome.phases) else None
        lines += ["", f"{phase.name}: {phase.fault}  (times from the fault)"]
        for item in story:
            if item.time < since or (until is not None and item.time >= until):
                continue
            step = f"[{item.step}]" if item.step else ""
            words = item.detail_since(since)
            detail = f"  {words}" if words else ""
            lines.append(
                f"{step:>4} {_when(item.time, since):>9}  {item.node:<8} {item.actor:<16} "
                f"{item.text}{detail}"
            )
        lines.append("")
        lines += verdict_lines(phase, origin)
    lines.append("")
    if outcome.holds:
        lines += _wrap(
            "Every move: the new node took over the address's clients, reading the previous "
            "holder's records, and every other running ganesha.nfsd was in grace, before the "
            "virtual IP started."
        )
    else:
        lines += [
            "!" * 78,
            "INVARIANT VIOLATED: a virtual IP started before the cluster was in grace "
            "with its clients taken over.",
            "!" * 78,
        ]
    return "\n".join(lines) + "\n"


def verdict_lines(phase: Phase, origin: float) -> list[str]:
    since = phase.at - origin
    lines = [f"  MISSING: {problem}" for problem in phase.missing]
    for verdict in phase.verdicts:
        lines += _wrap(describe(verdict, since, origin), indent="  ", hang="      ")
    return lines


def describe(verdict: MoveVerdict, since: float, origin: float) -> str:
    start = verdict.start
    up = (
        f"up at {_when(verdict.up - origin, since)} ({verdict.decision_to_up:.3f} s after "
        f"the cluster's decision)"
        if verdict.up is not None and verdict.decision_to_up is not None
        else "never up"
    )
    words = [
        f"{verdict.vip} ({start.ip}) {start.source} -> {start.target}: {up}, "
        f"{verdict.grace_calls} grace call{'' if verdict.grace_calls == 1 else 's'}."
    ]
    if verdict.takeover is not None:
        words.append(
            f"{start.target} took over {verdict.takeover.argument} reading "
            f"{verdict.takeover.records} at {_when(verdict.takeover.time - origin, since)}."
        )
    accepted = {n: c for n, c in verdict.others.items() if c is not None}
    if accepted:
        last = max(c.time for c in accepted.values())
        words.append(
            f"Other running servers in grace before it: {_names(accepted)} (the last at "
            f"{_when(last - origin, since)})."
        )
    not_running = [n for n, g in start.in_grace.items() if g is None and n != start.target]
    if not_running:
        words.append(f"Not running: {_names(not_running)}.")
    if verdict.holds:
        words.append("Invariant holds.")
    else:
        words.append("INVARIANT VIOLATED: " + "; ".join(verdict.problems) + ".")
    return " ".join(words)


def _wrap(words: str, indent: str = "", hang: str | None = None) -> list[str]:
    return textwrap.wrap(
        words,
        width=100,
        initial_indent=indent,
        subsequent_indent=indent if hang is None else hang,
        break_on_hyphens=False,
    )


# ---------------------------------------------------------------------- Mermaid


def _quote(words: str) -> str:
    """Mermaid message text: no characters that end a message or a line."""
    return words.replace(";", ",").replace("#", "").replace("\n", " ")


def mermaid(outcome: TakeoverOutcome, verbose: bool = False) -> str:
    origin = outcome.model.timeline.origin
    lines = ["sequenceDiagram", "    participant PM as Pacemaker (model)"]
    lines += [f"    participant {node}" for node in outcome.nodes]
    story = items(outcome, verbose)
    for index, phase in enumerate(outcome.phases):
        since = phase.at - origin
        until = outcome.phases[index + 1].at - origin if index + 1 < len(outcome.phases) else None
        lines.append(f"    Note over PM: {_quote(f'{phase.name}: {phase.fault}')} (+0.000s)")
        for item in story:
            if item.time < since or (until is not None and item.time >= until):
                continue
            lines += _mermaid_item(item, since, outcome.nodes)
        for verdict in phase.verdicts:
            mark = "invariant holds" if verdict.holds else "INVARIANT VIOLATED"
            lines.append(
                f"    Note over PM: {verdict.vip} {verdict.start.source} to "
                f"{verdict.start.target}: {mark}"
            )
    summary = (
        "every move: clients taken over and the cluster in grace before the VIP started"
        if outcome.holds
        else "INVARIANT VIOLATED"
    )
    lines.append(f"    Note over PM: {summary}")
    return "\n".join(lines) + "\n"


def _mermaid_item(item: Item, since: float, nodes: Sequence[str]) -> list[str]:
    when = _when(item.time, since)
    step = f"[{item.step}] " if item.step else ""
    what = _quote(f"{step}{item.text} {item.detail_since(since)}".strip())
    node = item.node if item.node in nodes else None
    if item.kind == "attrd" and node:
        return [f"    {node}->>PM: {what} ({when})"]
    if item.kind in ("decision", "summary") or node is None:
        if item.kind == "wave" and item.nodes:
            span = item.nodes[0] if len(item.nodes) == 1 else f"{item.nodes[0]},{item.nodes[-1]}"
            return [f"    Note over {span}: {what} to {len(item.nodes)} instances ({when})"]
        return [f"    Note over PM: {what} ({when})"]
    if item.kind == "action":
        return [f"    PM->>{node}: {what} ({when})"]
    if item.kind == "grace":
        return [f"    {node}->>{node}: {what} ({when})"]
    return [f"    Note over {node}: {what} ({when}, {item.actor})"]


# ---------------------------------------------------------------------- scale


def scale_table(rows: Sequence[tuple[int, float, TakeoverOutcome]]) -> str:
    """Per move: the takeover's virtual time and its grace calls, by cluster size."""
    lines = [
        "The takeover layout as the cluster grows: every path with its failback, in virtual time.",
        "  fault -> up     from the fault (or the request) to the VIP configured on its new node",
        "  decision -> up  from the transition that moves it (after corosync lost the node, if",
        "                  it did) to the same",
        "  grace calls     accepted by the cluster's ganesha.nfsd for this address in this move",
        "",
        f"{'path':<16} {'nodes':>5}  {'virtual IP':<20} {'move':<16} {'fault -> up':>11} "
        f"{'decision -> up':>14} {'grace calls':>11}  invariant",
    ]
    for nodes, _wall, outcome in rows:
        for verdict in outcome.verdicts:
            move = f"{verdict.start.source} -> {verdict.start.target}"
            lines.append(
                f"{verdict.phase:<16} {nodes:>5}  {verdict.vip:<20} {move:<16} "
                f"{_seconds(verdict.fault_to_up):>11} {_seconds(verdict.decision_to_up):>14} "
                f"{verdict.grace_calls:>11}  {'holds' if verdict.holds else 'VIOLATED'}"
            )
    lines.append("")
    walls: dict[int, float] = {}
    for nodes, wall, _outcome in rows:
        walls[nodes] = walls.get(nodes, 0.0) + wall
    lines.append(
        "Computed in "
        + ", ".join(f"{wall:.1f} s for {nodes} nodes" for nodes, wall in walls.items())
        + " (wall clock)."
    )
    lines += _wrap(costs.describe(*walls))
    lines += _wrap(
        "Not included: the scheduler's own run time, which grows with the cluster "
        "(docs/ganesha.md gives the figures)."
    )
    violated = [v for _n, _w, o in rows for v in o.verdicts if not v.holds]
    missing = [m for _n, _w, o in rows for p in o.phases for m in p.missing]
    if violated or missing:
        lines.append("INVARIANT VIOLATED in " + str(len(violated) + len(missing)) + " moves.")
    else:
        lines.append("The invariant held on every move.")
    return "\n".join(lines) + "\n"


def _seconds(value: float | None) -> str:
    return "-" if value is None else f"{value:.3f} s"
