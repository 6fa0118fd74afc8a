"""The API's JSON parser with limits: DRF's reads any body whole and answers 500 to JSON
nested past Python's recursion limit. This one refuses (400) a body over Django's
DATA_UPLOAD_MAX_MEMORY_SIZE before reading it whole, and JSON nested deeper than MAX_DEPTH."""

import json
from typing import Any

from django.conf import settings
from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser

MAX_DEPTH = 32  # no record, setting or mapping the API takes nests deeper


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
            value = json.loads(body or b"null")
        except RecursionError:
            raise ParseError(f"JSON nested deeper than {MAX_DEPTH} levels is not taken.") from None
        except ValueError as exc:
            raise ParseError(f"The body is not valid JSON: {exc}") from None
        if nested_deeper_than(value, MAX_DEPTH):
            raise ParseError(f"JSON nested deeper than {MAX_DEPTH} levels is not taken.")
        return value
