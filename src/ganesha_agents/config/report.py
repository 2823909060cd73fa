"""What every move path costs as the cluster grows, checked on the way.

For each node count: the takeover layout's cluster is started (see
:mod:`.split`), every path of :mod:`.moves` runs on its own copy, and each
transition gives one :class:`Row`: how many addresses moved, the grace calls
(:class:`~.moves.Cost`), the actions the transition holds, the scheduler's
wall time on the whole cluster, and what in it broke the takeover promise
(nothing, or the report says so and ``ganesha-agents config-report`` exits 1).
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

import attrs

from ganesha_agents.config.moves import PATHS, cost, numbered_spec, run_path, violations
from ganesha_agents.config.offline import run
from ganesha_agents.config.split import SplitCluster


@attrs.frozen
class Row:
    nodes: int
    path: str
    phase: str
    moved: int
    grace_calls: int
    others: int
    promotes: int
    releases: int
    actions: int
    notifications: int
    scheduler_seconds: float
    problems: tuple[str, ...]


def scheduler_wall_time(scheduler_input: Path, repeat: int) -> float:
    """The best of ``repeat`` runs of the scheduler alone (``crm_simulate --run``) on an input."""
    best = float("inf")
    for _ in range(repeat):
        started = time.monotonic()
        run(["crm_simulate", "--xml-file", str(scheduler_input), "--run", "--quiet"])
        best = min(best, time.monotonic() - started)
    return best


def measure(
    count: int,
    directory: Path,
    paths: Iterable[str] = PATHS,
    *,
    repeat: int = 1,
    progress: Callable[[str], None] = lambda _text: None,
) -> list[Row]:
    """Every path in ``paths`` on a ``count``-node cluster; one row per transition.

    ``repeat`` > 1 re-runs the scheduler on each transition's input and keeps
    the best time (the first, taken while simulating, otherwise).
    """
    spec = numbered_spec(count)
    started = time.monotonic()
    start = SplitCluster.start(spec, directory / "start")
    progress(f"{count} nodes: started in {time.monotonic() - started:.0f}s")
    rows: list[Row] = []
    for name in paths:
        started = time.monotonic()
        for move in run_path(name, spec, start.copy(directory / name)):
            spent = move.transition
            seconds = spent.elapsed
            if repeat > 1 and spent.scheduler_input is not None:
                seconds = min(seconds, scheduler_wall_time(spent.scheduler_input, repeat - 1))
            c = cost(move)
            rows.append(
                Row(
                    nodes=count,
                    path=name,
                    phase=move.phase,
                    moved=c.vips,
                    grace_calls=c.grace_calls,
                    others=c.others,
                    promotes=c.promotes,
                    releases=c.releases,
                    actions=c.actions,
                    notifications=c.notifications,
                    scheduler_seconds=seconds,
                    problems=tuple(violations(move)),
                )
            )
        progress(f"{count} nodes: {name} in {time.monotonic() - started:.0f}s")
    return rows


def measure_all(
    counts: Sequence[int],
    paths: Iterable[str] = PATHS,
    *,
    repeat: int = 1,
    keep: Path | None = None,
    progress: Callable[[str], None] = lambda _text: None,
) -> list[Row]:
    """:func:`measure` for each node count, in a temporary directory unless ``keep``."""
    names = list(paths)
    rows: list[Row] = []
    for count in counts:
        if keep is not None:
            rows += measure(count, keep / f"{count}-nodes", names, repeat=repeat, progress=progress)
            continue
        with tempfile.TemporaryDirectory(prefix=f"ganesha-config-report-{count}-") as scratch:
            rows += measure(count, Path(scratch), names, repeat=repeat, progress=progress)
    return rows


HEADER = (
    "| nodes | path | step | VIPs moved | grace calls (others + takeover + release) "
    "| actions (notifications) | scheduler s |"
)


def markdown(rows: Sequence[Row]) -> str:
    """The rows as one Markdown table, then every problem found (none, when all is well)."""
    lines = [HEADER, "| ---: | --- | --- | ---: | --- | --- | ---: |"]
    for row in rows:
        lines.append(
            f"| {row.nodes} | {row.path} | {row.phase} | {row.moved} "
            f"| {row.grace_calls} ({row.others} + {row.promotes} + {row.releases}) "
            f"| {row.actions} ({row.notifications}) | {row.scheduler_seconds:.2f} |"
        )
    problems = [
        f"- {row.nodes} nodes, {row.path}, {row.phase}: {problem}"
        for row in rows
        for problem in row.problems
    ]
    lines.append("")
    lines += problems or ["No problem: on every move the takeover came first."]
    return "\n".join(lines) + "\n"
