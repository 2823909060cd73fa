"""ganesha-agents refresh-config's export refresh on a real bus, against the fake ganesha.

The fake's export manager answers as ganesha 4.3's does (its method
signatures and error replies, src/support/export_mgr.c): exports 1 and 2
exist, an expression for 99 is refused as a bad export block.  Through
dbus-send, as the command runs it: 1 and 2 updated, 3 added, 99 refused
with ganesha's text, and the other exports still done.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from ganesha_agents.backends.exportmgr import DbusSendExportManager
from ganesha_agents.operate import exports

from .fake_ganesha import FakeGanesha, PrivateBus

pytestmark = pytest.mark.real


@pytest.fixture
def ganesha() -> Iterator[FakeGanesha]:
    if shutil.which("dbus-daemon") is None or shutil.which("dbus-send") is None:
        pytest.skip("not installed: dbus-daemon, dbus-send (Debian: dbus)")
    directory = Path(tempfile.mkdtemp(prefix="emb-", dir="/tmp"))
    bus = PrivateBus(directory)
    fake = FakeGanesha(bus, "ok")
    try:
        bus.start()
        fake.start()
        yield fake
    finally:
        fake.stop()
        bus.stop()
        shutil.rmtree(directory, ignore_errors=True)


def test_update_add_refuse_and_remove(ganesha: FakeGanesha) -> None:
    manager = DbusSendExportManager(ganesha.bus.address)
    outcomes = exports.refresh(manager, "/etc/ganesha/exports.conf", [1, 3, 99, 2], remove=[2, 7])
    summary = [(o.export_id, o.action, o.ok) for o in outcomes]
    assert summary == [
        (1, "updated", True),
        (3, "added", True),
        (99, "added", False),
        (2, "updated", True),
        (2, "removed", True),
        (7, "removed", False),
    ]
    assert outcomes[0].message == "1 exports updated"
    assert outcomes[1].message == "1 exports added"
    assert outcomes[2].message == (
        "ganesha refused: InvalidFileContent: 0 export entries in /etc/ganesha/exports.conf "
        "added because (invalid param value) errors"
    )
    assert "Export id not found" in outcomes[5].message
    assert ganesha.calls()[:3] == [
        "DisplayExport 1",
        "UpdateExport /etc/ganesha/exports.conf EXPORT(Export_Id=1)",
        "DisplayExport 3",
    ]
