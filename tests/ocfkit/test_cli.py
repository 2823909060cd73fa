"""The ``ocfkit`` command, through click's CliRunner."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from ocfkit import ResourceAgent
from ocfkit.cli import main
from ocfkit.docs import man_page, markdown
from ocfkit.examples.dummy import Dummy
from ocfkit.metadata import render
from ocfkit.testing import extract_exit_reason


def ocfkit(*args: str, env: dict[str, str] | None = None) -> Result:
    return CliRunner().invoke(main, list(args), env=env, catch_exceptions=False)


def test_list_shows_registered_agents(tmp_path: Path) -> None:
    result = ocfkit("list", "--ocf-root", str(tmp_path))
    assert result.exit_code == 0
    lines = result.output.splitlines()
    assert "dummy\tocfkit.examples.dummy:Dummy" in lines
    assert "daemon\tocfkit.examples.daemon:Daemon" in lines


def test_list_tells_stale_shims(world_dir: Path) -> None:
    root = str(world_dir / "ocf")
    ocfkit("install", "--provider", "test", "--ocf-root", root, "dummy", "daemon")
    listed = ocfkit("list", "--ocf-root", root)
    assert listed.exit_code == 0
    assert "  ocf:test:dummy\tocfkit.examples.dummy:Dummy\tcurrent" in listed.output
    shim = world_dir / "ocf" / "resource.d" / "test" / "dummy"
    shim.write_text(shim.read_text().replace("Fake attribute", "A fake attribute, once"))
    stale = ocfkit("list", "--ocf-root", root)
    assert stale.exit_code == 1
    assert "  ocf:test:dummy\tocfkit.examples.dummy:Dummy\tstale: its OCF 1.1 and 1.0" in (
        stale.output
    )
    assert "run `ocfkit install --provider test dummy` again" in stale.output
    assert "  ocf:test:daemon\tocfkit.examples.daemon:Daemon\tcurrent" in stale.output


@pytest.mark.parametrize(("flag", "flavour"), [((), "1.1"), (("--ocf-1.0",), "1.0")])
def test_meta_data(flag: tuple[str, ...], flavour: str) -> None:
    result = ocfkit("meta-data", "dummy", *flag)
    assert result.exit_code == 0
    assert result.output == render(Dummy, "1.0" if flavour == "1.0" else "1.1")


def test_meta_data_by_reference() -> None:
    result = ocfkit("meta-data", "tests.ocfkit.agents:Full")
    assert result.exit_code == 0
    assert '<resource-agent name="full" version="2.3.1">' in result.output


@pytest.mark.parametrize(
    ("agent", "message"),
    [
        ("nonesuch", "no agent named 'nonesuch' (registered: "),
        ("no.such.module:Agent", "No module named 'no'"),
    ],
)
def test_unknown_agents_are_reported(agent: str, message: str) -> None:
    result = CliRunner().invoke(main, ["meta-data", agent])
    assert result.exit_code == 1
    assert message in result.output
    assert "Traceback" not in result.output


def test_run_actions_with_parameters_and_meta(tmp_path: Path) -> None:
    env = {"HA_RSCTMP": str(tmp_path)}
    probe = ocfkit("run", "dummy", "monitor", "--meta", "interval=0", env=env)
    assert probe.exit_code == 7
    assert "monitor: NOT_RUNNING (7)" in probe.stderr
    started = ocfkit("run", "dummy", "start", "-p", "fake=hello", "--instance", "d9", env=env)
    assert started.exit_code == 0
    assert (tmp_path / "dummy-d9.state").read_text() == "hello\n"
    monitor = ocfkit("run", "dummy", "monitor", "--instance", "d9", "--meta", "interval=10000",
                     env=env)  # fmt: skip
    assert monitor.exit_code == 0


def test_run_reports_configuration_errors(tmp_path: Path) -> None:
    result = ocfkit("run", "dummy", "start", "-p", "op_sleep=-1",
                    env={"HA_RSCTMP": str(tmp_path)})  # fmt: skip
    assert result.exit_code == 6
    assert extract_exit_reason(result.stderr) == (
        "parameter 'op_sleep': -1 is less than the minimum 0"
    )
    assert "start: ERR_CONFIGURED (6)" in result.stderr


def test_run_meta_names_with_dashes_become_underscores(tmp_path: Path) -> None:
    """--meta clone-max=2 is what Pacemaker passes as OCF_RESKEY_CRM_meta_clone_max."""
    result = ocfkit("run", "tests.ocfkit.agents:EveryAction", "validate-all",
                    "--meta", "clone-max=2", env={"HA_RSCTMP": str(tmp_path)})  # fmt: skip
    assert result.exit_code == 0


@pytest.mark.parametrize("bad", ["novalue", "=value"])
def test_run_refuses_malformed_assignments(bad: str) -> None:
    result = CliRunner().invoke(main, ["run", "dummy", "start", "-p", bad])
    assert result.exit_code == 2
    assert "is not NAME=VALUE" in result.output


def test_check_in_process(tmp_path: Path) -> None:
    result = ocfkit("check", "dummy", env={"HA_RSCTMP": str(tmp_path)})
    assert result.exit_code == 0, result.output
    assert result.output.startswith("Conformance of in-process:")
    assert " 0 failed" in result.output


def test_check_fails_a_bad_agent() -> None:
    result = ocfkit("check", "tests.ocfkit.agents:Parameterless")
    assert result.exit_code == 1
    assert "[FAIL] meta-data returns 0" in result.output


def test_install_wants_names_or_all(world_dir: Path) -> None:
    root = str(world_dir / "ocf")
    nothing = ocfkit("install", "--provider", "test", "--ocf-root", root)
    assert nothing.exit_code == 2
    assert "name the agents to install, or give --all" in nothing.output
    assert not (world_dir / "ocf").exists()
    both = ocfkit("install", "--provider", "test", "--ocf-root", root, "--all", "dummy")
    assert both.exit_code == 2
    every = ocfkit("install", "--provider", "test", "--ocf-root", root, "--all")
    assert every.exit_code == 0
    installed = sorted(p.name for p in (world_dir / "ocf" / "resource.d" / "test").iterdir())
    assert installed == [".ocfkit-created", "daemon", "dummy", "ganesha_grace", "ganesha_mon"]


def test_check_an_installed_shim_without_naming_its_agent(world_dir: Path) -> None:
    root = str(world_dir / "ocf")
    ocfkit("install", "--provider", "test", "--ocf-root", root, "dummy")
    shim = str(world_dir / "ocf" / "resource.d" / "test" / "dummy")
    result = ocfkit("check", "--installed", shim, "--no-timing")
    assert result.exit_code == 0, result.output
    assert result.output.startswith(f"Conformance of {shim}:")
    assert "[ok  ] the shim's meta-data is what the installed agent renders now" in result.output
    assert "Start-up cost" not in result.output
    timed = ocfkit("check", "--installed", shim)
    assert "Start-up cost, whole processes (median of 11):" in timed.output
    assert "imports of one monitor" in timed.output


def test_check_wants_an_agent_or_an_executable() -> None:
    result = ocfkit("check")
    assert result.exit_code == 2
    assert "give an AGENT, or --installed PATH" in result.output


def test_install_and_uninstall(world_dir: Path) -> None:
    root = str(world_dir / "ocf")
    installed = ocfkit("install", "--provider", "test", "--ocf-root", root, "dummy")
    assert installed.exit_code == 0
    shim = world_dir / "ocf" / "resource.d" / "test" / "dummy"
    assert installed.output == f"installed {shim} (ocfkit.examples.dummy:Dummy)\n"
    assert os.access(shim, os.X_OK)
    again = ocfkit("install", "--provider", "test", "--ocf-root", root, "nonesuch")
    assert again.exit_code == 1 and "no agent named 'nonesuch'" in again.output
    removed = ocfkit("uninstall", "--provider", "test", "--ocf-root", root)
    assert removed.output == f"removed {shim}\n"
    assert not shim.exists()


def test_install_refuses_foreign_files_without_force(world_dir: Path) -> None:
    directory = world_dir / "ocf" / "resource.d" / "test"
    directory.mkdir(parents=True)
    (directory / "dummy").write_text("#!/bin/sh\n")
    root = str(world_dir / "ocf")
    refused = ocfkit("install", "--provider", "test", "--ocf-root", root, "dummy")
    assert refused.exit_code == 1 and "use --force" in refused.output
    forced = ocfkit("install", "--provider", "test", "--ocf-root", root, "--force", "dummy")
    assert forced.exit_code == 0


def test_install_refuses_a_bad_provider(world_dir: Path) -> None:
    result = ocfkit("install", "--provider", "../x", "--ocf-root", str(world_dir), "dummy")
    assert result.exit_code == 1
    assert "invalid provider name" in result.output


@pytest.mark.parametrize(("fmt", "render_doc"), [("markdown", markdown), ("man", man_page)])
def test_docs(
    fmt: str, render_doc: Callable[[type[ResourceAgent[Any]]], str], tmp_path: Path
) -> None:
    shown = ocfkit("docs", "dummy", "--format", fmt)
    assert shown.exit_code == 0
    assert shown.output == render_doc(Dummy)
    target = tmp_path / f"dummy.{fmt}"
    written = ocfkit("docs", "dummy", "--format", fmt, "-o", str(target))
    assert written.output == ""
    assert target.read_text() == shown.output


def test_version_and_help() -> None:
    assert "0.1.0" in ocfkit("--version").output
    helped = ocfkit("-h")
    assert helped.exit_code == 0
    for command in ("list", "meta-data", "run", "check", "install", "uninstall", "docs"):
        assert command in helped.output
