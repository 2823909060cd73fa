"""ganesha_nfsd installed as Pacemaker runs it, on its real backends, in a throw-away /var/lib.

Each run happens in a private mount namespace (``unshare --mount``) with a
tmpfs on ``/var/lib`` and another as the state volume
(``tests/ganesha/nfsd_sandbox.py``): the agent does to ``/var/lib/nfs`` what
it would do on a node, and the host's ``/var/lib/nfs`` is never in reach.
Every test also checks that the host's is as it was.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ocfkit import shims
from ocfkit.codes import VALID_CODES
from tests.ganesha.nfsd_sandbox import NODE_OWN_STATE, VOLUME

pytestmark = [
    pytest.mark.real,
    pytest.mark.skipif(os.geteuid() != 0, reason="mount namespaces and ocf-tester need root"),
    pytest.mark.skipif(shutil.which("unshare") is None, reason="unshare (util-linux) missing"),
]

SANDBOX = Path(__file__).with_name("nfsd_sandbox.py")
PROVIDER = "ocfkit-test"
NODE_NFS = f"{VOLUME}/nfs-ganesha/node1/nfs"


@pytest.fixture(scope="module")
def world() -> Iterator[Path]:
    """Readable by nobody (ocf-tester runs meta-data as nobody)."""
    made = Path(tempfile.mkdtemp(prefix="ocfkit-test-", dir="/tmp"))
    made.chmod(0o755)
    (made / "rsctmp").mkdir(mode=0o755)
    try:
        yield made
    finally:
        shutil.rmtree(made, ignore_errors=True)


@pytest.fixture(scope="module")
def shim(world: Path) -> Path:
    (installed,) = shims.install(PROVIDER, ["ganesha_nfsd"], ocf_root=world / "ocf")
    return installed.path


def host_nfs() -> dict[str, tuple[int, int, int, list[str]]]:
    """The host's /var/lib/nfs* as they are: kind and inode, owner, mtime, what is inside."""
    found = {}
    for name in sorted(os.listdir("/var/lib")):
        if name.startswith("nfs"):
            seen = os.lstat(f"/var/lib/{name}")
            inside = (
                sorted(os.listdir(f"/var/lib/{name}")) if os.path.isdir(f"/var/lib/{name}") else []
            )
            found[name] = (seen.st_mode, seen.st_ino, seen.st_mtime_ns, inside)
    return found


def sandboxed(world: Path, commands: list[list[str]], env: Mapping[Any, Any]) -> dict[str, Any]:
    report = world / "report.json"
    report.unlink(missing_ok=True)
    argv = ["unshare", "--mount", "--propagation", "private", sys.executable, str(SANDBOX)]
    argv += [os.readlink("/proc/self/ns/mnt"), str(report)]
    for command in commands:
        argv += ["--", *command]
    done = subprocess.run(argv, env=env, capture_output=True, timeout=600, check=False)
    assert report.exists(), done.stderr.decode("utf-8", "replace")
    result: dict[str, Any] = json.loads(report.read_text())
    return result


def environment(world: Path, **params: str) -> dict[str, str]:
    return {
        "PATH": "/usr/sbin:/usr/bin:/sbin:/bin",
        "HA_RSCTMP": str(world / "rsctmp"),
        "OCF_ROOT": "/usr/lib/ocf",
        "OCF_RESOURCE_INSTANCE": "nfs-setup",
        "OCF_RESKEY_CRM_meta_on_node": "node1",
        **{f"OCF_RESKEY_{name}": value for name, value in params.items()},
    }


def restored(var_lib: dict[str, dict[str, Any]]) -> None:
    """/var/lib/nfs is the node's own directory again, nothing left beside it."""
    assert var_lib["nfs"]["kind"] == "directory"
    assert var_lib["nfs/state"]["content"] == NODE_OWN_STATE
    assert sorted(n for n in var_lib if n.startswith("nfs")) == [
        "nfs", "nfs/sm", "nfs/sm.bak", "nfs/state",
    ]  # fmt: skip


@pytest.mark.parametrize("mode", ["link", "direct"])
def test_debians_ocf_tester_passes_on_the_installed_shim(
    shim: Path, world: Path, mode: str
) -> None:
    before = host_nfs()
    tester = ["ocf-tester", "-n", "nfs-setup", "-o", f"ha_vol_mnt={VOLUME}", "-o", f"mode={mode}"]
    report = sandboxed(world, [[*tester, str(shim)]], environment(world))
    (run,) = report["runs"]
    assert run["code"] == 0, run["stdout"] + run["stderr"]
    assert f"{shim} passed all tests" in run["stdout"]
    restored(report["var_lib"])
    layout = report["var_lib"]["ganesha-state-volume/nfs-ganesha/node1/nfs/ganesha/v4recov"]
    assert layout == {"kind": "directory", "mode": "0755", "uid": 0}
    assert host_nfs() == before
    assert not any((world / "rsctmp").iterdir())


def test_the_installed_shim_switches_var_lib_nfs_and_back(shim: Path, world: Path) -> None:
    before = host_nfs()
    agent = str(shim)
    report = sandboxed(
        world,
        [
            [agent, "monitor"],
            [agent, "start"],
            ["readlink", "/var/lib/nfs"],
            ["cat", "/var/lib/nfs.ganesha_nfsd-local/state"],
            [agent, "monitor"],
            [agent, "stop"],
            [agent, "monitor"],
        ],
        environment(world, ha_vol_mnt=VOLUME),
    )
    runs = report["runs"]
    assert [run["code"] for run in runs] == [7, 0, 0, 0, 0, 0, 7], runs
    assert runs[2]["stdout"] == NODE_NFS + "\n"
    assert runs[3]["stdout"] == NODE_OWN_STATE
    restored(report["var_lib"])
    assert host_nfs() == before


def test_a_volume_that_is_not_mounted_is_refused_by_the_shim(shim: Path, world: Path) -> None:
    agent = str(shim)
    unmounted = "/var/lib/not-mounted"
    report = sandboxed(
        world,
        [["mkdir", unmounted], [agent, "validate-all"], [agent, "start"], [agent, "stop"]],
        environment(world, ha_vol_mnt=unmounted),
    )
    _, validate, start, stop = report["runs"]
    assert validate["code"] == 6
    assert f"ocf-exit-reason:{unmounted} is not a mount point" in validate["stderr"]
    assert start["code"] == 1 and "is the shared state volume mounted there?" in start["stderr"]
    assert stop["code"] == 0
    restored(report["var_lib"])
    assert "not-mounted/nfs-ganesha" not in report["var_lib"]


# Any bytes, made undecodable by a stray 0xff.
undecodable = st.binary(max_size=12).filter(lambda b: b"\0" not in b).map(lambda b: b + b"\xff")


@settings(max_examples=10, deadline=None)
@given(
    st.one_of(
        undecodable,
        st.just(VOLUME.encode()),
        undecodable.map(lambda b: VOLUME.encode() + b"/" + b),
    ),
    st.one_of(undecodable, st.just(b"link"), st.just(b"direct")),
    st.one_of(undecodable, st.just(b"node1"), st.just(b"../../etc")),
    undecodable,
)
def test_a_real_process_survives_bytes_that_are_not_utf8(
    shim: Path, world: Path, volume: bytes, mode: bytes, node: bytes, instance: bytes
) -> None:
    before = host_nfs()
    env = {
        b"PATH": b"/usr/sbin:/usr/bin:/sbin:/bin",
        b"HA_RSCTMP": str(world / "rsctmp").encode(),
        b"HA_LOGFACILITY": b"daemon",
        b"OCF_RESOURCE_INSTANCE": instance,
        b"OCF_RESKEY_ha_vol_mnt": volume,
        b"OCF_RESKEY_mode": mode,
        b"OCF_RESKEY_CRM_meta_on_node": node,
    }
    agent = str(shim)
    actions = ["validate-all", "start", "monitor", "stop"]
    report = sandboxed(world, [[agent, action] for action in actions], env)
    for run in report["runs"]:
        assert run["code"] in VALID_CODES
        assert "Traceback" not in run["stdout"] + run["stderr"]
        if run["code"] not in (0, 7):
            assert "ocf-exit-reason:" in run["stderr"], run
    assert report["runs"][-1]["code"] == 0, "stop always succeeds"
    restored(report["var_lib"])
    for name, entry in report["var_lib"].items():
        if "link" in entry:
            raise AssertionError(f"a link is left at {name}: {entry}")
        if name.startswith("ganesha-state-volume/"):
            assert name.startswith("ganesha-state-volume/nfs-ganesha"), name
    assert host_nfs() == before
