"""Source paths and target paths, compiled once into small getter and setter closures.

Source paths: `fieldsByName.Amount` (dots, spaces allowed in keys), `lines[0].sku` (an
index), `lines[*].sku` (every item: a list), `$.name` (from the root record, inside a line
group). A missing step gives None, never an exception.
Target paths: `CustomerName`, `billing_address.city` (nested dicts are created).
"""

import re
from collections.abc import Callable
from typing import Any

Getter = Callable[[Any, Any], Any]  # (record, root) -> value
STEP = re.compile(r"([^.\[\]]+)|\[(\d+|\*|-\d+)\]")
ROOT = "$."


class PathError(ValueError):
    pass


def parse_path(path: str) -> list[str | int]:
    """`a.b[0].c` → ["a", "b", 0, "c"]; `[*]` → "*"."""
    steps: list[str | int] = []
    position = 0
    text = path.strip()
    while position < len(text):
        if text[position] == ".":
            position += 1
            continue
        match = STEP.match(text, position)
        if match is None:
            raise PathError(f"“{path}” is not a path: use names with dots, and [0] or [*].")
        key, index = match.groups()
        if key is not None:
            steps.append(key.strip())
        else:
            steps.append("*" if index == "*" else int(index))
        position = match.end()
    if not steps:
        raise PathError("The path is empty.")
    return steps


def walk(value: Any, steps: list[str | int]) -> Any:
    for position, step in enumerate(steps):
        if value is None:
            return None
        if step == "*":
            if not isinstance(value, list | tuple):
                return None
            rest = steps[position + 1 :]
            return [walk(item, rest) for item in value]
        if isinstance(step, int):
            try:
                value = value[step] if isinstance(value, list | tuple) else None
            except IndexError:
                return None
        else:
            value = value.get(step) if isinstance(value, dict) else None
    return value


def compile_getter(path: str) -> Getter:
    """The fastest closure that reads `path`; one-key paths cost one dict lookup."""
    from_root = path.startswith(ROOT)
    steps = parse_path(path[len(ROOT) :] if from_root else path)
    if len(steps) == 1 and isinstance(steps[0], str):
        key = steps[0]
        if from_root:
            return lambda record, root: root.get(key) if isinstance(root, dict) else None

        def get_one(record: Any, root: Any) -> Any:
            try:
                return record.get(key)
            except AttributeError:
                return None

        return get_one
    if len(steps) == 2 and all(isinstance(step, str) for step in steps) and not from_root:
        outer, inner = steps

        def get_two(record: Any, root: Any) -> Any:
            try:
                return record.get(outer).get(inner)
            except AttributeError:
                return None

        return get_two
    if from_root:
        return lambda record, root: walk(root, steps)
    return lambda record, root: walk(record, steps)


def compile_setter(path: str) -> Callable[[dict[str, Any], Any], None]:
    steps = parse_path(path)
    if not all(isinstance(step, str) and step != "*" for step in steps):
        raise PathError(f"Target “{path}” may use names and dots only.")
    if len(steps) == 1:
        key = steps[0]

        def set_one(out: dict[str, Any], value: Any) -> None:
            out[key] = value

        return set_one
    *parents, last = steps

    def set_nested(out: dict[str, Any], value: Any) -> None:
        node = out
        for step in parents:
            node = node.setdefault(step, {})
        node[last] = value

    return set_nested
