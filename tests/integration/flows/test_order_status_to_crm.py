"""Order status → CRM against the live sandboxes: a status changed on the Sage 100 page shows
on the Streak box or the Salesforce opportunity the order came from, once per change: on
Salesforce in the Sage order status field and as a completed task."""

import time

import pytest

from connectors.services import connector_for
from flows.models import ExternalLink, InboundEvent, SyncRun
from tests.integration.flows import polling as shared
from tests.integration.flows.polling import (
    comments_on,
    first_box,
    link_order,
    open_orders,
    poll_now,
    set_status_in_sage,
)

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("runs_inline")]

FLOW = "order_status_to_crm"


def status_notes(messages: list[str], order_no: str) -> list[str]:
    return [m for m in messages if m.startswith(f"Sage 100 order {order_no} is ")]


def tasks_on(crm, record_id: str) -> list[str]:
    """The Salesforce record's activity as a person reads it: each note's comments (notes
    are completed tasks; a follow-up task to call the customer is still open)."""
    tasks = crm.search("Task", WhatId=record_id)
    return [task["Description"] for task in tasks if task["Status"] == "Completed"]


def follow_ups_on(crm, record_id: str) -> list[str]:
    return [task["Subject"] for task in crm.search("Task", WhatId=record_id, Status="Not Started")]


def create_order_for_deal(sage100, deal_id: str) -> str:
    """A sales order as the won-deal flow creates it, marked with the deal's ID."""
    order = connector_for(sage100).create(
        "sales_order",
        {"ARDivisionNo": "00", "CustomerNo": "MORRISON", "UDF_DEAL_ID": deal_id,
         "lines": [{"ItemCode": "WIDGET-100", "QuantityOrdered": 2}]},
        f"test-order-{deal_id}",
    )  # fmt: skip
    return order["SalesOrderNo"]


def test_streak_box_shows_hold_then_completion_with_the_invoice_number(
    make_pair, streak, sage100, sage100_sandbox
):
    pair = make_pair(streak, sage100, FLOW)
    order_no = open_orders(sage100_sandbox)[0]
    box = first_box(streak)
    link_order(pair, box["key"], order_no)
    poll_now(pair, FLOW)

    set_status_in_sage(sage100_sandbox, order_no, "H")
    poll_now(pair, FLOW)
    notes = status_notes(comments_on(streak, box["key"]), order_no)
    assert len(notes) == 1 and notes[0].startswith(f"Sage 100 order {order_no} is on hold (as of")
    shown = connector_for(streak).get("Box", box["key"])["fieldsByName"]
    assert shown["Sage Order No"] == order_no

    poll_now(pair, FLOW)  # nothing changed in Sage: nothing more on the box
    assert len(status_notes(comments_on(streak, box["key"]), order_no)) == 1

    set_status_in_sage(sage100_sandbox, order_no, "C")
    poll_now(pair, FLOW)
    [invoice] = shared.sage100_rows(
        sage100_sandbox,
        "SELECT InvoiceNo FROM AR_InvoiceHistoryHeader WHERE SalesOrderNo = ?",
        order_no,
    )
    notes = status_notes(comments_on(streak, box["key"]), order_no)
    assert notes[-1].startswith(
        f"Sage 100 order {order_no} is completed (shipped and invoiced), "
        f"invoice {invoice['InvoiceNo']}"
    )
    shown = connector_for(streak).get("Box", box["key"])["fieldsByName"]
    assert shown["Sage Invoice ID"] == invoice["InvoiceNo"]
    runs = SyncRun.objects.filter(pair=pair).order_by("pk")
    assert [run.status for run in runs] == [SyncRun.Status.SUCCEEDED] * 2
    assert runs.last().references == {"status": "completed", "deal": box["key"]}


def test_a_cancelled_order_moves_the_box_to_the_stage_the_option_names(
    make_pair, streak, sage100, sage100_sandbox
):
    pair = make_pair(streak, sage100, FLOW, status_stages={"deleted": "Closed-Lost"})
    order_no = open_orders(sage100_sandbox)[0]
    box = first_box(streak, "Closed-Won")
    link_order(pair, box["key"], order_no)
    poll_now(pair, FLOW)
    set_status_in_sage(sage100_sandbox, order_no, "X")
    poll_now(pair, FLOW)
    moved = connector_for(streak).get("Box", box["key"])
    assert moved["stageName"] == "Closed-Lost"
    assert status_notes(comments_on(streak, box["key"]), order_no)[0].startswith(
        f"Sage 100 order {order_no} is cancelled (deleted in Sage 100)"
    )


def test_salesforce_opportunity_found_by_the_deal_id_on_the_order(
    make_pair, salesforce, sage100, sage100_sandbox
):
    pair = make_pair(salesforce, sage100, FLOW, status_stages={"deleted": "Closed Lost"})
    crm = connector_for(salesforce)
    [opportunity] = crm.search("Opportunity", ExternalID__c="CRM-OPP-0003")
    order_no = create_order_for_deal(sage100, "CRM-OPP-0003")
    poll_now(pair, FLOW)  # the new order is read; being new, it is not told again

    time.sleep(1.1)  # Sage stamps changes to the second: two in one second look like one
    set_status_in_sage(sage100_sandbox, order_no, "H")
    poll_now(pair, FLOW)
    shown = crm.get("Opportunity", opportunity["Id"])
    assert (shown["Sage_Order_No__c"], shown["Sage_Order_Status__c"]) == (order_no, "On Hold")
    [note] = tasks_on(crm, opportunity["Id"])  # nothing said of the order being new
    assert note.startswith(f"Sage 100 order {order_no} is on hold (as of")
    [follow_up] = follow_ups_on(crm, opportunity["Id"])
    assert follow_up == f"Call the customer: order {order_no} is on hold in Sage 100"
    link = ExternalLink.objects.get(pair=pair, entity="sales_order", sage_id=order_no)
    assert link.crm_id == opportunity["Id"]
    assert link.last_synced_version == shown["SystemModstamp"]  # our write, for pollers

    set_status_in_sage(sage100_sandbox, order_no, "X")
    poll_now(pair, FLOW)
    shown = crm.get("Opportunity", opportunity["Id"])
    assert (shown["StageName"], shown["Sage_Order_Status__c"]) == ("Closed Lost", "Cancelled")
    notes = tasks_on(crm, opportunity["Id"])
    assert len(notes) == 2 and any(f"order {order_no} is cancelled" in note for note in notes)


def test_orders_that_came_from_no_deal_we_know_start_no_run(
    make_pair, streak, sage100, sage100_sandbox
):
    pair = make_pair(streak, sage100, FLOW)
    order_no = open_orders(sage100_sandbox)[3]
    poll_now(pair, FLOW)
    set_status_in_sage(sage100_sandbox, order_no, "H")
    result = poll_now(pair, FLOW)
    assert result.stored == 1 and result.runs == 0
    event = InboundEvent.objects.get(pair=pair)
    assert event.status == InboundEvent.Status.IGNORED
    assert event.entity_key == f"sales_order:{order_no}"
    assert not SyncRun.objects.filter(pair=pair).exists()
