"""The transform registry: declarations every transform module and the compiler share.

A leaf (it imports none of ours), so the transform modules register here without importing
the package that imports them; `mappings.transforms` loads them all and re-exports this.
"""

from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

VALUE, FIELD, FIELDS, TARGET_LENGTH, ENV = "value", "field", "fields", "target_length", "env"


@dataclass(frozen=True)
class Param:
    """One parameter; its bounds are checked when a spec is compiled (`transforms.params`)."""

    name: str
    type: str  # string, integer, number, boolean, choice, mapping, list, path, paths, any
    required: bool = False
    default: Any = None
    help: str = ""
    choices: tuple[str, ...] = ()
    source: str = VALUE
    minimum: int | None = None  # integers: the smallest and largest value allowed
    maximum: int | None = None
    max_length: int | None = None  # text: characters; paths, lists, mappings: entries


@dataclass(frozen=True)
class Transform:
    name: str
    label: str
    description: str
    func: Callable[..., Any]
    params: tuple[Param, ...] = ()
    # Turns the spec's constant params into faster ones (compiled regex, folded keys).
    prepare: Callable[[dict[str, Any]], dict[str, Any]] | None = field(default=None)
    # Takes the constant arguments, returns a faster one-argument version for the hot path;
    # it must give the same results as `func` (it usually calls `func` off its fast path).
    specialise: Callable[..., Callable[[Any], Any]] | None = field(default=None)

    def describe(self) -> dict[str, Any]:
        """JSON for the designer: name, label, description and the parameter form."""
        return {
            "name": self.name,
            "label": self.label,
            "description": self.description,
            "params": [asdict(p) for p in self.params if p.source != ENV],
        }


TRANSFORMS: dict[str, Transform] = {}


def register(
    name: str,
    label: str,
    description: str,
    *params: Param,
    prepare: Callable[[dict[str, Any]], dict[str, Any]] | None = None,
    specialise: Callable[..., Callable[[Any], Any]] | None = None,
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    def decorate(func: Callable[..., Any]) -> Callable[..., Any]:
        TRANSFORMS[name] = Transform(name, label, description, func, params, prepare, specialise)
        return func

    return decorate


def is_empty(value: Any) -> bool:
    return value is None or value == "" or value == [] or value == {}


def catalogue() -> list[dict[str, Any]]:
    """Every transform's description, for the designer's transform picker."""
    return [transform.describe() for transform in TRANSFORMS.values()]
