"""Fixtures for the tests that run real programs (marked ``real``).

``ganesha_node`` is a running ganesha.nfsd on a private system bus (see
``ganesha_node.py``), torn down after the test whatever happened.
Its grace period is short (3 s) so that a test can wait for the server to
leave its start-up grace and then see a grace call take effect.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from .ganesha_node import GaneshaNode, missing_programs


def require_ganesha_programs() -> None:
    """Skip, saying why, when this machine cannot run a private ganesha."""
    missing = missing_programs()
    if missing:
        pytest.skip(f"not installed: {', '.join(missing)} (Debian: nfs-ganesha, dbus, util-linux)")
    if os.geteuid() != 0:
        pytest.skip("private mount and network namespaces need root")


@pytest.fixture
def short_tmp() -> Iterator[Path]:
    """A directory under /tmp with a short path: socket paths must fit in 108 bytes.

    World-readable, so that a test may call the node's bus as another user.
    """
    path = Path(tempfile.mkdtemp(prefix="gn-", dir="/tmp"))
    path.chmod(0o755)
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


@pytest.fixture
def ganesha_node(short_tmp: Path) -> Iterator[GaneshaNode]:
    require_ganesha_programs()
    node = GaneshaNode(short_tmp / "node1", grace_period=3, lease_lifetime=2)
    try:
        node.start()
        yield node
    finally:
        node.stop()
