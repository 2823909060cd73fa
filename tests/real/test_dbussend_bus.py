"""The dbus-send transport on a real bus, against the fake ganesha service.

The same cases as the pydbus transport's (test_grace_call_bus), for the
transport the agents use whenever dbus-send is installed: a reply, an error
reply (a refusal), an absent daemon, no bus, and a daemon that never answers.
"""

from __future__ import annotations

import shutil
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from ganesha_agents.backends.dbus import NO_BUS, NOT_ON_BUS, REFUSED, TIMEOUT, classify
from ganesha_agents.backends.dbussend import DbusSendAdmin

from .fake_ganesha import FakeGanesha, PrivateBus

pytestmark = pytest.mark.real


@pytest.fixture(scope="module")
def bus() -> Iterator[PrivateBus]:
    if shutil.which("dbus-daemon") is None or shutil.which("dbus-send") is None:
        pytest.skip("not installed: dbus-daemon, dbus-send (Debian: dbus)")
    directory = Path(tempfile.mkdtemp(prefix="dsb-", dir="/tmp"))
    private = PrivateBus(directory)
    try:
        private.start()
        yield private
    finally:
        private.stop()
        shutil.rmtree(directory, ignore_errors=True)


@pytest.fixture
def ganesha(bus: PrivateBus, request: pytest.FixtureRequest) -> Iterator[FakeGanesha]:
    fake = FakeGanesha(bus, request.param)
    fake.start()
    try:
        yield fake
    finally:
        fake.stop()


@pytest.mark.parametrize("ganesha", ["ok"], indirect=True)
def test_grace_then_get_grace(bus: PrivateBus, ganesha: FakeGanesha) -> None:
    admin = DbusSendAdmin(bus.address)
    began = time.monotonic()
    assert admin.grace("5:192.0.2.12", timeout=2) == (True, "Started grace period")
    assert admin.get_grace(timeout=2)[0] is True
    assert time.monotonic() - began < 1.0
    assert ganesha.calls() == ["grace 5:192.0.2.12", "get_grace"]


@pytest.mark.parametrize("ganesha", ["error"], indirect=True)
def test_a_refusal(bus: PrivateBus, ganesha: FakeGanesha) -> None:
    with pytest.raises(Exception) as caught:
        DbusSendAdmin(bus.address).grace("0:", timeout=2)
    seen = classify(caught.value, bus.address)
    assert seen is not None and seen.kind == REFUSED


@pytest.mark.parametrize("ganesha", ["hang"], indirect=True)
def test_a_daemon_that_never_answers_is_a_timeout(bus: PrivateBus, ganesha: FakeGanesha) -> None:
    began = time.monotonic()
    with pytest.raises(Exception) as caught:
        DbusSendAdmin(bus.address).grace("0:", timeout=0.3)
    assert time.monotonic() - began < 2.0
    seen = classify(caught.value, bus.address)
    assert seen is not None and seen.kind == TIMEOUT


def test_no_daemon_on_the_bus(bus: PrivateBus) -> None:
    with pytest.raises(Exception) as caught:
        DbusSendAdmin(bus.address).grace("0:", timeout=2)
    seen = classify(caught.value, bus.address)
    assert seen is not None and seen.kind == NOT_ON_BUS


def test_no_bus(tmp_path: Path) -> None:
    address = f"unix:path={tmp_path}/no-bus"
    with pytest.raises(Exception) as caught:
        DbusSendAdmin(address).grace("0:", timeout=2)
    seen = classify(caught.value, address)
    assert seen is not None and seen.kind == NO_BUS
