"""Following the cluster after a change: to the status verdict, or until resources are gone.

After setup, add or delete the cluster is polled with exactly what
``ganesha-agents status`` shows (:mod:`ganesha_agents.status`), and a
progress line is printed whenever the verdict or its problems change, until
it is ready (or only waiting for grace to end) or the timeout passes.  The
change itself is in the CIB whatever happens here: a timeout means "not
ready yet", and ``ganesha-agents status`` says what is missing.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from typing import TYPE_CHECKING

from ganesha_agents.status.model import IN_GRACE, READY, ClusterState, Verdict
from ocfkit.clock import SystemClock

if TYPE_CHECKING:
    from ocfkit.clock import Clock

POLL = 2.0

Look = Callable[[], Verdict]
Progress = Callable[[str], None]


def look_at_cluster(node: str | None, pid_files: tuple[str, ...]) -> Verdict:
    """One status refresh's verdict (a cluster that cannot be read: a not-ready verdict)."""
    from ganesha_agents.status import query
    from ganesha_agents.status.build import build
    from ganesha_agents.status.model import NOT_READY
    from ganesha_agents.status.verdict import judge

    bound = query.deadline()
    try:
        state = query.cluster_state(bound)
    except query.QueryError as error:
        return Verdict(NOT_READY, f"the cluster's state cannot be read: {error}")
    name = node or query.local_node(bound)
    local = query.local_view(name, bound, pid_files) if name else None
    return judge(build(state, local))


def until_ready(
    look: Look, timeout: float, progress: Progress, clock: Clock | None = None
) -> Verdict:
    """Poll ``look`` until ready or in grace, or ``timeout`` seconds; the last verdict."""
    clock = clock or SystemClock()
    started = clock.monotonic()
    shown: tuple[str, ...] | None = None
    while True:
        verdict = look()
        elapsed = clock.monotonic() - started
        seen = (verdict.summary, *verdict.problems)
        if seen != shown:
            progress(f"{elapsed:5.0f}s  {verdict.summary}")
            for problem in verdict.problems[:5]:
                progress(f"        - {problem}")
            if len(verdict.problems) > 5:
                progress(f"        ... and {len(verdict.problems) - 5} more")
            shown = seen
        if verdict.state in (READY, IN_GRACE) or elapsed >= timeout:
            return verdict
        clock.sleep(min(POLL, max(0.0, timeout - elapsed)))


def active(state: ClusterState, resources: Collection[str]) -> list[str]:
    """The resources of ``resources`` (primitive ids) crm_mon shows active somewhere."""
    return sorted({i.resource for i in state.instances if i.resource in resources and i.nodes})


def until_stopped(
    query_state: Callable[[], ClusterState],
    resources: Collection[str],
    timeout: float,
    progress: Progress,
    clock: Clock | None = None,
) -> list[str]:
    """Poll until none of ``resources`` runs, or ``timeout``; those still running."""
    clock = clock or SystemClock()
    started = clock.monotonic()
    shown: list[str] | None = None
    while True:
        running = active(query_state(), resources)
        elapsed = clock.monotonic() - started
        if running != shown:
            what = ", ".join(running) if running else "nothing"
            progress(f"{elapsed:5.0f}s  still running: {what}")
            shown = running
        if not running or elapsed >= timeout:
            return running
        clock.sleep(min(POLL, max(0.0, timeout - elapsed)))
