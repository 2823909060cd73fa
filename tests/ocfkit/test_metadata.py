"""Meta-data: golden documents, both schemas, the DTD ocf-tester uses, escaping, flavours.

The golden files in tests/data/metadata are the reviewed output; a change in
what an agent tells Pacemaker must show up as a change to them.  To rewrite
them after an intended change: ``OCFKIT_UPDATE_GOLDEN=1 pytest tests/ocfkit``.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from lxml import etree

from ocfkit import (
    AgentDefinitionError,
    Integer,
    Parameters,
    ResourceAgent,
    Select,
    action,
    parameter,
)
from ocfkit.actions import action_name
from ocfkit.examples.dummy import Dummy
from ocfkit.metadata import DOCTYPE, Flavour, descriptions, dtd_compatible, flavour_for, render
from ocfkit.validation import SCHEMAS, validate, validate_all

from .agents import Full, MandatoryOnly, Parameterless, WithoutParametersAttribute, run

GOLDEN = Path(__file__).resolve().parents[1] / "data" / "metadata"
DTD_DIR = "/usr/share/resource-agents"
AGENTS: dict[str, type[ResourceAgent[Any]]] = {"dummy": Dummy, "full": Full}
FLAVOURS: tuple[Flavour, ...] = ("1.1", "1.0")
CASES = [(name, flavour) for name in AGENTS for flavour in FLAVOURS]


def golden(name: str, flavour: Flavour) -> Path:
    return GOLDEN / f"{name}-{flavour}.xml"


@pytest.mark.parametrize(("name", "flavour"), CASES)
def test_golden_documents(name: str, flavour: Flavour) -> None:
    document = render(AGENTS[name], flavour)
    path = golden(name, flavour)
    if os.environ.get("OCFKIT_UPDATE_GOLDEN"):
        path.write_text(document, encoding="utf-8")
    assert document == path.read_text(encoding="utf-8")


@pytest.mark.parametrize(("name", "flavour"), CASES)
def test_rendering_is_deterministic(name: str, flavour: Flavour) -> None:
    assert len({render(AGENTS[name], flavour) for _ in range(3)}) == 1


def test_meta_data_action_prints_the_golden_document() -> None:
    assert run(Dummy(), "meta-data", {}).stdout == golden("dummy", "1.1").read_text()
    old = {"OCF_RA_VERSION_MAJOR": "1", "OCF_RA_VERSION_MINOR": "0"}
    assert run(Dummy(), "meta-data", old).stdout == golden("dummy", "1.0").read_text()


# ------------------------------------------------------------------------ schemas


@pytest.mark.parametrize("name", AGENTS)
def test_1_1_documents_are_valid_against_both_relax_ng_schemas(name: str) -> None:
    document = render(AGENTS[name], "1.1")
    for schema in ("ocf-1.1-rng", "pacemaker-1.1-rng"):
        verdict = validate(document, schema)
        assert verdict.valid, verdict.errors


@pytest.mark.parametrize("name", AGENTS)
def test_1_0_documents_are_valid_against_the_dtd(name: str) -> None:
    verdict = validate(render(AGENTS[name], "1.0"), "ra-api-1-dtd")
    assert verdict.valid, verdict.errors


def test_1_1_document_with_1_1_features_is_not_dtd_valid_and_says_so() -> None:
    document = render(Full, "1.1")
    assert not dtd_compatible(Full)
    assert "<!DOCTYPE" not in document
    assert not validate(document, "ra-api-1-dtd").valid


def test_1_1_document_without_1_1_features_carries_the_doctype() -> None:
    assert dtd_compatible(Dummy)
    document = render(Dummy, "1.1")
    assert document.splitlines()[1] == DOCTYPE
    assert validate(document, "ra-api-1-dtd").valid


@pytest.mark.real
@pytest.mark.parametrize("name", AGENTS)
def test_xmllint_relaxng_accepts_1_1(name: str, tmp_path: Path) -> None:
    document = tmp_path / "meta.xml"
    document.write_text(render(AGENTS[name], "1.1"))
    for schema in ("ocf-ra-api-1.1.rng", "pacemaker-ocf-ra-1.1.rng"):
        rng = Path(__file__).resolve().parents[2] / "src" / "ocfkit" / "schemas" / schema
        done = subprocess.run(
            ["xmllint", "--noout", "--relaxng", str(rng), str(document)],
            capture_output=True,
            text=True,
            check=False,
        )
        assert done.returncode == 0, done.stderr


def xmllint_valid(document: str) -> subprocess.CompletedProcess[str]:
    """Exactly what ocf-tester runs on meta-data.

    ``$agent meta-data | (cd $DATADIR/resource-agents && xmllint --noout --valid -)``
    """
    return subprocess.run(
        ["xmllint", "--noout", "--valid", "-"],
        input=document,
        cwd=DTD_DIR,
        capture_output=True,
        text=True,
        check=False,
    )


@pytest.mark.real
@pytest.mark.parametrize("name", AGENTS)
def test_xmllint_valid_accepts_1_0_as_ocf_tester_runs_it(name: str) -> None:
    done = xmllint_valid(render(AGENTS[name], "1.0"))
    assert done.returncode == 0, done.stderr


@pytest.mark.real
def test_xmllint_valid_on_1_1_agrees_with_the_doctype_rule() -> None:
    assert xmllint_valid(render(Dummy, "1.1")).returncode == 0
    assert xmllint_valid(render(Full, "1.1")).returncode != 0


# Agents assembled from any mix of 1.1 features, to check the DOCTYPE rule on each.
@st.composite
def feature_agents(draw: st.DrawFn) -> type[ResourceAgent[Any]]:
    fields: dict[str, Any] = {}
    annotations: dict[str, Any] = {}
    for index in range(draw(st.integers(min_value=1, max_value=4))):
        kind = draw(st.sampled_from(["plain", "select", "group", "reload", "deprecated", "int"]))
        options: dict[str, Any] = {"shortdesc": f"p{index}", "default": "a"}
        if kind == "select":
            options["type"] = Select("a", "b")
        elif kind == "group":
            options["unique_group"] = draw(st.sampled_from(["g1", "g2"]))
        elif kind == "reload":
            options["reloadable"] = True
        elif kind == "deprecated":
            options["deprecated"] = True
            options["replaced_with"] = draw(st.sampled_from([(), ("p0",)]))
        elif kind == "int":
            options["default"] = draw(st.none() | st.integers(min_value=0, max_value=9))
            options["type"] = Integer(min=0)
        if draw(st.booleans()):
            del options["default"]  # required
        fields[f"p{index}"] = parameter(**options)
        annotations[f"p{index}"] = "str"
    params = type("Params", (Parameters,), {"__annotations__": annotations, **fields})
    body: dict[str, Any] = {"parameters": params, "name": "mixed"}
    for word in draw(st.sets(st.sampled_from(["start", "stop", "monitor", "reload_agent",
                                              "promote", "notify"]))):  # fmt: skip
        body[word] = action(timeout=20, name=action_name(word))(lambda self: None)
    return type("Mixed", (ResourceAgent,), body)


@settings(max_examples=60, deadline=None)
@given(feature_agents())
def test_doctype_appears_exactly_when_the_document_is_dtd_valid(
    agent: type[ResourceAgent[Any]],
) -> None:
    document = render(agent, "1.1")
    verdicts = validate_all(document)
    assert verdicts["ocf-1.1-rng"].valid, verdicts["ocf-1.1-rng"].errors
    assert verdicts["pacemaker-1.1-rng"].valid, verdicts["pacemaker-1.1-rng"].errors
    assert ("<!DOCTYPE" in document) is verdicts["ra-api-1-dtd"].valid
    compat = validate(render(agent, "1.0"), "ra-api-1-dtd")
    assert compat.valid, compat.errors


# ----------------------------------------------------------------------- contents


def parsed(document: str) -> etree._Element:
    return etree.fromstring(document.encode())


def test_special_characters_survive_escaping() -> None:
    document = render(Full, "1.1")
    root = parsed(document)
    config = root.find("parameters/parameter[@name='config-file']")
    assert config is not None
    assert config.findtext("longdesc") == (
        "The daemon's configuration: <path> & \"quotes\" 'too' survive escaping."
    )
    loglevel = root.find("parameters/parameter[@name='loglevel']/content")
    assert loglevel is not None and loglevel.get("default") == 'say "hi" & <bye>'
    options = root.findall("parameters/parameter[@name='mode']/content/option")
    assert [o.get("value") for o in options] == ["fast", "safe", "a<b&c"]
    assert "a<b&c" not in document and "<bye>" not in document  # escaped in the text


def test_1_1_features_as_written() -> None:
    root = parsed(render(Full, "1.1"))
    assert root.get("version") == "2.3.1"
    assert root.findtext("version") == "1.1"

    def param(name: str) -> etree._Element:
        found = root.find(f"parameters/parameter[@name='{name}']")
        assert found is not None
        return found

    assert param("config-file").get("required") == "1"
    assert param("ip").get("required") is None
    assert param("ip").get("unique-group") == param("port").get("unique-group") == "address"
    assert param("mode").get("reloadable") == "1"
    assert [r.get("name") for r in param("loglevel").iterfind("deprecated/replaced-with")] == [
        "verbose",
        "mode",
    ]
    assert param("loglevel").findtext("deprecated/desc") == (
        "Kept for configurations written for the shell agent."
    )
    content = param("mode").find("content")
    assert content is not None and content.get("type") == "select"
    actions = [(a.get("name"), a.get("depth"), a.get("role")) for a in root.iter("action")]
    assert ("reload-agent", None, None) in actions
    assert ("monitor", "10", None) in actions and ("monitor", "0", None) in actions
    assert ("monitor", None, "Promoted") in actions and ("monitor", None, "Unpromoted") in actions


def test_1_0_folds_what_the_dtd_cannot_say_into_words() -> None:
    root = parsed(render(Full, "1.0"))
    assert root.findtext("version") == "1.0"
    mode = root.find("parameters/parameter[@name='mode']")
    assert mode is not None
    assert mode.get("reloadable") is None
    content = mode.find("content")
    assert content is not None and content.get("type") == "string"
    assert "Allowed values: fast, safe, a<b&c." in (mode.findtext("longdesc") or "")
    loglevel = root.find("parameters/parameter[@name='loglevel']")
    assert loglevel is not None and loglevel.find("deprecated") is None
    assert (loglevel.findtext("shortdesc") or "").endswith("(deprecated)")
    assert "Use verbose or mode instead." in (loglevel.findtext("longdesc") or "")
    assert "reload-agent" not in {a.get("name") for a in root.iter("action")}


def test_1_0_marks_unique_only_a_parameter_that_is_unique_alone() -> None:
    """unique="1" means "this one value alone": only a unique group of one says that."""
    root = parsed(render(Full, "1.0"))
    unique = {p.get("name"): p.get("unique") for p in root.iter("parameter")}
    assert unique["config-file"] == "1"  # alone in its group
    assert unique["ip"] == unique["port"] == "0"  # only their combination is unique
    assert unique["mode"] == "0"


def test_descriptions_come_from_the_docstring_unless_declared() -> None:
    assert descriptions(Dummy) == (
        "Example agent that only records whether it runs",
        "Starting writes a state file, stopping removes it and monitoring checks\n"
        "for it.  Use it to try a cluster configuration, or as the template of a\n"
        "new agent.",
    )

    class Declared(MandatoryOnly):
        """Ignored first line

        Ignored rest.
        """

        shortdesc = "Short"
        longdesc = "Long"

    assert descriptions(Declared) == ("Short", "Long")

    class Undocumented(MandatoryOnly):
        pass

    assert descriptions(Undocumented) == ("Undocumented", "Undocumented")


def test_agent_without_parameters_is_refused_clearly() -> None:
    with pytest.raises(AgentDefinitionError, match="needs at least one parameter"):
        render(Parameterless)
    result = run(Parameterless(), "meta-data", {})
    assert result.exit_code == 1
    assert result.stdout == ""
    assert result.exit_reason == (
        "parameterless: OCF meta-data needs at least one parameter (the schemas require one)"
    )


def test_agent_without_parameters_attribute_is_refused_clearly() -> None:
    result = run(WithoutParametersAttribute(), "meta-data", {})
    assert result.exit_code == 1
    assert "Traceback" not in result.stderr
    assert result.exit_reason == "forgetful: no parameters class declared"


# ---------------------------------------------------------------------- flavours


@pytest.mark.parametrize(
    ("major", "minor", "flavour"),
    [("1", "0", "1.0"), (" 1 ", "0\n", "1.0"), ("1", "1", "1.1"), (None, None, "1.1"),
     ("1", None, "1.1"), ("2", "0", "1.1"), ("0", "9", "1.1"), ("", "0", "1.1")],
)  # fmt: skip
def test_flavour_negotiation(major: str | None, minor: str | None, flavour: str) -> None:
    environ = {}
    if major is not None:
        environ["OCF_RA_VERSION_MAJOR"] = major
    if minor is not None:
        environ["OCF_RA_VERSION_MINOR"] = minor
    assert flavour_for(environ) == flavour
    shown = run(Full(), "meta-data", environ).stdout
    assert parsed(shown).findtext("version") == flavour


def test_validation_reports_malformed_documents() -> None:
    verdict = validate("<resource-agent", "ocf-1.1-rng")
    assert not verdict.valid
    assert verdict.errors[0].startswith("not well-formed XML")
    assert set(validate_all(render(Dummy))) == set(SCHEMAS)


def test_validation_does_not_resolve_entities() -> None:
    """A document is data: no external entity is read while checking it."""
    document = (
        '<?xml version="1.0"?>\n<!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]>\n'
        '<resource-agent name="&x;"><version>1.1</version></resource-agent>'
    )
    verdict = validate(document, "ocf-1.1-rng")
    assert not verdict.valid
    assert not any("root:" in e for e in verdict.errors)
