"""The transform library: small pure functions with declared parameters.

A transform takes the value so far and its parameters (positionally, in declared order) and
returns the new value. It reports a problem by raising `TransformIssue`; the engine turns
that (and any other exception) into a field issue, so nothing escapes `apply`.

Parameters declare where their value comes from, so the designer can render a form and the
engine can bind them once at compile time:
- `value` (default): a constant from the rule's spec;
- `field` / `fields`: a source path (or list of paths) read from the record per apply;
- `target_length`: the target field's length, when the spec leaves the parameter empty;
- `env`: the `Environment` (lookup tables, currency rates, base currency).

The declarations (`Param`, `Transform`, the registry) live in `base`, a leaf the transform
modules import (`TransformIssue` in `mappings.issues`, which `mappings.environment` raises
too); this package loads every module and re-exports the registry.
"""

# Importing the modules fills the registry: this package is the whole library.
from mappings.transforms import addresses, dates, lines, logic, numbers, text
from mappings.transforms.base import (
    ENV,
    FIELD,
    FIELDS,
    TARGET_LENGTH,
    TRANSFORMS,
    VALUE,
    Param,
    Transform,
    catalogue,
    is_empty,
    register,
)

__all__ = ["ENV", "FIELD", "FIELDS", "TARGET_LENGTH", "TRANSFORMS", "VALUE", "Param",
           "Transform", "addresses", "catalogue", "dates", "is_empty", "lines",
           "logic", "numbers", "register", "text"]  # fmt: skip
