"""Inventory → CRM from Sage 50 US desktop to Salesforce, end to end: the first poll of Sage
50's stock only takes its snapshot (Sage 50 keeps no change times); an adjustment entered on
the Sage 50 sandbox's stock page then reaches the Salesforce product at the next poll."""

from decimal import Decimal

import pytest
import requests

from connectors.services import connector_for
from flows.models import SyncRun
from tests import won_deals as shared
from tests.integration.flows.polling import poll_now

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("runs_inline")]

FLOW = "inventory_to_crm"
SKU = "WIDGET-100"


def adjust_stock(sandbox, item_id: str, on_hand: int) -> None:
    """Inventory Adjustments: count the item, as a Sage 50 user enters it."""
    reply = requests.post(
        f"{sandbox.url}/stock", data={"ItemID": item_id, "QuantityOnHand": on_hand}, timeout=10
    )
    assert "flash=" in reply.url, reply.url


def on_hand_in_sage(sandbox, item_id: str) -> Decimal:
    [item] = shared.sage50desktop_rows(
        sandbox, "SELECT QuantityOnHand FROM LineItem WHERE ItemID = ?", item_id
    )
    return Decimal(item["QuantityOnHand"])


def test_the_first_stock_poll_takes_the_snapshot_and_the_next_announces_the_adjusted_item(
    make_pair, salesforce, sage50desktop, sage50desktop_sandbox
):
    pair = make_pair(salesforce, sage50desktop, FLOW)
    crm = connector_for(salesforce)
    [product] = crm.search("Product2", ProductCode=SKU)
    shown_before = product["Quantity_On_Hand__c"]
    assert on_hand_in_sage(sage50desktop_sandbox, SKU) != shown_before  # differs already

    first = poll_now(pair, FLOW)

    assert (first.read, first.runs) == (0, 0)  # every item is in the snapshot, none a change
    assert crm.get("Product2", product["Id"])["Quantity_On_Hand__c"] == shown_before
    adjust_stock(sage50desktop_sandbox, SKU, 321)
    second = poll_now(pair, FLOW)

    assert (second.read, second.runs) == (1, 1)  # only the item adjusted
    assert SyncRun.objects.get(pair=pair).entity_key == f"stock:{SKU}"
    assert on_hand_in_sage(sage50desktop_sandbox, SKU) == 321


def test_an_adjustment_in_sage50_reaches_the_salesforce_products_quantity_on_hand(
    make_pair, salesforce, sage50desktop, sage50desktop_sandbox
):
    pair = make_pair(salesforce, sage50desktop, FLOW)
    crm = connector_for(salesforce)
    [product] = crm.search("Product2", ProductCode=SKU)
    poll_now(pair, FLOW)  # the snapshot
    adjust_stock(sage50desktop_sandbox, SKU, 321)
    poll_now(pair, FLOW)

    run = SyncRun.objects.get(pair=pair)
    assert run.status == SyncRun.Status.SUCCEEDED, run.error_message
    assert crm.get("Product2", product["Id"])["Quantity_On_Hand__c"] == 321
    assert run.summary.startswith(f"{SKU}: 321 on hand; 1 Salesforce")
    assert poll_now(pair, FLOW).runs == 0  # the same stock: no news
