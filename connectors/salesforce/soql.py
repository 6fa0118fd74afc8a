"""SOQL literals: every value put into a query is quoted, escaped or checked to be what it
claims, so no value can change the query."""

import math
from datetime import UTC, date, datetime
from typing import Any

from connectors.errors import ValidationError
from connectors.salesforce.oauth import SYSTEM

NUMERIC = {"int", "double", "currency", "percent"}


def soql_literal(value: Any, field_type: str) -> str:
    """A value as a SOQL literal: text quoted and escaped; numbers, dates and datetimes bare
    and checked to be what they claim, so no value can change the query."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    try:
        if field_type == "datetime":
            moment = value if isinstance(value, datetime) else parse_datetime(str(value))
            return soql_datetime(moment)
        if field_type == "date":
            return date.fromisoformat(str(value)).isoformat()
        if field_type in NUMERIC:
            number = float(value)
            if not math.isfinite(number):
                raise ValueError("not a finite number")
            return str(int(number)) if number.is_integer() else repr(number)
    except (TypeError, ValueError) as exc:
        raise ValidationError(
            f"{value!r} is not a {field_type} value", fields={"value": str(exc)}, system=SYSTEM
        ) from exc
    escaped = str(value).replace("\\", "\\\\").replace("'", "\\'")
    return f"'{escaped}'"


def parse_datetime(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def soql_datetime(moment: datetime) -> str:
    """UTC with milliseconds, as SystemModstamp is stored; naive datetimes are taken as UTC."""
    moment = moment.astimezone(UTC) if moment.tzinfo else moment.replace(tzinfo=UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"
