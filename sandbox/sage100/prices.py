"""What items sell for in the sandbox's Sage 100: the standard price on CI_Item and the
customer price levels in IM_PriceCode, seeded and changed as a Sage user changes them.

A customer's price level (AR_Customer.PriceLevel, one character) picks a price: the item's
own price-level record (PriceCodeRecord 1), else the one of the price code the item carries
(CI_Item.PriceCode, record 0), else the standard price. Each record prices the first
quantity break by its PricingMethod: O the price itself, D a percent off the standard
price, P an amount off it, M a percent on the standard cost, C an amount on it. Record 2
prices one item for one customer: not a list price.
"""

import sqlite3
from datetime import datetime
from decimal import Decimal
from typing import Any

from agent.backend import Record, Refused
from sandbox.sage100.boi import fetch, insert, stamp, to_decimal, update
from sandbox.sage100.rules import CLERK_USER_KEYS, decimal_hours
from sandbox.sage100.schema import PRICE_CODE_KEY, TABLES_BY_NAME

PRICE_LEVELS = ("1", "2", "3")
KIT_PRICE_CODE = "KIT"
ALL_QUANTITIES = 99999999  # the first break covers every quantity
STANDARD = ""  # the price level of the standard price, as the page's form names it
WHOLESALE_SHARE = Decimal("0.85")  # level 2: the item's own wholesale price
SEEDED_AT = datetime(2024, 1, 8, 9, 30)


def price_row(record: str, level: str, method: str, amount: Any, **key: str) -> Record:
    """One IM_PriceCode row: its first break priced by `method` and `amount`."""
    return TABLES_BY_NAME["IM_PriceCode"].row(
        PriceCodeRecord=record, CustomerPriceLevel=level, PricingMethod=method,
        BreakQuantity1=ALL_QUANTITIES, DiscountMarkup1=float(amount), **key,
        DateCreated=SEEDED_AT.date(), TimeCreated=decimal_hours(SEEDED_AT),
        UserCreatedKey=CLERK_USER_KEYS[0], DateUpdated=SEEDED_AT.date(),
        TimeUpdated=decimal_hours(SEEDED_AT), UserUpdatedKey=CLERK_USER_KEYS[0],
    )  # fmt: skip


def price_code_rows(items: list[Record]) -> list[Record]:
    """Kits share price code KIT (2 % off at level 1, 8 % at level 2, 15.00 off at level 3);
    every other stock item has its own levels (2 % off, a wholesale price, cost plus 40 %).
    Services sell at the standard price at every level. One customer has its own price."""
    kit = {"PriceCode": KIT_PRICE_CODE, "PriceCodeDesc": "Kits"}
    rows = [
        price_row("0", "1", "D", 2, **kit),
        price_row("0", "2", "D", 8, **kit),
        price_row("0", "3", "P", 15, **kit),
    ]
    for item in items:
        if item["PriceCode"] or item["ItemType"] != "1":
            continue
        own = {"ItemCode": item["ItemCode"]}
        wholesale = (Decimal(str(item["StandardUnitPrice"])) * WHOLESALE_SHARE).quantize(
            Decimal("0.01")
        )
        rows += [
            price_row("1", "1", "D", 2, **own),
            price_row("1", "2", "O", wholesale, **own),
            price_row("1", "3", "M", 40, **own),
        ]
    rows.append(price_row("2", "", "O", 9.99, ItemCode="WIDGET-100", ARDivisionNo="00",
                          CustomerNo="MORRISON"))  # fmt: skip
    return rows


def set_price(db: sqlite3.Connection, item_code: str, level: str, price: Any) -> Record:
    """The item's standard price (`level` STANDARD), or its own price at a customer price
    level, set to `price` as Item Maintenance does; the row written."""
    code = item_code.strip().upper()
    item = fetch(db, "SELECT * FROM CI_Item WHERE ItemCode = ?", code)
    if item is None:
        raise Refused(f"The item code {code or '(blank)'} is not on file.")
    amount = to_decimal(price, "Price")
    if amount < 0:
        raise Refused("The price cannot be negative.")
    if level == STANDARD:
        item.update(StandardUnitPrice=float(amount), **stamp())
        update(db, "CI_Item", item, ("ItemCode",))
        return item
    if level not in PRICE_LEVELS:
        raise Refused(f"The price level {level} is not on file: use {', '.join(PRICE_LEVELS)}.")
    key = {"PriceCodeRecord": "1", "PriceCode": "", "ItemCode": code, "CustomerPriceLevel": level,
           "ARDivisionNo": "", "CustomerNo": ""}  # fmt: skip
    where = " AND ".join(f"{column} = ?" for column in PRICE_CODE_KEY)
    row = fetch(db, f"SELECT * FROM IM_PriceCode WHERE {where}", *key.values())
    if row is None:
        row = TABLES_BY_NAME["IM_PriceCode"].row(**key, **stamp(created=True))
        insert(db, "IM_PriceCode", row)
    row.update(PricingMethod="O", BreakQuantity1=ALL_QUANTITIES, DiscountMarkup1=float(amount),
               **stamp())  # fmt: skip
    update(db, "IM_PriceCode", row, PRICE_CODE_KEY)
    return row
