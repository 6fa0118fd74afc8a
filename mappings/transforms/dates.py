"""Dates: read any common input (ISO, Streak's milliseconds, Sage's YYYYMMDD, US and EU
day formats) and write ISO, Sage, milliseconds or a date object."""

import re
from datetime import UTC, date, datetime
from typing import Any

from mappings.issues import TransformIssue
from mappings.limits import shorten
from mappings.transforms.base import Param, register

INPUTS = ("auto", "iso", "ms", "sage", "us", "eu")
OUTPUTS = ("iso", "sage", "ms", "date", "datetime")
US_DATE = re.compile(r"^(\d{1,2})/(\d{1,2})/(\d{4})$")
EU_DATE = re.compile(r"^(\d{1,2})[./-](\d{1,2})[./-](\d{4})$")
MONTH_NAME_FORMATS = ("%b %d, %Y", "%B %d, %Y", "%d %b %Y", "%d %B %Y", "%d-%b-%Y")
MS_PER_DAY = 86_400_000


def from_ms(ms: int | float) -> datetime:
    return datetime.fromtimestamp(ms / 1000, UTC)


def parse_date(value: Any, input_format: str = "auto") -> datetime | date:
    """A date (or a datetime, when the input has a time); ValueError when unreadable."""
    if isinstance(value, datetime | date):
        return value
    if isinstance(value, bool):
        raise ValueError("true/false is not a date")
    if isinstance(value, int | float):
        return from_ms(value)
    text = str(value).strip()
    if input_format == "ms" or (input_format == "auto" and text.isdigit() and len(text) >= 11):
        return from_ms(int(text))
    if input_format == "sage" or (input_format == "auto" and text.isdigit() and len(text) == 8):
        return datetime.strptime(text, "%Y%m%d").date()
    if input_format in ("auto", "iso") and len(text) >= 10 and text[4] == "-":
        if len(text) == 10:
            return date.fromisoformat(text)
        return datetime.fromisoformat(text.replace("Z", "+00:00"))
    if input_format in ("auto", "us") and (match := US_DATE.match(text)):
        month, day, year = map(int, match.groups())
        return date(year, month, day)
    if input_format in ("auto", "eu") and (match := EU_DATE.match(text)):
        day, month, year = map(int, match.groups())
        return date(year, month, day)
    if input_format == "auto":
        for pattern in MONTH_NAME_FORMATS:
            try:
                return datetime.strptime(text, pattern).date()
            except ValueError:
                continue
    raise ValueError(f"“{shorten(text)}” is not a date in a format I know ({input_format})")


def format_date(moment: datetime | date, output: str = "iso") -> Any:
    day = moment.date() if isinstance(moment, datetime) else moment
    if output == "iso":
        return day.isoformat()
    if output == "sage":
        return day.strftime("%Y%m%d")
    if output == "date":
        return day
    if output == "datetime":
        if isinstance(moment, datetime):
            return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).isoformat()
        return datetime(day.year, day.month, day.day, tzinfo=UTC).isoformat()
    if output == "ms":
        if isinstance(moment, datetime):
            aware = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
            return int(aware.timestamp() * 1000)
        return (day - date(1970, 1, 1)).days * MS_PER_DAY
    return day.strftime(output)


def fast_date(input_format: str = "auto", output: str = "iso") -> Any:
    """ISO date text in, ISO or Sage out: the usual case, without the format hunt."""

    def convert(value: Any) -> Any:
        if (
            value.__class__ is str
            and len(value) == 10
            and value[4] == value[7] == "-"
            and input_format in ("auto", "iso")
            and output in ("iso", "sage")
        ):
            try:
                date.fromisoformat(value)  # a real day, not 2025-02-30
            except ValueError:
                return to_date(value, input_format, output)
            return value if output == "iso" else value.replace("-", "")
        return to_date(value, input_format, output)

    return convert


@register(
    "date",
    "Date",
    "Read a date in any common format and write it as ISO, Sage (YYYYMMDD) or Streak (ms).",
    Param(
        "input_format",
        "choice",
        default="auto",
        choices=INPUTS,
        help="auto reads ISO, ms since 1970, YYYYMMDD, 12/31/2025 and 31.12.2025.",
    ),
    Param(
        "output",
        "choice",
        default="iso",
        choices=OUTPUTS,
        help="iso = 2025-12-31, sage = 20251231, ms = Streak's milliseconds.",
    ),
    specialise=fast_date,
)
def to_date(value: Any, input_format: str = "auto", output: str = "iso") -> Any:
    if value is None or value == "":
        return None
    try:
        return format_date(parse_date(value, input_format), output)
    except (ValueError, OverflowError, OSError) as exc:
        raise TransformIssue(
            f"{exc}. Use YYYY-MM-DD, or pick the input format the source uses."
        ) from None
