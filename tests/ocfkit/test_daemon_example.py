"""The daemon example agent, on real processes: in-process, as a shim, under ocf-tester."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from ocfkit import ExitCode, shims
from ocfkit.examples.daemon import Daemon
from ocfkit.pidfile import check_pid_file
from ocfkit.testing import AgentRunner, OCFEnv
from ocfkit.testing.conformance import check

PYTHON = os.path.realpath(sys.executable)
PROVIDER = "ocfkit-test"


def run(action: str, env: OCFEnv) -> tuple[int, str | None]:
    result = AgentRunner(Daemon).invoke(action, env)
    return result.exit_code, result.exit_reason


@pytest.fixture
def daemon_env(tmp_path: Path) -> Iterator[OCFEnv]:
    """A sleeping daemon's parameters; whatever is left running is stopped afterwards."""
    env = OCFEnv(instance="d1", rsctmp=str(tmp_path)).params(
        binfile=shutil.which("sleep") or "/bin/sleep",
        cmdline_options="600",
        pidfile=str(tmp_path / "sleep.pid"),
        start_check="0",
    )
    yield env
    AgentRunner(Daemon).invoke("stop", env)


def test_start_monitor_stop(daemon_env: OCFEnv, tmp_path: Path) -> None:
    assert run("monitor", daemon_env.probe()) == (7, None)
    assert run("start", daemon_env) == (0, None)
    verdict = check_pid_file(str(tmp_path / "sleep.pid"), ["sleep"])
    assert verdict.alive and verdict.reason.endswith("holds the pid file's lock")
    assert run("monitor", daemon_env.recurring()) == (0, None)
    assert run("start", daemon_env) == (0, None)  # idempotent: no second daemon
    assert run("stop", daemon_env) == (0, None)
    assert not check_pid_file(str(tmp_path / "sleep.pid"), ["sleep"]).alive
    assert not (tmp_path / "sleep.pid").exists()
    assert run("monitor", daemon_env.recurring()) == (7, None)


@pytest.mark.parametrize(("name", "bad"), [("stop_timeout", "abc"), ("start_check", "-1")])
def test_a_stop_with_a_broken_unrelated_parameter_still_stops_the_daemon(
    daemon_env: OCFEnv, tmp_path: Path, name: str, bad: str
) -> None:
    assert run("start", daemon_env) == (0, None)
    pid = check_pid_file(str(tmp_path / "sleep.pid"), ["sleep"]).pid
    assert pid is not None
    code, _ = run("stop", daemon_env.params(**{name: bad}))
    assert code == 0
    assert not check_pid_file(str(tmp_path / "sleep.pid"), ["sleep"]).alive
    state = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0]
    assert state in ("Z", "X") or not Path(f"/proc/{pid}").exists()


def test_stop_never_answers_0_while_the_daemon_lives(
    daemon_env: OCFEnv, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """When the daemon cannot be stopped, stop fails: it does not pretend."""
    assert run("start", daemon_env) == (0, None)
    import ocfkit.process

    monkeypatch.setattr(ocfkit.process._Handle, "signal", lambda *args: None)  # deaf to all
    code, reason = run("stop", daemon_env.timeout(2000))
    assert code == ExitCode.ERR_GENERIC
    assert reason is not None and "still runs after SIGKILL" in reason
    assert check_pid_file(str(tmp_path / "sleep.pid"), ["sleep"]).alive


def test_a_program_that_exits_at_once_fails_start(tmp_path: Path) -> None:
    env = OCFEnv(instance="d2", rsctmp=str(tmp_path)).params(
        binfile=shutil.which("false") or "/bin/false",
        pidfile=str(tmp_path / "false.pid"),
        logfile=str(tmp_path / "log"),
    )
    code, reason = run("start", env)
    assert code == ExitCode.ERR_GENERIC
    assert reason == f"{shutil.which('false')} exited within 1s of starting; see {tmp_path}/log"
    assert not (tmp_path / "false.pid").exists()


def test_the_default_pid_file_is_in_ha_varrun(tmp_path: Path) -> None:
    env = OCFEnv(instance="odd/name", rsctmp=str(tmp_path)).params(
        binfile=shutil.which("sleep"), cmdline_options="600", start_check="0"
    )
    env = env.set(HA_VARRUN=str(tmp_path))
    try:
        assert run("start", env) == (0, None)
        assert check_pid_file(str(tmp_path / "daemon-odd_name.pid"), ["sleep"]).alive
    finally:
        assert run("stop", env) == (0, None)


def test_passes_the_conformance_suite_in_process(daemon_env: OCFEnv, tmp_path: Path) -> None:
    params = {k[len("OCF_RESKEY_") :]: v for k, v in daemon_env.items() if "RESKEY_" in k}
    params = {k: v for k, v in params.items() if not k.startswith("CRM_meta")}
    report = check(Daemon, params=params, rsctmp=str(tmp_path))
    assert report.ok, report.render()
    assert report.locating == ("binfile", "pidfile")
    names = {c.name for c in report.checks}
    assert "stop with stop_timeout=not-a-number while running stops the resource" in names
    assert "the stop after that failed start (without binfile) answers 0" in names


# --------------------------------------------------------------- as a shim


def shim_run(
    path: Path, *argv: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(path), *argv],
        env={"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", **(env or {})},
        capture_output=True,
        text=True,
        check=False,
        cwd="/",
        stdin=subprocess.DEVNULL,
        timeout=60,
    )


@pytest.fixture
def daemon_shim(world_dir: Path) -> Path:
    (shim,) = shims.install(PROVIDER, ["daemon"], ocf_root=world_dir / "ocf")
    return shim.path


@pytest.fixture
def hostile_program(world_dir: Path) -> Path:
    """A program whose path is full of spaces and shell syntax."""
    directory = world_dir / "a dir; touch pwned $(id) `id`"
    directory.mkdir(mode=0o755)
    program = directory / "prog 'x' \"y\" && z"
    program.write_text(f"#!{PYTHON}\nimport sys, time\nprint(sys.argv[1:], flush=True)\n")
    with program.open("a") as stream:
        stream.write("time.sleep(600)\n")
    program.chmod(0o755)
    return program


@pytest.mark.real
def test_installed_passes_debians_ocf_tester(daemon_shim: Path, world_dir: Path) -> None:
    tester = shutil.which("ocf-tester")
    if tester is None:
        pytest.skip("Debian's resource-agents is not installed")
    pid_file = world_dir / "tester.pid"
    done = subprocess.run(
        [tester, "-n", "d1", "-o", f"binfile={shutil.which('sleep')}", "-o",
         "cmdline_options=600", "-o", f"pidfile={pid_file}", "-o", "start_check=0",
         str(daemon_shim)],
        capture_output=True, text=True, check=False, timeout=300, cwd="/",
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"{daemon_shim} passed all tests" in done.stdout


@pytest.mark.real
def test_installed_passes_the_conformance_suite(daemon_shim: Path, world_dir: Path) -> None:
    params = {
        "binfile": shutil.which("sleep") or "/bin/sleep",
        "cmdline_options": "600",
        "pidfile": str(world_dir / "check.pid"),
        "start_check": "0",
    }
    report = check(str(daemon_shim), params=params, rsctmp=str(world_dir))
    assert report.ok, report.render()
    assert report.locating == ("binfile", "pidfile")  # read from the shim's agent


@pytest.mark.real
def test_hostile_inputs_never_give_a_traceback(
    daemon_shim: Path, hostile_program: Path, world_dir: Path
) -> None:
    base = {
        "OCF_ROOT": "/usr/lib/ocf",
        "OCF_RESOURCE_INSTANCE": "h1",
        "HA_RSCTMP": str(world_dir),
        "HA_VARRUN": str(world_dir),
        "OCF_RESKEY_CRM_meta_timeout": "20000",
    }
    good = {
        **base,
        "OCF_RESKEY_binfile": str(hostile_program),
        "OCF_RESKEY_cmdline_options": "'a b' \"$(id)\" ;x `y` |z",
        "OCF_RESKEY_pidfile": str(hostile_program.parent / "pid; file $(id)"),
        "OCF_RESKEY_logfile": str(hostile_program.parent / "log `id`"),
        "OCF_RESKEY_start_check": "0",
    }
    recurring = {**good, "OCF_RESKEY_CRM_meta_interval": "10000"}
    cases: list[tuple[list[str], dict[str, str], int]] = [
        # Stopped.
        (["monitor"], good, 7),
        (["start"], {**good, "OCF_RESKEY_binfile": "/no/such/program"}, 5),
        (["start"], {**good, "OCF_RESKEY_binfile": "relative/prog"}, 6),
        (["start"], {**good, "OCF_RESKEY_start_check": "soon"}, 6),
        (["start"], {**good, "OCF_RESKEY_cmdline_options": "'unbalanced"}, 6),
        (["start"], {**good, "OCF_RESKEY_user": "no such user"}, 2),
        (["start"], {**good, "OCF_RESKEY_workdir": "/no/such/dir"}, 1),
        (["start", "extra", "args"], {}, 6),
        (["monitor"], {}, 7),
        (["stop"], {}, 0),
        (["meta-data"], {}, 0),
        (["metadata"], {}, 0),
        (["meta_data"], {}, 0),
        (["validate-all"], {}, 6),
        (["validate-all"], good, 0),
        (["usage"], {}, 0),
        (["no-such-action"], good, 3),
        ([], good, 3),
        # Running.
        (["start"], {**good, "OCF_RESKEY_CRM_meta_timeout": "garbage"}, 0),
        (["monitor"], recurring, 0),
        (["monitor"], {**good, "OCF_RESKEY_CRM_meta_interval": "abc"}, 0),
        (["start"], good, 0),
        # Another program, or none usable: this configuration locates nothing.
        (["stop"], {**good, "OCF_RESKEY_binfile": "/no/such/program"}, 0),
        (["stop"], {**good, "OCF_RESKEY_binfile": "relative/prog"}, 0),
        (["monitor"], recurring, 0),
        # A broken parameter that locates nothing: the stop still stops.
        (["stop"], {**good, "OCF_RESKEY_stop_timeout": "-5"}, 0),
        (["monitor"], recurring, 7),
        (["start"], good, 0),
        (["stop"], {**good, "OCF_RESKEY_stop_timeout": "9" * 40}, 0),
        (["monitor"], recurring, 7),
    ]
    for argv, env, code in cases:
        done = shim_run(daemon_shim, *argv, env=env)
        assert "Traceback" not in done.stderr, (argv, done.stderr)
        assert done.returncode == code, (argv, env, done.returncode, done.stderr)
        if done.returncode not in (0, 7) and argv and argv[0] != "usage":
            assert "ocf-exit-reason:" in done.stderr, (argv, done.stderr)
    assert not (world_dir / "pwned").exists()
    log = (hostile_program.parent / "log `id`").read_text().splitlines()
    assert log[0] == repr(["a b", "$(id)", ";x", "`y`", "|z"])


@pytest.mark.real
def test_a_stopped_daemon_is_not_left_behind(daemon_shim: Path, world_dir: Path) -> None:
    env = {
        "OCF_ROOT": "/usr/lib/ocf",
        "OCF_RESOURCE_INSTANCE": "s1",
        "OCF_RESKEY_binfile": shutil.which("sleep") or "/bin/sleep",
        "OCF_RESKEY_cmdline_options": "600",
        "OCF_RESKEY_pidfile": str(world_dir / "s1.pid"),
        "OCF_RESKEY_start_check": "0",
    }
    assert shim_run(daemon_shim, "start", env=env).returncode == 0
    pid = int((world_dir / "s1.pid").read_text())
    started = time.monotonic()
    assert shim_run(daemon_shim, "stop", env=env).returncode == 0
    assert time.monotonic() - started < 10
    assert not check_pid_file(str(world_dir / "s1.pid"), ["sleep"]).alive
    assert not Path(f"/proc/{pid}").exists() or "Z" in Path(f"/proc/{pid}/stat").read_text()
