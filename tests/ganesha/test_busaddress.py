"""The system bus the agents accept: DBUS_SYSTEM_BUS_ADDRESS is checked, never obeyed blindly."""

from __future__ import annotations

import os
import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ganesha_agents.backends import busaddress
from ganesha_agents.backends.busaddress import UnsafeBusAddress, check_socket, socket_path
from ganesha_agents.backends.ganesha import GaneshaDaemon
from ganesha_agents.fakes import FakeAttributeStore
from ganesha_agents.grace import GaneshaGrace
from ocfkit import ExitCode
from ocfkit.testing import AgentRunner, FakeClock, MemoryStateStore, OCFEnv

ROOT = os.geteuid() == 0


@pytest.mark.parametrize(
    ("address", "path"),
    [
        ("", "/var/run/dbus/system_bus_socket"),
        ("unix:path=/var/run/dbus/system_bus_socket", "/var/run/dbus/system_bus_socket"),
        ("unix:path=/var/lib/ocfkit/lab/nodes/node1/dbus/system_bus_socket",
         "/var/lib/ocfkit/lab/nodes/node1/dbus/system_bus_socket"),
    ],
)  # fmt: skip
def test_accepted_addresses(address: str, path: str) -> None:
    assert socket_path(address) == path


@pytest.mark.parametrize(
    "address",
    [
        "tcp:host=192.0.2.1,port=1234",
        "nonce-tcp:host=localhost,port=1234,noncefile=/tmp/n",
        "unix:abstract=/tmp/bus",
        "unixexec:path=/bin/sh,argv1=-c,argv2=id",
        "autolaunch:",
        "systemd:",
        "launchd:env=X",
        "unix:path=relative/socket",
        "unix:path=/a;unix:path=/b",
        "unix:path=/run/dbus/system_bus_socket,guid=0123",
        "unix:path=/run/a%20b",
        "unix:path=/run/a b",
        "unix:tmpdir=/tmp",
        "unix:runtime=yes",
        "UNIX:path=/run/dbus/system_bus_socket",
        "unix:path=/run/\nbus",
    ],
)
def test_every_other_address_is_refused(address: str) -> None:
    with pytest.raises(UnsafeBusAddress, match=r"only unix:path=/absolute/path is accepted"):
        socket_path(address)


@given(st.text(max_size=80))
def test_any_text_is_a_safe_path_or_a_clear_refusal(address: str) -> None:
    try:
        path = socket_path(address)
    except UnsafeBusAddress as error:
        assert "\n" not in error.reason
        return
    assert path.startswith("/")
    assert set(path) <= set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_./-")


def listening(path: Path) -> socket.socket:
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(str(path))
    server.listen(8)
    return server


def test_a_socket_in_a_directory_others_may_write_is_refused(tmp_path: Path) -> None:
    open_dir = tmp_path / "open"
    open_dir.mkdir(mode=0o777)
    open_dir.chmod(0o777)
    refused = pytest.raises(UnsafeBusAddress, match=r"writable by its group and by others")
    with listening(open_dir / "bus"), refused:
        check_socket(str(open_dir / "bus"))


@pytest.mark.skipif(not ROOT, reason="needs root to give the socket to nobody")
def test_a_socket_of_another_users_is_refused(tmp_path: Path) -> None:
    with listening(tmp_path / "bus"):
        os.chown(tmp_path / "bus", 65534, 65534)
        with pytest.raises(UnsafeBusAddress, match="owned by nobody"):
            check_socket(str(tmp_path / "bus"))


def test_a_file_that_is_no_socket_is_refused(tmp_path: Path) -> None:
    (tmp_path / "bus").write_text("")
    with pytest.raises(UnsafeBusAddress, match="is not a socket"):
        check_socket(str(tmp_path / "bus"))


def test_root_bus_and_a_bus_not_there_yet_pass(tmp_path: Path) -> None:
    if ROOT:
        with listening(tmp_path / "bus"):
            check_socket(str(tmp_path / "bus"))
    check_socket(str(tmp_path / "restarting"))  # connecting fails later, and is retried


# -- the agent never talks to a bus someone else could run ------------------------------------


class FakeBus:
    """A listening socket standing in for a bus another user runs; counts who connects."""

    def __init__(self, path: Path) -> None:
        self.server = listening(path)
        self.server.settimeout(0.1)
        self.connections = 0
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        while not self.stopping.is_set():
            try:
                client, _ = self.server.accept()
            except TimeoutError:
                continue
            self.connections += 1
            client.close()

    def close(self) -> None:
        self.stopping.set()
        self.thread.join(5)
        self.server.close()


@pytest.fixture
def foreign_bus(tmp_path: Path) -> Iterator[tuple[str, FakeBus]]:
    open_dir = tmp_path / "open"
    open_dir.mkdir()
    open_dir.chmod(0o777)
    bus = FakeBus(open_dir / "system_bus_socket")
    yield f"unix:path={open_dir}/system_bus_socket", bus
    bus.close()


def test_grace_never_calls_a_bus_in_another_users_hands(
    foreign_bus: tuple[str, FakeBus],
) -> None:
    pytest.importorskip("gi", reason="the real D-Bus client needs PyGObject")
    address, bus = foreign_bus
    clock = FakeClock()

    def agent() -> GaneshaGrace:
        return GaneshaGrace(
            attributes=FakeAttributeStore(clock).for_node("node1"),
            state_store=MemoryStateStore(),
            node_name="node1",
        )

    env = (
        OCFEnv(instance="nfs-grace:0")
        .set(DBUS_SYSTEM_BUS_ADDRESS=address)
        .meta(timeout=3000)
        .notification("post", "stop", stop=["node2"], active=["node1"])
    )
    result = AgentRunner(agent).invoke("notify", env)
    assert result.exit_code == ExitCode.SUCCESS  # notify always succeeds; the log says why
    assert bus.connections == 0
    assert result.logged("refusing the D-Bus system bus at ")
    assert result.logged("writable by its group and by others")


def test_the_agents_connect_through_the_checking_connector() -> None:
    seen: list[object] = []

    class Probe(GaneshaGrace):
        def grace(self, argument: str) -> None:
            daemon = self.daemon
            assert isinstance(daemon, GaneshaDaemon)
            seen.append(daemon._connect)  # the wiring is what is tested

    def agent() -> Probe:
        return Probe(
            attributes=FakeAttributeStore(FakeClock()).for_node("node1"),
            state_store=MemoryStateStore(),
            node_name="node1",
        )

    env = OCFEnv().notification("post", "stop", stop=["node2"])
    assert AgentRunner(agent).invoke("notify", env).exit_code == ExitCode.SUCCESS
    assert seen == [busaddress.connect]
