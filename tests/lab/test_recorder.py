"""The recorder on scripted probes: what it keeps, and the bounds it puts on each change."""

from __future__ import annotations

import threading
from collections.abc import Hashable

from ocfkit.lab.errors import LabError
from ocfkit.lab.recorder import Recorder, _fib_local_addresses


class Script:
    """A probe that answers the values it is given, one sample after the other, then repeats."""

    def __init__(self, *answers: dict[str, Hashable]) -> None:
        self.answers = list(answers)
        self.calls = 0
        self.done = threading.Event()

    def __call__(self) -> dict[str, Hashable]:
        self.calls += 1
        if self.calls >= len(self.answers):
            self.done.set()
        return self.answers[min(self.calls, len(self.answers)) - 1]


class Clock:
    """Each reading is one second after the previous one."""

    def __init__(self) -> None:
        self.now = 0.0
        self.lock = threading.Lock()

    def __call__(self) -> float:
        with self.lock:
            self.now += 1.0
            return self.now


def run(recorder: Recorder, *scripts: Script) -> None:
    with recorder:
        for script in scripts:
            assert script.done.wait(10)


def test_only_changes_are_kept_with_their_bounds() -> None:
    script = Script({"a": 1}, {"a": 1}, {"a": 2}, {"a": 2})
    clock = Clock()
    recorder = Recorder({"p": script}, interval=0.001, clock=clock)
    run(recorder, script)
    [change] = recorder.changes("p", "a")
    assert (change.before, change.value) == (1, 2)
    # Samples start and end on the clock: the change lies after the start of
    # the last sample showing 1 and before the end of the first showing 2.
    assert change.earliest < change.latest
    assert recorder.first("p", "a", lambda v: v == 2) == change
    assert recorder.first("p", "a", lambda v: v == 3) is None
    assert recorder.first("p", "a", lambda v: v == 2, after=change.latest + 1) is None


def test_the_state_before_start_is_not_a_change() -> None:
    script = Script({"a": 1})
    recorder = Recorder({"p": script}, interval=0.001)
    run(recorder, script)
    assert recorder.changes() == []
    assert recorder.current("p") == {"a": 1}


def test_keys_appearing_and_vanishing_change_from_and_to_none() -> None:
    script = Script({"a": 1}, {"a": 1, "b": 5}, {"b": 5})
    recorder = Recorder({"p": script}, interval=0.001)
    run(recorder, script)
    assert [(c.key, c.before, c.value) for c in recorder.changes("p")] == [
        ("b", None, 5),
        ("a", 1, None),
    ]


def test_a_probe_that_fails_counts_an_error_and_changes_nothing() -> None:
    calls = []

    def flaky() -> dict[str, Hashable]:
        calls.append(1)
        if len(calls) == 2:
            raise LabError("node2 is being fenced")
        return {"a": 1}

    done = Script({"x": 0}, {"x": 0}, {"x": 0}, {"x": 0})
    recorder = Recorder({"flaky": flaky, "done": done}, interval=0.001)
    run(recorder, done)
    stats = recorder.statistics()
    assert stats["flaky"]["errors"] >= 1
    assert recorder.changes("flaky") == []


def test_each_probe_has_its_own_pace() -> None:
    answers: list[dict[str, Hashable]] = [{"a": i} for i in range(20)]
    fast = Script(*answers)
    slow = Script({"a": 0})
    recorder = Recorder({"fast": fast, "slow": slow}, interval=0.001, intervals={"slow": 5.0})
    run(recorder, fast)
    assert slow.calls == 1, "sampled once at start, then waiting its 5 s"


def test_wait_sees_the_latest_sample() -> None:
    script = Script({"a": 1}, {"a": 1}, {"a": 2})
    with Recorder({"p": script}, interval=0.001) as recorder:
        assert recorder.wait("p", lambda values: values.get("a") == 2, 10)
        assert not recorder.wait("p", lambda values: values.get("a") == 3, 0.05)


FIB_TRIE = """\
Main:
  +-- 0.0.0.0/0 3 0 5
     +-- 192.168.77.0/24 2 0 2
        |-- 192.168.77.0
           /24 link UNICAST
        +-- 192.168.77.12/31 1 0 0
           |-- 192.168.77.12
              /32 host LOCAL
           |-- 192.168.77.13
              /32 host LOCAL
        |-- 192.168.77.255
           /32 link BROADCAST
Local:
  +-- 0.0.0.0/0 3 0 5
     |-- 127.0.0.1
        /32 host LOCAL
"""


def test_fib_trie_local_host_entries_are_the_configured_addresses() -> None:
    assert _fib_local_addresses(FIB_TRIE) == {"192.168.77.12", "192.168.77.13", "127.0.0.1"}
