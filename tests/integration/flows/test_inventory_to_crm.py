"""Inventory → CRM against the live sandboxes: a quantity changed on the Sage 100 stock page
shows on the Salesforce product, or as a stock alert on the Streak deals it leaves short."""

import time
from decimal import Decimal

import pytest
import requests

from connectors.services import connector_for
from flows.models import SyncRun
from tests.integration.flows.polling import comments_on, poll_now, sage100_rows

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("runs_inline")]

FLOW = "inventory_to_crm"


def set_stock_in_sage(sandbox, item_code: str, warehouse: str, quantity: int) -> None:
    """Count the stock on the Sage 100 page, as a warehouse clerk does."""
    reply = requests.post(
        f"{sandbox.url}/stock",
        data={"ItemCode": item_code, "WarehouseCode": warehouse, "QuantityOnHand": quantity},
        timeout=10,
    )
    assert "error=" not in reply.url, reply.url


def stock_of(sandbox, item_code: str) -> dict[str, Decimal]:
    rows = sage100_rows(
        sandbox,
        "SELECT WarehouseCode, QuantityOnHand FROM IM_ItemWarehouse WHERE ItemCode = ?",
        item_code,
    )
    return {row["WarehouseCode"]: Decimal(str(row["QuantityOnHand"])) for row in rows}


def test_salesforce_product_shows_the_quantity_on_hand_of_all_warehouses(
    make_pair, salesforce, sage100, sage100_sandbox
):
    pair = make_pair(salesforce, sage100, FLOW)
    crm = connector_for(salesforce)
    [product] = crm.search("Product2", ProductCode="WIDGET-100")
    poll_now(pair, FLOW)

    set_stock_in_sage(sage100_sandbox, "WIDGET-100", "000", 321)
    poll_now(pair, FLOW)
    stock = stock_of(sage100_sandbox, "WIDGET-100")
    assert stock["000"] == 321
    shown = crm.get("Product2", product["Id"])
    assert shown["Quantity_On_Hand__c"] == sum(stock.values())
    run = SyncRun.objects.get(pair=pair)
    assert run.status == SyncRun.Status.SUCCEEDED, run.error_message
    assert run.summary.startswith(f"WIDGET-100: {sum(stock.values())} on hand; 1 Salesforce")


def test_only_the_warehouses_the_option_names_count(
    make_pair, salesforce, sage100, sage100_sandbox
):
    pair = make_pair(salesforce, sage100, FLOW, warehouses=["000"])
    poll_now(pair, FLOW)
    set_stock_in_sage(sage100_sandbox, "WIDGET-100", "000", 40)
    poll_now(pair, FLOW)
    [product] = connector_for(salesforce).search("Product2", ProductCode="WIDGET-100")
    assert product["Quantity_On_Hand__c"] == 40


def test_streak_deals_left_short_get_a_stock_alert(make_pair, streak, sage100, sage100_sandbox):
    pair = make_pair(streak, sage100, FLOW)
    crm = connector_for(streak)
    box = next(b for b in crm.boxes("Proposal") if b["fieldsByName"]["Products"])
    sku, asked, _ = (
        box["fieldsByName"]["Products"].splitlines()[0].replace(" @ ", " x ").split(" x ")
    )
    won = [b for b in crm.boxes("Closed-Won") if f"{sku} x" in b["fieldsByName"]["Products"]]
    poll_now(pair, FLOW)

    for warehouse in stock_of(sage100_sandbox, sku):
        set_stock_in_sage(sage100_sandbox, sku, warehouse, 0)
    poll_now(pair, FLOW)
    alerts = [m for m in comments_on(streak, box["key"]) if m.startswith("Stock alert")]
    assert alerts == [
        f"Stock alert: this deal asks for {asked} of {sku}, but Sage 100 has 0 on hand "
        f"({asked} short)."
    ]
    assert won and all(
        not any(m.startswith("Stock alert") for m in comments_on(streak, b["key"])) for b in won
    )

    time.sleep(1.1)  # Sage stamps changes to the second
    set_stock_in_sage(sage100_sandbox, sku, "000", 10_000)  # plenty again: no new alert
    assert poll_now(pair, FLOW).runs == 1  # the change was read and looked at
    assert "short" not in crm.get("Box", box["key"])["fieldsByName"]["Sage Stock"]
    alerts = [m for m in comments_on(streak, box["key"]) if m.startswith("Stock alert")]
    assert len(alerts) == 1
