"""A simulated node for the agents: fake attrd, fake ganesha.nfsd, memory state, virtual clock."""

from __future__ import annotations

import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import attrs
import pytest

from ganesha_agents.fakes import (
    FakeAttrdTracker,
    FakeAttributeStore,
    FakeNFSDaemon,
    FakeWatcherControl,
    MemoryLock,
)
from ganesha_agents.grace import GaneshaGrace
from ganesha_agents.mon import GaneshaMon
from ganesha_agents.standins import ganesha_pid_holder
from ocfkit.testing import (
    AgentRunner,
    FakeClock,
    FakeCommandRunner,
    MemoryStateStore,
    OCFEnv,
    Result,
)


@attrs.define
class World:
    """One node (``node1``) of a cluster whose attribute manager is shared."""

    clock: FakeClock
    attributes: FakeAttributeStore
    daemon: FakeNFSDaemon
    state: MemoryStateStore
    commands: FakeCommandRunner
    lock: MemoryLock = attrs.Factory(MemoryLock)
    watchers: FakeWatcherControl = attrs.Factory(FakeWatcherControl)
    attrd: FakeAttrdTracker = attrs.Factory(FakeAttrdTracker)

    def mon(self) -> GaneshaMon:
        return GaneshaMon(
            lock=self.lock,
            watchers=self.watchers,
            attrd=self.attrd,
            attributes=self.attributes.for_node("node1"),
            daemon=self.daemon,
            clock=self.clock,
            state_store=self.state,
            runner=self.commands,
        )

    def grace(self) -> GaneshaGrace:
        return GaneshaGrace(
            attributes=self.attributes.for_node("node1"),
            daemon=self.daemon,
            clock=self.clock,
            state_store=self.state,
            runner=self.commands,
        )

    def run_mon(self, action: str, env: OCFEnv) -> Result:
        return AgentRunner(self.mon).invoke(action, env)

    def run_grace(self, action: str, env: OCFEnv) -> Result:
        return AgentRunner(self.grace).invoke(action, env)

    def value(self, name: str, node: str = "node1") -> str | None:
        return self.attributes.value(node, name)


@pytest.fixture
def world() -> World:
    clock = FakeClock()
    return World(
        clock=clock,
        attributes=FakeAttributeStore(clock),
        daemon=FakeNFSDaemon("node1", clock),
        state=MemoryStateStore(),
        commands=FakeCommandRunner(
            lambda argv: "node1\n" if argv[:2] == ("crm_node", "-n") else None
        ),
    )


@pytest.fixture
def mon_env() -> OCFEnv:
    return (
        OCFEnv(instance="nfs-mon", resource_type="ganesha_mon", provider="ganesha")
        .clone(instance=0, max=4, notify=False)
        .on_node("node1")
    )


@pytest.fixture
def grace_env() -> OCFEnv:
    return (
        OCFEnv(instance="nfs-grace", resource_type="ganesha_grace", provider="ganesha")
        .clone(instance=0, max=4, notify=True)
        .on_node("node1")
    )


Invoker = Callable[[str, OCFEnv], Result]


@pytest.fixture(scope="session")
def live_pid_file(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A pid file whose lock a process named ganesha.nfsd holds: a live daemon, to find_alive."""
    path = tmp_path_factory.mktemp("live") / "ganesha.pid"
    with ganesha_pid_holder(path):
        yield path


@pytest.fixture
def stale_pid_file(tmp_path: Path) -> Path:
    """A pid file left behind by a daemon that died (its pid belongs to no live ganesha)."""
    done = subprocess.Popen(["true"])
    done.wait(timeout=10)
    path = tmp_path / "ganesha.pid"
    path.write_text(f"{done.pid}\n")
    return path
