"""What happened, when, where: the record the demo prints and checks."""

from __future__ import annotations

import attrs


@attrs.frozen
class Event:
    """One line of the timeline.

    ``actor`` is who acted (an agent, ``pacemaker`` for the model's
    decisions, ``ganesha.nfsd`` or ``operator`` for injected faults);
    ``step`` ties the line to one of the seed's five steps.
    """

    time: float
    node: str
    actor: str
    action: str
    detail: str = ""
    step: int | None = None


@attrs.define
class Timeline:
    """Events in the order they happened, with times relative to ``origin``."""

    origin: float
    events: list[Event] = attrs.Factory(list)

    def add(
        self,
        time: float,
        node: str,
        actor: str,
        action: str,
        detail: str = "",
        step: int | None = None,
    ) -> Event:
        event = Event(time - self.origin, node, actor, action, detail, step)
        self.events.append(event)
        return event

    def find(self, **matching: object) -> list[Event]:
        return [e for e in self.events if all(getattr(e, k) == v for k, v in matching.items())]
