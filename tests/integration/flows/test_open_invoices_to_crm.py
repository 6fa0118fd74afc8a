"""Open invoices and aging to the CRM, against the live sandboxes: a partial payment of an
invoice past its due date, polled from Sage 100 or Sage Accounting, writes the balance still
open and its aging to the Streak box and gives the box's owner one task to call the
customer, however many payments leave the invoice open."""

import re
from datetime import date, timedelta

import pytest
import requests
from django.urls import reverse

from connectors.models import Connection, IntegrationPair
from connectors.services import connector_for
from flows.models import ExternalLink, FlowConfig, SyncRun
from flows.steps.tasks import EVENT_WORDS, PAYMENT_OVERDUE
from sandbox.sage_accounting import data as sage_data
from sandbox.sage_accounting.shapes import seed_id
from tests.factories import IntegrationPairFactory
from tests.integration.flows.polling import first_box, poll_now, sage100_rows
from tests.integration.flows.test_follow_up_tasks import box_tasks, set_options
from tests.integration.flows.test_payments_to_crm import receive_in_sage100

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("runs_inline")]

FLOW = "payments_to_crm"


def box_fields(streak: Connection, key: str) -> dict:
    return connector_for(streak).get("Box", key)["fieldsByName"]


def overdue_sage100_invoice(sandbox, sage100: Connection, days_late: int) -> dict:
    """A service invoice of 1,250.00 to a Net 30 customer, dated so that it fell due
    `days_late` days ago, entered and posted in Sage 100; its number and customer."""
    [customer] = sage100_rows(
        sandbox,
        "SELECT ARDivisionNo, CustomerNo, CustomerName FROM AR_Customer "
        "WHERE CustomerStatus = 'A' AND TermsCode = '01' ORDER BY CustomerNo LIMIT 1",
    )
    invoice_date = date.today() - timedelta(days=30 + days_late)
    invoice = connector_for(sage100).create(
        "invoice",
        {"ARDivisionNo": customer["ARDivisionNo"], "CustomerNo": customer["CustomerNo"],
         "InvoiceDate": invoice_date.isoformat(), "UDF_DEAL_ID": "SRV-LATE-1",
         "lines": [{"ItemCode": "SERV-INSTALL", "QuantityOrdered": 1, "UnitPrice": 1250}]},
        "test-overdue-invoice",
    )  # fmt: skip
    sandbox.app.backend.post_invoice(invoice["InvoiceNo"])  # Sage posts it: balance opened
    return {
        "InvoiceNo": invoice["InvoiceNo"],
        "ARDivisionNo": customer["ARDivisionNo"],
        "CustomerNo": customer["CustomerNo"],
        "name": customer["CustomerName"],
    }


def bound_box(pair: IntegrationPair, streak: Connection, invoice_id: str) -> str:
    """A box the won-deal invoice flow invoiced: its key."""
    key = first_box(streak)["key"]
    ExternalLink.objects.create(pair=pair, entity="invoice", crm_id=key, sage_id=invoice_id)
    return key


def paid_in_sage100(sandbox, pair: IntegrationPair, invoice: dict, amount: str, ref: str) -> None:
    sale = {name: invoice[name] for name in ("InvoiceNo", "ARDivisionNo", "CustomerNo")}
    receive_in_sage100(sandbox, sale, amount, ref)
    poll_now(pair, FLOW)


def test_a_partial_payment_of_a_late_sage100_invoice_writes_balance_aging_and_one_task(
    make_pair, streak, streak_sandbox, sage100, sage100_sandbox
):
    pair = make_pair(streak, sage100, FLOW)
    invoice = overdue_sage100_invoice(sage100_sandbox, sage100, days_late=12)
    key = bound_box(pair, streak, invoice["InvoiceNo"])
    poll_now(pair, FLOW)

    paid_in_sage100(sage100_sandbox, pair, invoice, "250.00", "CHK-501")
    fields = box_fields(streak, key)
    assert (fields["Sage Open Balance"], fields["Sage Aging"]) == ("1000.00", "1-30")
    [task] = box_tasks(streak_sandbox, key)
    assert task["text"].startswith(
        f"Call {invoice['name']}: invoice {invoice['InvoiceNo']} is 12 days overdue, "
        "1,000.00 USD open in Sage 100.\n"
    )
    run = SyncRun.objects.filter(pair=pair).latest("pk")
    assert run.status == SyncRun.Status.SUCCEEDED, run.error_message
    assert run.summary == "Payment of 250.00 USD told on the deal; 1,000.00 USD still open (1-30)."

    paid_in_sage100(sage100_sandbox, pair, invoice, "100.00", "CHK-502")
    assert box_fields(streak, key)["Sage Open Balance"] == "900.00"
    assert len(box_tasks(streak_sandbox, key)) == 1  # one per invoice, not per payment
    poll_now(pair, FLOW)
    assert len(box_tasks(streak_sandbox, key)) == 1


def test_without_the_overdue_event_the_balance_is_written_and_no_task_made(
    make_pair, streak, streak_sandbox, sage100, sage100_sandbox
):
    pair = make_pair(streak, sage100, FLOW)
    set_options(pair, FLOW, task_events=[])
    invoice = overdue_sage100_invoice(sage100_sandbox, sage100, days_late=75)
    key = bound_box(pair, streak, invoice["InvoiceNo"])
    poll_now(pair, FLOW)

    paid_in_sage100(sage100_sandbox, pair, invoice, "1250.00", "CHK-601")  # paid in full
    fields = box_fields(streak, key)
    assert (fields["Sage Open Balance"], fields["Sage Aging"]) == ("0.00", "Current")
    assert box_tasks(streak_sandbox, key) == []


def test_a_partial_payment_of_a_late_sage_accounting_invoice_writes_balance_aging_and_a_task(
    make_pair, streak, streak_sandbox, sage50, sage_accounting_sandbox
):
    pair = make_pair(streak, sage50, FLOW)
    today = date.today()
    invoice = connector_for(sage50).create(
        "sales_invoices",
        {"contact_id": seed_id("contact", "Harbor Point Logistics"),
         "date": (today - timedelta(days=75)).isoformat(),
         "due_date": (today - timedelta(days=45)).isoformat(), "reference": "SAL-LATE-1",
         "invoice_lines": [{
             "description": "Steel Bracket", "ledger_account_id": sage_data.ledger_account_id(4000),
             "quantity": 10, "unit_price": "50.00", "tax_rate_id": sage_data.tax_rate_id("no_tax"),
         }]},
        "test-late-invoice",
    )  # fmt: skip
    key = bound_box(pair, streak, invoice["id"])
    poll_now(pair, FLOW)

    reply = requests.post(  # the bookkeeper records a part payment on the invoice's page
        f"{sage_accounting_sandbox.url}/invoices/{invoice['id']}/payments",
        data={"amount": "120.00", "date": today.isoformat(), "reference": "BACS 9001"},
        timeout=10,
    )
    assert "recorded=" in reply.url, reply.text[:500]
    poll_now(pair, FLOW)

    fields = box_fields(streak, key)
    assert (fields["Sage Open Balance"], fields["Sage Aging"]) == ("380.00", "31-60")
    [task] = box_tasks(streak_sandbox, key)
    erp = connector_for(sage50).label
    assert task["text"].startswith(
        f"Call Harbor Point Logistics: invoice {invoice['invoice_number']} is 45 days overdue, "
        f"380.00 USD open in {erp}.\n"
    )


def test_a_late_sage100_invoice_paid_in_part_shows_on_the_salesforce_opportunity(
    make_pair, salesforce, sage100, sage100_sandbox
):
    pair = make_pair(salesforce, sage100, FLOW)
    crm = connector_for(salesforce)
    [opportunity] = crm.search("Opportunity", ExternalID__c="CRM-OPP-0005")
    invoice = overdue_sage100_invoice(sage100_sandbox, sage100, days_late=95)
    ExternalLink.objects.create(
        pair=pair, entity="invoice", crm_id=opportunity["Id"], sage_id=invoice["InvoiceNo"]
    )
    poll_now(pair, FLOW)

    paid_in_sage100(sage100_sandbox, pair, invoice, "50.00", "WIRE-9")
    opportunity = crm.get("Opportunity", opportunity["Id"])
    assert (opportunity["Sage_Open_Balance__c"], opportunity["Sage_Aging__c"]) == (
        1200.0,
        "Over 90",
    )
    [task] = [
        task
        for task in crm.search("Task", WhatId=opportunity["Id"])
        if task["Subject"].startswith("Call ")
    ]
    assert task["Subject"] == (
        f"Call {invoice['name']}: invoice {invoice['InvoiceNo']} is 95 days overdue, "
        "1,200.00 USD open in Sage 100."
    )
    assert task["OwnerId"] == opportunity["OwnerId"] and task["Status"] == "Not Started"


def test_the_flows_page_offers_the_overdue_task_for_payments_ticked_by_default(client, users):
    pair = IntegrationPairFactory(name="Streak → Sage 100 payments")
    client.force_login(users["admin"])
    page = client.get(reverse("pair-flows", args=[pair.slug])).content.decode()
    config = FlowConfig.objects.get(pair=pair, flow=FLOW)
    _, _, section = page.partition(f'name="flow-{config.pk}-option_task_events"')
    assert section, "the payments flow offers no follow-up task events"
    tick = re.search(r'<input[^>]*value="payment_overdue"[^>]*>', page)
    assert tick and "checked" in tick.group(0)
    assert EVENT_WORDS[PAYMENT_OVERDUE] in page
