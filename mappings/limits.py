"""What the engine accepts from a user, bounded: parameters, rule parts, JSON and patterns.

A spec comes from people with no more than view rights (the preview), from a file (the
configuration import) or from the API, and the same spec later runs on the workers. So every
part of it is checked when it is compiled, against the maxima below: a value out of range is
a spec problem naming its field, never a crash, a gigabyte string or a frozen process.
Regular expressions go through RE2, whose matching time is linear in the text: no pattern
can backtrack for minutes. It imports no other mappings module, so every transform can use it.
"""

import json
import re
from typing import Any

import re2

from clarity.parsers import STRICT_JSON, NotJSONValue, nested_deeper_than

MAX_PLACES = 10  # decimals of number, round and text
MAX_TEXT_LENGTH = 131_072  # truncate: Salesforce's long text area, the longest target text
MAX_INDEX = 1_000  # split: which part, counted from either end
MAX_SEPARATOR = 100
MAX_PATTERN = 1_000
MAX_PATHS = 20  # concat: fields joined
MAX_STRING = 1_000  # any other text parameter, and each key and value of a status mapping
MAX_MAPPING = 1_000  # entries of a status mapping
MAX_LIST = 1_000
MAX_PATH = 500
MAX_TARGET = 200
MAX_TEMPLATE = 2_000
MAX_PLACEHOLDERS = 50
MAX_CONSTANT = 10_000  # a constant, a default or an "any" parameter, in characters of JSON
MAX_RULES = 500  # in one rule list (the spec's, or a line group's)
MAX_STEPS = 20  # transforms of one rule
MAX_GROUP_DEPTH = 4  # line groups inside line groups
MAX_JSON_DEPTH = 32  # nesting of a posted record or draft
PATTERN_MEMORY = 8 << 20  # bytes RE2 may use for one compiled pattern

SCALARS = (str, int, float, bool, type(None))
SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")  # \ud800…\udfff: half of a pair
PATTERN_OPTIONS = re2.Options()
PATTERN_OPTIONS.log_errors = False  # a bad pattern is the user's problem, not a log line
PATTERN_OPTIONS.max_mem = PATTERN_MEMORY


def shorten(text: str, limit: int = 80) -> str:
    """Long values quoted in a message are cut: the message must not grow with the data."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


def user_pattern(text: str) -> Any:
    """The one place a user's regular expression is compiled: RE2, so matching is linear.
    ValueError, in plain words, when RE2 cannot run it (a backreference, a look-around)."""
    try:
        return re2.compile(text, PATTERN_OPTIONS)
    except re2.error as exc:
        detail = exc.args[0] if exc.args else b"not a pattern"
        reason = detail.decode(errors="replace") if isinstance(detail, bytes) else str(detail)
        raise ValueError(
            f"the “pattern” cannot be used: {shorten(reason)}. Patterns are RE2 syntax: no "
            "backreferences or look-arounds, and repeats of at most 1000."
        ) from None


def parse_json(text: str | bytes, max_depth: int = MAX_JSON_DEPTH) -> Any:
    """Parsed JSON no deeper than `max_depth`; ValueError saying what is wrong, in words."""
    try:
        value = STRICT_JSON.decode(text if isinstance(text, str) else text.decode())
    except json.JSONDecodeError as exc:
        raise ValueError(
            f"That is not valid JSON (line {exc.lineno}, column {exc.colno}): {exc.msg}."
        ) from None
    except RecursionError:
        raise ValueError(too_deep(max_depth)) from None
    except NotJSONValue as exc:
        raise ValueError(f"That is not valid JSON: {exc}.") from None
    except (ValueError, UnicodeDecodeError):  # e.g. a number of more than 4300 digits
        raise ValueError(
            "That is not valid JSON here: a number is too long, or the text is not UTF-8."
        ) from None
    if nested_deeper_than(value, max_depth):
        raise ValueError(too_deep(max_depth))
    if SURROGATE_ESCAPE.search(text if isinstance(text, str) else text.decode(errors="replace")):
        try:  # pairs make one character; a lone half cannot be written out again
            json.dumps(value, ensure_ascii=False).encode()
        except UnicodeEncodeError:
            raise ValueError(
                "That JSON holds half a character (a lone \\ud800-style escape): fix the text."
            ) from None
    return value


def too_deep(max_depth: int) -> str:
    return f"That JSON is nested deeper than {max_depth} levels; no record or draft needs that."


def json_length(value: Any) -> int | None:
    """Characters of `value` as JSON; None when it is no JSON value at all."""
    try:
        return len(json.dumps(value, ensure_ascii=False))
    except (TypeError, ValueError, RecursionError):
        return None


def constant_problem(name: str, value: Any) -> str | None:
    """A constant, default or "any" parameter: plain JSON of bounded size."""
    length = json_length(value)
    if length is None:
        return f"{name} must be plain JSON"
    if length > MAX_CONSTANT:
        return f"{name} is longer than {MAX_CONSTANT} characters as JSON"
    return None
