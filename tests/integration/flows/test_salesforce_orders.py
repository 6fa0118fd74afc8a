"""Salesforce Orders start the won-deal flow like Closed Won opportunities, when the connection
says so (`won_deal_sources`): a sales rep presses Activate on an order and Sage 100 gets one
order with its products, numbered back on the Salesforce order and its opportunity; Sage's
status changes show on both. Polled by SystemModstamp, or pushed as an Outbound Message (the
sandbox sends one when an order is activated)."""

import time
from datetime import date
from decimal import Decimal

import pytest
from django.utils import timezone

from connectors.base import WebhookEvent
from connectors.salesforce.connector import SalesforceConnector
from connectors.services import connector_for
from flows.models import FlowConfig, InboundEvent, SyncRun, Watermark
from flows.polling import poll
from tests.integration.flows.polling import poll_now, set_status_in_sage
from tests.integration.sandbox.salesforce_client import control, https_session
from tests.won_deals import open_usd_opportunity, orders_for

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("runs_inline")]
FLOW = "deal_won_to_sales_order"


def set_sources(pair, sources: str) -> None:
    """The admin's choice on the Salesforce connection form: where won deals come from."""
    pair.crm.settings = {**pair.crm.settings, "won_deal_sources": sources}
    pair.crm.save()


def polling(pair) -> FlowConfig:
    """The won-deal flow polling, from now on (not the seed's changes)."""
    config = FlowConfig.objects.get(pair=pair, flow=FLOW)
    config.trigger = FlowConfig.Trigger.POLL
    config.save()
    now = timezone.now().isoformat()
    Watermark.objects.create(
        pair=pair, flow=FLOW, value={"feeds": {"Opportunity": now, "Order": now}}
    )
    return config


def activate(sandbox, order_id: str) -> None:
    """The Activate button on the order's page, as a sales rep presses it."""
    reply = https_session(sandbox).post(
        f"{sandbox.url}/orders/{order_id}/activate",
        data={"back": f"/orders/{order_id}"},
        timeout=10,
    )
    assert reply.status_code == 200 and "is activated" in reply.text, reply.text


def order_from(salesforce: SalesforceConnector, opportunity_id: str, po_number: str) -> str:
    """An order made from the opportunity: Draft, with the opportunity's products."""
    [opportunity] = salesforce.query(
        "SELECT AccountId, Pricebook2Id, (SELECT PricebookEntryId, Quantity, UnitPrice FROM "
        f"OpportunityLineItems) FROM Opportunity WHERE Id = '{opportunity_id}'"
    )
    order = salesforce.create("Order", {
        "AccountId": opportunity["AccountId"], "OpportunityId": opportunity_id,
        "Pricebook2Id": opportunity["Pricebook2Id"], "EffectiveDate": date.today().isoformat(),
        "Status": "Draft", "PoNumber": po_number,
    }, "test-order")  # fmt: skip
    for line in opportunity["OpportunityLineItems"]["records"]:
        item = {key: line[key] for key in ("PricebookEntryId", "Quantity", "UnitPrice")}
        salesforce.create("OrderItem", {"OrderId": order["Id"], **item}, "test-item")
    return order["Id"]


def draft_orders(salesforce: SalesforceConnector) -> list[dict]:
    """The seed's draft orders keyed in on accounts (no opportunity)."""
    soql = "SELECT Id FROM Order WHERE Status = 'Draft' AND OpportunityId = null"
    return list(salesforce.query(f"{soql} ORDER BY OrderNumber"))


def line_of(code: str, quantity: float, price: float) -> tuple[str, Decimal, Decimal]:
    return code, Decimal(str(quantity)), Decimal(str(price))


def items_of(salesforce: SalesforceConnector, order_id: str) -> list[tuple]:
    """The order's products as (code, quantity, unit price), as its page lists them."""
    soql = "SELECT Product2.ProductCode, Quantity, UnitPrice FROM OrderItem WHERE OrderId = "
    rows = salesforce.query(f"{soql}'{order_id}'")
    return sorted(
        line_of(row["Product2"]["ProductCode"], row["Quantity"], row["UnitPrice"]) for row in rows
    )


def task_subjects(salesforce: SalesforceConnector, record_id: str) -> list[str]:
    return [task["Subject"] for task in salesforce.search("Task", WhatId=record_id)]


def test_an_order_activated_on_its_page_is_polled_into_one_sage_order_numbered_on_both(
    salesforce_sandbox, salesforce_pair
):
    pair, _token = salesforce_pair
    set_sources(pair, "orders")
    config = polling(pair)
    salesforce, sage = connector_for(pair.crm), connector_for(pair.erp)
    opportunity = open_usd_opportunity(salesforce)
    order_id = order_from(salesforce, opportunity["Id"], "PO-5150")
    activate(salesforce_sandbox, order_id)

    first = poll(config)

    assert first.runs == 1
    run = SyncRun.objects.get(pair=pair)
    assert run.entity_key == order_id
    assert run.status == SyncRun.Status.SUCCEEDED, run.error_message
    [order] = orders_for(sage, order_id)  # the Order's Id marks the Sage order
    assert sorted(
        (line["ItemCode"], line["QuantityOrdered"], line["UnitPrice"]) for line in order["lines"]
    ) == items_of(salesforce, order_id)
    assert order["CustomerPONo"] == "PO-5150"
    number = order["SalesOrderNo"]
    assert salesforce.get("Order", order_id)["Sage_Order_No__c"] == number
    assert salesforce.get("Opportunity", opportunity["Id"])["Sage_Order_No__c"] == number
    assert task_subjects(salesforce, order_id) == [f"Sage 100 sales order {number} created"]

    again = poll(config)  # our write-back changed the order: read, no second run

    assert again.read >= 1 and again.runs == 0
    assert SyncRun.objects.filter(pair=pair).count() == 1
    assert len(orders_for(sage, order_id)) == 1


def test_with_opportunities_only_activated_orders_start_nothing_until_orders_are_chosen(
    salesforce_sandbox, salesforce_pair
):
    pair, _token = salesforce_pair  # won_deal_sources unset: opportunities
    config = polling(pair)
    salesforce, sage = connector_for(pair.crm), connector_for(pair.erp)
    earlier, later = draft_orders(salesforce)[:2]
    activate(salesforce_sandbox, earlier["Id"])

    assert poll(config).read == 0  # the Order feed is not even read
    set_sources(pair, "orders")
    assert poll(config).runs == 0  # activated before orders were chosen: left alone
    activate(salesforce_sandbox, later["Id"])
    assert poll(config).runs == 1

    run = SyncRun.objects.get(pair=pair)
    assert (run.entity_key, run.status) == (later["Id"], SyncRun.Status.SUCCEEDED)
    assert orders_for(sage, later["Id"]) and not orders_for(sage, earlier["Id"])


def test_with_both_an_order_whose_opportunity_is_won_is_left_to_the_opportunity(
    salesforce_sandbox, salesforce_pair
):
    pair, _token = salesforce_pair
    set_sources(pair, "both")
    config = polling(pair)
    salesforce, sage = connector_for(pair.crm), connector_for(pair.erp)
    [order] = [
        row
        for row in salesforce.query(
            "SELECT Id, OpportunityId, Opportunity.StageName FROM Order WHERE Status = 'Draft'"
        )
        if (row["Opportunity"] or {}).get("StageName") == "Closed Won"
    ][:1]
    activate(salesforce_sandbox, order["Id"])

    assert poll(config).runs == 1

    assert not orders_for(sage, order["Id"])
    poll(config)
    assert not SyncRun.objects.filter(pair=pair).exists()  # it wrote nothing: not kept


def outbound_message(order: dict, notification_id: str) -> bytes:
    """The SOAP notification an Order workflow rule's Outbound Message sends."""
    fields = "".join(
        f"<sf:{name}>{order[name]}</sf:{name}>"
        for name in ("Id", "AccountId", "OrderNumber", "Status", "TotalAmount", "EffectiveDate")
    )
    return (
        '<?xml version="1.0" encoding="UTF-8"?><soapenv:Envelope '
        'xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" '
        'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"><soapenv:Body>'
        '<notifications xmlns="http://soap.sforce.com/2005/09/outbound">'
        "<OrganizationId>00DDn00000SbXc1MAF</OrganizationId><ActionId>04kDn0000000ClXIAU"
        f"</ActionId><Notification><Id>{notification_id}</Id>"
        '<sObject xsi:type="sf:Order" xmlns:sf="urn:sobject.enterprise.soap.sforce.com">'
        f"{fields}</sObject></Notification></notifications></soapenv:Body></soapenv:Envelope>"
    ).encode()


def test_an_outbound_message_for_an_activated_order_makes_one_sage_order(client, salesforce_pair):
    pair, token = salesforce_pair
    set_sources(pair, "orders")
    salesforce, sage = connector_for(pair.crm), connector_for(pair.erp)
    order_id = draft_orders(salesforce)[0]["Id"]
    salesforce.update("Order", order_id, {"Status": "Activated"}, "test-activate")  # a Flow
    body = outbound_message(salesforce.get("Order", order_id), "04lDn0000000077IAA")

    for _ in range(2):  # Salesforce resends until it sees our Ack
        reply = client.post(f"/hooks/{pair.slug}/{token}/", data=body, content_type="text/xml")
        assert reply.status_code == 200 and b"<Ack>true</Ack>" in reply.content

    assert InboundEvent.objects.filter(pair=pair).count() == 1
    run = SyncRun.objects.get(pair=pair)
    assert run.status == SyncRun.Status.SUCCEEDED, run.error_message
    [order] = orders_for(sage, order_id)
    assert salesforce.get("Order", order_id)["Sage_Order_No__c"] == order["SalesOrderNo"]


def test_a_change_event_hints_at_an_order_only_when_its_status_changed():
    def event(fields: dict) -> WebhookEvent:
        return WebhookEvent("ChangeEvent:Order", "801Dn0000000009IAA", "cdc", {"fields": fields})

    assert SalesforceConnector.stage_hint(event({"Status": "Activated"})).stage == "Closed Won"
    assert SalesforceConnector.stage_hint(event({"Status": "Draft"})).stage == "Draft"
    assert SalesforceConnector.stage_hint(event({"PoNumber": "PO-1"})) is None


def test_sage_status_changes_show_on_the_order_and_its_opportunity(
    make_pair, salesforce, sage100, sage100_sandbox
):
    pair = make_pair(salesforce, sage100, "order_status_to_crm")
    crm = connector_for(salesforce)
    opportunity = open_usd_opportunity(crm)
    order_id = order_from(crm, opportunity["Id"], "PO-5151")
    order_no = connector_for(sage100).create(
        "sales_order",
        {"ARDivisionNo": "00", "CustomerNo": "MORRISON", "UDF_DEAL_ID": order_id,
         "lines": [{"ItemCode": "WIDGET-100", "QuantityOrdered": 2}]},
        "test-order-status",
    )["SalesOrderNo"]  # fmt: skip
    poll_now(pair, "order_status_to_crm")  # the new order is read; being new, it is not told

    time.sleep(1.1)  # Sage stamps changes to the second
    set_status_in_sage(sage100_sandbox, order_no, "H")
    poll_now(pair, "order_status_to_crm")

    shown = crm.get("Order", order_id)
    assert (shown["Sage_Order_No__c"], shown["Sage_Order_Status__c"]) == (order_no, "On Hold")
    assert crm.get("Opportunity", opportunity["Id"])["Sage_Order_Status__c"] == "On Hold"
    follow_up, note = sorted(task_subjects(crm, order_id))  # a task to call, and the note
    assert note.startswith(f"Sage 100 order {order_no} is on hold (as of ")
    assert follow_up.startswith("Call the customer") and order_no in follow_up
    assert task_subjects(crm, opportunity["Id"]) == []  # both are the order's


def test_an_order_reads_in_the_opportunitys_shape_with_its_bill_to_contact(salesforce):
    crm = connector_for(salesforce)
    order = crm.get("Order", draft_orders(crm)[0]["Id"])
    billing = crm.create("Contact", {
        "LastName": "Payables", "Email": "payables@billing.example",
        "AccountId": order["AccountId"],
    }, "test-contact")  # fmt: skip
    crm.update("Order", order["Id"], {"BillToContactId": billing["Id"]}, "test-bill-to")

    read = crm.read_deal(order["Id"], crm.won_stage)

    record = read.record
    assert (read.stage, read.won) == ("Draft", False)
    assert record["Contact"]["Email"] == "payables@billing.example"  # not the account's first
    assert record["CloseDate"] == record["EffectiveDate"]
    assert record["Amount"] == record["TotalAmount"] > 0
    lines = record["OpportunityLineItems"]["records"]
    shown = [line_of(line["ProductCode"], line["Quantity"], line["UnitPrice"]) for line in lines]
    assert sorted(shown) == items_of(crm, order["Id"])
    assert all(line["Name"] and line["Product2"]["Family"] for line in lines)
    crm.update("Order", order["Id"], {"Status": "Activated"}, "test-activate")
    activated = crm.read_deal(order["Id"], crm.won_stage)  # opportunities only: not won
    assert not activated.won and "opportunities" in activated.stage


def delivered(sandbox, record_id: str) -> list[dict]:
    """The Outbound Messages the sandbox has delivered about the record."""
    return [
        message
        for message in sandbox.app.outbound.messages()
        if message["record_id"] == record_id and message["status"] == "delivered"
    ]


@pytest.mark.django_db(transaction=True)
def test_an_order_activated_on_its_page_becomes_one_sage_order_through_its_outbound_message(
    settings, live_server, salesforce_sandbox, salesforce_pair
):
    """Nothing polled, no change events: the Order workflow rule's Outbound Message, posted
    by the sandbox to the pair's webhook URL, is all that starts the run."""
    pair, token = salesforce_pair
    set_sources(pair, "orders")
    settings.CLARITY_PUBLIC_URL = live_server.url
    control(salesforce_sandbox, "settings", {"outbound_url": pair.webhook_url(token)})
    salesforce, sage = connector_for(pair.crm), connector_for(pair.erp)
    order_id = draft_orders(salesforce)[0]["Id"]
    try:
        activate(salesforce_sandbox, order_id)

        deadline = time.monotonic() + 20
        while not delivered(salesforce_sandbox, order_id) and time.monotonic() < deadline:
            time.sleep(0.1)
    finally:
        control(salesforce_sandbox, "settings", {"outbound_url": ""})

    [message] = delivered(salesforce_sandbox, order_id)  # acknowledged at the first try
    assert (message["sobject"], message["attempts"]) == ("Order", 1)
    [event] = InboundEvent.objects.filter(pair=pair)
    assert (event.kind, event.entity_key) == ("OutboundMessage:Order", order_id)
    run = SyncRun.objects.get(pair=pair)
    assert run.status == SyncRun.Status.SUCCEEDED, run.error_message
    [order] = orders_for(sage, order_id)
    assert sorted(
        (line["ItemCode"], line["QuantityOrdered"], line["UnitPrice"]) for line in order["lines"]
    ) == items_of(salesforce, order_id)
    assert salesforce.get("Order", order_id)["Sage_Order_No__c"] == order["SalesOrderNo"]
    assert task_subjects(salesforce, order_id) == [
        f"Sage 100 sales order {order['SalesOrderNo']} created"
    ]
