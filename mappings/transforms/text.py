"""Text transforms: trim, case, truncate to the target's length, concat, split, regex.

Patterns are RE2 (`mappings.limits.user_pattern`): matching takes time linear in the text,
so a pattern from a preview or a saved mapping can never hold a process for minutes.
"""

from decimal import Decimal
from typing import Any

from mappings.issues import TransformIssue
from mappings.limits import (
    MAX_INDEX,
    MAX_PATHS,
    MAX_PATTERN,
    MAX_PLACES,
    MAX_SEPARATOR,
    MAX_TEXT_LENGTH,
    shorten,
    user_pattern,
)
from mappings.transforms.base import FIELDS, TARGET_LENGTH, Param, is_empty, register


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
        minimum=0,
        maximum=MAX_TEXT_LENGTH,
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
        f"“{shorten(text)}” is {len(text)} characters; cut to {length} "
        f"(“{shorten(text[:length])}”). "
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
        "fields",
        "paths",
        required=True,
        help="Source paths to append, in order.",
        source=FIELDS,
        max_length=MAX_PATHS,
    ),
    Param(
        "separator", "string", default=" ", help="Put between the parts.", max_length=MAX_SEPARATOR
    ),
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
    Param("separator", "string", default=",", help="Where to split.", max_length=MAX_SEPARATOR),
    Param(
        "index",
        "integer",
        help="Which part to keep (0 = first, -1 = last); empty = all.",
        minimum=-MAX_INDEX,
        maximum=MAX_INDEX,
    ),
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
    """The pattern compiled by RE2, and the group checked against it: both design time."""
    pattern = user_pattern(params["pattern"])
    group = params.get("group")
    if group not in ("", None):
        group = str(group)
        if group.isdigit() and int(group) > pattern.groups:
            raise ValueError(f"“group” {group}: the pattern has {pattern.groups} group(s)")
        if not group.isdigit() and group not in pattern.groupindex:
            raise ValueError(f"“group” {shorten(group)}: the pattern has no group of that name")
    return {**params, "pattern": pattern}


@register(
    "regex_extract",
    "Extract with a pattern",
    "Keep the part of the text that a regular expression matches.",
    Param(
        "pattern",
        "string",
        required=True,
        help="A regular expression (RE2: no backreferences or look-arounds).",
        max_length=MAX_PATTERN,
    ),
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
def regex_extract(value: Any, pattern: Any, group: str = "", on_no_match: str = "error") -> Any:
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
            f"“{shorten(text)}” does not match the pattern {shorten(pattern.pattern)}; fix the "
            "value or the pattern."
        )
    if group == "" or group is None:
        return match.group(1 if pattern.groups else 0)
    return match.group(int(group) if str(group).isdigit() else group)


@register(
    "text",
    "As text",
    "Write numbers and dates as text (numbers with a fixed number of decimals if given).",
    Param(
        "places",
        "integer",
        help="Decimals for numbers; empty = as they are.",
        minimum=0,
        maximum=MAX_PLACES,
    ),
)
def text(value: Any, places: int | None = None) -> Any:
    if value is None:
        return None
    if places is not None and isinstance(value, int | float | Decimal) and value is not True:
        return f"{Decimal(str(value)):.{int(places)}f}"
    return value.isoformat() if hasattr(value, "isoformat") else as_text(value)
