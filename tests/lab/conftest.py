"""Fixtures for the lab tests: working directories hacluster can reach, and a shared cluster.

Lab tests need root and the Debian cluster packages; where those are absent
they are skipped with the reason.  A cluster that does not come up fails
the test, with crm_mon and every node's logs in the message.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from ocfkit.lab import Lab, LabError
from ocfkit.lab.progress import Progress

PROGRAMS = (
    "ip", "unshare", "nsenter", "setpriv", "corosync", "pacemakerd", "crm_mon",
    "stonith_admin", "dbus-daemon", "dbus-send", "ganesha.nfsd", "nfs-cat",
)  # fmt: skip


def _missing() -> str | None:
    if os.geteuid() != 0:
        return "the lab needs root"
    absent = [p for p in PROGRAMS if shutil.which(p, path="/usr/sbin:/usr/bin:/sbin:/bin") is None]
    return f"not installed: {' '.join(absent)}" if absent else None


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    reason = _missing()
    if reason is None:
        return
    for item in items:
        if item.get_closest_marker("lab"):
            item.add_marker(pytest.mark.skip(reason=reason))


def lab_workdir() -> Path:
    """A fresh directory under /var/tmp: pytest's own are 0700, which hacluster cannot enter."""
    path = Path(tempfile.mkdtemp(prefix="ocfkit-lab-", dir="/var/tmp"))
    path.chmod(0o755)
    return path


def bring_up(lab: Lab) -> Lab:
    """``lab.up()``, or a failed test showing why (crm_mon and node logs), with the lab down."""
    try:
        return lab.up()
    except LabError as error:
        notes = "\n".join(getattr(error, "__notes__", []))
        try:
            lab.down(graceful=False)
        except LabError as down_error:
            notes += f"\n(and down failed: {down_error})"
        pytest.fail(f"lab did not come up: {error}\n{notes}", pytrace=False)


@pytest.fixture
def up() -> Callable[[Lab], Lab]:
    """``up(lab)`` brings ``lab`` up or fails the test with the nodes' logs."""
    return bring_up


@pytest.fixture
def workdir() -> Iterator[Path]:
    path = lab_workdir()
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture(scope="session")
def ganesha_lab() -> Iterator[Lab]:
    """Three nodes with fencing, a private bus and ganesha.nfsd each, shared by several tests.

    Tests that break a node (fence it, cut its link) boot it again before
    they end.  A short grace period keeps the NFS tests quick.
    """
    path = lab_workdir()
    lab = Lab(path, 3, ganesha=True, grace_period=5, lease_lifetime=5, progress=Progress())
    bring_up(lab)
    yield lab
    lab.down()
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture
def ganesha_cluster(ganesha_lab: Lab) -> Lab:
    """The shared lab with every node up, whatever an earlier (maybe failed) test left broken."""
    lab = ganesha_lab
    for node in lab.nodes:
        broken = node in lab.state().links_down or not all(
            lab.is_running(node, role) for role in ("corosync", "pacemakerd")
        )
        if broken:
            lab.boot(node, wait=False)
        elif lab.ganesha_in_grace(node) is None:
            lab.start_ganesha(node)
    lab.wait_for(lambda: sorted(lab.status().online()) == list(lab.nodes), 60, "every node online")
    return lab
