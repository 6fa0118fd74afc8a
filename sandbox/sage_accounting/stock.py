"""Stock in the Sage Accounting sandbox: `stock_items` (each stocked product's
`quantity_in_stock`, read-only in the API) and the stock count a user enters on a page,
kept as a `stock_movements` record for the difference, which moves the item's `updated_at`
so that `updated_or_created_since` finds it."""

from datetime import datetime
from decimal import Decimal
from typing import Any

from sandbox.catalogue import PRODUCTS
from sandbox.core.store import DocumentStore
from sandbox.sage_accounting.shapes import link, seed_id, timestamp

SEED_TIME = datetime.fromisoformat("2026-06-01T09:00:00+00:00")


def stock_item_documents() -> list[dict[str, Any]]:
    """One stock item per catalogue product that is not a service."""
    documents = []
    for index, product in enumerate(p for p in PRODUCTS if p.category != "service"):
        item_id = seed_id("stock_item", product.code)
        moment = timestamp(SEED_TIME)
        documents.append({
            "id": item_id,
            "displayed_as": f"{product.name} ({product.code})",
            "$path": f"/stock_items/{item_id}",
            "item_code": product.code,
            "description": product.name,
            "quantity_in_stock": str(Decimal(40 + (index * 37) % 160)),
            "created_at": moment,
            "updated_at": moment,
        })  # fmt: skip
    return documents


def count_stock(store: DocumentStore, item_code: str, quantity: Decimal, at: datetime) -> str:
    """Set the item's quantity in stock as a count does; "" or what is wrong."""
    found = [d for d in store.all("stock_items") if d["item_code"].upper() == item_code.upper()]
    if not found:
        return f"No stock item {item_code}"
    item = found[0]
    difference = quantity - Decimal(item["quantity_in_stock"])
    moment = timestamp(at)
    movement_id = seed_id("stock_movement", item["id"], moment)
    with store.transaction():
        store.put("stock_movements", movement_id, {
            "id": movement_id,
            "displayed_as": f"Stock count {item_code}",
            "$path": f"/stock_movements/{movement_id}",
            "stock_item": link(item),
            "quantity": str(difference),
            "details": "Stock count",
            "created_at": moment,
            "updated_at": moment,
        })  # fmt: skip
        store.put("stock_items", item["id"], item | {
            "quantity_in_stock": str(quantity), "updated_at": moment,
        })  # fmt: skip
    return ""
