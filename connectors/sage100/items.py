"""Sage 100 items and stock in the ERP role: items (CI_Item) with their prices at each
customer price level (IM_PriceCode), item codes looked up for an order, and the stock each
warehouse holds (IM_ItemWarehouse); the item half of `Sage100Erp`.

An item's price at a customer price level is the one Sage charges a customer of that level
for one unit: the item's own price-level record (IM_PriceCode.PriceCodeRecord 1), else the one
of the price code the item carries (CI_Item.PriceCode, record 0), else the standard price;
a record prices its first quantity break by its PricingMethod (`LEVEL_PRICING`).

Item codes found in Sage are remembered by this process for KNOWN_ITEM_SECONDS (found ones
only: a code not found is looked up live every time, so an item created in Sage passes at the
next retry); an order Sage refuses over an item makes the process forget them all.
"""

import time
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from connectors.base import Record
from connectors.records import ItemRef, StockRead
from connectors.values import money

KNOWN_ITEM_SECONDS = 300.0
# (connection id, its creation time, code in capitals) -> (expires at, Sage's ItemCode)
KNOWN_ITEMS: dict[tuple[Any, ...], tuple[float, str]] = {}
CENT = Decimal("0.01")
PRICE_CODE, ITEM_PRICE = "0", "1"  # IM_PriceCode.PriceCodeRecord of list prices
# PricingMethod → the price of one unit, from the standard price, the standard cost and the
# record's DiscountMarkup1: Override, Discount %, Price discount amount, Markup %, Cost plus.
LEVEL_PRICING = {
    "O": lambda price, cost, amount: amount,
    "D": lambda price, cost, amount: price * (1 - amount / 100),
    "P": lambda price, cost, amount: price - amount,
    "M": lambda price, cost, amount: cost * (1 + amount / 100),
    "C": lambda price, cost, amount: cost + amount,
}


class Sage100Items:
    """The item half of `Sage100Erp`, placed before `ErpRole` in its bases; `search`,
    `stream`, `parse_key` and `connection` are the connector's."""

    search: Any
    stream: Any
    parse_key: Any
    connection: Any

    def items_to_load(self) -> list[dict[str, Any]]:
        """Every item as a canonical Item (its standard price as `unit_price`, in the
        company's one currency: left blank), with `price_levels`: its price at each customer
        price level Sage prices anything at, to the cent."""
        records = [
            row
            for row in self.stream("price_code")
            if row["PriceCodeRecord"] in (PRICE_CODE, ITEM_PRICE) and row["CustomerPriceLevel"]
        ]
        levels = sorted({row["CustomerPriceLevel"] for row in records})
        priced = {price_key(row): row for row in records}
        return [item_of(item, levels, priced) for item in self.stream("item")]

    def find_item(self, code: str) -> ItemRef | None:
        key = self.known_item_key(code)
        known = KNOWN_ITEMS.get(key)
        if known and known[0] > time.monotonic():
            return ItemRef(known[1], known[1])
        found = self.search("item", limit=1, ItemCode=code)
        if not found:
            return None
        KNOWN_ITEMS[key] = (time.monotonic() + KNOWN_ITEM_SECONDS, found[0]["ItemCode"])
        return ItemRef(found[0]["ItemCode"], found[0]["ItemCode"])

    def known_item_key(self, code: str) -> tuple[Any, ...]:
        return (self.connection.pk, str(self.connection.created_at), code.strip().upper())

    def forget_items(self) -> None:
        """Look every item of this connection up live again (one was refused by Sage)."""
        scope = self.known_item_key("")[:2]
        for key in [key for key in KNOWN_ITEMS if key[:2] == scope]:
            KNOWN_ITEMS.pop(key, None)

    def read_stock(self, key: str) -> StockRead:
        item_code = self.parse_key("stock", key)["ItemCode"]
        return StockRead(item_code, self.search("stock", ItemCode=item_code))

    def item_stock(self, sku: str) -> StockRead:
        """By item code (a stock key is item and warehouse): the item's row per warehouse."""
        rows = self.search("stock", ItemCode=sku)
        return StockRead(sku, [row for row in rows if row["ItemCode"].upper() == sku.upper()])

    def warehouses(self) -> dict[str, str]:
        """IM_Warehouse: code → description."""
        rows = self.stream("warehouse")
        return {row["WarehouseCode"]: row["WarehouseDesc"] or "" for row in rows}


def level_price(record: Record, price: Decimal, cost: Decimal) -> Decimal:
    """One unit's price by a price-level record (its first quantity break), to the cent; a
    pricing method Sage does not document prices at the standard price."""
    amount = Decimal(str(record["DiscountMarkup1"] or 0))
    pricing = LEVEL_PRICING.get(record["PricingMethod"])
    found = pricing(price, cost, amount) if pricing else price
    return max(found, Decimal(0)).quantize(CENT, rounding=ROUND_HALF_UP)


def price_key(record: Record) -> tuple[str, str, str]:
    """What a list-price record prices: (its kind, the price code or the item, the level)."""
    priced = record["PriceCode"] if record["PriceCodeRecord"] == PRICE_CODE else record["ItemCode"]
    return record["PriceCodeRecord"], priced, record["CustomerPriceLevel"]


def item_of(
    item: Record, levels: list[str], priced: dict[tuple[str, str, str], Record]
) -> dict[str, Any]:
    """A CI_Item row as a canonical Item with its price at each level."""
    price, cost = money(item["StandardUnitPrice"]), Decimal(str(item["StandardUnitCost"] or 0))
    prices = {}
    for level in levels:
        record = priced.get((ITEM_PRICE, item["ItemCode"], level))
        if record is None and item.get("PriceCode"):
            record = priced.get((PRICE_CODE, item["PriceCode"], level))
        prices[level] = str(level_price(record, price, cost) if record else price)
    return {
        "sku": item["ItemCode"],
        "name": item.get("ItemCodeDesc") or item["ItemCode"],
        "description": item.get("ItemCodeDesc") or "",
        "unit_price": str(price),
        "currency": "",
        "active": item.get("InactiveItem") != "Y",
        "price_levels": prices,
    }
