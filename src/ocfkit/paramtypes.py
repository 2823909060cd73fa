"""Content types of OCF parameters: how a string from the environment becomes a value.

Shaped like click's ``ParamType``: each type converts a raw string and fails
with a message that names the problem, which the loader turns into a
configuration error with a clear exit reason.
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, ClassVar, NoReturn

# ocf_is_true from ocf-shellfuncs: exactly these spellings are true, case and all.
TRUE_WORDS = frozenset({"yes", "true", "1", "YES", "TRUE", "True", "ja", "on", "ON"})
# Their counterparts, so that a value that is neither can be warned about.
FALSE_WORDS = frozenset({"no", "false", "0", "NO", "FALSE", "False", "nein", "off", "OFF"})
# Pacemaker's crm_is_true, for the meta attributes Pacemaker itself writes.
CRM_TRUE_WORDS = frozenset({"true", "on", "yes", "y", "1"})


def parse_decimal(text: str) -> int | None:
    """A plain decimal integer (surrounding blanks allowed), or None.

    Longer than 30 characters is refused before ``int()`` sees it: nothing
    an agent counts needs more, and Python refuses very long ones anyway.
    """
    stripped = text.strip()
    digits = stripped[1:] if stripped[:1] in ("+", "-") else stripped
    if not digits or len(stripped) > 30 or not (digits.isascii() and digits.isdigit()):
        return None
    return int(stripped)


class ParameterValueError(ValueError):
    """A raw parameter value could not be converted."""


class ParamType:
    """Base class: the OCF ``content`` type name plus a conversion."""

    ocf_name: ClassVar[str] = "string"
    python_type: ClassVar[type] = str

    def convert(self, raw: str) -> Any:
        raise NotImplementedError

    def fail(self, message: str) -> NoReturn:
        raise ParameterValueError(message)

    def render_default(self, value: Any) -> str:
        """The default as meta-data shows it."""
        return str(value)

    def describe(self) -> str:
        """Extra words for documentation (allowed values, range)."""
        return ""


class String(ParamType):
    """Any text, passed through unchanged."""

    ocf_name = "string"
    python_type = str

    def convert(self, raw: str) -> str:
        return raw


class Integer(ParamType):
    """A decimal integer, optionally bounded; no floats, hex or underscores."""

    ocf_name = "integer"
    python_type = int

    def __init__(self, min: int | None = None, max: int | None = None) -> None:
        self.min = min
        self.max = max

    def convert(self, raw: str) -> int:
        value = parse_decimal(raw)
        if value is None:
            self.fail(f"{raw!r} is not an integer")
        if self.min is not None and value < self.min:
            self.fail(f"{value} is less than the minimum {self.min}")
        if self.max is not None and value > self.max:
            self.fail(f"{value} is more than the maximum {self.max}")
        return value

    def describe(self) -> str:
        if self.min is not None and self.max is not None:
            return f"An integer from {self.min} to {self.max}."
        if self.min is not None:
            return f"An integer of at least {self.min}."
        if self.max is not None:
            return f"An integer of at most {self.max}."
        return ""


class Boolean(ParamType):
    """ocf_is_true semantics: yes, true, 1, on, ja (and YES, TRUE, True, ON) are true.

    Anything else is false, exactly as in shell agents.

    ``recognised`` tells the loader whether a value was one of the usual
    spellings at all, so that "ture" can be warned about rather than silently
    read as false, which is what the shell agents do.
    """

    ocf_name = "boolean"
    python_type = bool

    def convert(self, raw: str) -> bool:
        return raw in TRUE_WORDS  # exactly: quoted ``ocf_is_true "$x"`` does not strip

    @staticmethod
    def recognised(raw: str) -> bool:
        return raw in TRUE_WORDS or raw in FALSE_WORDS

    def render_default(self, value: Any) -> str:
        return "true" if value else "false"


class Select(ParamType):
    """One of a fixed set of strings (OCF 1.1 ``select``)."""

    ocf_name = "select"
    python_type = str

    def __init__(self, *options: str) -> None:
        if not options:
            raise ValueError("Select needs at least one option")
        self.options = tuple(options)

    def convert(self, raw: str) -> str:
        if raw not in self.options:
            self.fail(f"{raw!r} is not one of {', '.join(self.options)}")
        return raw

    def describe(self) -> str:
        return "Allowed values: " + ", ".join(self.options) + "."


STRING = String()
INTEGER = Integer()
BOOLEAN = Boolean()

_BY_ANNOTATION: dict[object, ParamType] = {
    str: STRING,
    int: INTEGER,
    bool: BOOLEAN,
    "str": STRING,
    "int": INTEGER,
    "bool": BOOLEAN,
    "str | None": STRING,
    "int | None": INTEGER,
    "bool | None": BOOLEAN,
    "Optional[str]": STRING,
    "Optional[int]": INTEGER,
    "Optional[bool]": BOOLEAN,
}


def _named_type(annotation: str) -> str:
    """The one type an optional spelling names: ``None | int``, ``typing.Optional[int]``.

    Otherwise such a spelling would fall through to the default's type: an
    ``int`` parameter with ``default=None`` would be read as a string.
    """
    text = annotation.replace("typing.", "")
    if text.startswith("Optional[") and text.endswith("]"):
        text = text[len("Optional[") : -1]
    parts = [part.strip() for part in text.split("|") if part.strip() != "None"]
    return parts[0] if len(parts) == 1 else annotation


def infer_type(annotation: object, default: object) -> ParamType:
    """The content type a field declares through its annotation or its default."""
    found = _BY_ANNOTATION.get(annotation) if isinstance(annotation, str | type) else None
    if found is None and isinstance(annotation, str):
        found = _BY_ANNOTATION.get(_named_type(annotation))
    if found is not None:
        return found
    if isinstance(default, bool):
        return BOOLEAN
    if isinstance(default, int):
        return INTEGER
    return STRING
