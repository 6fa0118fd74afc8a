"""Small helpers for Sage's JSON conventions: 32-hex ids, `{id, displayed_as, $path}`
links, money as two-decimal strings and ISO 8601 UTC timestamps."""

import hashlib
import re
from datetime import UTC, date, datetime
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

CENT = Decimal("0.01")


def seed_id(*key: object) -> str:
    """A deterministic 32-hex id for seed records, so ids survive every reset."""
    return hashlib.md5(":".join(map(str, key)).encode()).hexdigest()


def link(doc: dict[str, Any] | None) -> dict[str, Any] | None:
    """The `{id, displayed_as, $path}` reference Sage embeds for a related record."""
    if doc is None:
        return None
    return {"id": doc["id"], "displayed_as": doc["displayed_as"], "$path": doc["$path"]}


def fixed_link(collection: str, item_id: str, displayed_as: str) -> dict[str, str]:
    return {"id": item_id, "displayed_as": displayed_as, "$path": f"/{collection}/{item_id}"}


def to_decimal(value: Any) -> Decimal:
    """A JSON number or numeric string as a Decimal; ValueError if it is neither."""
    if isinstance(value, bool) or value is None:
        raise ValueError("is not a number")
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        raise ValueError("is not a number") from None
    if not number.is_finite():
        raise ValueError("is not a number")
    return number


def money(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def money_text(value: Decimal) -> str:
    return f"{money(value):.2f}"


def timestamp(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_timestamp(text: str) -> datetime:
    """An ISO date or date-time (naive means UTC); ValueError if unreadable."""
    # A "+" in an unencoded query string arrives as a space: "...T10:00:00 00:00".
    text = re.sub(r" (\d\d:?\d\d)$", r"+\1", text.strip()).replace("Z", "+00:00")
    moment = datetime.fromisoformat(text)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def parse_date(text: Any) -> date:
    if not isinstance(text, str):
        raise ValueError("is not a date")
    return date.fromisoformat(text)
