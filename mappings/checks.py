"""Checks of a mapped value against its target field (type, length, choices), built once per
field so the engine pays only an isinstance and a len per value."""

from collections.abc import Callable
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from connectors.base import FieldInfo

# (level, message, code) or None when the value fits.
Problem = tuple[str, str, str] | None
Check = Callable[[Any], Problem]

NUMBERS = (int, float, Decimal)
TYPE_WORDS = {
    "string": "text", "number": "a number", "integer": "a whole number", "boolean": "true or false",
    "date": "a date (YYYY-MM-DD)", "datetime": "a date and time", "list": "a list",
    "object": "an object", "reference": "an id", "choice": "one of the choices",
}  # fmt: skip
FIXES = {
    "number": "Add a Number transform.",
    "integer": "Add a Whole number transform.",
    "date": "Add a Date transform.",
    "datetime": "Add a Date transform with output datetime.",
    "string": "Add an As text transform.",
}


def shown(value: Any) -> str:
    text = repr(value) if not isinstance(value, str) else f"“{value}”"
    return text if len(text) <= 60 else text[:57] + "…"


def is_iso_date(value: Any) -> bool:
    if isinstance(value, date):
        return True
    if not isinstance(value, str) or len(value) < 10:
        return False
    try:
        (date.fromisoformat if len(value) == 10 else datetime.fromisoformat)(value)
    except ValueError:
        return False
    return True


TYPE_TESTS: dict[str, Callable[[Any], bool]] = {
    "string": lambda v: isinstance(v, str),
    "number": lambda v: isinstance(v, NUMBERS) and not isinstance(v, bool),
    "integer": lambda v: (
        (isinstance(v, int) and not isinstance(v, bool))
        or (isinstance(v, Decimal) and v == v.to_integral_value())
    ),
    "boolean": lambda v: isinstance(v, bool),
    "date": is_iso_date,
    "datetime": is_iso_date,
    "list": lambda v: isinstance(v, list),
    "object": lambda v: isinstance(v, dict),
    "reference": lambda v: isinstance(v, str | int) and not isinstance(v, bool),
}


def build_check(info: FieldInfo, system: str = "the target") -> Check | None:
    """None when nothing can be wrong with a non-empty value for this field."""
    type_test = TYPE_TESTS.get(info.type)
    length = info.length
    choices = {choice.casefold() for choice in info.choices}
    if type_test is None and not length and not choices:
        return None
    wanted = TYPE_WORDS.get(info.type, info.type)

    def check(value: Any) -> Problem:
        if type_test is not None and not type_test(value):
            return (
                "error",
                f"{info.name} expects {wanted}, got {shown(value)}. {FIXES.get(info.type, '')}",
                "type",
            )
        if length and value.__class__ is str and len(value) > length:
            return (
                "error",
                f"{info.name} holds at most {length} characters in {system}; {shown(value)} has "
                f"{len(value)}. Add a Truncate transform or shorten it at the source.",
                "too_long",
            )
        if choices:
            values = value if isinstance(value, list) else [value]
            bad = [item for item in values if str(item).casefold() not in choices]
            if bad:
                return (
                    "error",
                    f"{info.name} must be one of {', '.join(info.choices)}; got {shown(bad[0])}. "
                    "Add a Status mapping or Lookup table transform.",
                    "choice",
                )
        return None

    return check
