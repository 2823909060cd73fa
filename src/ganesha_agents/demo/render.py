"""Showing a demo run: a text timeline, or a Mermaid sequence diagram."""

from __future__ import annotations

from ganesha_agents.demo.scenario import Outcome

STEPS = {
    1: "ganesha_mon's monitor notices that ganesha.nfsd has died",
    2: "ganesha_mon deletes the node's grace-active attribute",
    3: "the node's nfs-grace instance stops (it may not run where grace-active is not 1)",
    4: "the other nodes' ganesha_grace get a post-stop notification and put their server in grace",
    5: "ganesha_mon deletes ganesha-active after grace_delay; the virtual IP moves",
}


def text(outcome: Outcome, since: float = 0.0) -> str:
    events = [e for e in outcome.timeline.events if e.time >= since]
    start = [e for e in outcome.timeline.events if e.time < since]
    lines = [f"A {len(outcome.nodes)}-node NFS-Ganesha cluster on fakes, in virtual time.", ""]
    lines += [f"  [{n}] {words}" for n, words in STEPS.items()]
    lines.append("")
    if start:
        lines.append(
            f"    {_when(start[-1].time)}  cluster up: nfs-mon, nfs-grace and one VIP per node "
            f"running on {', '.join(outcome.nodes)}"
        )
    for event in sorted(events, key=lambda e: e.time):
        step = f"[{event.step}]" if event.step else "   "
        detail = f"  {event.detail}" if event.detail else ""
        lines.append(
            f"{step} {_when(event.time)}  {event.node:<7} {event.actor:<13} {event.action}{detail}"
        )
    lines.append("")
    for verdict in outcome.verdicts:
        lines.append(verdict.describe())
    lines.append(
        "Every survivor entered grace before the VIP moved."
        if outcome.holds
        else "INVARIANT VIOLATED: a VIP moved before every survivor was in grace."
    )
    return "\n".join(lines) + "\n"


def _when(seconds: float) -> str:
    return f"+{seconds:.3f}s".rjust(9)


def _quote(text: str) -> str:
    """Mermaid message text: no characters that end a message or a line."""
    return text.replace(";", ",").replace("#", "").replace("\n", " ")


def mermaid(outcome: Outcome, since: float = 0.0) -> str:
    lines = ["sequenceDiagram", "    participant PM as Pacemaker (model)"]
    lines += [f"    participant {node}" for node in outcome.nodes]
    for event in sorted(outcome.timeline.events, key=lambda e: e.time):
        if event.time < since:
            continue
        when = f"+{event.time:.3f}s"
        step = f"[{event.step}] " if event.step else ""
        what = _quote(f"{step}{event.action} {event.detail}".strip())
        if event.actor == "attrd":
            lines.append(f"    {event.node}->>PM: {what} ({when})")
        elif event.actor == "pacemaker":
            lines.append(f"    PM->>{event.node}: {what} ({when})")
        elif event.actor == "ganesha_grace":
            lines.append(f"    PM->>{event.node}: {_quote(step + event.action)} ({when})")
            if event.detail:
                lines.append(f"    {event.node}->>{event.node}: {_quote(event.detail)}")
        else:
            lines.append(f"    Note over {event.node}: {what} ({when}, {event.actor})")
    verdict = (
        "every survivor in grace before the VIP moved" if outcome.holds else "INVARIANT VIOLATED"
    )
    lines.append(f"    Note over PM: {verdict}")
    return "\n".join(lines) + "\n"
