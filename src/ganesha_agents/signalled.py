"""What ganesha_mon has signalled through the attributes, as its state file records it.

The monitor, the start and the watcher process all act on one record, under
one lock: each reads what was signalled, does the next step, and writes it
back before letting go.  That is how "nothing is signalled twice" holds when
the watcher and a monitor look at the same moment.

``phase`` is where the failover sequence stands:

- ``started``: the instance started, nothing signalled yet;
- ``up``: both attributes were set to 1 (the daemon runs);
- ``draining``: grace-active was deleted at ``since`` and ganesha-active is
  still due, ``grace_delay`` seconds later;
- ``down``: both were deleted.

``asserted`` is when the attributes were last written as the phase says (0:
never, or the last attempt failed, so the next check writes them again), and
``attrd`` which attrd took that write (``PID:START``, or ``""`` when it could
not be told).  Times are ``CLOCK_MONOTONIC`` seconds: one clock for every
process of the node, and the state directory does not outlive a reboot.

The text is one line of ``key=value`` words.  The agent's earlier state
files said only ``up``, ``down`` or nothing; they are read as those phases,
never asserted, so the first check after an upgrade writes the attributes.
"""

from __future__ import annotations

from ocfkit._record import Record

STARTED = "started"
UP = "up"
DRAINING = "draining"
DOWN = "down"
PHASES = (STARTED, UP, DRAINING, DOWN)


def _number(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        return 0.0
    return value if value == value and abs(value) != float("inf") else 0.0  # no NaN, no inf


class Signalled(Record):
    """One state file's record."""

    __slots__ = ("asserted", "attrd", "phase", "since")

    def __init__(
        self, phase: str = STARTED, *, since: float = 0.0, asserted: float = 0.0, attrd: str = ""
    ) -> None:
        self.phase = phase
        self.since = since
        self.asserted = asserted
        self.attrd = attrd

    @classmethod
    def parse(cls, text: str) -> Signalled:
        """Read a record; anything unreadable falls back to "started, never asserted"."""
        words = text.split()
        if len(words) == 1 and words[0] in (UP, DOWN):
            return cls(words[0])
        values = dict(word.partition("=")[::2] for word in words if "=" in word)
        phase = values.get("phase", STARTED)
        attrd = values.get("attrd", "")
        return cls(
            phase if phase in PHASES else STARTED,
            since=_number(values.get("since", "0")),
            asserted=_number(values.get("asserted", "0")),
            attrd=attrd if attrd.replace(":", "").isdigit() else "",
        )

    def dump(self) -> str:
        return (
            f"phase={self.phase} since={self.since:.3f} asserted={self.asserted:.3f} "
            f"attrd={self.attrd}\n"
        )

    def but(
        self,
        *,
        phase: str | None = None,
        since: float | None = None,
        asserted: float | None = None,
        attrd: str | None = None,
    ) -> Signalled:
        """A copy with some fields changed."""
        return Signalled(
            self.phase if phase is None else phase,
            since=self.since if since is None else since,
            asserted=self.asserted if asserted is None else asserted,
            attrd=self.attrd if attrd is None else attrd,
        )
