"""Fixtures shared by the framework tests."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest


@pytest.fixture
def world_dir() -> Iterator[Path]:
    """A directory every user can enter and read.

    Agents are run as ``nobody`` (as ocf-tester and the conformance suite do,
    and as Pacemaker runs meta-data as ``hacluster``); pytest's own temporary
    directories are private to root, so such runs need one of these.
    """
    made = Path(tempfile.mkdtemp(prefix="ocfkit-test-", dir="/tmp"))
    made.chmod(0o755)
    try:
        yield made
    finally:
        shutil.rmtree(made, ignore_errors=True)
