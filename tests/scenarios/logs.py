"""The nodes' pacemaker.log, read as timestamped lines: Pacemaker's own and the agents'.

The scenario cluster starts Pacemaker with ``HA_LOGFILE`` set to that same
file and ``HA_DATEFMT="%F %T.%N "``, so every agent (the ganesha agents
through ocfkit's logging, IPaddr2 through ocf-shellfuncs) appends lines
stamped to the nanosecond; Pacemaker's daemons stamp theirs to the
millisecond.  ``TZ=UTC`` in the same environment makes both readable
without knowing the host's zone.  Both kinds become :class:`LogLine` with a
time on the wall clock, the clock the recorder samples with.
"""

from __future__ import annotations

import calendar
import re
import time
from collections.abc import Iterable
from dataclasses import dataclass

from ocfkit.lab import Lab

_AGENT = re.compile(
    r"^(?P<date>\d{4}-\d\d-\d\d \d\d:\d\d:\d\d)\.(?P<ns>\d{9}) +"
    r"(?P<program>[\w.-]+)\((?P<instance>[^)]*)\)\[(?P<pid>\d+)\]: +"
    r"(?P<level>[A-Z]+): ?(?P<text>.*)$"
)
_DAEMON = re.compile(
    r"^(?P<date>\w{3} +\d+ \d\d:\d\d:\d\d)\.(?P<ms>\d{3}) (?P<host>\S+) "
    r"(?P<program>[\w-]+) *\[(?P<pid>\d+)\] \((?P<function>[^)]*)\) *\t?"
    r"(?P<level>\w+): (?P<text>.*)$"
)
LOG_FILE = "log-pacemaker/pacemaker.log"


@dataclass(frozen=True)
class LogLine:
    """One line; ``program`` is an agent (``ganesha_grace``) or a daemon (``pacemaker-fenced``)."""

    time: float
    node: str
    program: str
    pid: int
    level: str
    text: str
    #: The resource instance for an agent's line, the C function for a daemon's.
    where: str
    agent: bool


def parse(line: str, node: str, year: int) -> LogLine | None:
    """A line of either kind, or None (continuation lines, other formats)."""
    match = _AGENT.match(line)
    if match:
        seconds = calendar.timegm(time.strptime(match["date"], "%Y-%m-%d %H:%M:%S"))
        return LogLine(
            time=seconds + int(match["ns"]) / 1e9,
            node=node,
            program=match["program"],
            pid=int(match["pid"]),
            level=match["level"],
            text=match["text"].strip(),
            where=match["instance"],
            agent=True,
        )
    match = _DAEMON.match(line)
    if match:
        date = " ".join(match["date"].split())
        seconds = calendar.timegm(time.strptime(f"{year} {date}", "%Y %b %d %H:%M:%S"))
        return LogLine(
            time=seconds + int(match["ms"]) / 1e3,
            node=node,
            program=match["program"],
            pid=int(match["pid"]),
            level=match["level"],
            text=match["text"],
            where=match["function"],
            agent=False,
        )
    return None


Mark = dict[tuple[str, str], int]
GANESHA_LOG = "ganesha.log"


class NodeLogs:
    """Every node's pacemaker.log and ganesha.log from a mark on: what one scenario did."""

    def __init__(self, lab: Lab) -> None:
        self.lab = lab

    def _read(self, node: str, name: str, offset: int) -> str:
        try:
            with open(self.lab.node_dir(node) / name, "rb") as stream:
                stream.seek(offset)
                return stream.read().decode("utf-8", errors="replace")
        except FileNotFoundError:
            return ""

    def mark(self) -> Mark:
        """Where each log ends now."""
        marks = {}
        for node in self.lab.nodes:
            for name in (LOG_FILE, GANESHA_LOG):
                try:
                    marks[node, name] = (self.lab.node_dir(node) / name).stat().st_size
                except FileNotFoundError:
                    marks[node, name] = 0
        return marks

    def since(self, mark: Mark) -> list[LogLine]:
        """The pacemaker.log lines written after ``mark``, all nodes, in time order."""
        year = time.gmtime().tm_year
        lines: list[LogLine] = []
        for node in self.lab.nodes:
            text = self._read(node, LOG_FILE, mark.get((node, LOG_FILE), 0))
            lines += filter(None, (parse(raw, node, year) for raw in text.splitlines()))
        return sorted(lines, key=lambda line: line.time)

    def ganesha_since(self, mark: Mark) -> dict[str, list[str]]:
        """Each node's ganesha.log lines written after ``mark`` (they carry whole seconds only)."""
        return {
            node: self._read(node, GANESHA_LOG, mark.get((node, GANESHA_LOG), 0)).splitlines()
            for node in self.lab.nodes
        }


def select(
    lines: Iterable[LogLine],
    *,
    node: str | None = None,
    program: str | None = None,
    contains: str | None = None,
    startswith: str | None = None,
) -> list[LogLine]:
    return [
        line
        for line in lines
        if (node is None or line.node == node)
        and (program is None or line.program == program)
        and (contains is None or contains in line.text)
        and (startswith is None or line.text.startswith(startswith))
    ]
