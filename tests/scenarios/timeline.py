"""One scenario's timeline: what happened, when, seen how; and the figures taken from it.

Events come from three places and say so: the agents' own log lines
(nanosecond stamps), Pacemaker's log lines (millisecond stamps) and the
recorder's samples (a change known to lie between two sample times).
Everything is printed relative to the fault, the moment the test acted.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from ocfkit.lab.recorder import Change
from tests.scenarios.logs import LogLine


@dataclass(frozen=True)
class Event:
    what: str
    #: Wall-clock time; for a sample, the end of the first sample that saw it.
    time: float
    source: str
    node: str = ""
    #: For a sample: the start of the last sample that did not see it yet.
    earliest: float | None = None


@dataclass
class Timeline:
    scenario: str
    fault: str
    t0: float
    events: list[Event] = field(default_factory=list)
    figures: dict[str, float] = field(default_factory=dict)
    #: Things counted in this run (reclaims granted or refused, conflicting grants...).
    counts: dict[str, int] = field(default_factory=dict)
    observations: dict[str, Any] = field(default_factory=dict)

    def add(self, what: str, time: float, source: str, node: str = "") -> Event:
        event = Event(what, time, source, node)
        self.events.append(event)
        return event

    def log(self, what: str, line: LogLine | None) -> Event | None:
        """An event from a log line (None passes through: not seen)."""
        if line is None:
            return None
        source = f"{line.program} log" if line.agent else f"{line.program} log (ms)"
        event = Event(what, line.time, source, line.node)
        self.events.append(event)
        return event

    def sampled(self, what: str, change: Change | None, node: str = "") -> Event | None:
        if change is None:
            return None
        event = Event(what, change.latest, "sampled", node, change.earliest)
        self.events.append(event)
        return event

    def interval(
        self, name: str, start: Event | float | None, end: Event | float | None
    ) -> float | None:
        """The figure ``end - start`` (events or times); not taken when either is missing."""
        if start is None or end is None:
            return None
        begin = start.time if isinstance(start, Event) else start
        finish = end.time if isinstance(end, Event) else end
        self.figure(name, finish - begin)
        return finish - begin

    def figure(self, name: str, seconds: float | None) -> None:
        """A duration, rounded to the millisecond; a figure that could not be taken is omitted."""
        if seconds is not None:
            self.figures[name] = round(seconds, 3)

    def count(self, name: str, number: int = 1) -> None:
        """Add ``number`` to the count ``name`` (0 records that it was counted and none seen)."""
        self.counts[name] = self.counts.get(name, 0) + number

    def since_fault(self, time: float | None) -> float | None:
        return None if time is None else time - self.t0

    def render(self) -> str:
        lines = [f"== {self.scenario}: {self.fault}"]
        for event in sorted(self.events, key=lambda e: e.time):
            at = f"{event.time - self.t0:+8.3f}s"
            if event.earliest is not None:
                at += f" (after {event.earliest - self.t0:+.3f}s)"
            where = f"[{event.node}] " if event.node else ""
            lines.append(f"  {at:<28} {where}{event.what}  <{event.source}>")
        if self.figures:
            lines.append("  figures:")
            lines += [f"    {name}: {value:.3f}s" for name, value in self.figures.items()]
        if self.counts:
            lines.append("  counts:")
            lines += [f"    {name}: {value}" for name, value in self.counts.items()]
        if self.observations:
            lines.append("  observed:")
            lines += [f"    {name}: {value}" for name, value in self.observations.items()]
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        return {
            "scenario": self.scenario,
            "fault": self.fault,
            "t0": self.t0,
            "figures": self.figures,
            "counts": self.counts,
            "observations": self.observations,
            "events": [
                {**asdict(e), "at": round(e.time - self.t0, 6)}
                for e in sorted(self.events, key=lambda e: e.time)
            ],
        }
