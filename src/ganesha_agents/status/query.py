"""The status's I/O: one crm_mon call, this node's name, and this node's own ganesha.nfsd.

Every program runs with an argv list (never a shell) and within the
command's deadline (:class:`ocfkit.runner.CommandRunner`); a program that
is missing, fails or outlives it is a :class:`QueryError` with the reason.
The local ganesha.nfsd is asked through the agents' own backends: liveness
from its pid file's lock (``ganesha_agents.backends.pidfile``), grace from
``get_grace`` over D-Bus on the system bus, only when nobody but root could
have started that bus (``ganesha_agents.backends.busaddress``).
"""

from __future__ import annotations

from collections.abc import Sequence

from ganesha_agents.backends.pidfile import DEFAULT_PID_FILES, find_alive
from ganesha_agents.status.crm_mon import CrmMonError, parse
from ganesha_agents.status.model import ClusterState, LocalView
from ocfkit.clock import SystemClock
from ocfkit.deadline import Deadline
from ocfkit.errors import OCFError
from ocfkit.runner import CommandRunner

CRM_MON = ("crm_mon", "-1", "--output-as=xml", "--include=attributes,failures")
CRM_NODE = ("crm_node", "-n")
#: Bounds for one refresh: the whole query, crm_mon alone, and get_grace alone.
TIMEOUT = 15.0
CRM_MON_TIMEOUT = 10.0
GRACE_BUDGET = 2.0


class QueryError(Exception):
    """The cluster's state could not be read; the message says why."""


def deadline(timeout: float = TIMEOUT) -> Deadline:
    return Deadline(SystemClock(), timeout, reserve=0.0)


def cluster_state(bound: Deadline) -> ClusterState:
    """One ``crm_mon`` call, parsed."""
    runner = CommandRunner(bound)
    try:
        done = runner.run(CRM_MON, timeout=CRM_MON_TIMEOUT)
    except OCFError as error:
        raise QueryError(f"crm_mon: {error}") from None
    try:
        state = parse(done.stdout)
    except CrmMonError as error:
        if done.ok or done.stdout.strip():
            # crm_mon's own XML says why it failed (its <status> element).
            raise QueryError(str(error)) from None
        raise QueryError(f"crm_mon failed: {done.describe()}") from None
    if not done.ok:
        raise QueryError(f"crm_mon failed: {done.describe()}")
    return state


def local_node(bound: Deadline) -> str | None:
    """This node's cluster name (``crm_node -n``), or None when it cannot be had."""
    try:
        done = CommandRunner(bound).run(CRM_NODE, timeout=5.0)
    except OCFError:
        return None
    name = done.stdout.strip()
    return name if done.ok and name and name.isprintable() else None


def local_view(
    node: str, bound: Deadline, pid_files: Sequence[str] = DEFAULT_PID_FILES
) -> LocalView:
    """This node's ganesha.nfsd: alive from its pid file, in grace from get_grace."""
    verdicts = find_alive(pid_files)
    if verdicts and verdicts[-1].alive:
        alive: bool | None = True
        alive_detail = f"pid {verdicts[-1].pid} holds the lock on {verdicts[-1].path}"
    else:
        alive = False
        alive_detail = "; ".join(f"{v.path}: {v.reason}" for v in verdicts) or "no pid file"
    in_grace, grace_detail = _grace(bound, pid_files)
    return LocalView(node, alive, alive_detail, in_grace, grace_detail)


def _grace(bound: Deadline, pid_files: Sequence[str]) -> tuple[bool | None, str]:
    from ganesha_agents.backends import busaddress
    from ganesha_agents.backends.errors import GaneshaNotRunning
    from ganesha_agents.backends.ganesha import GaneshaDaemon

    daemon = GaneshaDaemon(bound, SystemClock(), pid_files=pid_files, connect=busaddress.connect)
    try:
        answer = daemon.in_grace(budget=min(GRACE_BUDGET, bound.remaining()))
    except GaneshaNotRunning:
        return None, "ganesha.nfsd is not running"
    except OCFError as error:
        return None, f"get_grace: {error}"
    return answer, "get_grace over D-Bus"
