"""Declared parameters: conversion from OCF_RESKEY_*, problems, warnings, and attrs interop."""

from __future__ import annotations

import re
from typing import Optional

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

from ocfkit import (
    AgentDefinitionError,
    Boolean,
    ConfigurationError,
    Integer,
    Parameters,
    Select,
    parameter,
)
from ocfkit.params import METADATA_KEY, FrozenInstanceError, load_parameters, parameter_specs

from .agents import FullParameters


class Service(Parameters):
    config: str = parameter(shortdesc="Configuration file")  # required
    port: int = parameter(default=2049, type=Integer(min=1, max=65535), shortdesc="Port")
    debug: bool = parameter(default=False, shortdesc="Debug")
    mode: str = parameter(default="fast", type=Select("fast", "safe"), shortdesc="Mode")
    label: str | None = parameter(default=None, shortdesc="Label")
    config_dir: str = parameter(default="/etc", name="config-dir", shortdesc="Directory")
    old_port: int | None = parameter(
        default=None, shortdesc="Old port", deprecated=True, replaced_with=("port",)
    )
    legacy: str | None = parameter(default=None, shortdesc="Legacy", deprecated="unused")


def load(**environ: str) -> tuple[Service, tuple[str, ...]]:
    loaded = load_parameters(Service, {f"OCF_RESKEY_{k}": v for k, v in environ.items()})
    return loaded.values, loaded.warnings


def test_defaults_apply_when_unset() -> None:
    values, warnings = load(config="/etc/x.conf")
    assert values == Service(config="/etc/x.conf")
    assert (values.port, values.debug, values.mode, values.label) == (2049, False, "fast", None)
    assert values.config_dir == "/etc"
    assert warnings == ()


def test_values_are_converted_by_type() -> None:
    values, _ = load(config="c", port="80", debug="yes", mode="safe", label="L")
    assert (values.port, values.debug, values.mode, values.label) == (80, True, "safe", "L")


def test_empty_value_counts_as_unset() -> None:
    values, _ = load(config="c", port="", debug="", mode="", label="")
    assert values == Service(config="c")
    with pytest.raises(ConfigurationError, match="required parameter 'config' is not set"):
        load(config="")


def test_ocf_names_that_are_not_identifiers() -> None:
    loaded = load_parameters(Service, {"OCF_RESKEY_config": "c", "OCF_RESKEY_config-dir": "/srv"})
    assert loaded.values.config_dir == "/srv"
    # The attribute name is not the OCF name: it does not count.
    loaded = load_parameters(Service, {"OCF_RESKEY_config": "c", "OCF_RESKEY_config_dir": "/x"})
    assert loaded.values.config_dir == "/etc"


def test_required_parameter_missing_names_it() -> None:
    with pytest.raises(ConfigurationError) as caught:
        load()
    assert caught.value.reason == "required parameter 'config' is not set"


def test_several_problems_are_reported_at_once() -> None:
    with pytest.raises(ConfigurationError) as caught:
        load(port="0", mode="quick", debug="yes")
    assert caught.value.reason == (
        "required parameter 'config' is not set; "
        "parameter 'port': 0 is less than the minimum 1; "
        "parameter 'mode': 'quick' is not one of fast, safe"
    )


def test_unrecognised_boolean_word_is_false_with_a_warning() -> None:
    values, warnings = load(config="c", debug="ture")
    assert values.debug is False
    assert warnings == ("parameter 'debug': 'ture' is not a boolean word, read as false",)


def test_recognised_false_word_gives_no_warning() -> None:
    values, warnings = load(config="c", debug="off")
    assert values.debug is False
    assert warnings == ()


def test_deprecated_parameter_set_warns_with_replacement() -> None:
    values, warnings = load(config="c", old_port="81", legacy="x")
    assert values.old_port == 81
    assert warnings == (
        "parameter 'old_port' is deprecated; use 'port'",
        "parameter 'legacy' is deprecated",
    )


def test_deprecated_parameter_unset_is_silent() -> None:
    assert load(config="c")[1] == ()


def test_unknown_reskeys_are_ignored() -> None:
    values, warnings = load(config="c", unknown="1", CRM_meta_interval="10")
    assert values == Service(config="c")
    assert warnings == ()


@given(st.dictionaries(st.text(min_size=1).filter(lambda s: "=" not in s), st.text(), max_size=8))
def test_arbitrary_reskeys_either_load_or_raise_configuration_error(env: dict[str, str]) -> None:
    environ = {f"OCF_RESKEY_{k}": v for k, v in env.items()}
    try:
        loaded = load_parameters(Service, environ)
    except ConfigurationError as error:
        # Values are quoted with repr(): the reason stays on one line whatever they hold.
        assert error.reason
        assert "\n" not in error.reason
    else:
        assert loaded.values.config == env["config"]


# --------------------------------------------------------------------- the class


def test_specs_are_in_declaration_order_with_ocf_names() -> None:
    names = [s.name for s in parameter_specs(Service)]
    assert names == [
        "config", "port", "debug", "mode", "label", "config-dir", "old_port", "legacy"
    ]  # fmt: skip
    spec = parameter_specs(Service)[0]
    assert spec.required and spec.env_name == "OCF_RESKEY_config"
    assert spec.longdesc == spec.shortdesc  # no longdesc: the short one serves


def test_types_come_from_annotations_unless_declared() -> None:
    types = {s.name: type(s.type) for s in parameter_specs(Service)}
    assert types["port"] is Integer
    assert types["debug"] is Boolean
    assert types["mode"] is Select
    assert types["label"].__name__ == "String"


def test_instances_are_frozen() -> None:
    values = Service(config="c")
    with pytest.raises(FrozenInstanceError):
        values.port = 1  # type: ignore[misc]
    with pytest.raises(FrozenInstanceError):
        del values.port
    with pytest.raises(AttributeError):
        values.other = 1


def test_equality_hash_and_repr() -> None:
    a, b, c = Service(config="c"), Service(config="c"), Service(config="d")
    assert a == b and hash(a) == hash(b)
    assert a != c
    assert repr(a).startswith("Service(config='c', port=2049, debug=False,")

    class Other(Parameters):
        config: str = parameter(shortdesc="x")

    assert Other(config="c") != Service(config="c")


def test_constructor_checks_names() -> None:
    with pytest.raises(TypeError, match="missing parameter 'config'"):
        Service()  # type: ignore[call-arg]
    with pytest.raises(TypeError, match="unknown parameters"):
        Service(config="c", nonsense=1)  # type: ignore[call-arg]


def test_inheritance_adds_and_overrides() -> None:
    class Base(Parameters):
        a: int = parameter(default=1, shortdesc="a")
        b: str = parameter(default="b", shortdesc="b")

    class Derived(Base):
        b: str = parameter(default="B", shortdesc="b again")
        c: bool = parameter(default=True, shortdesc="c")

    assert [s.name for s in parameter_specs(Derived)] == ["a", "b", "c"]
    assert Derived() == Derived(a=1, b="B", c=True)
    assert [s.name for s in parameter_specs(Base)] == ["a", "b"]
    assert load_parameters(Derived, {"OCF_RESKEY_a": "5"}).values.a == 5


def test_annotation_without_parameter_is_a_definition_error() -> None:
    with pytest.raises(AgentDefinitionError, match="annotated but not declared"):

        class Broken(Parameters):
            a: int = parameter(default=1, shortdesc="a")
            b: int


def test_two_parameters_with_one_ocf_name_are_refused() -> None:
    with pytest.raises(AgentDefinitionError, match="share an OCF name"):

        class Clash(Parameters):
            a: str = parameter(default="", shortdesc="a", name="x")
            b: str = parameter(default="", shortdesc="b", name="x")


def test_parameter_specs_refuses_other_classes() -> None:
    with pytest.raises(
        AgentDefinitionError, match=re.escape("not a subclass of ocfkit.Parameters")
    ):
        parameter_specs(dict)


# -------------------------------------------------------------------- attrs interop


def test_attrs_sees_a_frozen_attrs_class() -> None:
    assert attrs.has(Service)
    fields = attrs.fields(Service)
    assert [f.name for f in fields] == [s.attribute for s in parameter_specs(Service)]
    assert fields.port.default == 2049
    assert fields.config.default is attrs.NOTHING  # required
    spec = fields.config_dir.metadata[METADATA_KEY]
    assert (spec.name, spec.shortdesc) == ("config-dir", "Directory")


def test_attrs_asdict_and_evolve() -> None:
    values = Service(config="c", port=80)
    as_dict = attrs.asdict(values)
    assert as_dict["config"] == "c" and as_dict["port"] == 80 and as_dict["config_dir"] == "/etc"
    # attrs' mypy plugin accepts only classes its decorators made; at run time evolve works.
    changed = attrs.evolve(values, port=81)  # type: ignore[misc]
    assert type(changed) is Service
    assert changed.port == 81 and changed.config == "c"
    assert values.port == 80  # the original is untouched


def test_attrs_view_is_per_class() -> None:
    """A subclass's fields are its own, not a cached copy of its parent's."""
    parent = [f.name for f in attrs.fields(FullParameters)]

    class More(FullParameters):
        extra: int = parameter(default=0, shortdesc="Extra")

    assert [f.name for f in attrs.fields(More)] == [*parent, "extra"]
    assert [f.name for f in attrs.fields(FullParameters)] == parent


def test_optional_spellings_keep_the_annotated_type() -> None:
    class Spelled(Parameters):
        a: None | int = parameter(default=None, shortdesc="a")  # noqa: RUF036 (the point)
        b: Optional[bool] = parameter(default=None, shortdesc="b")  # noqa: UP045 (the point)

    loaded = load_parameters(Spelled, {"OCF_RESKEY_a": "7", "OCF_RESKEY_b": "yes"})
    assert (loaded.values.a, loaded.values.b) == (7, True)
    with pytest.raises(ConfigurationError, match="'a': 'seven' is not an integer"):
        load_parameters(Spelled, {"OCF_RESKEY_a": "seven"})
