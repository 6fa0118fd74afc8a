"""Secrets never reach run snapshots: values under secret-looking keys are replaced."""

import re
from typing import Any

SECRET_KEY = re.compile(
    r"(pass(word)?|secret|token|api[_-]?key|authorization|signature|private[_-]?key|"
    r"client[_-]?secret|refresh|session[_-]?id|cookie|pwd)",
    re.IGNORECASE,
)
REDACTED = "[redacted]"


def redact(value: Any) -> Any:
    """A copy of `value` with every secret-looking key's value replaced."""
    if isinstance(value, dict):
        return {
            key: REDACTED if SECRET_KEY.search(str(key)) and item else redact(item)
            for key, item in value.items()
        }
    if isinstance(value, list | tuple):
        return [redact(item) for item in value]
    return value
