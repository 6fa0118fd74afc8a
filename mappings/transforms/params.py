"""A transform parameter's value checked against its declaration (`Param`: its type and
bounds) when a spec is compiled: a value out of range is a spec problem naming the
parameter, never a crash. The maxima are `mappings.limits`'."""

import json
from typing import Any

from mappings.limits import (
    MAX_CONSTANT,
    MAX_LIST,
    MAX_MAPPING,
    MAX_PATH,
    MAX_PATHS,
    MAX_STRING,
    SCALARS,
    constant_problem,
    json_length,
    shorten,
)
from mappings.transforms.base import Param


def param_problem(param: Param, value: Any) -> str | None:
    """Why `value` cannot be this parameter (None when it can), naming the parameter."""
    name = f"“{param.name}”"
    if value is None or (value == "" and param.type in ("integer", "number")):
        return None  # empty: the transform's default (required ones are checked before)
    check = TYPE_CHECKS.get(param.type, any_problem)
    return check(param, name, value)


def integer_problem(param: Param, name: str, value: Any) -> str | None:
    low = param.minimum if param.minimum is not None else -(2**31)
    high = param.maximum if param.maximum is not None else 2**31
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        shown = shorten(json.dumps(value) if json_length(value) is not None else repr(value), 30)
        return f"{name} must be a whole number from {low} to {high}, not {shown}"
    return None


def number_problem(param: Param, name: str, value: Any) -> str | None:
    if isinstance(value, bool) or not isinstance(value, int | float) or value != value:
        return f"{name} must be a number"
    if abs(value) > 10**15:
        return f"{name} must be a number between -10^15 and 10^15"
    return None


def boolean_problem(param: Param, name: str, value: Any) -> str | None:
    return None if isinstance(value, bool) else f"{name} must be true or false"


def string_problem(param: Param, name: str, value: Any) -> str | None:
    limit = param.max_length or MAX_STRING
    if not isinstance(value, str):
        return f"{name} must be text"
    if len(value) > limit:
        return f"{name} is longer than {limit} characters"
    return None


def choice_problem(param: Param, name: str, value: Any) -> str | None:
    if value not in param.choices:
        return f"{name} must be one of {', '.join(param.choices)}"
    return None


def mapping_problem(param: Param, name: str, value: Any) -> str | None:
    limit = param.max_length or MAX_MAPPING
    if not isinstance(value, dict):
        return f"{name} must be an object of value → value"
    if len(value) > limit:
        return f"{name} holds at most {limit} entries"
    for key, item in value.items():
        if len(key) > MAX_STRING or not isinstance(item, SCALARS):
            return f"{name}: each entry maps text to text of at most {MAX_STRING} characters"
        if isinstance(item, str) and len(item) > MAX_STRING:
            return f"{name}: each entry maps text to text of at most {MAX_STRING} characters"
    return None


def list_problem(param: Param, name: str, value: Any) -> str | None:
    limit = param.max_length or MAX_LIST
    if not isinstance(value, list) or not all(isinstance(item, SCALARS) for item in value):
        return f"{name} must be a list of values"
    if len(value) > limit or (json_length(value) or 0) > MAX_CONSTANT:
        return f"{name} holds at most {limit} values, of {MAX_CONSTANT} characters in all"
    return None


def path_problem(param: Param, name: str, value: Any) -> str | None:
    if isinstance(value, dict) and set(value) == {"constant"}:
        return constant_problem(name, value["constant"])
    if not isinstance(value, str) or len(value) > MAX_PATH:
        return f"{name} must be a source path of at most {MAX_PATH} characters"
    return None


def paths_problem(param: Param, name: str, value: Any) -> str | None:
    limit = param.max_length or MAX_PATHS
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        return f"{name} must be a list of source paths"
    if len(value) > limit:
        return f"{name} holds at most {limit} paths, not {len(value)}"
    if any(len(item) > MAX_PATH for item in value):
        return f"{name}: each path has at most {MAX_PATH} characters"
    return None


def any_problem(param: Param, name: str, value: Any) -> str | None:
    return constant_problem(name, value)


TYPE_CHECKS = {
    "integer": integer_problem,
    "number": number_problem,
    "boolean": boolean_problem,
    "string": string_problem,
    "choice": choice_problem,
    "mapping": mapping_problem,
    "list": list_problem,
    "path": path_problem,
    "paths": paths_problem,
    "any": any_problem,
}
