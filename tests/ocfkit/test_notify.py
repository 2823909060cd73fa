"""Clone notifications, read from environments a real Pacemaker 2.1.5 cluster set.

The fixtures in tests/data/notify-env are dumps of every variable Pacemaker
passed to a probe agent's notify action, in a three-node cluster (clone
``nl``, instances nl:0..nl:2), in the scenarios their names tell.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ocfkit.notify import Instance, Notification, split_list
from ocfkit.testing import OCFEnv, parse_env_dump

DATA = Path(__file__).resolve().parents[1] / "data" / "notify-env"
META = "OCF_RESKEY_CRM_meta_"

Pairs = tuple[tuple[str, str], ...]
ALL_ACTIVE: Pairs = (("nl:0", "node2"), ("nl:1", "node1"), ("nl:2", "node3"))
NONE: Pairs = ()
NODE2: Pairs = (("nl:0", "node2"),)
NODE3: Pairs = (("nl:2", "node3"),)
NODE1: Pairs = (("nl:1", "node1"),)

# For each file, each notification in order: (event, key_operation, start, stop).
Expected = list[tuple[str, str, Pairs, Pairs]]
BAN_NODE3_SURVIVOR: Expected = [
    ("pre-stop", "stop", NONE, NODE3),
    ("post-stop", "stopped", NONE, NODE3),
]
MONITOR_FAIL_SURVIVOR: Expected = [
    # Recovery: node2's instance is stopped and started again ...
    ("pre-stop", "stop", NODE2, NODE2),
    ("post-stop", "stopped", NODE2, NODE2),
    ("pre-start", "start", NODE2, NODE2),
    ("post-start", "running", NODE2, NODE2),
    # ... then the failed start-up is given up and it is stopped for good.
    ("pre-stop", "stop", NONE, NODE2),
    ("post-stop", "stopped", NONE, NODE2),
]
FENCED_SURVIVOR: Expected = [
    ("pre-stop", "stop", NONE, NODE1),
    ("post-stop", "stonith", NONE, NODE1),
]
SCENARIOS: dict[str, Expected] = {
    "notify-3node-ban-node3-seen-on-node1.log": BAN_NODE3_SURVIVOR,
    "notify-3node-ban-node3-seen-on-node2.log": BAN_NODE3_SURVIVOR,
    # The banned node is told before its own stop, and not after.
    "notify-3node-ban-node3-seen-on-node3.log": BAN_NODE3_SURVIVOR[:1],
    "notify-3node-initial-start-node1.log": [
        ("post-start", "running", (("nl:0", "node1"), ("nl:1", "node2"), ("nl:2", "node3")), NONE)
    ],
    "notify-3node-monitor-fail-node2-seen-on-node1.log": MONITOR_FAIL_SURVIVOR,
    "notify-3node-monitor-fail-node2-seen-on-node2.log": [
        MONITOR_FAIL_SURVIVOR[0],
        MONITOR_FAIL_SURVIVOR[3],
        MONITOR_FAIL_SURVIVOR[4],
    ],
    "notify-3node-monitor-fail-node2-seen-on-node3.log": MONITOR_FAIL_SURVIVOR,
    # The node that lost quorum stops everything (and is fenced before "post").
    "notify-3node-node1-lost-fenced-seen-on-node1.log": [("pre-stop", "stop", NONE, ALL_ACTIVE)],
    "notify-3node-node1-lost-fenced-seen-on-node2.log": FENCED_SURVIVOR,
    "notify-3node-node1-lost-fenced-seen-on-node3.log": FENCED_SURVIVOR,
    "notify-3node-node2-netdown-seen-on-node2.log": [("pre-stop", "stop", NONE, NODE2)],
    "notify-3node-node3-pacemaker-stop-seen-on-node1.log": BAN_NODE3_SURVIVOR,
    "notify-3node-node3-pacemaker-stop-seen-on-node2.log": BAN_NODE3_SURVIVOR,
    "notify-3node-node3-pacemaker-stop-seen-on-node3.log": BAN_NODE3_SURVIVOR[:1],
}


def dumps(file_name: str) -> list[dict[str, str]]:
    return parse_env_dump((DATA / file_name).read_text())


def pairs(instances: tuple[Instance, ...]) -> Pairs:
    return tuple((i.resource or "", i.uname or "") for i in instances)


def test_every_fixture_has_a_scenario() -> None:
    assert sorted(p.name for p in DATA.glob("*.log")) == sorted(SCENARIOS)


@pytest.mark.parametrize("file_name", sorted(SCENARIOS))
def test_each_real_scenario_reads_as_it_happened(file_name: str) -> None:
    seen = []
    for environ in dumps(file_name):
        note = Notification.from_environ(environ)
        # The dump's header names the event: "... notify post-stop".
        assert environ["#header"].endswith(f"notify {note.event}")
        seen.append((note.event, note.key_operation, pairs(note.start), pairs(note.stop)))
    assert seen == SCENARIOS[file_name]


@pytest.mark.parametrize("file_name", sorted(SCENARIOS))
def test_lists_every_real_notification_shares(file_name: str) -> None:
    for environ in dumps(file_name):
        note = Notification.from_environ(environ)
        assert note.all == ("node1", "node2", "node3")
        assert note.available == ("node2", "node3", "node1")
        # No promotable clone here: the 1.1 lists and their old twins are single spaces.
        assert note.promoted == note.unpromoted == note.promote == note.demote == ()
        assert note.key_type == note.type
        for kind in ("start", "stop", "active", "promote", "demote"):
            for instance in getattr(note, kind):
                assert instance.resource and instance.uname  # every pair complete


def test_post_stop_after_fencing_names_the_fenced_node() -> None:
    post = Notification.from_environ(dumps("notify-3node-node1-lost-fenced-seen-on-node2.log")[1])
    assert post.event == "post-stop"
    assert post.key_operation == "stonith"
    assert post.after_fencing
    assert post.unames(post.stop) == ("node1",)
    # At post-stop the active list still holds the stopped instance.
    assert ("nl:1", "node1") in pairs(post.active)


def test_ordinary_post_stop_is_not_after_fencing() -> None:
    post = Notification.from_environ(dumps("notify-3node-ban-node3-seen-on-node1.log")[1])
    assert post.is_post and not post.is_pre
    assert not post.after_fencing


def test_initial_start_has_every_instance_inactive() -> None:
    (note,) = [Notification.from_environ(e) for e in dumps("notify-3node-initial-start-node1.log")]
    assert note.active == ()
    assert note.inactive == ("nl:0", "nl:1", "nl:2")
    assert note.unames(note.start) == ("node1", "node2", "node3")


def test_netdown_node_sees_only_itself_active() -> None:
    (note,) = [
        Notification.from_environ(e) for e in dumps("notify-3node-node2-netdown-seen-on-node2.log")
    ]
    assert pairs(note.active) == NODE2
    assert note.inactive == ("nl:1", "nl:2")


def test_instances_pair_by_position_not_by_number() -> None:
    """nl:0 runs on node2 in these dumps: numbers say nothing about nodes."""
    note = Notification.from_environ(dumps("notify-3node-ban-node3-seen-on-node1.log")[0])
    assert pairs(note.active) == ALL_ACTIVE


@pytest.mark.parametrize("file_name", sorted(SCENARIOS))
def test_the_builder_writes_what_pacemaker_wrote(file_name: str) -> None:
    """OCFEnv.notification, given what a real notification said, writes the same variables."""
    for environ in dumps(file_name):
        note = Notification.from_environ(environ)
        built = OCFEnv(instance="nl").notification(
            note.type,
            note.operation,
            key_operation="stonith" if note.after_fencing else None,
            start=pairs(note.start),
            stop=pairs(note.stop),
            active=pairs(note.active),
            inactive=note.inactive,
            available=note.available,
            all=note.all,
        )
        real = {k: v for k, v in environ.items() if k.startswith(META + "notify_")}
        mine = {k: v for k, v in built.items() if k.startswith(META + "notify_")}
        assert mine == real


# ------------------------------------------------------------- the parsing rules


@pytest.mark.parametrize(
    ("raw", "words"),
    [(None, ()), ("", ()), (" ", ()), ("  a  b ", ("a", "b")), ("a\tb", ("a", "b"))],
)
def test_split_list(raw: str | None, words: tuple[str, ...]) -> None:
    assert split_list(raw) == words


def test_missing_variables_read_as_empty() -> None:
    note = Notification.from_environ({})
    assert (note.type, note.operation, note.event) == ("", "", "-")
    assert note.start == note.stop == note.active == note.inactive == ()
    assert note.key_operation is None


def test_uneven_lists_pair_what_they_can() -> None:
    note = Notification.from_environ(
        {META + "notify_stop_resource": "r:0 r:1", META + "notify_stop_uname": "n1"}
    )
    assert note.stop == (Instance("r:0", "n1"), Instance("r:1", None))
    assert note.unames(note.stop) == ("n1",)


def test_promoted_and_unpromoted_use_1_1_names_first() -> None:
    environ = {
        META + "notify_promoted_resource": "r:0",
        META + "notify_promoted_uname": "new",
        META + "notify_master_resource": "r:9",
        META + "notify_master_uname": "old",
    }
    assert Notification.from_environ(environ).promoted == (Instance("r:0", "new"),)


def test_master_and_slave_serve_when_1_1_names_are_absent() -> None:
    environ = {
        META + "notify_master_resource": "r:0",
        META + "notify_master_uname": "n1",
        META + "notify_slave_resource": "r:1 r:2",
        META + "notify_slave_uname": "n2 n3",
    }
    note = Notification.from_environ(environ)
    assert note.promoted == (Instance("r:0", "n1"),)
    assert note.unpromoted == (Instance("r:1", "n2"), Instance("r:2", "n3"))


def test_unames_are_distinct_in_order() -> None:
    instances = (Instance("a:0", "n2"), Instance("a:1", "n1"), Instance("a:2", "n2"),
                 Instance("a:3", None), Instance("a:4", ""))  # fmt: skip
    assert Notification.unames(instances) == ("n2", "n1")


# Words as Pacemaker lists hold them: anything without blanks (str.split's idea of one).
words = st.text(
    alphabet=st.characters(exclude_categories=["Cs", "Zs", "Zl", "Zp", "Cc"]),
    min_size=1,
    max_size=8,
).filter(lambda w: w.split() == [w])
instance_lists = st.lists(st.tuples(words, words), max_size=4)


@given(
    st.sampled_from(["pre", "post"]),
    st.sampled_from(["start", "stop", "promote", "demote"]),
    instance_lists,
    instance_lists,
    instance_lists,
    instance_lists,
    instance_lists,
    st.lists(words, max_size=4),
    st.lists(words, max_size=4),
)
def test_builder_round_trips_through_the_parser(
    kind: str,
    operation: str,
    start: list[tuple[str, str]],
    stop: list[tuple[str, str]],
    active: list[tuple[str, str]],
    promoted: list[tuple[str, str]],
    unpromoted: list[tuple[str, str]],
    inactive: list[str],
    all_unames: list[str],
) -> None:
    environ = OCFEnv().notification(
        kind,
        operation,
        start=start,
        stop=stop,
        active=active,
        promoted=promoted,
        unpromoted=unpromoted,
        inactive=inactive,
        all=all_unames,
    )
    note = Notification.from_environ(environ)
    assert (note.type, note.operation) == (kind, operation)
    assert pairs(note.start) == tuple(start)
    assert pairs(note.stop) == tuple(stop)
    assert pairs(note.active) == tuple(active)
    assert pairs(note.promoted) == tuple(promoted)
    assert pairs(note.unpromoted) == tuple(unpromoted)
    assert note.inactive == tuple(inactive)
    assert note.all == tuple(all_unames)
    # The pre-1.1 twins carry the same lists, for agents that read only those.
    old = {k.replace("promoted", "master").replace("unmaster", "slave"): v
           for k, v in environ.items() if "promoted" in k}  # fmt: skip
    assert all(environ[k] == v for k, v in old.items())
