"""The demo's scenarios, and the invariant they must keep.

The invariant: every surviving node's NFS server entered grace for a failed
node before that node's virtual IP came up anywhere else.
"""

from __future__ import annotations

from collections.abc import Sequence

import attrs

from ganesha_agents.demo.model import PacemakerModel
from ganesha_agents.demo.timeline import Event, Timeline


@attrs.frozen
class Verdict:
    """For one failed node: when each survivor entered grace, when the VIP moved."""

    failed: str
    grace_times: dict[str, float | None]
    vip_up: float | None
    vip_node: str | None

    @property
    def holds(self) -> bool:
        if self.vip_up is None or any(t is None for t in self.grace_times.values()):
            return False
        return all(t is not None and t < self.vip_up for t in self.grace_times.values())

    def describe(self) -> str:
        graces = ", ".join(
            f"{node} at +{t:.3f}s" if t is not None else f"{node} never"
            for node, t in self.grace_times.items()
        )
        if self.vip_up is None:
            vip = "the VIP never came up elsewhere"
        else:
            vip = f"{self.failed}-cluster_ip-1 up on {self.vip_node} at +{self.vip_up:.3f}s"
        mark = "holds" if self.holds else "VIOLATED"
        return f"{self.failed}: survivors in grace ({graces}); {vip}: invariant {mark}"


@attrs.frozen
class Outcome:
    timeline: Timeline
    verdicts: tuple[Verdict, ...]
    nodes: tuple[str, ...]

    @property
    def holds(self) -> bool:
        return all(v.holds for v in self.verdicts)


def verdict(timeline: Timeline, failed: str, survivors: Sequence[str], since: float) -> Verdict:
    def first(events: list[Event]) -> Event | None:
        later = [e for e in events if e.time >= since]
        return min(later, key=lambda e: e.time) if later else None

    graces: dict[str, float | None] = {}
    for node in survivors:
        calls = [
            e
            for e in timeline.find(node=node, actor="ganesha_grace")
            if e.detail == f'grace("5:{failed}")'
        ]
        found = first(calls)
        graces[node] = found.time if found else None
    moves = [
        e
        for e in timeline.find(actor="pacemaker", action=f"start {failed}-cluster_ip-1")
        if e.node != failed
    ]
    vip = first(moves)
    return Verdict(failed, graces, vip.time if vip else None, vip.node if vip else None)


def run(
    nodes: int = 4,
    fail: Sequence[str] = ("node2",),
    *,
    grace_delay: int = 5,
    failback: bool = False,
    fail_at: float = 12.0,
    failback_after: float = 30.0,
    verbose: bool = False,
) -> Outcome:
    """Start the cluster, kill ganesha.nfsd on ``fail`` at ``fail_at``, optionally bring it back."""
    names = [f"node{i}" for i in range(1, nodes + 1)]
    unknown = [n for n in fail if n not in names]
    if unknown:
        raise ValueError(f"no such node: {', '.join(unknown)} (nodes are {', '.join(names)})")
    if len(set(fail)) >= nodes:
        raise ValueError("at least one node must survive")
    model = PacemakerModel(names, grace_delay=grace_delay, verbose=verbose)
    model.start()
    model.run_for(fail_at)
    failed_at = model.clock.monotonic() - model.timeline.origin
    for name in fail:
        model.kill_daemon(name)
    model.run_for(failback_after)
    survivors = [n for n in names if n not in fail]
    verdicts = tuple(verdict(model.timeline, f, survivors, failed_at) for f in fail)
    if failback:
        for name in fail:
            model.revive_daemon(name)
        model.run_for(failback_after)
    model.stop()
    return Outcome(model.timeline, verdicts, tuple(names))
