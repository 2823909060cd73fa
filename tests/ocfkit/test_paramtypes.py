"""Parameter content types: how a string from the environment becomes a value."""

from __future__ import annotations

import subprocess

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ocfkit import Boolean, Integer, Select, String
from ocfkit.paramtypes import ParameterValueError, infer_type, parse_decimal

# ocf_is_true in ocf-shellfuncs: exactly these words are true.
SHELL_TRUE = ["yes", "true", "1", "YES", "TRUE", "True", "ja", "on", "ON"]
NOT_TRUE = ["no", "false", "0", "", "Yes", "tRUE", "y", "Y", "2", "On", "oN", "JA", "nein",
            "enabled", "yes please", "t", "-1", "01", "1.0"]  # fmt: skip


@pytest.mark.parametrize("word", SHELL_TRUE)
def test_boolean_true_words(word: str) -> None:
    assert Boolean().convert(word) is True


@pytest.mark.parametrize("word", NOT_TRUE)
def test_boolean_everything_else_is_false(word: str) -> None:
    assert Boolean().convert(word) is False


def _shell_is_true(values: list[str]) -> list[bool]:
    """Ask ocf-shellfuncs itself: one line per value, 1 for true."""
    script = (
        ". /usr/lib/ocf/lib/heartbeat/ocf-shellfuncs\n"
        'for v in "$@"; do if ocf_is_true "$v"; then echo 1; else echo 0; fi; done\n'
    )
    done = subprocess.run(
        ["sh", "-c", script, "sh", *values],
        capture_output=True,
        text=True,
        check=True,
        env={"OCF_ROOT": "/usr/lib/ocf", "PATH": "/usr/bin:/bin"},
    )
    return [line == "1" for line in done.stdout.split("\n")[: len(values)]]


@pytest.mark.real
def test_boolean_agrees_with_the_real_ocf_is_true() -> None:
    """The oracle is Debian's ocf-shellfuncs: every listed word, every short odd one."""
    alphabet = "yestruonjaYESTRUONJA01-"
    odd = [a + b for a in alphabet for b in ["", *alphabet]]
    # ocf_is_true is called with the value quoted: blanks around a word count.
    words = [*SHELL_TRUE, *NOT_TRUE, *odd, " yes", "yes ", " 1 ", "\ttrue"]
    assert [Boolean().convert(w) for w in words] == _shell_is_true(words)


@pytest.mark.parametrize("word", [*SHELL_TRUE, "no", "false", "0", "NO", "FALSE", "False",
                                  "nein", "off", "OFF"])  # fmt: skip
def test_boolean_recognises_the_usual_words(word: str) -> None:
    assert Boolean.recognised(word)


@pytest.mark.parametrize("word", ["ture", "y", "n", "Off ish", "2", "enable"])
def test_boolean_does_not_recognise_typos(word: str) -> None:
    assert not Boolean.recognised(word)


def test_boolean_default_is_rendered_as_a_word() -> None:
    assert Boolean().render_default(True) == "true"
    assert Boolean().render_default(False) == "false"


@pytest.mark.parametrize(
    ("raw", "value"),
    [("0", 0), ("42", 42), ("-7", -7), ("+7", 7), (" 12 ", 12), ("\t3\n", 3), ("007", 7),
     ("-0", 0), ("9" * 30, int("9" * 30))],
)  # fmt: skip
def test_integer_accepts_plain_decimals(raw: str, value: int) -> None:
    assert Integer().convert(raw) == value


@pytest.mark.parametrize(
    "raw",
    ["", " ", "abc", "1.5", "1e3", "0x10", "1_000", "--1", "+-1", "1 2", "٣", "\uff11", "∞",
     "9" * 31, "-" + "9" * 30, "NaN", "12abc"],
)  # fmt: skip
def test_integer_refuses_anything_else(raw: str) -> None:
    with pytest.raises(ParameterValueError, match="is not an integer"):
        Integer().convert(raw)


def test_integer_bounds() -> None:
    bounded = Integer(min=1, max=5)
    assert bounded.convert("1") == 1
    assert bounded.convert("5") == 5
    with pytest.raises(ParameterValueError, match="less than the minimum 1"):
        bounded.convert("0")
    with pytest.raises(ParameterValueError, match="more than the maximum 5"):
        bounded.convert("6")
    assert bounded.describe() == "An integer from 1 to 5."
    assert Integer(min=0).describe() == "An integer of at least 0."
    assert Integer(max=9).describe() == "An integer of at most 9."
    assert Integer().describe() == ""


@given(st.integers(min_value=-(10**29) + 1, max_value=10**29 - 1))  # up to 30 characters
def test_integer_reads_back_any_printed_integer(number: int) -> None:
    assert Integer().convert(str(number)) == number
    assert Integer().convert(f"  {number}\n") == number


@settings(max_examples=300)
@given(st.text())
def test_integer_either_converts_or_refuses_cleanly(raw: str) -> None:
    try:
        value = Integer(min=-5, max=5).convert(raw)
    except ParameterValueError as error:
        assert repr(raw)[:20] in str(error) or "minimum" in str(error) or "maximum" in str(error)
    else:
        assert -5 <= value <= 5
        assert int(raw.strip()) == value


def test_parse_decimal_refuses_what_int_would_spend_time_on() -> None:
    assert parse_decimal("1" * 5000) is None
    assert parse_decimal("1" * 30) == int("1" * 30)


def test_select() -> None:
    mode = Select("fast", "safe")
    assert mode.convert("safe") == "safe"
    with pytest.raises(ParameterValueError, match="'Safe' is not one of fast, safe"):
        mode.convert("Safe")
    with pytest.raises(ParameterValueError):
        mode.convert(" safe")
    assert mode.describe() == "Allowed values: fast, safe."
    with pytest.raises(ValueError, match="at least one option"):
        Select()


@given(st.text())
def test_string_passes_everything_through(raw: str) -> None:
    assert String().convert(raw) == raw


@pytest.mark.parametrize(
    ("annotation", "default", "ocf_name"),
    [(str, None, "string"), (int, None, "integer"), (bool, None, "boolean"),
     ("int | None", None, "integer"), ("Optional[bool]", None, "boolean"),
     (None, True, "boolean"), (None, 5, "integer"), (None, "x", "string"),
     ("list[str]", None, "string"), ("None | int", None, "integer"),
     ("typing.Optional[int]", None, "integer"), ("Optional[str]", 0, "string"),
     ("None | bool", None, "boolean"), ("int | str", None, "string"),
     ("int | str", 3, "integer")],
)  # fmt: skip
def test_type_inferred_from_annotation_or_default(
    annotation: object, default: object, ocf_name: str
) -> None:
    assert infer_type(annotation, default).ocf_name == ocf_name
