"""The switch of /var/lib/nfs, as pure decisions: every interrupted state is completed or undone.

A small model applies the planned steps to three names.  Starting from
each state a node can be in (its own directory, no /var/lib/nfs, a link
already in place, somebody else's link), every state any sequence of
starts and stops can leave when interrupted after any step is explored;
from each of them a start and a stop must both reach their goal.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from ganesha_agents import nfs_state
from ganesha_agents.nfs_state import (
    ABSENT,
    DIRECTORY,
    LINK,
    LOCAL,
    MARKER,
    NEW,
    NFS,
    Entry,
    Refusal,
    Step,
    start_step,
    stop_step,
)

TARGET = "/vol/nfs-ganesha/node1/nfs"
ORIGINAL = "original"
# A state: what each name holds, as a label: "original" (the node's own
# directory), "link:<target>", "marker", or absent (not in the dict).
State = tuple[tuple[str, str], ...]


def entry(label: str | None) -> Entry:
    if label is None:
        return Entry(ABSENT)
    if label.startswith("link:"):
        return Entry(LINK, label.removeprefix("link:"))
    if label == "marker":
        return Entry(MARKER)
    return Entry(DIRECTORY)


def seen(state: dict[str, str]) -> nfs_state.Seen:
    return {name: entry(state.get(name)) for name in nfs_state.NAMES}


def apply(state: dict[str, str], step: Step) -> dict[str, str]:
    after = dict(state)
    if step.op == "symlink":
        assert step.name not in after
        after[step.name] = f"link:{step.target}"
    elif step.op == "exchange":
        first, second = after.pop(step.name, None), after.pop(step.other or "", None)
        if first is not None:
            after[step.other or ""] = first
        if second is not None:
            after[step.name] = second
    elif step.op == "rename":
        assert step.other not in after, "a rename never replaces"
        after[step.other or ""] = after.pop(step.name)
    elif step.op == "replace":
        assert after[step.name].startswith("link:") and after[step.other or ""].startswith("link:")
        after[step.other or ""] = after.pop(step.name)
    elif step.op == "unlink":
        assert after.pop(step.name).startswith("link:"), "only links are removed"
    elif step.op == "mark":
        assert step.name not in after
        after[step.name] = "marker"
    elif step.op == "unmark":
        assert after.pop(step.name) == "marker"
    else:
        raise AssertionError(step)
    return after


Planner = Callable[[nfs_state.Seen, bool], nfs_state.Plan]


def start(exchange: bool) -> Planner:
    return lambda s, ex: start_step(s, TARGET, exchange=exchange and ex)


def stop(exchange: bool) -> Planner:
    return lambda s, ex: stop_step(s, exchange=exchange and ex)


def run(state: dict[str, str], planner: Planner) -> tuple[list[dict[str, str]], Refusal | None]:
    """Every state the plan passes through (the first included), and its refusal if any."""
    states = [state]
    for _ in range(nfs_state.MAX_STEPS):
        step = planner(seen(states[-1]), True)
        if step is None:
            return states, None
        if isinstance(step, Refusal):
            return states, step
        states.append(apply(states[-1], step))
    raise AssertionError(f"did not settle: {states}")


def key(state: dict[str, str]) -> State:
    return tuple(sorted(state.items()))


def reachable(initial: dict[str, str], exchange: bool) -> list[dict[str, str]]:
    """Every state that starts and stops, interrupted anywhere, can leave on disk."""
    found = {key(initial): initial}
    todo = [initial]
    while todo:
        state = todo.pop()
        for planner in (start(exchange), stop(exchange)):
            states, _ = run(state, planner)
            for each in states:
                if key(each) not in found:
                    found[key(each)] = each
                    todo.append(each)
    return list(found.values())


INITIAL = {
    "own directory": {NFS: ORIGINAL},
    "no /var/lib/nfs": {},
    "already linked": {NFS: f"link:{TARGET}"},
}


@pytest.mark.parametrize("exchange", [True, False], ids=["exchange", "two renames"])
@pytest.mark.parametrize("origin", list(INITIAL))
def test_every_interrupted_state_is_completed_by_a_start_and_undone_by_a_stop(
    origin: str, exchange: bool
) -> None:
    initial = INITIAL[origin]
    states = reachable(initial, exchange)
    assert len(states) >= (4 if origin != "already linked" else 1)
    for state in states:
        started, refused = run(state, start(exchange))
        assert refused is None, (state, refused)
        assert started[-1].get(NFS) == f"link:{TARGET}"
        assert NEW not in started[-1]
        stopped, refused = run(state, stop(exchange))
        assert refused is None, (state, refused)
        assert stopped[-1] == initial, (state, stopped)
        for each in started + stopped:
            # The node's own directory is never lost, nor doubled.
            assert list(each.values()).count(ORIGINAL) == (1 if ORIGINAL in initial.values() else 0)
            if exchange and origin != "no /var/lib/nfs":
                assert NFS in each, f"/var/lib/nfs missing in {each}"


def test_the_switch_is_three_steps_with_an_exchange() -> None:
    states, _ = run({NFS: ORIGINAL}, start(True))
    assert states[1:] == [
        {NFS: ORIGINAL, NEW: f"link:{TARGET}"},
        {NFS: f"link:{TARGET}", NEW: ORIGINAL},
        {NFS: f"link:{TARGET}", LOCAL: ORIGINAL},
    ]
    back, _ = run(states[-1], stop(True))
    assert back[1:] == [{NFS: ORIGINAL, LOCAL: f"link:{TARGET}"}, {NFS: ORIGINAL}]


def test_without_exchange_nfs_is_missing_for_one_step_only() -> None:
    states, _ = run({NFS: ORIGINAL}, start(False))
    assert [NFS in s for s in states] == [True, True, False, True]


def test_a_start_adopts_a_link_already_in_place_and_a_stop_leaves_it() -> None:
    linked = {NFS: f"link:{TARGET}"}
    assert start_step(seen(linked), TARGET) is None
    assert stop_step(seen(linked)) is None
    assert not nfs_state.owned(seen(linked))
    assert nfs_state.problem(seen(linked), TARGET) is None


@pytest.mark.parametrize(
    ("state", "fragment"),
    [
        ({NFS: "link:/elsewhere"}, "ganesha_nfsd did not make it"),
        ({NFS: ORIGINAL, LOCAL: "other"}, "move one of them away"),
        ({NFS: ORIGINAL, NEW: ORIGINAL, LOCAL: ORIGINAL}, "does not choose"),
        ({NFS: f"link:{TARGET}", LOCAL: "link:/x"}, "not a state ganesha_nfsd leaves"),
    ],
)
def test_a_start_refuses_what_it_did_not_make(state: dict[str, str], fragment: str) -> None:
    plan = start_step(seen(state), TARGET)
    assert isinstance(plan, Refusal)
    assert fragment in plan.reason


@pytest.mark.parametrize(
    "kind", [Entry(nfs_state.OTHER, detail="a file owned by uid 1000"), Entry(MARKER)]
)
def test_something_foreign_at_a_name_is_refused_by_both(kind: Entry) -> None:
    state = {NFS: Entry(DIRECTORY), NEW: kind, LOCAL: Entry(ABSENT)}
    for plan in (start_step(state, TARGET), stop_step(state)):
        assert isinstance(plan, Refusal)
        assert "did not make" in plan.reason


def test_a_stop_does_not_merge_a_new_directory_with_the_one_set_aside() -> None:
    state = {NFS: Entry(DIRECTORY), NEW: Entry(ABSENT), LOCAL: Entry(DIRECTORY)}
    plan = stop_step(state)
    assert isinstance(plan, Refusal)
    assert "does not merge" in plan.reason


def test_a_stop_removes_a_stale_marker_whatever_nfs_became() -> None:
    state = {NFS: Entry(DIRECTORY), NEW: Entry(ABSENT), LOCAL: Entry(MARKER)}
    assert stop_step(state) == Step("unmark", LOCAL)


@pytest.mark.parametrize(
    ("state", "fragment"),
    [
        ({NFS: ORIGINAL}, "directory of the local disk"),
        ({}, "missing"),
        ({NFS: "link:/elsewhere"}, "links to /elsewhere"),
        ({NFS: f"link:{TARGET}", NEW: f"link:{TARGET}"}, "interrupted"),
    ],
)
def test_what_is_wrong_is_said(state: dict[str, str], fragment: str) -> None:
    said = nfs_state.problem(seen(state), TARGET)
    assert said is not None and fragment in said


def test_steps_read_as_what_they_do() -> None:
    assert str(Step("exchange", NEW, NFS)) == (
        "swap /var/lib/nfs.ganesha_nfsd-new and /var/lib/nfs"
    )
    assert (
        str(Step("symlink", NEW, target=TARGET))
        == f"link /var/lib/nfs.ganesha_nfsd-new -> {TARGET}"
    )
