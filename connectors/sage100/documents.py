"""What reconciliation reads of a Sage 100 document besides its listed total: the total
before tax of an order or invoice header, and its item lines as `DocumentLine`s."""

from decimal import Decimal
from typing import Any

from connectors.base import Record
from connectors.records import DocumentLine
from connectors.values import money

COMMENT_LINE = "4"  # ItemType of a comment line, which sells nothing
ORDER_NET_PARTS = ("TaxableAmt", "NonTaxableAmt", "FreightAmt")
INVOICE_NET_PARTS = ("TaxableSalesAmt", "NonTaxableSalesAmt", "FreightAmt")
# The quantity a line sells: ordered on an order, shipped (invoiced) on an invoice.
LINE_QUANTITY = {"sales_order": "QuantityOrdered", "invoice": "QuantityShipped"}


def net_total(row: Record, parts: tuple[str, ...]) -> Decimal:
    """A header's total before tax: its taxable and non-taxable amounts and freight, less
    the discount (SalesTaxAmt left out)."""
    return money(sum(money(row.get(part)) for part in parts) - money(row.get("DiscountAmt")))


def number(value: Any) -> Decimal:
    return Decimal(str(value or 0))


def document_lines(kind: str, lines: list[Record]) -> list[DocumentLine]:
    """The detail rows as lines, comment lines left out."""
    quantity = LINE_QUANTITY[kind]
    return [
        DocumentLine(
            str(line.get("ItemCode") or "").strip(),
            number(line.get(quantity)),
            number(line.get("UnitPrice")),
        )
        for line in lines
        if str(line.get("ItemType") or "") != COMMENT_LINE
    ]
