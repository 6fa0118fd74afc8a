"""Payments → CRM against the live sandboxes: a cash receipt entered in Sage 100 or a
payment recorded in Sage Accounting shows as a note on the deal it paid for."""

from datetime import date

import pytest
import requests

from connectors.services import connector_for
from flows.models import ExternalLink, SyncRun
from sandbox.sage_accounting import data as sage_data
from sandbox.sage_accounting.shapes import seed_id
from tests.integration.flows.polling import (
    comments_on,
    first_box,
    link_order,
    open_orders,
    poll_now,
    sage100_rows,
    set_status_in_sage,
)

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("runs_inline")]

FLOW = "payments_to_crm"


def invoiced_order(sandbox, order_no: str) -> dict:
    """Complete the order on the Sage 100 page; the invoice it made, with its customer."""
    set_status_in_sage(sandbox, order_no, "C")
    [invoice] = sage100_rows(
        sandbox,
        "SELECT InvoiceNo, ARDivisionNo, CustomerNo FROM AR_InvoiceHistoryHeader "
        "WHERE SalesOrderNo = ?",
        order_no,
    )
    return invoice


def receive_in_sage100(sandbox, invoice: dict, amount: str, check_no: str) -> None:
    """Enter a cash receipt on the Sage 100 page, as the bookkeeper does."""
    reply = requests.post(
        f"{sandbox.url}/cash-receipts",
        data={**invoice, "Amount": amount, "CheckNo": check_no},
        timeout=10,
    )
    assert "error=" not in reply.url, reply.url


def test_a_sage100_cash_receipt_is_a_comment_on_the_streak_deal(
    make_pair, streak, sage100, sage100_sandbox
):
    pair = make_pair(streak, sage100, FLOW)
    order_no = open_orders(sage100_sandbox)[0]
    box = first_box(streak)
    link_order(pair, box["key"], order_no)
    invoice = invoiced_order(sage100_sandbox, order_no)
    poll_now(pair, FLOW)

    receive_in_sage100(sage100_sandbox, invoice, "25.00", "CHK-881")
    poll_now(pair, FLOW)
    today = date.today().isoformat()
    assert (
        f"Payment of 25.00 USD received on {today} (ref CHK-881) for invoice "
        f"{invoice['InvoiceNo']}."
    ) in comments_on(streak, box["key"])
    run = SyncRun.objects.get(pair=pair)
    assert run.status == SyncRun.Status.SUCCEEDED, run.error_message
    assert run.references == {"deal": box["key"]}


def test_a_sage100_cash_receipt_is_noted_on_the_salesforce_opportunity(
    make_pair, salesforce, sage100, sage100_sandbox
):
    pair = make_pair(salesforce, sage100, FLOW)
    crm = connector_for(salesforce)
    [opportunity] = crm.search("Opportunity", ExternalID__c="CRM-OPP-0005")
    order = connector_for(sage100).create(
        "sales_order",
        {"ARDivisionNo": "00", "CustomerNo": "MORRISON", "UDF_DEAL_ID": "CRM-OPP-0005",
         "lines": [{"ItemCode": "WIDGET-100", "QuantityOrdered": 1}]},
        "test-order-payment",
    )  # fmt: skip
    invoice = invoiced_order(sage100_sandbox, order["SalesOrderNo"])
    poll_now(pair, FLOW)

    receive_in_sage100(sage100_sandbox, invoice, "10.00", "WIRE-7")
    poll_now(pair, FLOW)
    [task] = crm.search("Task", WhatId=opportunity["Id"])  # a completed task, dated today
    said = f"Payment of 10.00 USD received on {date.today().isoformat()} (ref WIRE-7)"
    assert (task["Subject"], task["Status"]) == (said, "Completed")
    assert task["Description"].startswith(f"{said} for invoice ")
    assert ExternalLink.objects.filter(  # found through the order: bound for next time
        pair=pair, entity="sales_order", sage_id=order["SalesOrderNo"], crm_id=opportunity["Id"]
    ).exists()


def test_a_payment_recorded_in_sage_accounting_is_a_comment_on_the_streak_deal(
    make_pair, streak, sage50, sage_accounting_sandbox
):
    pair = make_pair(streak, sage50, FLOW)
    box = first_box(streak)
    invoice = connector_for(sage50).create(  # what the won-deal invoice flow creates
        "sales_invoices",
        {"contact_id": seed_id("contact", "Harbor Point Logistics"), "date": "2026-11-20",
         "reference": "SAL-TEST-1", "invoice_lines": [{
             "description": "Steel Bracket", "ledger_account_id": sage_data.ledger_account_id(4000),
             "quantity": 3, "unit_price": "19.99", "tax_rate_id": sage_data.tax_rate_id("no_tax"),
         }]},
        "test-invoice-payment",
    )  # fmt: skip
    ExternalLink.objects.create(
        pair=pair, entity="invoice", crm_id=box["key"], sage_id=invoice["id"]
    )
    poll_now(pair, FLOW)

    reply = requests.post(  # the bookkeeper records the payment on the invoice's page
        f"{sage_accounting_sandbox.url}/invoices/{invoice['id']}/payments",
        data={"amount": "30.00", "date": "2026-11-22", "reference": "BACS 4471"},
        timeout=10,
    )
    assert "recorded=" in reply.url, reply.text[:500]
    poll_now(pair, FLOW)
    assert (
        f"Payment of 30.00 USD received on 2026-11-22 (ref BACS 4471) for invoice "
        f"{invoice['invoice_number']}."
    ) in comments_on(streak, box["key"])


def test_a_payment_for_no_deal_we_know_writes_nothing_and_leaves_no_run_in_the_list(
    make_pair, streak, sage100, sage100_sandbox
):
    pair = make_pair(streak, sage100, FLOW)
    invoice = invoiced_order(sage100_sandbox, open_orders(sage100_sandbox)[0])
    poll_now(pair, FLOW)
    receive_in_sage100(sage100_sandbox, invoice, "5.00", "CHK-1")
    polled = poll_now(pair, FLOW)
    assert (polled.stored, polled.runs) == (1, 1)  # the receipt was read and looked at
    poll_now(pair, FLOW)
    assert not SyncRun.objects.filter(pair=pair).exists()  # it found no deal: not kept
