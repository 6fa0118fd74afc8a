"""Customer values compared as a person reads them, the same way on every side of a sync.

Customer sync and the initial load speak in common fields: `name`, `phone`, `email`,
`billing_address` (`street` with lines joined by newlines, `city`, `state`, `zip`,
`country`), `credit_limit`, `terms`, `balance`. Each connector reads and writes its own
records in these terms; these helpers decide whether two values differ.
"""

from decimal import Decimal, InvalidOperation
from typing import Any

from clarity.formats import country_code

ADDRESS_PARTS = ("street", "city", "state", "zip", "country")
COMMON_FIELDS = ("name", "phone", "email", "billing_address", "credit_limit", "terms", "balance")


def same(ours: Any, theirs: Any) -> bool:
    """Equal as a person reads them: blanks alike, numbers by value, text trimmed, countries
    by ISO code (Sage 100 writes "USA", the others "US")."""
    if isinstance(ours, dict) or isinstance(theirs, dict):
        ours, theirs = dict(ours or {}), dict(theirs or {})
        for address in (ours, theirs):
            text = str(address.get("country") or "").strip()
            address["country"] = country_code(text) or text.upper()
        return all(same(ours.get(part), theirs.get(part)) for part in ADDRESS_PARTS)
    ours, theirs = str(ours or "").strip(), str(theirs or "").strip()
    try:
        return Decimal(ours) == Decimal(theirs)
    except InvalidOperation:
        return ours == theirs


def blank(value: Any) -> bool:
    """Nothing known: a blank on the system of record is not written over the other side."""
    if isinstance(value, dict):
        return all(blank(part) for part in value.values())
    return str(value or "").strip() == ""


def money(value: Any) -> Decimal:
    """An amount to the cent, blanks as zero."""
    return Decimal(str(value or 0)).quantize(Decimal("0.01"))
