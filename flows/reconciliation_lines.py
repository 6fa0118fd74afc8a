"""The lines half of reconciliation (flows/reconciliation.py): a deal's lines as its run sent
them (after the item lookup table, in the document's currency) beside the lines Sage holds
now (`ErpRole.document_lines`), item by item, in words a person can check in Sage.

Lines are compared per item: quantities summed, then the amount per unit, so a deal that
sells an item on two lines matches an order that holds it on one.
"""

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from connectors.errors import NotFound, Unsupported
from connectors.records import DocumentLine, DocumentSeen

CENT = Decimal("0.01")


@dataclass
class ItemTotals:
    sku: str
    quantity: Decimal = Decimal(0)
    amount: Decimal = Decimal(0)

    def each(self) -> Decimal:
        return (self.amount / self.quantity).quantize(CENT) if self.quantity else Decimal(0)


def number(value: Any) -> Decimal:
    try:
        return Decimal(str(value)) if value not in (None, "") else Decimal(0)
    except InvalidOperation:
        return Decimal(0)


def plain(value: Decimal) -> str:
    """10 rather than 10.000000, 2.5 rather than 2.500."""
    return f"{value.normalize():f}"


def by_item(lines: Iterable[DocumentLine]) -> dict[str, ItemTotals]:
    totals: dict[str, ItemTotals] = {}
    for line in lines:
        item = totals.setdefault(line.sku.strip().casefold(), ItemTotals(line.sku.strip()))
        item.quantity += line.quantity
        item.amount += (line.quantity * line.unit_price).quantize(CENT)
    return totals


def mapped_lines(lines: list[dict[str, Any]], rate: Decimal | None) -> list[DocumentLine]:
    """The items step's lines as Sage was sent them: unit prices converted at the run's
    rate to the base currency where the ERP keeps one (as the document step converts)."""
    return [
        DocumentLine(
            str(line.get("sku") or ""),
            number(line.get("quantity")),
            (number(line.get("unit_price")) * rate).quantize(CENT)
            if rate
            else number(line.get("unit_price")),
        )
        for line in lines
    ]


def line_differences(deal: list[DocumentLine], sage: list[DocumentLine]) -> list[str]:
    """What differs, per item: "WIDGET-9: 10 in the deal, 8 in Sage"; empty when alike."""
    ours, theirs = by_item(deal), by_item(sage)
    found = []
    for key in [*ours, *(key for key in theirs if key not in ours)]:
        mine, sages = ours.get(key), theirs.get(key)
        if sages is None:
            found.append(f"{mine.sku}: {plain(mine.quantity)} in the deal, none in Sage")
        elif mine is None:
            found.append(f"{sages.sku}: none in the deal, {plain(sages.quantity)} in Sage")
        elif mine.quantity != sages.quantity:
            found.append(
                f"{mine.sku}: {plain(mine.quantity)} in the deal, {plain(sages.quantity)} in Sage"
            )
        elif abs(mine.amount - sages.amount) > CENT:
            found.append(f"{mine.sku}: {mine.each()} each in the deal, {sages.each()} in Sage")
    return found


def lines_compared(
    erp: Any, document: DocumentSeen, made: dict[str, Any], items: dict[str, Any]
) -> tuple[int, list[str]]:
    """(lines the run sent, what differs) for the document, read from Sage now; nothing
    differs when the run kept no lines or Sage does not show the document's (posted)."""
    if not items.get("lines"):
        return 0, []
    try:
        in_sage = erp.document_lines(document.kind, document.number)
    except (NotFound, Unsupported):
        return 0, []
    rate = (made.get("conversion") or {}).get("rate")
    sent = mapped_lines(items["lines"], Decimal(rate) if rate else None)
    return len(sent), line_differences(sent, in_sage)
