"""Documentation pages made from the declarations, and the agent registry."""

from __future__ import annotations

import subprocess
from typing import Any

import pytest

from ocfkit import AgentDefinitionError, Parameters, ResourceAgent, action, parameter
from ocfkit.docs import man_page, markdown
from ocfkit.examples.dummy import Dummy
from ocfkit.registry import load, reference, registered

from .agents import Full, Parameterless


def test_markdown_states_every_fact() -> None:
    page = markdown(Full)
    assert page.startswith("# full\n\nEvery OCF 1.1 meta-data feature\n")
    assert "### `config-file`" in page
    assert "Configuration file (type string; required; unique group `config`)." in page
    assert "Mode (type select; default `fast`; reloadable)." in page
    assert "Allowed values: fast, safe, a<b&c." in page
    assert "Verbose (type boolean; default `false`; reloadable)." in page
    assert "deprecated (use verbose, mode)" in page
    assert "Port (type integer; default `2049`; unique group `address`)." in page
    assert "An integer from 1 to 65535." in page
    assert "| monitor | 60s | 3600s | 10 |  |" in page
    assert "| monitor | 20s | 9s |  | Promoted |" in page
    assert "| reload-agent | 5s |  |  |  |" in page


def test_markdown_says_which_parameters_locate_the_resource() -> None:
    page = markdown(Dummy)
    assert "State file (type string; locates the resource)." in page
    assert "locates the resource" not in markdown(Full)


def test_markdown_lists_each_parameter_and_action_once() -> None:
    page = markdown(Dummy)
    for name in ("state", "fake", "op_sleep"):
        assert page.count(f"### `{name}`") == 1
    rows = [line for line in page.splitlines() if line.startswith("| ") and "---" not in line]
    assert [r.split(" | ")[0][2:] for r in rows[1:]] == [
        "start", "stop", "monitor", "notify", "validate-all", "meta-data"
    ]  # fmt: skip


class RoffParameters(Parameters):
    dotted: str = parameter(
        default="x",
        shortdesc="Dots",
        longdesc=".TH injected\n'quote start\nback\\slash and \\fB bold",
    )


class RoffTrap(ResourceAgent[RoffParameters]):
    """.SH a shortdesc that looks like a request

    .B text that starts like a request
    """

    name = "roff-trap"
    parameters = RoffParameters

    @action(timeout=20)
    def start(self) -> None:
        return None


def test_man_page_escapes_roff() -> None:
    page = man_page(RoffTrap)
    lines = page.splitlines()
    # No line of the agent's text can become a request of its own.
    requests = [line.split()[0] for line in lines if line.startswith((".", "'"))]
    assert set(requests) <= {".TH", ".SH", ".TP"}
    assert "\\&.TH injected" in lines
    assert "\\&'quote start" in lines
    assert "\\&.B text that starts like a request" in lines
    assert "back\\eslash and \\efB bold" in page


def test_man_page_structure() -> None:
    page = man_page(Dummy)
    assert page.startswith('.TH DUMMY 7 "" "ocfkit" "OCF resource agents"\n.SH NAME\n')
    assert "dummy \\- Example agent that only records whether it runs" in page
    assert "\\fBop_sleep\\fR (type integer, default `0`)" in page
    assert "timeout 20s, interval 10s, depth 0" in page


def groff(page: str, *options: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["groff", "-man", "-ww", *options],
        input=page,
        capture_output=True,
        text=True,
        check=False,
    )


@pytest.mark.real
@pytest.mark.parametrize("agent", [Dummy, Full, RoffTrap])
def test_man_page_renders_cleanly_with_groff(agent: type[ResourceAgent[Any]]) -> None:
    done = groff(man_page(agent), "-Tutf8", "-z")
    assert done.returncode == 0
    assert done.stderr == ""


@pytest.mark.real
def test_man_page_shows_what_was_written() -> None:
    shown = groff(man_page(RoffTrap), "-Tascii", "-P-c").stdout
    # NAME as whatis expects it: "name - description", the dash a real separator.
    assert "roff-trap - .SH a shortdesc that looks like a request" in shown
    assert ".B text that starts like a request" in shown
    assert ".TH injected" in shown and "'quote start" in shown
    assert "back\\slash and \\fB bold" in shown


def test_docs_refuse_an_agent_without_parameters() -> None:
    with pytest.raises(AgentDefinitionError):
        markdown(Parameterless)
    with pytest.raises(AgentDefinitionError):
        man_page(Parameterless)


# ------------------------------------------------------------------- registry


def test_registered_agents_include_the_example() -> None:
    assert registered()["dummy"] == "ocfkit.examples.dummy:Dummy"
    assert reference("dummy") == "ocfkit.examples.dummy:Dummy"
    assert load("dummy") is Dummy


def test_a_reference_is_its_own_reference() -> None:
    assert reference("tests.ocfkit.agents:Full") == "tests.ocfkit.agents:Full"
    assert load("tests.ocfkit.agents:Full") is Full


def test_unknown_names_and_non_agents_are_refused() -> None:
    with pytest.raises(LookupError, match=r"registered: .*dummy"):
        reference("nonesuch")
    with pytest.raises(AgentDefinitionError, match="not a ResourceAgent subclass"):
        load("tests.ocfkit.agents:RecordingParameters")
    with pytest.raises(AgentDefinitionError):
        load("tests.ocfkit.agents:NoSuchName")
    with pytest.raises(ImportError):
        load("tests.ocfkit.no_such_module:X")
