"""A transition graph as Pacemaker's controller runs it: actions, their inputs, per-node job limits.

The scheduler (the model) builds a :class:`Graph` of :class:`Op` s, each
knowing which ops it waits for.  The :class:`Executor` starts every op whose
inputs are done, at most ``limit`` at once per node (Pacemaker's
``node-action-limit``), each as a simulated process on the virtual clock,
so ops on different nodes overlap as they would on a cluster.  A pseudo-op
(a stop or demote implied by fencing) runs no process and completes at once.

A graph can be aborted, as the controller aborts a transition when the CIB
changes under it: ops not yet started are dropped, ops already running
finish, and then the graph is over.
"""

from __future__ import annotations

import collections
from collections.abc import Callable

import attrs

from ganesha_agents.fakes import GraceCall
from ocfkit.testing.simulation import VirtualTime


@attrs.define(eq=False)
class Op:
    """One action of a transition (``key`` as Pacemaker names it, e.g. ``X_pre_notify_promote_0``).

    ``run`` does the work inside the op's process and returns the OCF exit
    code; None makes a pseudo-op.  ``after`` are the ops it waits for.
    What happened is filled in as it runs.
    """

    key: str
    resource: str
    operation: str
    node: str | None
    run: Callable[[Op], int] | None = None
    after: list[Op] = attrs.Factory(list)
    #: ``(type, operation)`` of a notification, e.g. ``("pre", "promote")``.
    notify: tuple[str, str] | None = None
    #: Which virtual IP (its home node) this op belongs to, if any.
    home: str | None = None
    #: Seconds between the op's start and ``run`` being called (a process starting up).
    lead: float = 0.0
    #: Something the model wants said about this op (a notification it did not deliver).
    remark: str = ""
    started: float | None = None
    ended: float | None = None
    code: int | None = None
    #: Grace calls ganesha.nfsd accepted during this op.
    calls: list[GraceCall] = attrs.Factory(list)
    #: What the agent wrote to stderr (its log lines and exit reason).
    said: str = ""
    reason: str = ""

    @property
    def pseudo(self) -> bool:
        return self.run is None

    @property
    def done(self) -> bool:
        return self.ended is not None

    @property
    def failed(self) -> bool:
        return self.code not in (None, 0) and not (self.operation == "monitor" and self.code == 7)


@attrs.define(eq=False)
class Graph:
    """One transition: its ops, in the order the scheduler listed them."""

    number: int
    started: float
    reason: str
    ops: list[Op] = attrs.Factory(list)
    aborted: bool = False
    ended: float | None = None

    def add(self, op: Op) -> Op:
        self.ops.append(op)
        return op

    def abort(self) -> None:
        self.aborted = True


class Executor:
    """Runs graphs on a virtual clock with Pacemaker's per-node job limit."""

    def __init__(self, clock: VirtualTime, limit: int) -> None:
        self.clock = clock
        self.limit = limit
        self.jobs: collections.Counter[str] = collections.Counter()
        self.waiting: dict[str, collections.deque[tuple[Graph, Op]]] = collections.defaultdict(
            collections.deque
        )
        self._dependents: dict[int, dict[int, list[Op]]] = {}
        self._running: dict[int, int] = {}
        self._finished: dict[int, Callable[[Graph], None]] = {}
        #: Called when an op completes (the model updates the cluster's state).
        self.completed: list[Callable[[Graph, Op], None]] = []

    def run(self, graph: Graph, finished: Callable[[Graph], None]) -> None:
        """Start ``graph``; ``finished`` is called once nothing of it runs any more."""
        dependents: dict[int, list[Op]] = collections.defaultdict(list)
        for op in graph.ops:
            for first in op.after:
                dependents[id(first)].append(op)
        self._dependents[graph.number] = dependents
        self._running[graph.number] = 0
        self._finished[graph.number] = finished
        ready = [op for op in graph.ops if not op.after]
        self._release(graph, ready)
        self._check_finished(graph)

    def _release(self, graph: Graph, ready: list[Op]) -> None:
        """Start what is ready; pseudo-ops complete at once and may make more ready."""
        todo = collections.deque(ready)
        while todo:
            op = todo.popleft()
            if graph.aborted:
                continue
            if op.pseudo:
                op.started = op.ended = self.clock.monotonic()
                op.code = 0
                self._notify_completed(graph, op)
                todo.extend(self._now_ready(graph, op))
                continue
            node = op.node or "-"
            self._running[graph.number] += 1
            if self.jobs[node] < self.limit:
                self._start(graph, op)
            else:
                self.waiting[node].append((graph, op))

    def _start(self, graph: Graph, op: Op) -> None:
        node = op.node or "-"
        self.jobs[node] += 1

        def process() -> None:
            assert op.run is not None
            op.code = op.run(op)
            op.ended = self.clock.monotonic()
            self._done(graph, op)

        op.started = self.clock.monotonic()
        self.clock.schedule(op.lead, process)

    def _done(self, graph: Graph, op: Op) -> None:
        node = op.node or "-"
        self.jobs[node] -= 1
        self._running[graph.number] -= 1
        self._notify_completed(graph, op)
        if op.failed:
            # The controller aborts the transition on a failed action.
            graph.abort()
        if not graph.aborted:
            self._release(graph, self._now_ready(graph, op))
        queue = self.waiting[node]
        while queue and self.jobs[node] < self.limit:
            waiting_graph, waiting_op = queue.popleft()
            if waiting_graph.aborted:
                self._running[waiting_graph.number] -= 1
                self._check_finished(waiting_graph)
                continue
            self._start(waiting_graph, waiting_op)
        self._check_finished(graph)

    def _now_ready(self, graph: Graph, op: Op) -> list[Op]:
        return [
            later
            for later in self._dependents[graph.number].get(id(op), ())
            if all(first.done for first in later.after) and later.started is None
        ]

    def _notify_completed(self, graph: Graph, op: Op) -> None:
        for listener in list(self.completed):
            listener(graph, op)

    def _check_finished(self, graph: Graph) -> None:
        if graph.number not in self._running or self._running[graph.number] > 0:
            return
        if not graph.aborted and not all(op.done for op in graph.ops):
            return
        graph.ended = self.clock.monotonic()
        del self._running[graph.number]
        del self._dependents[graph.number]
        self._finished.pop(graph.number)(graph)
