"""The API's JSON parser with limits: DRF's reads any body whole and answers 500 to JSON
nested past Python's recursion limit. This one refuses (400) a body over Django's
DATA_UPLOAD_MAX_MEMORY_SIZE before reading it whole, and JSON nested deeper than MAX_DEPTH."""

import json
import math
from typing import Any

from django.conf import settings
from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser

MAX_DEPTH = 32  # no record, setting or mapping the API takes nests deeper


class NotJSONValue(ValueError):
    """A value Python's json takes and JSON does not: NaN, Infinity, a float past its range."""


def finite_float(text: str) -> float:
    """A JSON number as a float, refusing one too large for it: infinity is no JSON value,
    and a database's JSON column refuses it."""
    value = float(text)
    if not math.isfinite(value):
        raise NotJSONValue(f"number out of range: {text[:40]}")
    return value


def no_constant(name: str) -> None:
    raise NotJSONValue(f"{name} is not a JSON value")


# Strict JSON (no NaN or Infinity, which Python's json takes and no database stores). Built
# once: json.loads builds a decoder on every call that is given options.
STRICT_JSON = json.JSONDecoder(parse_float=finite_float, parse_constant=no_constant)


def nested_deeper_than(value: Any, limit: int) -> bool:
    """Whether arrays and objects nest more than `limit` levels (the outermost is 1). Level
    by level, not recursively: a deep value cannot exhaust the stack here, as it would in a
    recursive walk, in json.dumps when it is stored, or in the mappings later."""
    level = [value] if isinstance(value, dict | list) else []
    for _ in range(limit):
        level = [
            child
            for item in level
            for child in (item.values() if isinstance(item, dict) else item)
            if isinstance(child, dict | list)
        ]
        if not level:
            return False
    return True


class BoundedJSONParser(JSONParser):
    def parse(self, stream: Any, media_type: str | None = None, parser_context: Any = None) -> Any:
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        body = stream.read(limit + 1) if stream is not None else b""
        if len(body) > limit:
            raise ParseError(f"The body is over {limit} bytes; send less at a time.")
        try:
            value = STRICT_JSON.decode(body.decode() if body else "null")
        except RecursionError:
            raise ParseError(f"JSON nested deeper than {MAX_DEPTH} levels is not taken.") from None
        except ValueError as exc:
            raise ParseError(f"The body is not valid JSON: {exc}") from None
        if nested_deeper_than(value, MAX_DEPTH):
            raise ParseError(f"JSON nested deeper than {MAX_DEPTH} levels is not taken.")
        return value
