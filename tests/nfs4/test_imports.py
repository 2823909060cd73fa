"""The NFSv4.1 client stays off every other import path.

Its XDR package comes with the optional ``nfs4`` extra: the agents and the
rest of the command line must neither need it nor load it.  Checked in a
fresh interpreter, where nothing was imported before.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]

PROGRAM = """
import importlib, json, sys
for name in sys.argv[1:]:
    importlib.import_module(name)
print(json.dumps(sorted(m for m in sys.modules
                        if m == "xdrlib3" or m.startswith("ocfkit.lab.nfs4"))))
"""


def loaded_after(*modules: str) -> list[str]:
    done = subprocess.run(
        [sys.executable, "-c", PROGRAM, *modules],
        env={"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "PYTHONPATH": str(REPO / "src")},
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    result: list[str] = json.loads(done.stdout)
    return result


@pytest.mark.parametrize(
    "module",
    ["ocfkit.cli", "ocfkit.lab.cli", "ocfkit.lab", "ganesha_agents.mon", "ganesha_agents.grace",
     "ganesha_agents.cli"],
)  # fmt: skip
def test_other_entry_points_do_not_load_the_client(module: str) -> None:
    assert loaded_after(module) == []


def test_the_control_loads_it() -> None:
    assert "xdrlib3" in loaded_after("ocfkit.lab.nfs4.cli")
