"""Choosing values: lookup tables, inline status mapping, if/else, default when empty."""

from decimal import Decimal
from typing import Any

from mappings.environment import Environment
from mappings.issues import MISSING, TransformIssue
from mappings.limits import MAX_MAPPING, shorten
from mappings.transforms.base import ENV, FIELD, Param, is_empty, register
from mappings.transforms.numbers import to_decimal

OPERATORS = ("equals", "not_equals", "contains", "greater_than", "less_than", "in",
             "is_empty", "is_not_empty")  # fmt: skip


@register(
    "lookup",
    "Lookup table",
    "Replace the value with its row in a lookup table; a miss does what the table says.",
    Param("table", "string", required=True, help="Name of the lookup table.", max_length=100),
    Param("env", "any", source=ENV),
)
def lookup(value: Any, table: str, env: Environment | None = None) -> Any:
    if value is None or value == "":
        return None
    found = env.lookup(table) if env else None
    if found is None:
        raise TransformIssue(
            f"There is no lookup table “{shorten(table)}”; create it under Lookup tables or pick "
            "another in this rule.",
            code="no_table",
        )
    return found.resolve(value)


def prepare_mapping(params: dict[str, Any]) -> dict[str, Any]:
    """Keys compared as text, case-insensitively, so "closed won" finds "Closed Won"."""
    mapping = {str(key).casefold(): item for key, item in (params.get("mapping") or {}).items()}
    return {**params, "mapping": mapping}


def fast_map_value(mapping: dict[str, Any], default: Any = None) -> Any:
    def map_(value: Any) -> Any:
        if value.__class__ is str:
            found = mapping.get(value.casefold(), MISSING)
            if found is not MISSING:
                return found
        return map_value(value, mapping, default)

    return map_


@register(
    "map_value",
    "Status mapping",
    "Map values through a small inline table (e.g. N → new, C → completed).",
    Param(
        "mapping",
        "mapping",
        required=True,
        help="Source value → target value.",
        max_length=MAX_MAPPING,
    ),
    Param("default", "string", help="Used for values not in the mapping; empty = an error."),
    prepare=prepare_mapping,
    specialise=fast_map_value,
)
def map_value(value: Any, mapping: dict[str, Any], default: Any = None) -> Any:
    if value is None or value == "":
        return None
    key = str(value).casefold()
    if key in mapping:
        return mapping[key]
    if default is not None:
        return default
    known = shorten(", ".join(mapping), 120) or "empty"
    raise TransformIssue(
        f"“{shorten(str(value))}” is not in this rule's mapping ({known}); add it to the "
        "mapping or set a default.",
        code="unmapped_value",
    )


def compare(left: Any, operator: str, right: Any) -> bool:
    if operator == "is_empty":
        return is_empty(left)
    if operator == "is_not_empty":
        return not is_empty(left)
    if operator == "in":
        options = right if isinstance(right, list) else str(right).split(",")
        return str(left).strip().casefold() in {str(o).strip().casefold() for o in options}
    if operator in ("greater_than", "less_than"):
        try:
            a, b = to_decimal(left), to_decimal(right)
        except (ValueError, TypeError):
            return False
        return a > b if operator == "greater_than" else a < b
    if isinstance(left, int | float | Decimal) and not isinstance(left, bool):
        try:
            same = to_decimal(left) == to_decimal(right)
        except ValueError:
            same = False
    else:
        same = str(left if left is not None else "").casefold() == str(right or "").casefold()
    if operator == "equals":
        return same
    if operator == "not_equals":
        return not same
    return str(right).casefold() in str(left if left is not None else "").casefold()


@register(
    "conditional",
    "If … then … else",
    "If a field compares to a value, use “then”, else “otherwise” (empty = keep the value).",
    Param("field", "path", help="Field to test; empty = the value itself.", source=FIELD),
    Param("operator", "choice", default="equals", choices=OPERATORS, help="How to compare."),
    Param("compare_to", "any", help="The value to compare with (comma list for “in”)."),
    Param("then", "any", help="Result when the test holds; empty = keep the value."),
    Param("otherwise", "any", help="Result when it does not; empty = keep the value."),
)
def conditional(
    value: Any,
    field: Any = None,
    operator: str = "equals",
    compare_to: Any = None,
    then: Any = None,
    otherwise: Any = None,
) -> Any:
    tested = value if field is None else field
    result = then if compare(tested, operator, compare_to) else otherwise
    return value if result is None else result


@register(
    "default_when_empty",
    "Default when empty",
    "Use another field's value, or a fixed value, when this one is empty.",
    Param("field", "path", help="Field to fall back to.", source=FIELD),
    Param("value", "any", help="Fixed value when the field is empty too."),
)
def default_when_empty(value: Any, field: Any = None, fallback: Any = None) -> Any:
    if not is_empty(value):
        return value
    if not is_empty(field):
        return field
    return fallback
