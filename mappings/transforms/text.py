"""Text transforms: trim, case, truncate to the target's length, concat, split, regex."""

import re
from decimal import Decimal
from typing import Any

from mappings.transforms.base import (
    FIELDS,
    TARGET_LENGTH,
    Param,
    TransformIssue,
    is_empty,
    register,
)


def as_text(value: Any) -> str:
    if value.__class__ is str:
        return value
    if isinstance(value, Decimal):
        return format(value, "f")
    return str(value)


@register(
    "trim",
    "Trim",
    "Remove spaces at both ends (and collapse inner runs if asked).",
    Param("collapse", "boolean", default=False, help="Also turn runs of spaces into one."),
)
def trim(value: Any, collapse: bool = False) -> Any:
    if value.__class__ is str and not collapse:
        return value.strip()
    if value is None:
        return None
    text = as_text(value).strip()
    return " ".join(text.split()) if collapse else text


@register("upper", "Upper case", "Turn the text into UPPER CASE.")
def upper(value: Any) -> Any:
    if value.__class__ is str:
        return value.upper()
    return None if value is None else as_text(value).upper()


@register("lower", "Lower case", "Turn the text into lower case.")
def lower(value: Any) -> Any:
    if value.__class__ is str:
        return value.lower()
    return None if value is None else as_text(value).lower()


def fast_truncate(length: int | None = None) -> Any:
    def cut(value: Any) -> Any:
        if value.__class__ is str and (not length or len(value) <= length):
            return value
        return truncate(value, length)

    return cut


@register(
    "truncate",
    "Truncate",
    "Cut the text to a length (the target field's, unless given), with a warning.",
    Param(
        "length",
        "integer",
        help="Characters to keep; empty = the target field's length.",
        source=TARGET_LENGTH,
    ),
    specialise=fast_truncate,
)
def truncate(value: Any, length: int | None = None) -> Any:
    """Warns when it cuts, so nobody loses the end of a name without knowing."""
    if value is None or not length:
        return value
    text = value if value.__class__ is str else as_text(value)
    if len(text) <= length:
        return text
    raise TransformIssue(
        f"“{text}” is {len(text)} characters; cut to {length} (“{text[:length]}”). "
        "Shorten it at the source if the cut loses meaning.",
        level="warning",
        code="truncated",
        value=text[:length],
    )


@register(
    "concat",
    "Concatenate",
    "Join the value with other fields' values, with a separator.",
    Param(
        "fields", "paths", required=True, help="Source paths to append, in order.", source=FIELDS
    ),
    Param("separator", "string", default=" ", help="Put between the parts."),
    Param("skip_empty", "boolean", default=True, help="Leave out empty parts."),
)
def concat(value: Any, fields: list[Any], separator: str = " ", skip_empty: bool = True) -> Any:
    parts = [value, *fields]
    if skip_empty:
        parts = [part for part in parts if part is not None and part != "" and not is_empty(part)]
    if not parts:
        return None
    return separator.join([part if part.__class__ is str else as_text(part) for part in parts])


@register(
    "split",
    "Split",
    "Split text at a separator; keep one part (by position) or the whole list.",
    Param("separator", "string", default=",", help="Where to split."),
    Param("index", "integer", help="Which part to keep (0 = first, -1 = last); empty = all."),
    Param("strip", "boolean", default=True, help="Trim spaces around each part."),
)
def split(value: Any, separator: str = ",", index: int | None = None, strip: bool = True) -> Any:
    if value is None:
        return None
    parts = as_text(value).split(separator or None)
    if strip:
        parts = [part.strip() for part in parts]
    if index is None:
        return parts
    try:
        return parts[index]
    except IndexError:
        return None


def prepare_regex(params: dict[str, Any]) -> dict[str, Any]:
    return {**params, "pattern": re.compile(params["pattern"])}


@register(
    "regex_extract",
    "Extract with a pattern",
    "Keep the part of the text that a regular expression matches.",
    Param("pattern", "string", required=True, help="A Python regular expression."),
    Param("group", "string", default="", help="Group number or name; empty = 1 if any, else 0."),
    Param(
        "on_no_match",
        "choice",
        default="error",
        choices=("error", "empty", "keep"),
        help="What to do when the text does not match.",
    ),
    prepare=prepare_regex,
)
def regex_extract(
    value: Any, pattern: re.Pattern[str], group: str = "", on_no_match: str = "error"
) -> Any:
    if value is None:
        return None
    text = as_text(value)
    match = pattern.search(text)
    if match is None:
        if on_no_match == "keep":
            return text
        if on_no_match == "empty":
            return None
        raise TransformIssue(
            f"“{text}” does not match the pattern {pattern.pattern}; fix the value or the pattern."
        )
    if group == "" or group is None:
        return match.group(1 if pattern.groups else 0)
    return match.group(int(group) if str(group).isdigit() else group)


@register(
    "text",
    "As text",
    "Write numbers and dates as text (numbers with a fixed number of decimals if given).",
    Param("places", "integer", help="Decimals for numbers; empty = as they are."),
)
def text(value: Any, places: int | None = None) -> Any:
    if value is None:
        return None
    if places is not None and isinstance(value, int | float | Decimal) and value is not True:
        return f"{Decimal(str(value)):.{int(places)}f}"
    return value.isoformat() if hasattr(value, "isoformat") else as_text(value)
