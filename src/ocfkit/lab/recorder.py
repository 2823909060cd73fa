"""Timestamped samples of a lab's state while a scenario runs, taken from the host.

A scenario asks "did every survivor enter grace before the address came up
elsewhere?".  Answering it after the fact from ``crm_mon`` is impossible and
from log lines alone is one-sided (a log says what an agent did, not what a
client would have seen).  A :class:`Recorder` runs each *probe* in a thread
of its own, over and over, and keeps every change of value with the times
that bound it: the change happened after the start of the last sample that
showed the old value and before the end of the first sample that showed the
new one.  Two changes are proven in order when the first one's ``latest``
is before the second one's ``earliest``.

A probe is a callable returning ``{key: value}`` (values hashable); the
factories below read what the lab exposes without entering the cluster:
addresses on the nodes' interfaces, ganesha's grace state on each node's
bus, and node attributes through one node's attrd.  Times are the wall
clock (``time.time``), the clock the nodes' log lines are stamped with.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Collection, Hashable, Iterator, Mapping
from dataclasses import dataclass, field

from lxml import etree

from ocfkit.lab.errors import LabError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from ocfkit.lab.lab import Lab

Probe = Callable[[], Mapping[str, Hashable]]
#: The value a key has before its first sample, and after it vanishes from a probe's answer.
ABSENT = None


@dataclass(frozen=True)
class Change:
    """``key`` of ``probe`` took ``value`` somewhere in (``earliest``, ``latest``]."""

    probe: str
    key: str
    before: Hashable
    value: Hashable
    earliest: float
    latest: float


@dataclass
class _Track:
    """One probe's thread and what it has seen."""

    probe: Probe
    interval: float
    values: dict[str, Hashable] = field(default_factory=dict)
    last_start: float = 0.0
    samples: int = 0
    errors: int = 0
    last_error: str = ""
    thread: threading.Thread | None = None


class Recorder:
    """Runs probes in background threads and keeps every change of their values.

    Use it as a context manager around the scenario; every probe has taken
    one sample when ``start`` returns, so the first changes recorded are
    real changes, not the initial state.
    """

    def __init__(
        self,
        probes: Mapping[str, Probe],
        *,
        interval: float = 0.02,
        intervals: Mapping[str, float] | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        """``interval`` is the pause between two samples of a probe; ``intervals`` overrides
        it per probe (a probe that starts programs costs the cluster CPU time)."""
        self.interval = interval
        self.clock = clock
        self._tracks = {
            name: _Track(probe, (intervals or {}).get(name, interval))
            for name, probe in probes.items()
        }
        self._changes: list[Change] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self.started_at = 0.0
        self.stopped_at = 0.0

    def start(self) -> Recorder:
        self._stop.clear()
        self.started_at = self.clock()
        for name, track in self._tracks.items():
            self._sample(name, track)
            track.thread = threading.Thread(
                target=self._loop, args=(name, track), name=f"recorder-{name}", daemon=True
            )
            track.thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        for track in self._tracks.values():
            if track.thread is not None:
                track.thread.join(timeout=30)
        self.stopped_at = self.clock()

    def __enter__(self) -> Recorder:
        return self.start()

    def __exit__(self, *_exc: object) -> None:
        self.stop()

    def _loop(self, name: str, track: _Track) -> None:
        while not self._stop.wait(track.interval):
            self._sample(name, track)

    def _sample(self, name: str, track: _Track) -> None:
        start = self.clock()
        try:
            answer = dict(track.probe())
        except (LabError, OSError, ValueError) as error:
            # A node being fenced or rebooted does not answer for a while: not a change.
            with self._lock:
                track.errors += 1
                track.last_error = str(error)
            return
        end = self.clock()
        with self._lock:
            previous_start = track.last_start if track.samples else start
            for key in sorted(set(track.values) | set(answer)):
                before = track.values.get(key, ABSENT)
                value = answer.get(key, ABSENT)
                if value != before and track.samples:
                    self._changes.append(Change(name, key, before, value, previous_start, end))
            track.values = answer
            track.last_start = start
            track.samples += 1

    # -- reading --------------------------------------------------------------------------

    def changes(self, probe: str | None = None, key: str | None = None) -> list[Change]:
        """Recorded changes in the order they were seen."""
        with self._lock:
            return [
                c
                for c in self._changes
                if (probe is None or c.probe == probe) and (key is None or c.key == key)
            ]

    def first(
        self,
        probe: str,
        key: str,
        predicate: Callable[[Hashable], bool],
        after: float = 0.0,
    ) -> Change | None:
        """The first change of ``probe``/``key`` to an accepted value, seen after ``after``."""
        for change in self.changes(probe, key):
            if change.latest >= after and predicate(change.value):
                return change
        return None

    def current(self, probe: str) -> dict[str, Hashable]:
        """The values of the last sample."""
        with self._lock:
            return dict(self._tracks[probe].values)

    def wait(
        self, probe: str, predicate: Callable[[Mapping[str, Hashable]], bool], timeout: float
    ) -> bool:
        """Wait until the latest sample of ``probe`` satisfies ``predicate``; False at timeout."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if predicate(self.current(probe)):
                return True
            time.sleep(self.interval)
        return bool(predicate(self.current(probe)))

    def statistics(self) -> dict[str, dict[str, float]]:
        """Per probe: samples taken, errors, and the mean time between samples (s)."""
        span = (self.stopped_at or self.clock()) - self.started_at
        with self._lock:
            return {
                name: {
                    "samples": track.samples,
                    "errors": track.errors,
                    "period": span / track.samples if track.samples else 0.0,
                }
                for name, track in self._tracks.items()
            }


# -- probes ---------------------------------------------------------------------------------


def _fib_local_addresses(text: str) -> set[str]:
    """The addresses /proc/net/fib_trie lists as ``/32 host LOCAL``: those on an interface."""
    found: set[str] = set()
    candidate = ""
    for line in text.splitlines():
        stripped = line.strip()
        if stripped.startswith("|-- "):
            candidate = stripped[4:]
        elif stripped == "/32 host LOCAL" and candidate:
            found.add(candidate)
    return found


def _node_addresses(holders: Mapping[str, int], node: str) -> set[str]:
    """Read from the holder's /proc/PID/net: the node's network namespace, no program started."""
    try:
        with open(f"/proc/{holders[node]}/net/fib_trie", encoding="ascii") as stream:
            return _fib_local_addresses(stream.read())
    except OSError as error:
        raise LabError(f"{node}: cannot read its addresses: {error}") from error


def address_probe(lab: Lab, addresses: Collection[str]) -> Probe:
    """``{address: (nodes whose interface carries it, sorted)}`` for the given addresses.

    An address counts while it is configured, as ``ip addr`` shows it, link
    up or down.  The nodes' namespace holders are looked up once: they live
    as long as the lab.
    """
    wanted = tuple(addresses)
    state = lab.state()
    holders = {}
    for node in lab.nodes:
        record = state.latest(node, "holder")
        if record is None:
            raise LabError(f"{node} has no namespace holder: is the lab up?")
        holders[node] = record.pid

    def probe() -> dict[str, Hashable]:
        found: dict[str, list[str]] = {address: [] for address in wanted}
        for node in lab.nodes:
            for address in _node_addresses(holders, node) & set(wanted):
                found[address].append(node)
        return {address: tuple(sorted(nodes)) for address, nodes in found.items()}

    return probe


def grace_probe(lab: Lab) -> Probe:
    """``{node: True/False}`` from ganesha's get_grace on each node's bus; None: no answer."""

    def probe() -> dict[str, Hashable]:
        return {node: lab.ganesha_in_grace(node) for node in lab.nodes}

    return probe


def _observers(lab: Lab) -> Iterator[str]:
    """Nodes whose cluster stack the lab started and whose link is up, in order."""
    state = lab.state()
    for node in lab.nodes:
        if node not in state.links_down and lab.is_running(node, "pacemakerd"):
            yield node


def attribute_probe(lab: Lab, name: str) -> Probe:
    """``{node: value}`` of a transient node attribute, from the first node that answers.

    attrd keeps every node's value on every node, so one query per sample
    reads them all.  A deleted attribute reads as "" (attrd_updater cannot
    tell it from one never set on that node); a node attrd forgot is absent.
    """

    def probe() -> dict[str, Hashable]:
        argv = ["attrd_updater", "-Q", "-A", "-n", name, "--output-as=xml"]
        for node in _observers(lab):
            done = lab.exec(node, argv, timeout=10)
            # 78: no node has the attribute (never set, or attrd forgot it everywhere).
            if done.returncode not in (0, 78) or "<pacemaker-result" not in done.stdout:
                continue
            root = etree.fromstring(done.stdout.encode())
            return {a.get("host", ""): a.get("value", "") for a in root.iter("attribute")}
        raise LabError(f"no node answered attrd_updater -Q -n {name}")

    return probe
