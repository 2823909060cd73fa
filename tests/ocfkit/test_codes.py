"""Exit codes: the OCF 1.1 names, the pre-1.1 aliases and the shell-style constants."""

from __future__ import annotations

import pytest

from ocfkit import codes
from ocfkit.codes import VALID_CODES, ExitCode

# The table of the OCF Resource Agent API 1.1, section "Exit codes".
OCF_1_1 = {
    0: "SUCCESS",
    1: "ERR_GENERIC",
    2: "ERR_ARGS",
    3: "ERR_UNIMPLEMENTED",
    4: "ERR_PERM",
    5: "ERR_INSTALLED",
    6: "ERR_CONFIGURED",
    7: "NOT_RUNNING",
    8: "RUNNING_PROMOTED",
    9: "FAILED_PROMOTED",
    190: "DEGRADED",
    191: "DEGRADED_PROMOTED",
}


@pytest.mark.parametrize(("value", "name"), sorted(OCF_1_1.items()))
def test_every_code_has_its_1_1_name(value: int, name: str) -> None:
    assert ExitCode[name] == value
    assert ExitCode(value).name == name
    assert ExitCode.describe(value) == name
    assert getattr(codes, "OCF_" + name) == value


def test_exactly_the_standard_codes_are_valid() -> None:
    assert frozenset(OCF_1_1) == VALID_CODES


@pytest.mark.parametrize(
    ("alias", "canonical"),
    [("RUNNING_MASTER", "RUNNING_PROMOTED"), ("FAILED_MASTER", "FAILED_PROMOTED")],
)
def test_master_names_are_aliases_of_the_promoted_ones(alias: str, canonical: str) -> None:
    assert ExitCode[alias] is ExitCode[canonical]
    assert getattr(codes, "OCF_" + alias) is ExitCode[canonical]
    # An alias must not add a member: iterating gives each code once.
    assert [c.name for c in ExitCode].count(canonical) == 1
    assert alias not in [c.name for c in ExitCode]


@pytest.mark.parametrize("value", [-1, 10, 189, 192, 255, 256, 1 << 40])
def test_describe_names_codes_outside_the_standard(value: int) -> None:
    assert ExitCode.describe(value) == f"unknown({value})"


def test_codes_fit_a_process_exit_status() -> None:
    assert all(0 <= c <= 255 for c in VALID_CODES)
