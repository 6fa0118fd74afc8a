"""Right money before a Sage document is written: the deal's lines add up to its amount
(`check_total`, when the deal is mapped), and an ERP that keeps one currency
(`ErpRole.multi_currency` false: Sage 100) gets them in its base currency.

The conversion happens once, at the rate `map_deal` recorded for the approval rule (`rate`
in its output), so the order carries the amounts the approver saw. Each unit price becomes
base currency rounded to the cent, as Sage prices lines; the converted lines must come to
their original sum converted, within a cent, or the run stops with both numbers. The rate
and the original amount go into the step's output, the deal's note and the head of the
order's comment.
"""

from decimal import Decimal
from typing import Any

from clarity.formats import plain_number
from connectors.errors import ValidationError
from flows.base import StepContext
from flows.steps import MAP_DEAL
from mappings.lookups import PairEnvironment

CENT = Decimal("0.01")


class NeedsReview(ValidationError):
    """An amount could not be converted to the base currency: add the rate, then retry."""


def decimal(value: Any) -> Decimal:
    return Decimal(str(value)) if value not in (None, "") else Decimal(0)


def rate_to_base(ctx: StepContext, currency: str) -> Decimal:
    """Base units per unit of `currency` (not the base) from the pair's rates."""
    base = ctx.pair.base_currency
    rate = PairEnvironment(ctx.pair, kept=ctx.kept).rate(currency, base)
    if not rate:
        raise NeedsReview(
            f"No {currency} → {base} exchange rate: add it under Currency rates, then retry.",
            fields={"currency": currency},
        )
    return rate


def deal_rate(ctx: StepContext, currency: str) -> Decimal | None:
    """The deal's one rate to the base currency (None in the base): the rate `map_deal`
    recorded, or, while mapping, the pair's rate now."""
    if currency.upper() in ("", ctx.pair.base_currency):
        return None
    recorded = ctx.outputs[MAP_DEAL].get("rate") if MAP_DEAL in ctx.outputs else ""
    return Decimal(recorded) if recorded else rate_to_base(ctx, currency.upper())


def line_total(lines: list[dict[str, Any]]) -> Decimal:
    return sum((decimal(line.get("amount")) for line in lines), Decimal(0))


def check_total(ctx: StepContext, document: dict[str, Any], what: str) -> None:
    """Raise when the deal's lines do not come to its amount: Sage would book another sum."""
    total, lines = decimal(document.get("total")), line_total(document["lines"])
    if abs(lines - total) > CENT:
        currency = document.get("currency") or ctx.pair.base_currency
        raise ValidationError(
            f"The deal's lines come to {lines:,.2f} {currency} but its amount is {total:,.2f} "
            f"{currency}: correct the lines or the amount in {ctx.crm.label}, then retry. "
            f"No {what} was written.",
            fields={"total": f"{total} ≠ lines {lines}"},
        )


def in_erp_currency(
    ctx: StepContext, document: dict[str, Any], what: str
) -> tuple[dict[str, Any], dict[str, str]]:
    """The document as the ERP takes it, and the conversion made ({} for none)."""
    currency, base = (document.get("currency") or "").upper(), ctx.pair.base_currency
    rate = None if ctx.erp.multi_currency else deal_rate(ctx, currency)
    if rate is None:
        return document, {}
    lines = []
    for line in document["lines"]:
        unit = (decimal(line.get("unit_price")) * rate).quantize(CENT)
        amount = unit * decimal(line.get("quantity"))
        lines.append(line | {"unit_price": str(unit), "amount": str(amount)})
    original = line_total(document["lines"])
    converted, expected = line_total(lines), (original * rate).quantize(CENT)
    if abs(converted - expected) > CENT:
        raise ValidationError(
            f"At {rate} {base} per {currency}, the lines come to {converted:,.2f} {base} but "
            f"their {original:,.2f} {currency} is {expected:,.2f} {base} (unit prices round to "
            "the cent): round the deal's unit prices so they convert exactly, then retry. "
            f"No {what} was written.",
            fields={"total": f"{converted} ≠ {expected}"},
        )
    conversion = {
        "currency": currency,
        "total": str(original),
        "rate": plain_number(rate),
        "base_currency": base,
        "base_total": str(converted),
    }
    said = f"{currency} {original} @ {plain_number(rate)}"  # first, so the order's comment keeps it
    notes = f"{said} {document.get('notes') or ''}".strip()
    converted_document = document | {
        "lines": lines, "currency": base, "total": str(converted), "notes": notes
    }  # fmt: skip
    return converted_document, conversion


def conversion_note(conversion: dict[str, str]) -> str:
    """For the deal's note: how the amount was converted, if it was."""
    if not conversion:
        return ""
    return (
        f" Converted from {conversion['total']} {conversion['currency']} at "
        f"{conversion['rate']} {conversion['base_currency']} per {conversion['currency']}."
    )
