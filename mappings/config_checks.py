"""The shape of a configuration export, checked strictly before anything is planned.

An import file is read by people who may change mappings and lookup tables, and its parts
end up in the database and on pages: every key is known, every value has its type and a
bounded size, names are unique. The first problem found is the message, with where it is
(`pairs[0].lookup_tables[2]: “on_miss” must be one of …`). Mapping specs get only their
outer shape checked here: `mappings.versions.check_spec` compiles each one with the same
bounds as the designer's preview. Pair sections (flow settings) check their own items.
"""

import re
from collections.abc import Callable, Iterable
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from mappings.limits import MAX_RULES, parse_json
from mappings.models import LookupTable, Mapping

MAX_BYTES = 2 * 1024 * 1024  # the Apply form posts the file back: under Django's 2.5 MB
MAX_DEPTH = 64
MAX_PAIRS = 200
MAX_MAPPINGS = 200  # per pair
MAX_TABLES = 500  # per pair, and global
MAX_ROWS = 20_000  # per table
MAX_RATES = 2_000  # per pair, and global
MAX_SECTION_ITEMS = 100  # e.g. flow settings of one pair
MAX_RATE = Decimal(10) ** 10  # CurrencyRate: 18 digits, 8 of them decimals
CURRENCY = re.compile(r"^[A-Za-z]{3}$")

# check(value, where): raises ConfigError naming `where` ("pairs[0].mappings[1].name").
Check = Callable[[Any, str], None]


class ConfigError(ValueError):
    """The file is not a configuration export this installation can read."""


def read_document(text: str | bytes) -> Any:
    """The parsed file, bounded in size and depth; ConfigError in words otherwise."""
    if len(text) > MAX_BYTES:
        raise ConfigError(
            f"The file is larger than {MAX_BYTES // (1024 * 1024)} MB: is it an export? Export "
            "fewer pairs at a time."
        )
    try:
        return parse_json(text, MAX_DEPTH)
    except ValueError as exc:
        raise ConfigError(f"The file cannot be read: {exc}") from None


def label(where: str) -> str:
    """ "pairs[0].mappings[1].name" → "pairs[0].mappings[1]: “name”"; "pairs" → "“pairs”"."""
    head, _, key = where.rpartition(".")
    return f"{head}: “{key}”" if head else f"“{key}”"


def text(max_length: int, required: bool = False) -> Check:
    def check(value: Any, where: str) -> None:
        if not isinstance(value, str) or len(value) > max_length or (required and not value):
            empty = ", not empty" if required else ""
            raise ConfigError(
                f"{label(where)} must be text of at most {max_length} characters{empty}."
            )

    return check


def choice(values: Iterable[str]) -> Check:
    allowed = tuple(values)

    def check(value: Any, where: str) -> None:
        if value not in allowed:
            raise ConfigError(f"{label(where)} must be one of {', '.join(allowed)}.")

    return check


def whole_number_or_null(value: Any, where: str) -> None:
    if value is not None and (isinstance(value, bool) or not isinstance(value, int)):
        raise ConfigError(f"{label(where)} must be a whole number or null.")


def record(fields: dict[str, Check], required: Iterable[str] = ()) -> Check:
    """An object with only these keys, the required ones present, each value checked."""
    needed = tuple(required)

    def check(value: Any, where: str) -> None:
        if not isinstance(value, dict):
            raise ConfigError(f"{where or 'The file'} must be an object.")
        prefix = f"{where}: " if where else ""
        for key in value:
            if key not in fields:
                raise ConfigError(f"{prefix}unknown key “{str(key)[:50]}”.")
        for key in needed:
            if key not in value:
                raise ConfigError(f"{prefix}“{key}” is missing.")
        for key, item in value.items():
            fields[key](item, f"{where}.{key}" if where else key)

    return check


def listing(item: Check, max_items: int, unique: str = "") -> Check:
    """A list of at most `max_items`, each checked; `unique`: a key no two items share."""

    def check(value: Any, where: str) -> None:
        if not isinstance(value, list):
            raise ConfigError(f"{label(where)} must be a list.")
        if len(value) > max_items:
            raise ConfigError(f"{label(where)} holds at most {max_items} items.")
        seen: set[str] = set()
        for index, entry in enumerate(value):
            item(entry, f"{where}[{index}]")
            if unique:
                name = entry.get(unique)
                if name in seen:
                    raise ConfigError(f"{label(where)} names “{name}” twice.")
                seen.add(name)

    return check


def entries(value: Any, where: str) -> None:
    """A lookup table's rows: key → value, both text as LookupEntry holds them."""
    if not isinstance(value, dict):
        raise ConfigError(f"{label(where)} must be an object of key → value.")
    if len(value) > MAX_ROWS:
        raise ConfigError(f"{label(where)} holds at most {MAX_ROWS} rows.")
    for key, item in value.items():
        if not key or len(key) > 200 or not isinstance(item, str) or len(item) > 200:
            raise ConfigError(
                f"{label(where)} maps keys to values of at most 200 characters (both text, "
                "keys not empty)."
            )


def currency(value: Any, where: str) -> None:
    if not isinstance(value, str) or not CURRENCY.match(value):
        raise ConfigError(f"{label(where)} must be a three-letter currency code.")


def rate(value: Any, where: str) -> None:
    try:
        number = Decimal(str(value)) if isinstance(value, str | int | float) else None
    except InvalidOperation:
        number = None
    fits = (
        number is not None
        and not isinstance(value, bool)
        and number.is_finite()
        and 0 < number < MAX_RATE
        and number == number.quantize(Decimal("1e-8"))
    )
    if not fits:
        raise ConfigError(
            f"{label(where)} must be a number above 0 and below {MAX_RATE}, with at most 8 "
            "decimals."
        )


def iso_date(value: Any, where: str) -> None:
    try:
        date.fromisoformat(value)
    except (TypeError, ValueError):
        raise ConfigError(f"{label(where)} must be a date as YYYY-MM-DD.") from None


def spec(value: Any, where: str) -> None:
    """The outer shape; the rules themselves are compiled when the mapping is planned."""
    if not isinstance(value, dict) or not isinstance(value.get("rules", []), list):
        raise ConfigError(f"{label(where)} must be an object with a “rules” list.")
    if len(value.get("rules") or []) > MAX_RULES:
        raise ConfigError(f"{label(where)} holds at most {MAX_RULES} rules.")


def any_object(value: Any, where: str) -> None:
    if not isinstance(value, dict):
        raise ConfigError(f"{where} must be an object.")


# A pair section (flow settings): a list of objects; the section checks each item's keys.
SECTION_ITEMS = listing(any_object, MAX_SECTION_ITEMS)


MAPPING = record(
    {
        "name": text(100, required=True),
        "direction": choice(Mapping.Direction.values),
        "system": text(20, required=True),
        "source_entity": text(100, required=True),
        "target_entity": text(100, required=True),
        "version": whole_number_or_null,
        "note": text(200),
        "spec": spec,
    },
    required=("name", "direction", "system", "source_entity", "target_entity", "spec"),
)
TABLE = record(
    {
        "name": text(100, required=True),
        "description": text(200),
        "on_miss": choice(LookupTable.OnMiss.values),
        "default_value": text(200),
        "entries": entries,
    },
    required=("name",),
)
RATE = record(
    {"from": currency, "to": currency, "rate": rate, "as_of": iso_date},
    required=("from", "to", "rate", "as_of"),
)
TABLES_AND_RATES = {
    "lookup_tables": listing(TABLE, MAX_TABLES, unique="name"),
    "currency_rates": listing(RATE, MAX_RATES),
}


def check_document(document: Any, sections: Iterable[str]) -> None:
    """The whole file's shape; `sections` are the pair sections this installation knows."""
    pair = record(
        {
            "slug": text(100, required=True),
            "name": text(100),
            "crm": text(20),
            "erp": text(20),
            "base_currency": currency,
            "mappings": listing(MAPPING, MAX_MAPPINGS, unique="name"),
            **TABLES_AND_RATES,
            **dict.fromkeys(sections, SECTION_ITEMS),
        },
        required=("slug",),
    )
    whole = record(
        {
            "format": text(50),
            "exported_at": text(50),
            "installation": text(200),
            "pairs": listing(pair, MAX_PAIRS, unique="slug"),
            "global": record(TABLES_AND_RATES),
        },
        required=("format", "pairs"),
    )
    whole(document, "")
