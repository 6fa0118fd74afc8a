"""Won deals → Sage 50 US desktop sales orders, and Salesforce → Sage 50 desktop invoices and
orders, end to end: Streak's box or Salesforce's Outbound Message delivered to our webhook
endpoint, the run executed inline, the document read back from the Sage 50 company over ODBC
(JrnlHdr / JrnlRow) and the number read back from the CRM record.

Shared helpers: `tests/won_deals.py`."""

from decimal import Decimal

import pytest

from connectors.models import Connection, IntegrationPair
from connectors.sage50desktop.customers import fitted_reference
from connectors.services import connector_for
from flows.models import InboundEvent, SyncRun
from sandbox.sage50desktop.ledger import SALES_JOURNAL, SALES_ORDER_JOURNAL
from sandbox.streak import data as streak_data
from tests import won_deals as shared

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("runs_inline")]

LABEL = "Sage 50 (US desktop)"
ORDER_FLOW, INVOICE_FLOW = "deal_won_to_sales_order", "deal_won_to_invoice"


def orders_for(sandbox, deal_id: str) -> list[dict]:
    return shared.sage50desktop_documents(sandbox, SALES_ORDER_JOURNAL, deal_id)


def invoices_for(sandbox, deal_id: str) -> list[dict]:
    return shared.sage50desktop_documents(sandbox, SALES_JOURNAL, deal_id)


def item_stock(sandbox) -> dict[str, Decimal]:
    rows = shared.sage50desktop_rows(sandbox, "SELECT ItemID, QuantityOnHand FROM LineItem")
    return {row["ItemID"]: Decimal(row["QuantityOnHand"]) for row in rows}


# ---------------------------------------------------------------- Streak → Sage 50 order


@pytest.fixture
def order_pair(streak_sandbox, sage50desktop) -> tuple[IntegrationPair, str]:
    crm = shared.streak_connection(streak_sandbox, streak_data.WHOLESALE)
    return shared.make_pair("Streak Wholesale Sage 50 orders", crm, sage50desktop, ORDER_FLOW)


def test_a_won_wholesale_box_becomes_one_sage50_sales_order_with_its_number_on_the_box(
    client, streak_sandbox, sage50desktop_sandbox, order_pair
):
    pair, token = order_pair
    streak = connector_for(pair.crm)
    [company] = shared.sage50desktop_rows(sage50desktop_sandbox, "SELECT * FROM Company")
    stock_before = item_stock(sage50desktop_sandbox)
    key, run = shared.win_box(client, streak_sandbox, pair, token, "WHL-3001")
    run.refresh_from_db()
    assert run.status == SyncRun.Status.SUCCEEDED, run.error_message

    [order] = orders_for(sage50desktop_sandbox, "WHL-3001")
    number = order["Reference"]
    assert number == f"SO-{company['NextSalesOrderNumber']}"  # Sage's next order number
    box = streak.get("Box", key)
    assert box["fieldsByName"]["Sage Order No"] == number
    assert not box["fieldsByName"]["Sage Invoice ID"]
    assert [line[:4] for line in order["lines"]] == [
        (code, quantity, price, quantity * price) for code, quantity, price in shared.products(box)
    ]  # each line tied to its item (ItemRecordNumber → ItemID)
    assert order["MainAmount"] == Decimal("2530.50")
    organization = streak.get("Organization", box["organizations"][0]["key"])
    assert order["Customer_Bill_Name"] == organization["name"]
    assert order["CustomField5"] == fitted_reference(organization["key"])
    assert [c["message"] for c in streak.search("Comment", box_key=key)] == [
        f"{LABEL} sales order {number} created for {organization['name']} "
        f"({order['CustomerID']}): 2530.50 USD."
    ]
    assert not invoices_for(sage50desktop_sandbox, "WHL-3001")
    assert item_stock(sage50desktop_sandbox) == stock_before  # an order moves no stock

    redelivered = shared.raw_box(streak_sandbox, key)  # the box as Streak reports it now
    for _ in range(2):
        assert shared.deliver_streak(client, pair, token, redelivered).status_code == 200
    assert InboundEvent.objects.filter(pair=pair).count() == 2  # the repeat is the same event
    assert len(orders_for(sage50desktop_sandbox, "WHL-3001")) == 1
    assert SyncRun.objects.filter(pair=pair, status=SyncRun.Status.SUCCEEDED).count() == 2


# ---------------------------------------------------------------- Salesforce → Sage 50


def salesforce_pair(salesforce: Connection, sage50desktop: Connection, flow: str) -> tuple:
    return shared.make_pair(f"Salesforce Sage 50 {flow}", salesforce, sage50desktop, flow)


def close_won(client, salesforce_sandbox, pair: IntegrationPair, token: str) -> dict:
    """Win an open USD opportunity in Salesforce and deliver the Outbound Message Salesforce
    sends for it (twice: it resends until it sees our Ack); returns the opportunity."""
    salesforce = connector_for(pair.crm)
    opportunity = shared.open_usd_opportunity(salesforce)
    salesforce.update("Opportunity", opportunity["Id"], {"StageName": "Closed Won"}, "won")
    outbound = salesforce_sandbox.app.outbound
    [message] = [m for m in outbound.messages() if m["opportunity_id"] == opportunity["Id"]]
    body = outbound.envelope(message["id"], salesforce_sandbox.app.opportunity(opportunity["Id"]))
    for _ in range(2):
        reply = client.post(f"/hooks/{pair.slug}/{token}/", data=body, content_type="text/xml")
        assert reply.status_code == 200 and b"<Ack>true</Ack>" in reply.content
    return opportunity


def test_an_opportunity_closed_won_becomes_a_sage50_invoice_with_its_number_written_back(
    client, salesforce_sandbox, sage50desktop_sandbox, salesforce, sage50desktop
):
    pair, token = salesforce_pair(salesforce, sage50desktop, INVOICE_FLOW)
    opportunity = close_won(client, salesforce_sandbox, pair, token)
    run = SyncRun.objects.get(pair=pair)
    assert run.status == SyncRun.Status.SUCCEEDED, run.error_message
    deal_id = opportunity["ExternalID__c"] or opportunity["Id"]
    [invoice] = invoices_for(sage50desktop_sandbox, deal_id)
    written = connector_for(salesforce).get("Opportunity", opportunity["Id"])
    assert written["Sage_Invoice_No__c"] == invoice["Reference"]
    tasks = connector_for(salesforce).search("Task", WhatId=written["Id"])
    notes = [task["Subject"] for task in tasks]
    assert notes == [f"{LABEL} sales invoice {invoice['Reference']} created"]  # done tasks
    assert invoice["MainAmount"] == Decimal(str(opportunity["Amount"]))
    codes = [line["ProductCode"] for line in opportunity["OpportunityLineItems"]["records"]]
    assert [(item, account) for item, *_, account in invoice["lines"]] == [
        (code, "40000") for code in codes
    ]  # each line its item, on the account its product family looks up (4000 → 40000)
    assert invoice["CustomField5"] == written["AccountId"]  # 18 characters: fits as it is


def test_an_opportunity_closed_won_becomes_a_sage50_sales_order_with_its_number_written_back(
    client, salesforce_sandbox, sage50desktop_sandbox, salesforce, sage50desktop
):
    pair, token = salesforce_pair(salesforce, sage50desktop, ORDER_FLOW)
    opportunity = close_won(client, salesforce_sandbox, pair, token)
    run = SyncRun.objects.get(pair=pair)
    assert run.status == SyncRun.Status.SUCCEEDED, run.error_message
    deal_id = opportunity["ExternalID__c"] or opportunity["Id"]
    [order] = orders_for(sage50desktop_sandbox, deal_id)
    written = connector_for(salesforce).get("Opportunity", opportunity["Id"])
    assert written["Sage_Order_No__c"] == order["Reference"]
    tasks = connector_for(salesforce).search("Task", WhatId=written["Id"])
    notes = [task["Subject"] for task in tasks]
    assert notes == [f"{LABEL} sales order {order['Reference']} created"]  # done tasks
    assert order["MainAmount"] == Decimal(str(opportunity["Amount"]))
    assert not invoices_for(sage50desktop_sandbox, deal_id)
