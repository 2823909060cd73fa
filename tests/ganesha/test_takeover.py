"""ganesha_takeover's decisions, on simulated nodes sharing attrd and a state volume."""

from __future__ import annotations

from collections.abc import Callable, Iterable

import attrs
import pytest

from ganesha_agents.fakes import FakeAddressRecords, FakeAttributeStore, FakeNFSDaemon
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

    def agent(self, node: str) -> Callable[[], GaneshaTakeover]:
        return lambda: GaneshaTakeover(
            attributes=self.attributes.for_node(node),
            daemon=self.daemons[node],
            records=self.records.for_node(node),
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
