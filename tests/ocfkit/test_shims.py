"""Installed shims: what Pacemaker and ocf-tester execute."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from ocfkit import shims
from ocfkit.examples.dummy import Dummy
from ocfkit.metadata import render
from ocfkit.testing.conformance import check
from ocfkit.trust import UntrustedPathError

PROVIDER = "ocfkit-test"
TINY_AGENT = '''
from ocfkit import ExitCode, Parameters, ResourceAgent, action, parameter


class TinyParameters(Parameters):
    word: str = parameter(default="w", shortdesc="A word")


class Tiny(ResourceAgent[TinyParameters]):
    """A tiny agent in a module that may disappear"""

    name = "tiny"
    parameters = TinyParameters

    @action(timeout=20)
    def start(self) -> None:
        return None

    @action(timeout=20)
    def stop(self) -> None:
        return None

    @action(timeout=20)
    def monitor(self) -> ExitCode:
        return ExitCode.NOT_RUNNING
'''


def run_shim(
    path: Path, action: str, user: str | None = None, **environ: str
) -> subprocess.CompletedProcess[str]:
    """Run as Pacemaker does: only the action on argv, a clean environment, no terminal."""
    return subprocess.run(
        [str(path), action],
        env={"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "OCF_ROOT": "/usr/lib/ocf", **environ},
        capture_output=True,
        text=True,
        check=False,
        user=user,
        cwd="/",
        stdin=subprocess.DEVNULL,
        timeout=60,
    )


@pytest.fixture
def ocf_root(world_dir: Path) -> Path:
    return world_dir / "ocf"


@pytest.fixture
def dummy_shim(ocf_root: Path) -> Path:
    (shim,) = shims.install(PROVIDER, ["dummy"], ocf_root=ocf_root)
    return shim.path


@pytest.fixture
def tiny_module(world_dir: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A module importable now, which a test may delete later."""
    directory = world_dir / "modules"
    directory.mkdir(mode=0o755)
    module = directory / "ocfkit_tiny_agent.py"
    module.write_text(TINY_AGENT)
    monkeypatch.syspath_prepend(str(directory))
    yield module
    sys.modules.pop("ocfkit_tiny_agent", None)


def test_shim_file(dummy_shim: Path, ocf_root: Path) -> None:
    assert dummy_shim == ocf_root / "resource.d" / PROVIDER / "dummy"
    assert stat.S_IMODE(dummy_shim.stat().st_mode) == 0o755
    first, second = dummy_shim.read_text().splitlines()[:2]
    assert first == f"#!{os.path.realpath(sys.executable)} -IS"
    assert second.startswith(f"{shims.MARKER} ocf:{PROVIDER}:dummy runs ")
    assert "ocfkit.examples.dummy:Dummy" in second
    assert shims.is_shim(dummy_shim)


@pytest.mark.real
@pytest.mark.parametrize(
    ("versions", "flavour"),
    [({}, "1.1"), ({"OCF_RA_VERSION_MAJOR": "1", "OCF_RA_VERSION_MINOR": "1"}, "1.1"),
     ({"OCF_RA_VERSION_MAJOR": "1", "OCF_RA_VERSION_MINOR": "0"}, "1.0"),
     ({"OCF_RA_VERSION_MAJOR": " 1", "OCF_RA_VERSION_MINOR": "0 "}, "1.0")],
)  # fmt: skip
def test_shim_meta_data_is_the_in_process_document(
    dummy_shim: Path, versions: dict[str, str], flavour: str
) -> None:
    done = run_shim(dummy_shim, "meta-data", **versions)
    assert done.returncode == 0, done.stderr
    assert done.stdout == render(Dummy, "1.0" if flavour == "1.0" else "1.1")
    assert done.stderr == ""


@pytest.mark.real
def test_shim_meta_data_imports_nothing(tiny_module: Path, ocf_root: Path) -> None:
    """meta-data is answered from the embedded text, even when the agent cannot be imported."""
    from ocfkit.registry import load

    (shim,) = shims.install(PROVIDER, ["ocfkit_tiny_agent:Tiny"], ocf_root=ocf_root)
    assert shim.name == "tiny"  # a reference installs under the agent's own name
    expected = render(load("ocfkit_tiny_agent:Tiny"))
    tiny_module.unlink()
    done = run_shim(shim.path, "meta-data")
    assert (done.returncode, done.stdout) == (0, expected)
    broken = run_shim(shim.path, "monitor")
    assert broken.returncode == 1
    assert "ocfkit_tiny_agent" in broken.stderr


@pytest.mark.real
@pytest.mark.parametrize("spelling", ["meta_data", "metadata"])
def test_shim_answers_the_other_spellings_of_meta_data(dummy_shim: Path, spelling: str) -> None:
    done = run_shim(dummy_shim, spelling)
    assert (done.returncode, done.stdout) == (0, render(Dummy))


def test_a_shim_whose_meta_data_drifted_is_stale(dummy_shim: Path) -> None:
    assert shims.shim_state(dummy_shim).state == "current"
    dummy_shim.write_text(dummy_shim.read_text().replace("Fake attribute", "Drifted"))
    state = shims.shim_state(dummy_shim)
    assert state.state == "stale"
    assert state.reference == "ocfkit.examples.dummy:Dummy"
    assert [s.state for s in shims.installed_shims(dummy_shim.parents[2])] == ["stale"]


def test_a_shim_whose_agent_is_gone_is_broken(tiny_module: Path, ocf_root: Path) -> None:
    (shim,) = shims.install(PROVIDER, ["ocfkit_tiny_agent:Tiny"], ocf_root=ocf_root)
    tiny_module.unlink()
    sys.modules.pop("ocfkit_tiny_agent", None)
    state = shims.shim_state(shim.path)
    assert state.state == "broken"
    assert "ModuleNotFoundError" in state.detail


@pytest.mark.real
def test_the_shim_warns_when_the_package_changed_since(tiny_module: Path, ocf_root: Path) -> None:
    (shim,) = shims.install(PROVIDER, ["ocfkit_tiny_agent:Tiny"], ocf_root=ocf_root)
    pythonpath = {"HA_LOGFACILITY": "none"}
    quiet = run_shim(shim.path, "monitor", **pythonpath)
    assert quiet.returncode == 7
    assert "stale" not in quiet.stderr
    later = tiny_module.stat().st_mtime + 60
    os.utime(tiny_module, (later, later))  # what an upgrade does to the agent's module
    warned = run_shim(shim.path, "monitor", **pythonpath)  # a probe
    assert warned.returncode == 7
    assert f"before {tiny_module} changed: its meta-data may be stale" in warned.stderr
    assert "stale" in run_shim(shim.path, "start", **pythonpath).stderr
    # The calls that must stay cheapest never look.
    assert run_shim(shim.path, "meta-data").stderr == ""
    recurring = run_shim(shim.path, "monitor", OCF_RESKEY_CRM_meta_interval="10000", **pythonpath)
    assert "stale" not in recurring.stderr


@pytest.mark.real
def test_checking_a_stale_shim_fails(dummy_shim: Path, world_dir: Path) -> None:
    dummy_shim.write_text(dummy_shim.read_text().replace("Fake attribute", "Drifted"))
    report = check(str(dummy_shim), rsctmp=str(world_dir))
    assert {c.name for c in report.failures} >= {
        "the shim's meta-data is what the installed agent renders now"
    }


@pytest.mark.real
def test_shim_runs_the_agent(dummy_shim: Path, world_dir: Path) -> None:
    rsctmp = world_dir / "rsctmp"
    environ = {"OCF_RESOURCE_INSTANCE": "d1", "HA_RSCTMP": str(rsctmp)}
    assert run_shim(dummy_shim, "monitor", **environ).returncode == 7
    assert run_shim(dummy_shim, "start", **environ).returncode == 0
    assert (rsctmp / "dummy-d1.state").read_text() == "dummy\n"
    assert run_shim(dummy_shim, "monitor", **environ).returncode == 0
    bad = run_shim(dummy_shim, "start", OCF_RESKEY_op_sleep="soon", **environ)
    assert bad.returncode == 6
    assert "ocf-exit-reason:parameter 'op_sleep': 'soon' is not an integer" in bad.stderr
    assert run_shim(dummy_shim, "stop", **environ).returncode == 0
    assert run_shim(dummy_shim, "monitor", **environ).returncode == 7


@pytest.mark.real
@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to run as nobody")
def test_shim_meta_data_as_nobody(dummy_shim: Path) -> None:
    done = run_shim(dummy_shim, "meta-data", user="nobody")
    assert done.returncode == 0, done.stderr
    assert done.stdout == render(Dummy)


def test_uninstall_removes_only_shims(ocf_root: Path, dummy_shim: Path) -> None:
    foreign = dummy_shim.parent / "IPaddr2"
    foreign.write_text("#!/bin/sh\n# a shell agent ocfkit did not write\n")
    assert shims.uninstall(PROVIDER, ocf_root=ocf_root) == [dummy_shim]
    assert not dummy_shim.exists()
    assert foreign.read_text().startswith("#!/bin/sh")
    assert dummy_shim.parent.is_dir()  # not empty: kept
    # Named removal of a foreign file is refused silently: nothing but shims is touched.
    assert shims.uninstall(PROVIDER, ["IPaddr2"], ocf_root=ocf_root) == []
    assert foreign.exists()


def test_uninstall_removes_the_directory_it_created(ocf_root: Path, dummy_shim: Path) -> None:
    assert shims.uninstall(PROVIDER, ["dummy"], ocf_root=ocf_root) == [dummy_shim]
    assert not dummy_shim.parent.exists()
    assert shims.uninstall(PROVIDER, ocf_root=ocf_root) == []  # nothing left: no error


def test_uninstall_keeps_a_directory_it_did_not_create(ocf_root: Path) -> None:
    existing = ocf_root / "resource.d" / "heartbeat"
    existing.mkdir(parents=True)
    (shim,) = shims.install("heartbeat", ["dummy"], ocf_root=ocf_root)
    shims.uninstall("heartbeat", ocf_root=ocf_root)
    assert not shim.path.exists()
    assert existing.is_dir()


def test_install_refuses_to_overwrite_a_foreign_file(ocf_root: Path) -> None:
    directory = ocf_root / "resource.d" / PROVIDER
    directory.mkdir(parents=True)
    foreign = directory / "dummy"
    foreign.write_text("#!/bin/sh\nexit 0\n")
    with pytest.raises(FileExistsError, match="not installed by ocfkit"):
        shims.install(PROVIDER, ["dummy"], ocf_root=ocf_root)
    assert foreign.read_text() == "#!/bin/sh\nexit 0\n"
    (shim,) = shims.install(PROVIDER, ["dummy"], ocf_root=ocf_root, force=True)
    assert shims.is_shim(shim.path)


def test_reinstall_replaces_a_shim(ocf_root: Path, dummy_shim: Path) -> None:
    dummy_shim.write_text(dummy_shim.read_text().replace("METADATA_1_1 = ", "OLD = "))
    shims.install(PROVIDER, ["dummy"], ocf_root=ocf_root)
    assert "METADATA_1_1 = " in dummy_shim.read_text()
    assert sorted(p.name for p in dummy_shim.parent.iterdir()) == [shims.CREATED_MARKER, "dummy"]


def test_install_is_world_readable_whatever_the_umask(ocf_root: Path) -> None:
    old = os.umask(0o077)
    try:
        (shim,) = shims.install(PROVIDER, ["dummy"], ocf_root=ocf_root / "deep")
    finally:
        os.umask(old)
    assert stat.S_IMODE(shim.path.stat().st_mode) == 0o755
    for directory in (shim.path.parent, shim.path.parent.parent, ocf_root / "deep"):
        assert stat.S_IMODE(directory.stat().st_mode) == 0o755, directory


@pytest.mark.parametrize("provider", ["", "a/b", ".hidden", ".."])
def test_provider_names_are_checked(provider: str, ocf_root: Path) -> None:
    with pytest.raises(ValueError, match="invalid provider"):
        shims.install(provider, ["dummy"], ocf_root=ocf_root)


def test_unknown_agent_is_a_lookup_error(ocf_root: Path) -> None:
    with pytest.raises(LookupError, match="no agent named 'nonesuch'"):
        shims.install(PROVIDER, ["nonesuch"], ocf_root=ocf_root)


def test_import_roots_point_at_the_code_in_use() -> None:
    roots = shims.import_roots("ocfkit.examples.dummy", "ocfkit")
    import ocfkit

    assert str(Path(ocfkit.__file__).resolve().parents[1]) == roots[0]
    with pytest.raises(LookupError):
        shims.import_roots("no_such_module_anywhere")


# ------------------------------------------- nothing a shim runs is in another user's hands


def test_install_refuses_a_provider_directory_others_may_write(world_dir: Path) -> None:
    directory = world_dir / "ocf" / "resource.d" / PROVIDER
    directory.mkdir(parents=True)
    directory.chmod(0o777)
    victim = world_dir / "victim"
    victim.write_text("precious\n")
    # What another user could plant where a writer's temporary file would go.
    (directory / f".dummy.{os.getpid()}.tmp").symlink_to(victim)
    with pytest.raises(UntrustedPathError, match=r"writable by its group and by others"):
        shims.install(PROVIDER, ["dummy"], ocf_root=world_dir / "ocf")
    assert victim.read_text() == "precious\n"
    assert stat.S_IMODE(victim.stat().st_mode) == 0o644
    assert not (directory / "dummy").exists()


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to give a directory to nobody")
def test_install_refuses_an_ocf_root_below_another_users_directory(world_dir: Path) -> None:
    theirs = world_dir / "theirs"
    theirs.mkdir(mode=0o755)
    os.chown(theirs, 65534, 65534)
    with pytest.raises(UntrustedPathError, match="owned by nobody"):
        shims.install(PROVIDER, ["dummy"], ocf_root=theirs / "ocf")
    assert list(theirs.iterdir()) == []


def test_install_refuses_an_interpreter_others_may_replace(world_dir: Path, ocf_root: Path) -> None:
    bin_dir = world_dir / "bin"
    bin_dir.mkdir()
    bin_dir.chmod(0o777)
    interpreter = bin_dir / "python3"
    interpreter.symlink_to(os.path.realpath(sys.executable))
    with pytest.raises(UntrustedPathError, match=f"the interpreter {interpreter}: "):
        shims.install(PROVIDER, ["dummy"], ocf_root=ocf_root, interpreter=str(interpreter))
    assert not ocf_root.exists()


def test_install_refuses_agent_code_others_may_change(tiny_module: Path, ocf_root: Path) -> None:
    tiny_module.parent.chmod(0o777)
    with pytest.raises(UntrustedPathError, match=f"code is imported from {tiny_module.parent}"):
        shims.install(PROVIDER, ["ocfkit_tiny_agent:Tiny"], ocf_root=ocf_root)
    tiny_module.parent.chmod(0o755)
    tiny_module.chmod(0o666)
    with pytest.raises(UntrustedPathError, match=f"{tiny_module} is writable by"):
        shims.install(PROVIDER, ["ocfkit_tiny_agent:Tiny"], ocf_root=ocf_root)


def test_the_cli_explains_a_refusal(world_dir: Path) -> None:
    from click.testing import CliRunner

    from ocfkit.cli import main

    open_root = world_dir / "ocf"
    open_root.mkdir(mode=0o777)
    open_root.chmod(0o777)
    done = CliRunner().invoke(
        main, ["install", "--provider", PROVIDER, "--ocf-root", str(open_root), "dummy"]
    )
    assert done.exit_code == 1
    assert "refusing to install shims that root would run" in done.output
    assert f"{open_root} is writable by its group and by others" in done.output


def test_a_shim_is_written_whole_and_root_owned(ocf_root: Path, dummy_shim: Path) -> None:
    info = dummy_shim.lstat()
    assert (info.st_uid, stat.S_IMODE(info.st_mode)) == (os.geteuid(), 0o755)
    assert sorted(p.name for p in dummy_shim.parent.iterdir()) == [shims.CREATED_MARKER, "dummy"]


# ----------------------------------------------------------- Debian's ocf-tester


@pytest.mark.real
@pytest.mark.skipif(os.geteuid() != 0, reason="ocf-tester checks meta-data as nobody only as root")
def test_installed_example_passes_debians_ocf_tester(dummy_shim: Path, world_dir: Path) -> None:
    rsctmp = world_dir / "rsctmp"
    rsctmp.mkdir(mode=0o755)
    done = subprocess.run(
        ["ocf-tester", "-n", "ocfkit-dummy", str(dummy_shim)],
        env={"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "HA_RSCTMP": str(rsctmp)},
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"{dummy_shim} passed all tests" in done.stdout
    assert not any(rsctmp.iterdir())  # it stopped what it started


@pytest.mark.real
def test_installed_example_passes_the_conformance_suite(dummy_shim: Path, world_dir: Path) -> None:
    rsctmp = world_dir / "conformance"
    rsctmp.mkdir(mode=0o755)
    report = check(str(dummy_shim), rsctmp=str(rsctmp))
    assert report.ok, report.render()
    ran_as_nobody = [c for c in report.checks if c.name == "meta-data works as user nobody"]
    assert ran_as_nobody and ran_as_nobody[0].skipped is (os.geteuid() != 0)


NOTIFYING_AGENT = '''
import os
from ocfkit import ExitCode, Parameters, ResourceAgent, action, parameter


class NotifyingParameters(Parameters):
    trace: str = parameter(default="/nonexistent", shortdesc="Where notify leaves a trace")


class Notifying(ResourceAgent[NotifyingParameters]):
    """An agent that acts on one notification only"""

    name = "notifying"
    parameters = NotifyingParameters
    notify_events = frozenset({"pre-promote"})

    @action(timeout=20)
    def start(self) -> None:
        return None

    @action(timeout=20)
    def stop(self) -> None:
        return None

    @action(timeout=20)
    def monitor(self) -> ExitCode:
        return ExitCode.NOT_RUNNING

    @action(timeout=20)
    def notify(self) -> None:
        with open(self.params.trace, "a") as trace:
            trace.write(self.notification.event + "\\n")


class Settling(Notifying):
    """Acts on pre-demote, and on pre-promote unless a demote's round came first"""

    name = "settling"
    notify_events = frozenset({"pre-demote", "pre-promote"})
    notify_settled_by = {"pre-promote": "demote"}
'''


@pytest.fixture
def notifying_module(world_dir: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    directory = world_dir / "modules"
    directory.mkdir(mode=0o755, exist_ok=True)
    module = directory / "ocfkit_notifying_agent.py"
    module.write_text(NOTIFYING_AGENT)
    monkeypatch.syspath_prepend(str(directory))
    yield module
    sys.modules.pop("ocfkit_notifying_agent", None)


def notification(kind: str, operation: str, trace: Path) -> dict[str, str]:
    return {
        "OCF_RESKEY_CRM_meta_notify_type": kind,
        "OCF_RESKEY_CRM_meta_notify_operation": operation,
        "OCF_RESKEY_trace": str(trace),
        "HA_RSCTMP": str(trace.parent),
    }


def test_a_shim_answers_ignored_notifications_without_python(
    notifying_module: Path, ocf_root: Path, world_dir: Path
) -> None:
    # A shim naming an interpreter that does not exist: only the shell can answer.
    text = shims.shim_source(
        "notifying", PROVIDER, "ocfkit_notifying_agent:Notifying", interpreter="/nonexistent"
    )
    path = ocf_root / "notifying"
    ocf_root.mkdir(mode=0o755, exist_ok=True)
    path.write_text(text)
    path.chmod(0o755)
    trace = world_dir / "trace"
    for kind, operation in [("pre", "demote"), ("post", "demote"), ("post", "promote")]:
        done = run_shim(path, "notify", **notification(kind, operation, trace))
        assert done.returncode == 0, done.stderr
    assert not trace.exists()
    acted = run_shim(path, "notify", **notification("pre", "promote", trace))
    assert acted.returncode == 127, "the notification it acts on needs Python"
    assert run_shim(path, "monitor").returncode == 127


def test_a_notifying_shim_runs_the_agent_for_its_events_and_answers_meta_data(
    notifying_module: Path, ocf_root: Path, world_dir: Path
) -> None:
    (shim,) = shims.install(PROVIDER, ["ocfkit_notifying_agent:Notifying"], ocf_root=ocf_root)
    assert shim.path.read_text().startswith("#!/bin/sh\n")
    assert shims.is_shim(shim.path)
    trace = world_dir / "trace"
    assert run_shim(shim.path, "notify", **notification("post", "stop", trace)).returncode == 0
    done = run_shim(shim.path, "notify", **notification("pre", "promote", trace))
    assert done.returncode == 0, done.stderr
    assert trace.read_text() == "pre-promote\n"
    meta = run_shim(shim.path, "meta-data")
    assert meta.returncode == 0 and "<resource-agent" in meta.stdout
    assert run_shim(shim.path, "monitor").returncode == 7  # not running


def test_in_process_the_agent_ignores_the_same_notifications(
    notifying_module: Path, world_dir: Path
) -> None:
    from ocfkit_notifying_agent import Notifying  # type: ignore[import-not-found]

    trace = world_dir / "trace"
    env = {"OCF_RESOURCE_INSTANCE": "n", **notification("post", "start", trace)}
    assert Notifying().main(["n", "notify"], env) == 0
    assert not trace.exists()
    env = {"OCF_RESOURCE_INSTANCE": "n", **notification("pre", "promote", trace)}
    assert Notifying().main(["n", "notify"], env) == 0
    assert trace.read_text() == "pre-promote\n"


# What a CIB or a confused Pacemaker could put in the notify variables: shell syntax above all.
SHELL_SYNTAX = ["pre", "promote", "pre-promote", "*", "?", "[p]re", "pre*", "$(touch {canary})",
                "`touch {canary}`", "; touch {canary}", "pre\npromote", "pre promote", "-",
                "${IFS}", "'", '"', "\\", ")", "|*", "pre|post", "$1", "$@", "~"]  # fmt: skip
notify_values = st.one_of(
    st.sampled_from(SHELL_SYNTAX),
    st.text(
        alphabet=st.characters(exclude_categories=["Cs"], exclude_characters="\0"), max_size=12
    ),
)


@pytest.fixture(scope="module")
def shell_only_shim(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The notifying agent's shim naming an interpreter that does not exist: only sh answers."""
    directory = tmp_path_factory.mktemp("shellshim")
    module = directory / "ocfkit_notifying_agent.py"
    module.write_text(NOTIFYING_AGENT)
    sys.path.insert(0, str(directory))
    try:
        text = shims.shim_source(
            "notifying", PROVIDER, "ocfkit_notifying_agent:Notifying", interpreter="/nonexistent"
        )
    finally:
        sys.path.remove(str(directory))
        sys.modules.pop("ocfkit_notifying_agent", None)
    path = directory / "notifying"
    path.write_text(text)
    path.chmod(0o755)
    return path


@settings(
    max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    st.one_of(
        st.just("notify"),
        st.sampled_from(["notify ", " notify", "*", "-n", "monitor", "$(id)"]),
    ),
    notify_values,
    notify_values,
    st.sampled_from([None, "-", "e", " \t\n", "p-r"]),
)
def test_the_shims_shell_part_takes_hostile_notify_values_as_plain_text(
    shell_only_shim: Path, tmp_path: Path, action: str, kind: str, operation: str, ifs: str | None
) -> None:
    """No value is run, split or globbed: sh answers 0 exactly where the agent would ignore it."""
    canary = tmp_path / "canary"
    kind, operation = (value.replace("{canary}", str(canary)) for value in (kind, operation))
    environ = {
        "OCF_RESKEY_CRM_meta_notify_type": kind,
        "OCF_RESKEY_CRM_meta_notify_operation": operation,
    }
    if ifs is not None:
        environ["IFS"] = ifs
    done = run_shim(shell_only_shim, action, **environ)
    answered_by_sh = action == "notify" and f"{kind}-{operation}" not in {"pre-promote"}
    assert done.returncode == (0 if answered_by_sh else 127), (done.returncode, done.stderr)
    assert not canary.exists()


@pytest.mark.parametrize("value", SHELL_SYNTAX)
def test_no_shell_syntax_in_a_notify_value_is_ever_run(
    shell_only_shim: Path, tmp_path: Path, value: str
) -> None:
    canary = tmp_path / "canary"
    value = value.replace("{canary}", str(canary))
    for kind, operation in [(value, "promote"), ("pre", value), (value, value)]:
        done = run_shim(
            shell_only_shim,
            "notify",
            OCF_RESKEY_CRM_meta_notify_type=kind,
            OCF_RESKEY_CRM_meta_notify_operation=operation,
        )
        expected = 127 if f"{kind}-{operation}" == "pre-promote" else 0
        assert done.returncode == expected, (kind, operation, done.stderr)
    assert not canary.exists()


NODE_LISTS = st.one_of(
    st.lists(st.sampled_from(["node1", "node2", "n-3", "", " "]), max_size=3).map(" ".join),
    notify_values,
)


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    event=st.sampled_from([("pre", "promote"), ("pre", "demote"), ("post", "promote")]),
    demote=NODE_LISTS,
    start=NODE_LISTS,
    node=st.one_of(st.sampled_from(["node1", "node2", "", "node"]), notify_values),
)
@example(event=("pre", "promote"), demote="\t", start="", node="node1")
@example(event=("pre", "promote"), demote=" node2 ", start="node1 node3", node="node1")
@example(event=("pre", "promote"), demote="node2", start="node3", node="node1")
@example(event=("pre", "promote"), demote="node2", start="node1*", node="node1")
def test_a_settled_notification_is_decided_alike_by_the_shell_and_python(
    notifying_module: Path,
    ocf_root: Path,
    world_dir: Path,
    event: tuple[str, str],
    demote: str,
    start: str,
    node: str,
) -> None:
    from ocfkit_notifying_agent import Settling

    path = ocf_root / "settling"
    if not path.exists():
        ocf_root.mkdir(mode=0o755, exist_ok=True)
        text = shims.shim_source(
            "settling", PROVIDER, "ocfkit_notifying_agent:Settling", interpreter="/nonexistent"
        )
        path.write_text(text)
        path.chmod(0o755)
    canary = world_dir / "canary"
    demote, start, node = (v.replace("{canary}", str(canary)) for v in (demote, start, node))
    environ = {
        **notification(*event, world_dir / "trace"),
        "OCF_RESKEY_CRM_meta_notify_demote_uname": demote,
        "OCF_RESKEY_CRM_meta_notify_start_uname": start,
        "OCF_RESKEY_CRM_meta_on_node": node,
    }
    done = run_shim(path, "notify", **environ)
    assert done.returncode in (0, 127), done.stderr
    assert not canary.exists(), "a value was run"
    needs_python = done.returncode == 127
    assert needs_python == Settling()._acts_on(environ)
    if event == ("pre", "promote"):
        missed_the_demote_round = f" {node} " in f" {start} "
        blank = not demote.strip(" ")
        assert needs_python == (blank or missed_the_demote_round)


def test_a_settling_list_must_be_an_action_list_of_an_event_acted_on() -> None:
    from ocfkit import AgentDefinitionError

    with pytest.raises(AgentDefinitionError, match="notify_settled_by"):

        class Wrong(Dummy):
            notify_events = frozenset({"pre-promote"})
            notify_settled_by = {"pre-promote": "promote; rm -rf /"}

    with pytest.raises(AgentDefinitionError, match="notify_settled_by"):

        class Unacted(Dummy):
            notify_events = frozenset({"pre-promote"})
            notify_settled_by = {"post-promote": "demote"}
