"""ganesha_takeover's decisions, on simulated nodes sharing attrd and a state volume."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable

import attrs
import pytest

from ganesha_agents.backends.v4clients import AddressUse
from ganesha_agents.fakes import (
    FakeAddressClients,
    FakeAddressRecords,
    FakeAttributeStore,
    FakeNFSDaemon,
)
from ganesha_agents.takeover import GaneshaTakeover
from ocfkit import ExitCode, GenericError
from ocfkit.testing import AgentRunner, FakeClock, MemoryStateStore, OCFEnv, Result

VIP = "192.0.2.12"
NODES = ("node1", "node2", "node3", "node4")


@attrs.define
class Cluster:
    """Four simulated nodes; node2 is the address's home."""

    clock: FakeClock
    attributes: FakeAttributeStore
    records: FakeAddressRecords
    daemons: dict[str, FakeNFSDaemon]
    states: dict[str, MemoryStateStore]
    #: Each node's sockets and recovery records, for the demote's release by owner.
    clients: dict[str, FakeAddressClients] = attrs.field(factory=dict)

    def agent(self, node: str) -> Callable[[], GaneshaTakeover]:
        return lambda: GaneshaTakeover(
            attributes=self.attributes.for_node(node),
            daemon=self.daemons[node],
            records=self.records.for_node(node),
            clients=self.clients.get(node),
            clock=self.clock,
            state_store=self.states[node],
            node_name=node,
        )

    def run(self, node: str, action: str, env: OCFEnv | None = None) -> Result:
        return AgentRunner(self.agent(node)).invoke(action, env or environment(node))

    def calls(self, node: str) -> list[str]:
        return [c.argument for c in self.daemons[node].grace_calls]

    def start_everywhere(self) -> None:
        for node in NODES:
            assert self.run(node, "start").code == ExitCode.SUCCESS

    def move(self, to: str, *, demote: str | None) -> dict[str, Result]:
        """One move as Pacemaker runs it, every notification through the agent's filter.

        With a live old holder: pre-demote notifications, the demote, then the
        pre-promote notifications (settled by the demote) and the promote.
        Without one (a first promote, a holder fenced from outside): the
        pre-promote notifications and the promote.
        """
        results: dict[str, Result] = {}
        if demote is not None:
            note = notified("demote", to, demote)
            for node in NODES:
                if self.states[node].values:
                    results[f"pre-demote {node}"] = self.run(node, "notify", note(node))
            results["demote"] = self.run(demote, "demote")
        note = notified("promote", to, demote)
        for node in NODES:
            if node != to and self.states[node].values:
                results[f"pre-promote {node}"] = self.run(node, "notify", note(node))
        results["promote"] = self.run(to, "promote")
        return results


def environment(node: str) -> OCFEnv:
    return (
        OCFEnv(instance="node2-takeover", resource_type="ganesha_takeover", provider="ganesha")
        .clone(instance=NODES.index(node), max=len(NODES), notify=True)
        .on_node(node)
        .params(ip=VIP)
    )


def notified(operation: str, to: str, demoted: str | None) -> Callable[[str], OCFEnv]:
    """The pre-``operation`` notification of a move to ``to``, as each node gets it."""

    def env(node: str) -> OCFEnv:
        return environment(node).notification(
            "pre",
            operation,
            promote=[to],
            demote=[demoted] if demoted else [],
            promoted=[demoted] if demoted else [],
            active=list(NODES),
            all=list(NODES),
        )

    return env


def pre_promote(to: str, demoted: str | None) -> Callable[[str], OCFEnv]:
    return notified("promote", to, demoted)


@pytest.fixture
def cluster() -> Cluster:
    clock = FakeClock()
    records = FakeAddressRecords(clock)

    def reader(node: str) -> Callable[[str], str | None]:
        return lambda address: records.read(node, address)

    daemons = {node: FakeNFSDaemon(node, clock, records=reader(node)) for node in NODES}
    return Cluster(
        clock=clock,
        attributes=FakeAttributeStore(clock),
        records=records,
        daemons=daemons,
        states={node: MemoryStateStore() for node in NODES},
        clients={node: FakeAddressClients(clock) for node in NODES},
    )


def in_grace(cluster: Cluster, nodes: Iterable[str]) -> dict[str, bool]:
    return {node: cluster.daemons[node].in_grace() for node in nodes}


# ------------------------------------------------------------------ life cycle


def test_probe_of_a_never_started_instance_answers_7(cluster: Cluster) -> None:
    assert cluster.run("node1", "monitor", environment("node1").probe()).code == 7


def test_monitor_reports_the_role(cluster: Cluster) -> None:
    env = environment("node2").recurring(31_000)
    assert cluster.run("node2", "start").code == ExitCode.SUCCESS
    assert cluster.run("node2", "monitor", env).code == ExitCode.SUCCESS
    assert cluster.run("node2", "promote").code == ExitCode.SUCCESS
    assert cluster.run("node2", "monitor", env).code == ExitCode.RUNNING_PROMOTED
    assert cluster.run("node2", "demote").code == ExitCode.SUCCESS
    assert cluster.run("node2", "monitor", env).code == ExitCode.SUCCESS
    assert cluster.run("node2", "stop").code == ExitCode.SUCCESS
    assert cluster.run("node2", "monitor", env).code == ExitCode.NOT_RUNNING


def test_start_and_stop_never_touch_ganesha(cluster: Cluster) -> None:
    cluster.daemons["node1"].kill()
    assert cluster.run("node1", "start").code == ExitCode.SUCCESS
    assert cluster.run("node1", "stop").code == ExitCode.SUCCESS
    assert cluster.calls("node1") == []


def test_conformance_in_process(ocf_conformance: Callable[..., object]) -> None:
    report = ocf_conformance(GaneshaTakeover.conformance_factory(), params={"ip": VIP})
    assert getattr(report, "ok", False), report
    assert len(getattr(report, "checks", ())) > 25


@pytest.mark.parametrize(
    ("name", "value", "reason"),
    [
        ("ip", "node2", "ip must be an IPv4 or IPv6 address"),
        ("ip", "10.0.0.1; rm -rf /", "ip must be an IPv4 or IPv6 address"),
        ("ha_vol_mnt", "run/gluster/shared_storage", "ha_vol_mnt must be an absolute path"),
        ("pid_file", "ganesha.pid", "pid_file must be an absolute path"),
        ("ha_vol_mnt", "/shared\nCRIT: forged", "ha_vol_mnt must be an absolute path"),
        ("pid_file", "/run/\x1b[2Jganesha.pid", "pid_file must be an absolute path"),
        ("grace_budget", "0", "grace_budget"),
    ],
)
def test_bad_parameters_are_configuration_errors(
    cluster: Cluster, name: str, value: str, reason: str
) -> None:
    result = cluster.run("node1", "start", environment("node1").param(name, value))
    assert result.code == ExitCode.ERR_CONFIGURED
    assert result.exit_reason is not None and reason in result.exit_reason


# ------------------------------------------------------------------ the first promote


def test_the_first_promote_is_plain_grace_and_records_the_holder(cluster: Cluster) -> None:
    cluster.start_everywhere()
    results = cluster.move("node2", demote=None)
    assert results["promote"].code == ExitCode.SUCCESS
    assert cluster.calls("node2") == ["0:"]
    assert cluster.records.holders[VIP] == FakeAddressRecords.root_of("node2")
    # Every other node entered grace first, each confirmed.
    assert [cluster.calls(n) for n in ("node1", "node3", "node4")] == [["0:"]] * 3


# ------------------------------------------------------------------ moves


def test_failover_takes_over_the_holders_records_after_the_others_are_in_grace(
    cluster: Cluster,
) -> None:
    cluster.start_everywhere()
    cluster.move("node2", demote=None)
    cluster.clock.advance(200)  # the first grace is long over
    cluster.daemons["node2"].kill()
    results = cluster.move("node1", demote="node2")
    assert results["demote"].code == ExitCode.SUCCESS
    assert results["promote"].code == ExitCode.SUCCESS
    took = cluster.daemons["node1"].grace_calls[-1]
    assert took.argument == f"5:{VIP}"
    assert took.records == FakeAddressRecords.root_of("node2")
    assert in_grace(cluster, ("node1", "node3", "node4")) == dict.fromkeys(
        ("node1", "node3", "node4"), True
    )
    for node in ("node3", "node4"):
        first = cluster.daemons[node].grace_calls[-1]
        assert first.argument == "0:" and first.time <= took.time
    assert cluster.records.holders[VIP] == FakeAddressRecords.root_of("node1")
    assert cluster.calls("node2") == ["0:"], "the dead holder: nothing since its first promote"
    assert not results["pre-promote node3"].logged("grace"), "settled by the pre-demote round"


def test_failback_takes_over_what_the_other_node_recorded_meanwhile(cluster: Cluster) -> None:
    cluster.start_everywhere()
    cluster.move("node2", demote=None)
    cluster.daemons["node2"].kill()
    cluster.move("node1", demote="node2")
    cluster.daemons["node2"].revive()
    cluster.clock.advance(200)
    results = cluster.move("node2", demote="node1")
    assert results["promote"].code == ExitCode.SUCCESS
    assert cluster.calls("node1")[-1] == f"2:{VIP}", "released, so in grace"
    assert [cluster.calls(n)[-1] for n in ("node3", "node4")] == ["0:", "0:"]
    took = cluster.daemons["node2"].grace_calls[-1]
    assert took.argument == f"5:{VIP}"
    assert took.records == FakeAddressRecords.root_of("node1")
    assert cluster.records.holders[VIP] == FakeAddressRecords.root_of("node2")


def test_external_fencing_needs_no_notification_to_know_the_previous_holder(
    cluster: Cluster,
) -> None:
    cluster.start_everywhere()
    cluster.move("node2", demote=None)
    cluster.move("node3", demote="node2")  # a manual move
    cluster.daemons["node3"].kill()
    cluster.states["node3"].values.clear()  # fenced: its instance is simply gone
    results = cluster.move("node4", demote=None)  # no demote, promoted list empty
    assert results["promote"].code == ExitCode.SUCCESS
    assert cluster.daemons["node4"].grace_calls[-1].records == FakeAddressRecords.root_of("node3")


def test_a_node_that_cannot_enter_grace_refuses_the_address(cluster: Cluster) -> None:
    cluster.start_everywhere()
    cluster.move("node2", demote=None)
    cluster.daemons["node1"].fail_next(5, "org.freedesktop.DBus.Error.NoReply: timed out")
    results = cluster.move("node1", demote="node2")
    promote = results["promote"]
    assert promote.code == ExitCode.ERR_GENERIC
    assert promote.exit_reason is not None and "cannot take over" in promote.exit_reason
    assert cluster.run("node1", "monitor", environment("node1").recurring()).code == 0
    # The record still names the old holder: the next node takes over the right clients.
    assert cluster.records.holders[VIP] == FakeAddressRecords.root_of("node2")
    assert cluster.move("node4", demote=None)["promote"].code == ExitCode.SUCCESS
    assert cluster.daemons["node4"].grace_calls[-1].records == FakeAddressRecords.root_of("node2")


def test_a_dead_local_ganesha_refuses_the_promote(cluster: Cluster) -> None:
    cluster.start_everywhere()
    cluster.daemons["node1"].kill()
    result = cluster.run("node1", "promote")
    assert result.code == ExitCode.ERR_GENERIC


def test_a_survivor_that_cannot_be_put_in_grace_is_reported_not_waited_for(
    cluster: Cluster,
) -> None:
    cluster.start_everywhere()
    cluster.move("node2", demote=None)
    cluster.daemons["node3"].fail_next(5)
    results = cluster.move("node1", demote="node2")
    notify = results["pre-demote node3"]
    assert notify.code == ExitCode.SUCCESS
    assert notify.logged("NOT confirmed in grace")
    assert results["promote"].code == ExitCode.SUCCESS


def test_shared_storage_down_still_brings_the_address_up_in_grace(cluster: Cluster) -> None:
    cluster.start_everywhere()
    cluster.move("node2", demote=None)
    cluster.records.failure = GenericError("Transport endpoint is not connected")
    results = cluster.move("node1", demote="node2")
    assert results["promote"].code == ExitCode.SUCCESS
    assert results["promote"].logged("cannot reclaim")
    assert cluster.calls("node1")[-1] == "0:"


def test_without_address_records_every_move_is_plain_grace() -> None:
    clock = FakeClock()
    daemon = FakeNFSDaemon("node1", clock)
    agent = GaneshaTakeover(
        attributes=FakeAttributeStore(clock).for_node("node1"),
        daemon=daemon,
        clock=clock,
        state_store=MemoryStateStore(),
        node_name="node1",
    )
    result = AgentRunner(lambda: agent).invoke("promote", environment("node1"))
    assert result.code == ExitCode.SUCCESS
    assert [c.argument for c in daemon.grace_calls] == ["0:"]


def test_promote_is_idempotent(cluster: Cluster) -> None:
    cluster.start_everywhere()
    cluster.move("node2", demote=None)
    assert cluster.run("node2", "promote").code == ExitCode.SUCCESS
    assert cluster.calls("node2") == ["0:"]


def test_the_demote_never_fails(cluster: Cluster) -> None:
    cluster.start_everywhere()
    cluster.move("node2", demote=None)
    cluster.daemons["node2"].fail_next(5)
    result = cluster.run("node2", "demote")
    assert result.code == ExitCode.SUCCESS
    assert result.logged("releasing")


@pytest.mark.parametrize("event", ["post-promote", "post-demote", "pre-start"])
def test_other_notifications_do_nothing(cluster: Cluster, event: str) -> None:
    cluster.start_everywhere()
    when, operation = event.split("-")
    env = environment("node3").notification(when, operation, promote=["node1"])
    assert cluster.run("node3", "notify", env).code == ExitCode.SUCCESS
    assert cluster.calls("node3") == []


def test_the_new_holder_does_not_grace_itself_twice(cluster: Cluster) -> None:
    cluster.start_everywhere()
    env = pre_promote("node1", None)("node1")
    assert cluster.run("node1", "notify", env).code == ExitCode.SUCCESS
    assert cluster.calls("node1") == []


def test_with_a_live_old_holder_the_others_enter_grace_at_the_pre_demote_round(
    cluster: Cluster,
) -> None:
    cluster.start_everywhere()
    cluster.move("node2", demote=None)
    before = {node: len(cluster.calls(node)) for node in NODES}

    def new_calls() -> dict[str, list[str]]:
        return {node: cluster.calls(node)[before[node] :] for node in NODES}

    for node in NODES:
        assert cluster.run(node, "notify", notified("demote", "node4", "node2")(node)).code == 0
    assert new_calls() == {"node1": ["0:"], "node2": [], "node3": ["0:"], "node4": []}
    assert cluster.run("node2", "demote").code == ExitCode.SUCCESS
    for node in ("node1", "node2", "node3"):
        assert cluster.run(node, "notify", notified("promote", "node4", "node2")(node)).code == 0
    assert cluster.run("node4", "promote").code == ExitCode.SUCCESS
    assert new_calls() == {
        "node1": ["0:"],
        "node2": [f"2:{VIP}"],
        "node3": ["0:"],
        "node4": [f"5:{VIP}"],
    }, "the pre-promote round was settled by the demote"


def test_a_pre_demote_without_a_promote_does_nothing(cluster: Cluster) -> None:
    cluster.start_everywhere()
    env = environment("node3").notification("pre", "demote", demote=["node2"])
    assert cluster.run("node3", "notify", env).code == ExitCode.SUCCESS
    assert cluster.calls("node3") == []


def test_an_instance_started_in_the_move_enters_grace_at_the_pre_promote_round(
    cluster: Cluster,
) -> None:
    """It was not running at the pre-demote round, so the demote does not settle it."""
    cluster.start_everywhere()
    env = environment("node3").notification(
        "pre", "promote", promote=["node1"], demote=["node2"], start=["node3"]
    )
    assert cluster.run("node3", "notify", env).code == ExitCode.SUCCESS
    assert cluster.calls("node3") == ["0:"]


# ------------------------------------------------- the demote releases the address's clients

OWN_VIP = "192.0.2.11"
A = "Linux NFSv4.1 node3 a"
C = "Linux NFSv4.1 node4 c"
D = "Linux NFSv4.1 node5"


def failed_over_with_clients(cluster: Cluster) -> None:
    """The address on node1 after node2's ganesha died; a and c hold locks through it there,
    d holds one through node1's own address."""
    cluster.start_everywhere()
    cluster.move("node2", demote=None)
    cluster.daemons["node2"].kill()
    cluster.move("node1", demote="node2")
    cluster.daemons["node2"].revive()
    cluster.clock.advance(200)
    here = cluster.clients["node1"]
    for host, owner, address in (
        ("198.51.100.3", A, VIP),
        ("198.51.100.4", C, VIP),
        ("198.51.100.5", D, OWN_VIP),
    ):
        here.connect(host, address)
        here.record(host, owner)
        cluster.daemons["node1"].clients[owner] = "a write lock on bytes 0-63"


def test_failback_releases_the_clients_that_used_the_address_by_owner(cluster: Cluster) -> None:
    failed_over_with_clients(cluster)
    results = cluster.move("node2", demote="node1")
    assert results["demote"].code == ExitCode.SUCCESS
    assert results["promote"].code == ExitCode.SUCCESS
    old = cluster.daemons["node1"]
    assert cluster.calls("node1")[-3:] == [f"2:{VIP}", f"2:{A}", f"2:{C}"]
    assert old.released == [A, C], "their locks are gone from the old holder"
    assert list(old.clients) == [D], "a client of the node's own address keeps its state"
    assert results["demote"].logged("released 2 client(s)")
    assert cluster.daemons["node2"].grace_calls[-1].argument == f"5:{VIP}"


def test_an_owner_another_client_s_owner_contains_is_left_to_its_lease(cluster: Cluster) -> None:
    failed_over_with_clients(cluster)
    here = cluster.clients["node1"]
    here.connect("198.51.100.6", VIP)
    here.record("198.51.100.6", "Linux NFSv4.1 node")  # part of every other owner here
    results = cluster.move("node2", demote="node1")
    assert cluster.daemons["node1"].released == [A, C]
    assert results["demote"].logged("keeps its state here until its lease runs out")


def test_clients_that_cannot_be_listed_are_left_to_their_lease(cluster: Cluster) -> None:
    failed_over_with_clients(cluster)
    cluster.clients["node1"].failure = GenericError("v4recov: Transport endpoint is not connected")
    results = cluster.move("node2", demote="node1")
    assert results["demote"].code == ExitCode.SUCCESS
    assert results["demote"].logged("cannot be listed")
    assert cluster.calls("node1")[-1] == f"2:{VIP}"
    assert cluster.daemons["node1"].released == []


def test_the_releases_stop_at_the_budget(cluster: Cluster) -> None:
    failed_over_with_clients(cluster)
    cluster.clients["node1"].delay = 5.0  # longer than grace_budget (3)
    results = cluster.move("node2", demote="node1")
    assert results["demote"].code == ExitCode.SUCCESS
    assert results["demote"].logged("out of time releasing the clients")
    assert cluster.daemons["node1"].released == []
    assert results["promote"].code == ExitCode.SUCCESS


def test_a_refused_release_does_not_stop_the_others(cluster: Cluster) -> None:
    failed_over_with_clients(cluster)
    old = cluster.daemons["node1"]
    original = old.grace

    def refuse_a(argument: str, *, budget: float | None = None) -> str:
        if argument == f"2:{A}":
            old.fail_next(1)
        return original(argument, budget=budget)

    old.grace = refuse_a  # type: ignore[method-assign]
    results = cluster.move("node2", demote="node1")
    assert results["demote"].code == ExitCode.SUCCESS
    assert results["demote"].logged(f"the client {A!r} of {VIP} not released")
    assert old.released == [C]


def test_no_release_by_owner_when_the_address_s_release_failed(cluster: Cluster) -> None:
    failed_over_with_clients(cluster)
    cluster.daemons["node1"].fail_next(5)
    results = cluster.move("node2", demote="node1")
    assert results["demote"].code == ExitCode.SUCCESS
    assert results["demote"].logged("NOT confirmed in grace")
    assert cluster.daemons["node1"].released == []
    assert cluster.clients["node1"].asked == []


def test_a_dead_old_holder_is_not_asked_for_its_clients(cluster: Cluster) -> None:
    failed_over_with_clients(cluster)
    cluster.daemons["node1"].kill()
    results = cluster.move("node2", demote="node1")
    assert results["demote"].code == ExitCode.SUCCESS
    assert cluster.clients["node1"].asked == []


class HungClients:
    """Records on a volume that never answers: ``use_of`` blocks until released."""

    def __init__(self) -> None:
        self.gate = threading.Event()

    def use_of(self, address: str) -> AddressUse:
        self.gate.wait(30)
        return AddressUse()


def test_a_hung_volume_holds_the_demote_no_longer_than_the_budget(cluster: Cluster) -> None:
    failed_over_with_clients(cluster)
    hung = HungClients()
    agent = GaneshaTakeover(
        attributes=cluster.attributes.for_node("node1"),
        daemon=cluster.daemons["node1"],
        records=cluster.records.for_node("node1"),
        clients=hung,
        clock=cluster.clock,
        state_store=cluster.states["node1"],
        node_name="node1",
    )
    began = time.monotonic()
    try:
        result = AgentRunner(lambda: agent).invoke(
            "demote", environment("node1").params(grace_budget="1")
        )
    finally:
        hung.gate.set()
    assert time.monotonic() - began < 5
    assert result.code == ExitCode.SUCCESS
    assert result.logged("could not be listed within 1s")
