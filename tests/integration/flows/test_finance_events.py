"""Finance events against the live sandboxes (Streak's webhook, Sage 100 through its agent,
runs inline): a won deal's sales order invoiced straight away, an invoice nobody pays found
by the unpaid-invoice scan, and a customer over its credit limit.

SAL-1005 is a won deal of a seeded Sage 100 customer."""

import sqlite3
from datetime import date, timedelta
from decimal import Decimal

import pytest

from flows.models import ExternalLink, FlowConfig, SyncRun
from flows.polling import poll_config
from flows.services import retry_run
from tests import won_deals as shared
from tests.integration.flows.polling import sage100_rows
from tests.integration.flows.test_back_to_back import comments, set_options
from tests.integration.flows.test_follow_up_tasks import box_tasks

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("runs_inline")]
DEAL = "SAL-1005"


def invoices_of_order(sandbox, order_no: str) -> list[dict]:
    return sage100_rows(sandbox, "SELECT * FROM SO_InvoiceHeader WHERE SalesOrderNo = ?", order_no)


def invoice_lines(sandbox, invoice_no: str) -> list[tuple]:
    rows = sage100_rows(
        sandbox,
        "SELECT ItemCode, QuantityShipped, UnitPrice FROM SO_InvoiceDetail WHERE InvoiceNo = ? "
        "ORDER BY LineKey",
        invoice_no,
    )
    return [(r["ItemCode"], Decimal(str(r["QuantityShipped"])), Decimal(str(r["UnitPrice"])))
            for r in rows]  # fmt: skip


def order_lines(sandbox, order_no: str) -> list[tuple]:
    rows = sage100_rows(
        sandbox,
        "SELECT ItemCode, QuantityOrdered, UnitPrice FROM SO_SalesOrderDetail "
        "WHERE SalesOrderNo = ? ORDER BY LineKey",
        order_no,
    )
    return [(r["ItemCode"], Decimal(str(r["QuantityOrdered"])), Decimal(str(r["UnitPrice"])))
            for r in rows]  # fmt: skip


def in_sage100(sandbox, sql: str, *params) -> None:
    """A change a Sage 100 user makes (through its own screens) to the company's tables."""
    with sqlite3.connect(sandbox.app.db_path) as db:
        db.execute(sql, params)


# ---------------------------------------------------------------- invoice after the order


def test_a_won_deal_s_sales_order_is_invoiced_once_with_its_lines_even_when_replies_are_lost(
    client, streak_sandbox, sage100_sandbox, sage100_pair, streak_crm, sage
):
    pair, token = sage100_pair
    set_options(pair, "deal_won_to_sales_order", invoice_after_order=True)
    shared.set_faults(sage100_sandbox, commit_then_fail_rate=1.0)  # every Sage reply lost
    key, run = shared.win_box(client, streak_sandbox, pair, token, DEAL)
    for _ in range(5):
        run.refresh_from_db()
        if run.steps.filter(name="invoice_after_order", status="failed").exists():
            break
        retry_run(run)
    run.refresh_from_db()
    assert run.steps.filter(name="invoice_after_order", status="failed").exists()
    shared.set_faults(sage100_sandbox)
    retry_run(run)
    run.refresh_from_db()
    assert run.status == SyncRun.Status.SUCCEEDED, run.error_message

    [order] = shared.orders_for(sage, DEAL)
    order_no = order["SalesOrderNo"]
    [invoice] = invoices_of_order(sage100_sandbox, order_no)  # one, though a reply was lost
    number = invoice["InvoiceNo"]
    assert (invoice["ARDivisionNo"], invoice["CustomerNo"], invoice["UDF_DEAL_ID"]) == (
        order["ARDivisionNo"], order["CustomerNo"], DEAL
    )  # fmt: skip
    assert invoice_lines(sage100_sandbox, number) == order_lines(sage100_sandbox, order_no)
    box = streak_crm.get("Box", key)
    assert box["fieldsByName"]["Sage Invoice ID"] == number
    assert box["fieldsByName"]["Sage Order No"] == order_no
    notes = [m for m in comments(streak_crm, key) if "made from sales order" in m]
    assert notes == [f"Sage 100 invoice {number} made from sales order {order_no}."]
    assert ExternalLink.objects.get(pair=pair, entity="invoice", crm_id=key).sage_id == number
    assert run.references["sage_invoice_number"] == number


def test_with_the_option_off_the_order_is_not_invoiced(
    client, streak_sandbox, sage100_sandbox, sage100_pair, sage
):
    pair, token = sage100_pair
    _, run = shared.win_box(client, streak_sandbox, pair, token, DEAL)
    run.refresh_from_db()
    assert run.status == SyncRun.Status.SUCCEEDED, run.error_message
    [order] = shared.orders_for(sage, DEAL)
    assert invoices_of_order(sage100_sandbox, order["SalesOrderNo"]) == []
    assert not ExternalLink.objects.filter(pair=pair, entity="invoice").exists()


# ---------------------------------------------------------------- unpaid invoices


def test_an_invoice_nobody_paid_past_its_due_date_gives_one_task_on_the_first_scan_only(
    client, streak_sandbox, sage100_sandbox, sage100_pair, streak_crm
):
    pair, token = sage100_pair
    set_options(pair, "deal_won_to_sales_order", invoice_after_order=True)
    FlowConfig.objects.filter(pair=pair, flow="payments_to_crm").update(
        enabled=True, trigger=FlowConfig.Trigger.POLL
    )
    key, run = shared.win_box(client, streak_sandbox, pair, token, DEAL)
    run.refresh_from_db()
    assert run.status == SyncRun.Status.SUCCEEDED, run.error_message
    number = ExternalLink.objects.get(pair=pair, entity="invoice", crm_id=key).sage_id
    sage100_sandbox.app.backend.post_invoice(number)  # Sage posts it: its balance opens

    due = date.today() - timedelta(days=10)
    in_sage100(sage100_sandbox, "UPDATE AR_OpenInvoice SET InvoiceDueDate = ? WHERE InvoiceNo = ?",
               due.isoformat(), number)  # fmt: skip
    config = FlowConfig.objects.get(pair=pair, flow="payments_to_crm")
    poll_config(config.pk)  # the flow's poll scans the bound invoices after its feed
    [task] = box_tasks(streak_sandbox, key)
    assert task["text"].startswith("Call ")
    assert f"invoice {number} is 10 days overdue" in task["text"]
    assert "is still open. Ask when it will be paid." in task["text"]
    fields = streak_crm.get("Box", key)["fieldsByName"]
    assert fields["Sage Aging"] == "1-30"
    scan = SyncRun.objects.filter(pair=pair, flow_config__flow="payments_to_crm").latest("pk")
    assert scan.status == SyncRun.Status.SUCCEEDED, scan.error_message
    assert scan.summary.startswith(f"Invoice {number} is overdue;")

    poll_config(config.pk)  # the same day: scanned already
    scans = SyncRun.objects.filter(pair=pair, entity_key=f"unpaid:{number}")
    assert scans.count() == 1
    assert len(box_tasks(streak_sandbox, key)) == 1


# ---------------------------------------------------------------- credit limit


def limited_customer_wins_again(client, streak_sandbox, sage100_sandbox, pair, token, limit):
    """SAL-1005 won (its customer made in Sage 100), the customer's credit limit set to
    `limit` in Sage, then a second deal of the same customer won: its box key and run."""
    shared.without_anomaly_checks(pair)  # the second deal is a copy of the first on purpose
    _, first = shared.win_box(client, streak_sandbox, pair, token, DEAL)
    customer = first.steps.get(name="customer").output["customer_ref"]
    division, _, number = customer.partition("-")
    in_sage100(sage100_sandbox, "UPDATE AR_Customer SET CreditLimit = ? "
               "WHERE ARDivisionNo = ? AND CustomerNo = ?", limit, division, number)  # fmt: skip
    box = shared.won_clone(streak_sandbox, DEAL, "SAL-CREDIT-1")
    assert shared.deliver_streak(client, pair, token, box).status_code == 200
    run = SyncRun.objects.get(pair=pair, entity_key=box["key"])
    return box["key"], run


def test_a_customer_over_its_credit_limit_gets_a_note_and_a_task_and_the_order_is_made(
    client, streak_sandbox, sage100_sandbox, sage100_pair, streak_crm, sage
):
    pair, token = sage100_pair
    events = ["approval_rejected", "credit_limit_exceeded"]
    set_options(pair, "deal_won_to_sales_order", task_events=events)
    key, run = limited_customer_wins_again(
        client, streak_sandbox, sage100_sandbox, pair, token, 100
    )
    assert run.status == SyncRun.Status.SUCCEEDED, run.error_message
    assert shared.orders_for(sage, "SAL-CREDIT-1")  # the run went on
    [note] = [m for m in comments(streak_crm, key) if m.startswith("Credit limit exceeded")]
    assert "over its credit limit of 100.00 USD" in note, note
    [task] = box_tasks(streak_sandbox, key)
    assert "over the credit limit with this deal" in task["text"]
    check = run.steps.get(name="credit_check").output
    assert Decimal(check["exceeded_by"]) == (
        Decimal(check["balance"]) + Decimal(check["deal"]) - Decimal(100)
    )


def test_a_customer_within_its_limit_gets_no_credit_note(
    client, streak_sandbox, sage100_sandbox, sage100_pair, streak_crm
):
    pair, token = sage100_pair
    set_options(pair, "deal_won_to_sales_order", task_events=["credit_limit_exceeded"])
    key, run = limited_customer_wins_again(
        client, streak_sandbox, sage100_sandbox, pair, token, 99999999
    )
    assert run.status == SyncRun.Status.SUCCEEDED, run.error_message
    assert not any(m.startswith("Credit limit") for m in comments(streak_crm, key))
    assert box_tasks(streak_sandbox, key) == []
