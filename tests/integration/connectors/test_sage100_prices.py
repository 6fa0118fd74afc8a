"""Sage 100 items and their prices against the live sandbox: the connector prices each item at
every customer price level as Sage does (the item's own record, else its price code's, else
the standard price; each by its pricing method), and its price feeds name the item changed.
The sandbox's prices page refuses what Item Maintenance refuses."""

import sqlite3
from datetime import UTC, datetime
from decimal import Decimal

import pytest
import requests

from connectors.base import FeedCursor
from connectors.services import connector_for
from flows.polling import read_feed
from sandbox.catalogue import PRODUCTS, SAGE100_INACTIVE_CODES
from tests.integration.flows.polling import sage100_rows

pytestmark = pytest.mark.django_db

CENT = Decimal("0.01")
WIDGET = next(p.code for p in PRODUCTS if p.category == "widget")
KIT = next(p.code for p in PRODUCTS if p.category == "kit")
SERVICE = next(p.code for p in PRODUCTS if p.category == "service")


def item_row(sandbox, code: str) -> dict:
    [row] = sage100_rows(sandbox, "SELECT * FROM CI_Item WHERE ItemCode = ?", code)
    return row


def money(value: float) -> Decimal:
    return Decimal(str(value)).quantize(CENT)


def items(sage100) -> dict[str, dict]:
    return {item["sku"]: item for item in connector_for(sage100).items_to_load()}


def test_each_item_is_priced_at_every_level_as_sage_prices_it(sage100, sage100_sandbox):
    listed = items(sage100)

    widget, kit = item_row(sage100_sandbox, WIDGET), item_row(sage100_sandbox, KIT)
    price, cost = (
        Decimal(str(widget["StandardUnitPrice"])),
        Decimal(str(widget["StandardUnitCost"])),
    )
    assert listed[WIDGET]["unit_price"] == str(money(widget["StandardUnitPrice"]))
    assert listed[WIDGET]["price_levels"] == {
        "1": str((price * Decimal("0.98")).quantize(CENT)),  # D: 2 % off
        "2": str((price * Decimal("0.85")).quantize(CENT)),  # O: its own wholesale price
        "3": str((cost * Decimal("1.4")).quantize(CENT)),  # M: cost plus 40 %
    }
    kit_price = Decimal(str(kit["StandardUnitPrice"]))
    assert kit["PriceCode"] == "KIT"  # no own levels: its price code's
    assert listed[KIT]["price_levels"] == {
        "1": str((kit_price * Decimal("0.98")).quantize(CENT)),
        "2": str((kit_price * Decimal("0.92")).quantize(CENT)),
        "3": str((kit_price - 15).quantize(CENT)),  # P: an amount off
    }
    standard = listed[SERVICE]["unit_price"]
    assert listed[SERVICE]["price_levels"] == {"1": standard, "2": standard, "3": standard}
    assert all(not listed[code]["active"] for code in SAGE100_INACTIVE_CODES)
    assert listed[WIDGET]["active"] and listed[WIDGET]["name"] == widget["ItemCodeDesc"]
    assert "9.99" not in listed[WIDGET]["price_levels"].values()  # one customer's own price


def test_a_level_price_keyed_in_sage_is_its_items_own_price_at_that_level(sage100, sage100_sandbox):
    reply = requests.post(
        f"{sage100_sandbox.url}/prices",
        data={"ItemCode": KIT.lower(), "PriceLevel": "2", "Price": "12.34"},
        timeout=10,
    )
    assert "flash=" in reply.url, reply.url

    assert items(sage100)[KIT]["price_levels"]["2"] == "12.34"  # over its price code's
    [row] = sage100_rows(
        sage100_sandbox,
        "SELECT * FROM IM_PriceCode WHERE PriceCodeRecord = '1' AND ItemCode = ?",
        KIT,
    )
    assert (row["CustomerPriceLevel"], row["PricingMethod"], row["DiscountMarkup1"]) == (
        "2", "O", 12.34
    )  # fmt: skip
    assert row["DateUpdated"] == datetime.now().date().isoformat()


@pytest.mark.parametrize(
    ("form", "said"),
    [
        ({"ItemCode": "NO-SUCH-ITEM", "PriceLevel": "", "Price": "5"}, "is not on file"),
        ({"ItemCode": WIDGET, "PriceLevel": "7", "Price": "5"}, "price level 7 is not on file"),
        ({"ItemCode": WIDGET, "PriceLevel": "", "Price": "-1"}, "cannot be negative"),
        ({"ItemCode": WIDGET, "PriceLevel": "1", "Price": "cheap"}, "Invalid numeric value"),
    ],
)
def test_the_prices_page_refuses_what_sage_refuses_and_writes_nothing(sage100_sandbox, form, said):
    before = sage100_rows(sage100_sandbox, "SELECT * FROM IM_PriceCode")
    prices = sage100_rows(sage100_sandbox, "SELECT ItemCode, StandardUnitPrice FROM CI_Item")

    reply = requests.post(f"{sage100_sandbox.url}/prices", data=form, timeout=10)

    assert "error=" in reply.url and said in reply.text  # the page shows why
    assert sage100_rows(sage100_sandbox, "SELECT * FROM IM_PriceCode") == before
    assert sage100_rows(
        sage100_sandbox, "SELECT ItemCode, StandardUnitPrice FROM CI_Item"
    ) == prices  # fmt: skip


def test_price_feeds_name_the_item_a_change_is_about(sage100, sage100_sandbox):
    connector = connector_for(sage100)
    with sqlite3.connect(sage100_sandbox.app.db_path) as sage_db:
        sage_db.execute("UPDATE IM_PriceCode SET DateUpdated = '2030-01-02'")
        sage_db.execute(
            "UPDATE CI_Item SET DateUpdated = '2030-01-02' WHERE ItemCode = ?", (WIDGET,)
        )
    since = FeedCursor(datetime(2030, 1, 1, tzinfo=UTC))

    items_changed, _ = read_feed(connector, "item", since)
    prices_changed, _ = read_feed(connector, "price_code", since)

    assert [change.key for _, change in items_changed] == [WIDGET]
    keys = {change.key for _, change in prices_changed}
    assert "price code KIT" in keys and WIDGET in keys and "" not in keys
