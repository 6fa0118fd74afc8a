"""Streak boxes as the stock index reads them: the items a box's Products field asks for.

Streak keeps no product records and no line items: a box's "Products" text field holds one
"SKU x qty @ price" line per item. The stock flow keeps an index of which open box asks for
which item from the boxes changed since it last looked (Streak lists boxes newest change
first, so reading stops at the first box older than that), and writes each box's summary
to the box field "Sage Stock".
"""

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from clarity.formats import parse_product_line
from connectors.base import Record
from connectors.records import DealStock

PRODUCTS_FIELD = "Products"
STOCK_FIELD = "Sage Stock"


def items_asked(products: Any) -> dict[str, Decimal]:
    """Item code (upper case) → quantity, from a box's Products text; unreadable lines are
    left out (the won-deal flow says what is wrong with them)."""
    asked: dict[str, Decimal] = {}
    for text in str(products or "").splitlines():
        line = parse_product_line(text)
        if line:
            sku = line[0].upper()
            asked[sku] = asked.get(sku, Decimal(0)) + line[1]
    return asked


def deal_stock(box: Record, closed_stages: set[str]) -> DealStock:
    fields = box.get("fieldsByName") or {}
    return DealStock(
        key=box["key"],
        changed=datetime.fromtimestamp(int(box["lastUpdatedTimestamp"]) / 1000, UTC),
        open=box.get("stageName") not in closed_stages,
        lines=items_asked(fields.get(PRODUCTS_FIELD)),
        shown=str(fields.get(STOCK_FIELD) or ""),
    )


class StreakStock:
    """The stock index's reads, mixed into the Streak CRM role."""

    stock_field = STOCK_FIELD

    def deals_changed(self, since: datetime | None, closed_stages: set[str]) -> list[DealStock]:
        """The pipeline's boxes changed at or after `since` (the connector's `changes`), or
        all of them the first time."""
        boxes = self.boxes() if since is None else self.changes("Box", since)  # type: ignore[attr-defined]
        return [deal_stock(box, closed_stages) for box in boxes]
