"""How a transform says it could not do its job: a leaf that `mappings.environment` (lookup
tables raise it) and the transforms both import, so neither imports the other's package."""

from typing import Any

MISSING: Any = object()


class TransformIssue(Exception):
    """A transform could not do its job; `value` (when given) is what to carry on with."""

    def __init__(
        self, message: str, level: str = "error", code: str = "transform", value: Any = MISSING
    ) -> None:
        super().__init__(message)
        self.message = message
        self.level = level
        self.code = code
        self.value = value
