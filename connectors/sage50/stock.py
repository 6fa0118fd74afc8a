"""Sage Accounting stock for the stock flow: `stock_items` and their `quantity_in_stock`,
polled by `updated_or_created_since` (a stock movement moves the item's `updated_at`).
Sage Accounting keeps one quantity per item (no warehouses)."""

from connectors.errors import NotFound
from connectors.records import StockRead


class SageAccountingStock:
    """Mixed into the Sage Accounting ERP role."""

    def read_stock(self, key: str) -> StockRead:
        item = self.get("stock_items", key)  # type: ignore[attr-defined]
        return StockRead(item["item_code"], [item], warehouse_of="")

    def item_stock(self, sku: str) -> StockRead:
        """By item code: the stock item whose code is `sku` (any case)."""
        found = [
            item
            for item in self.search("stock_items", search=sku)  # type: ignore[attr-defined]
            if str(item.get("item_code") or "").upper() == sku.upper()
        ]
        if not found:
            raise NotFound(f"Sage Accounting has no stock item {sku}")
        return StockRead(found[0]["item_code"], found, warehouse_of="")
