"""A node's backends as one agent action sees them in the demo: every call takes its time.

The fakes answer at once; on a real node a grace call or an ``attrd_updater``
takes tens of milliseconds, during which other nodes' actions go on.  These
wrappers sleep on the virtual clock before each call (so what the call does
happens when it would have completed), and :class:`ActionDaemon` keeps the
grace calls each action made, so calls are attributed to the action that
made them even when several run at once on one node.
"""

from __future__ import annotations

from collections.abc import Callable

from ganesha_agents.demo.costs import ATTRIBUTE_UPDATE, GRACE_CALL
from ganesha_agents.fakes import FakeNFSDaemon, GraceCall, NodeAttributes
from ocfkit import OCFError
from ocfkit.testing.simulation import VirtualTime


class ActionDaemon:
    """One action's view of a node's :class:`FakeNFSDaemon`; satisfies ``NFSDaemon``."""

    def __init__(self, daemon: FakeNFSDaemon, clock: VirtualTime, calls: list[GraceCall]) -> None:
        self.daemon = daemon
        self.clock = clock
        self.calls = calls

    def is_alive(self) -> bool:
        # The pid file's lock: microseconds, no time modelled.
        return self.daemon.is_alive()

    def grace(self, argument: str, *, budget: float | None = None) -> str:
        return self._call(self.daemon.grace, argument, budget)

    def enter_grace(self, argument: str, *, budget: float | None = None) -> str:
        return self._call(self.daemon.enter_grace, argument, budget)

    def _call(self, method: Callable[..., str], argument: str, budget: float | None) -> str:
        """One grace call; one that fails on a live daemon is retried until ``budget`` is spent.

        A daemon that is not running answers at once (the real client finds no
        live pid file and does not wait); one that does not answer keeps the
        caller until its budget runs out, as the real client's retries do.
        """
        began = self.clock.monotonic()
        self.clock.sleep(GRACE_CALL)
        try:
            message = method(argument, budget=budget)
        except OCFError:
            if budget is not None and self.daemon.alive:
                self.clock.sleep(max(0.0, budget - (self.clock.monotonic() - began)))
            raise
        self.calls.append(self.daemon.grace_calls[-1])
        return message

    def in_grace(self) -> bool:
        return self.daemon.in_grace()


class TimedAttributes:
    """A node's attribute view where every call is an ``attrd_updater`` run; ``AttributeStore``."""

    def __init__(self, view: NodeAttributes, clock: VirtualTime) -> None:
        self.view = view
        self.clock = clock

    def set(self, name: str, value: str, *, node: str | None = None) -> None:
        self.clock.sleep(ATTRIBUTE_UPDATE)
        self.view.set(name, value, node=node)

    def delete(self, name: str, *, node: str | None = None) -> None:
        self.clock.sleep(ATTRIBUTE_UPDATE)
        self.view.delete(name, node=node)

    def query(self, name: str, *, node: str | None = None) -> str | None:
        self.clock.sleep(ATTRIBUTE_UPDATE)
        return self.view.query(name, node=node)
