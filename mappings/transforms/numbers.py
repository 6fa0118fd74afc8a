"""Numbers and money: parse, round, and convert to the pair's base currency.

Money is `Decimal` all the way, so 0.1 + 0.2 is 0.3 on every invoice. A number read from
text has at most MAX_MAGNITUDE digits before or after the point: "1e999999999" is a few bytes
that would otherwise write a billion digits.
"""

import re
from decimal import ROUND_DOWN, ROUND_HALF_EVEN, ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from mappings.environment import Environment
from mappings.issues import TransformIssue
from mappings.limits import MAX_PLACES, shorten
from mappings.transforms.base import ENV, FIELD, Param, register

ROUNDING = {"half_up": ROUND_HALF_UP, "half_even": ROUND_HALF_EVEN, "down": ROUND_DOWN}
NOT_NUMBER = re.compile(r"[^\d,.\-]")
CURRENCY_PLACES = {"JPY": 0, "KRW": 0, "CLP": 0, "ISK": 0, "BHD": 3, "KWD": 3, "OMR": 3}
QUANTA = {places: Decimal(1).scaleb(-places) for places in range(MAX_PLACES + 1)}
MAX_MAGNITUDE = 30  # 10^30 > any amount or quantity; 10^-30 < any rate
PLACES = {"minimum": 0, "maximum": MAX_PLACES}


def in_range(number: Decimal) -> bool:
    """Finite, with its leading digit within 10^±MAX_MAGNITUDE (cheap: no digit is read)."""
    return number.is_finite() and -MAX_MAGNITUDE <= number.adjusted() <= MAX_MAGNITUDE


def to_decimal(value: Any, decimal_comma: bool = False) -> Decimal:
    """A Decimal from numbers and text such as "1,234.50", "$ 99" or (EU) "1.234,50"."""
    if value.__class__ is Decimal:
        return value
    if isinstance(value, bool):
        raise ValueError("true/false is not a number")
    if value.__class__ is str and not decimal_comma:
        try:
            number = Decimal(value)  # the usual "1234.50", spaces allowed
        except InvalidOperation:
            pass
        else:
            if in_range(number):
                return number
            if number.is_finite():
                raise ValueError(too_large(value))
    number = parse_loosely(value, decimal_comma)
    if not in_range(number):
        raise ValueError(too_large(value))
    return number


def parse_loosely(value: Any, decimal_comma: bool) -> Decimal:
    """Digits, separators and a sign, whatever surrounds them ("$ 1,234.50")."""
    if isinstance(value, int):
        return Decimal(value)
    if isinstance(value, float):
        return Decimal(repr(value))
    text = NOT_NUMBER.sub("", str(value))
    text = text.replace(".", "").replace(",", ".") if decimal_comma else text.replace(",", "")
    try:
        number = Decimal(text)
    except InvalidOperation:
        raise ValueError(f"“{shorten(str(value))}” is not a number") from None
    if not number.is_finite():
        raise ValueError(f"“{shorten(str(value))}” is not a number")
    return number


def too_large(value: Any) -> str:
    return (
        f"“{shorten(str(value))}” is too large or too small a number (at most "
        f"{MAX_MAGNITUDE} digits before or after the point)"
    )


def quantize(number: Decimal, places: int, mode: str = "half_up") -> Decimal:
    quantum = QUANTA.get(places) or Decimal(1).scaleb(-places)
    return number.quantize(quantum, rounding=ROUNDING[mode])


def fast_number(places: int | None = None, decimal_comma: bool = False) -> Any:
    quantum = None if places is None else QUANTA.get(places) or Decimal(1).scaleb(-places)

    def parse(value: Any) -> Any:
        if value.__class__ is str and not decimal_comma:
            try:
                parsed = Decimal(value)
            except InvalidOperation:
                return number(value, places, decimal_comma)
            if in_range(parsed):
                return parsed if quantum is None else parsed.quantize(quantum, ROUND_HALF_UP)
        return number(value, places, decimal_comma)

    return parse


def fast_round(places: int = 2, mode: str = "half_up") -> Any:
    quantum, rounding = QUANTA.get(places) or Decimal(1).scaleb(-places), ROUNDING[mode]

    def round_(value: Any) -> Any:
        if value.__class__ is Decimal and value.is_finite():
            return value.quantize(quantum, rounding)
        return round_number(value, places, mode)

    return round_


@register(
    "number",
    "Number",
    "Read a number from text such as “1,234.50” or “€ 99” (optionally rounded).",
    Param("places", "integer", help="Round to this many decimals; empty = keep all.", **PLACES),
    Param("decimal_comma", "boolean", default=False, help="Read 1.234,50 as 1234.50."),
    specialise=fast_number,
)
def number(value: Any, places: int | None = None, decimal_comma: bool = False) -> Any:
    if value is None or value == "":
        return None
    try:
        parsed = to_decimal(value, decimal_comma)
    except ValueError as exc:
        raise TransformIssue(f"{exc}; use digits with an optional decimal point.") from None
    return parsed if places is None else quantize(parsed, places)


@register(
    "integer",
    "Whole number",
    "Read a whole number (rounding half up); for counts and quantities.",
)
def integer(value: Any) -> Any:
    if value is None or value == "":
        return None
    try:
        return int(quantize(to_decimal(value), 0))
    except ValueError as exc:
        raise TransformIssue(f"{exc}; use digits.") from None


@register(
    "round",
    "Round",
    "Round a number to a number of decimals.",
    Param("places", "integer", default=2, help="Decimals to keep.", **PLACES),
    Param(
        "mode",
        "choice",
        default="half_up",
        choices=tuple(ROUNDING),
        help="half_up: 2.345 → 2.35; half_even: banker's rounding; down: cut.",
    ),
    specialise=fast_round,
)
def round_number(value: Any, places: int = 2, mode: str = "half_up") -> Any:
    if value is None or value == "":
        return None
    try:
        return quantize(to_decimal(value), places, mode)
    except ValueError as exc:
        raise TransformIssue(f"{exc}; cannot round it.") from None


def currency_places(currency: str | None) -> int:
    return CURRENCY_PLACES.get((currency or "").upper(), 2)


@register(
    "round_money",
    "Round money",
    "Round an amount to its currency's minor unit (2 decimals; 0 for JPY, 3 for KWD).",
    Param("currency", "path", help="Field holding the currency code.", source=FIELD),
)
def round_money(value: Any, currency: Any = None) -> Any:
    if value is None or value == "":
        return None
    try:
        return quantize(to_decimal(value), currency_places(currency))
    except ValueError as exc:
        raise TransformIssue(f"{exc}; cannot round it.") from None


@register(
    "convert_currency",
    "Convert to base currency",
    "Convert an amount to the pair's base currency with the admin's rates; no rate = review.",
    Param(
        "currency", "path", required=True, help="Field holding the amount's currency.", source=FIELD
    ),
    Param("to", "string", help="Target currency; empty = the pair's base currency.", max_length=3),
    Param("env", "any", source=ENV),
)
def convert_currency(
    value: Any, currency: Any, to: str | None = None, env: Environment | None = None
) -> Any:
    """Never guesses: no currency or no rate is an issue, never a silent 1.0."""
    if value is None or value == "":
        return None
    target = (to or (env.base_currency if env else "") or "").upper()
    source = str(currency or "").strip().upper()
    if not source:
        raise TransformIssue(
            f"The amount {shorten(str(value))} has no currency, so it cannot be converted to "
            f"{target}. "
            "Map the currency field or set a default currency.",
            code="no_currency",
        )
    try:
        amount = to_decimal(value)
    except ValueError as exc:
        raise TransformIssue(f"{exc}; cannot convert it.") from None
    if source == target:
        return quantize(amount, currency_places(target))
    rate = env.rate(source, target) if env else None
    if rate is None:
        raise TransformIssue(
            f"No {shorten(source, 20)} → {target} exchange rate, so {amount} "
            f"{shorten(source, 20)} was not converted; "
            "the record is held for review. Add the rate under Currency rates, then retry.",
            code="no_rate",
        )
    return quantize(amount * rate, currency_places(target))
