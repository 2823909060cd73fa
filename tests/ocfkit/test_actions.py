"""Declaring actions: names, durations, roles, stacking and inheritance."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ocfkit import AgentDefinitionError, ExitCode, ResourceAgent, action
from ocfkit.actions import STANDARD_ACTIONS, action_name, format_duration

from .agents import EveryAction, Full, MandatoryOnly, RecordingParameters, run


def test_method_names_map_to_ocf_action_names() -> None:
    assert action_name("validate_all") == "validate-all"
    assert action_name("reload_agent") == "reload-agent"
    assert action_name("migrate_to") == "migrate_to"  # Pacemaker spells these with "_"
    assert action_name("start") == "start"


@pytest.mark.parametrize(
    ("value", "shown"),
    [(20, "20s"), (0, "0s"), (1.5, "1.5s"), (3600, "3600s"), ("90s", "90s"), ("2m", "2m"),
     ("500ms", "500ms"), ("1min", "1min"), ("2h", "2h"), ("10", "10"), ("1hr", "1hr")],
)  # fmt: skip
def test_durations_as_meta_data_writes_them(value: float | str, shown: str) -> None:
    assert format_duration(value, "timeout") == shown


@pytest.mark.parametrize("bad", [-1, -0.5, True, "", "s", "20 s", "1.5m", "ten", "-5s", "²s"])
def test_bad_durations_are_definition_errors(bad: Any) -> None:
    with pytest.raises(AgentDefinitionError, match="timeout"):
        format_duration(bad, "timeout")


@given(st.integers(min_value=0, max_value=10**9))
def test_any_non_negative_integer_is_a_duration(seconds: int) -> None:
    shown = format_duration(seconds, "interval")
    assert shown.endswith("s")
    assert float(shown[:-1]) == pytest.approx(seconds, rel=1e-5)


@pytest.mark.parametrize(
    ("role", "shown"),
    [("Promoted", "Promoted"), ("unpromoted", "Unpromoted"), ("Master", "Promoted"),
     ("slave", "Unpromoted"), ("Started", "Started"), ("stopped", "Stopped")],
)  # fmt: skip
def test_roles_are_written_in_1_1_spelling(role: str, shown: str) -> None:
    class Roles(MandatoryOnly):
        @action(timeout=20, interval=5, role=role)
        def monitor(self) -> ExitCode:
            return ExitCode.NOT_RUNNING

    (spec,) = [s for s in Roles.actions().specs if s.name == "monitor"]
    assert spec.role == shown


def test_unknown_role_is_refused_when_declared() -> None:
    with pytest.raises(AgentDefinitionError, match="role"):
        action(timeout=20, role="Boss")


def test_stacked_declarations_keep_their_written_order() -> None:
    monitors = [s for s in Full.actions().specs if s.name == "monitor"]
    assert [(m.interval, m.depth, m.role) for m in monitors] == [
        ("10s", 0, None),
        ("3600s", 10, None),
        ("9s", None, "Promoted"),
        ("11s", None, "Unpromoted"),
    ]


def test_actions_are_listed_in_standard_order() -> None:
    names = [s.name for s in EveryAction.actions().specs]
    assert names == [n for n in STANDARD_ACTIONS if n in names]
    assert set(names) == set(STANDARD_ACTIONS)


def test_an_alias_dispatches_to_the_same_method() -> None:
    class WithStatus(MandatoryOnly):
        @action(timeout=20, interval=10)
        @action(timeout=20, name="status")
        def monitor(self) -> ExitCode:
            return ExitCode.NOT_RUNNING

    assert run(WithStatus(), "status", {}).exit_code == ExitCode.NOT_RUNNING
    assert {"monitor", "status"} <= set(WithStatus.actions().methods)


def test_a_subclass_redeclaring_an_action_wins() -> None:
    class Parent(EveryAction):
        @action(timeout=20)
        def start(self) -> ExitCode:
            return ExitCode.ERR_GENERIC

    class Child(Parent):
        @action(timeout=99)
        def start(self) -> ExitCode:
            return ExitCode.SUCCESS

    (spec,) = [s for s in Child.actions().specs if s.name == "start"]
    assert spec.timeout == "99s"
    assert run(Child(), "start", {}).exit_code == 0
    # The parent's table is its own.
    assert [s.timeout for s in Parent.actions().specs if s.name == "start"] == ["20s"]


def test_an_override_without_decorator_keeps_the_declaration() -> None:
    class Quiet(MandatoryOnly):
        def monitor(self) -> ExitCode:
            return ExitCode.SUCCESS

    assert run(Quiet(), "monitor", {}).exit_code == ExitCode.SUCCESS
    assert "monitor" in Quiet.actions()


def test_two_methods_declaring_one_action_are_refused() -> None:
    class Twice(ResourceAgent[RecordingParameters]):
        parameters = RecordingParameters

        @action(timeout=20)
        def start(self) -> None:
            return None

        @action(timeout=20, name="start")
        def begin(self) -> None:
            return None

    with pytest.raises(AgentDefinitionError, match="'start' is declared on both"):
        Twice.actions()


def test_every_agent_has_validate_all_and_meta_data() -> None:
    names = {s.name for s in MandatoryOnly.actions().specs}
    assert {"validate-all", "meta-data"} <= names
