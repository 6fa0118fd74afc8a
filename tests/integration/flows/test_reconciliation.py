"""Reconciliation against the live sandboxes (Streak → Sage 100): deals won through real runs
match, their orders' tax notwithstanding; an order's total or a line's quantity changed in
Sage behind the product's back, a payment Sage holds that the deal does not show, a won deal
whose run failed, and an order number cleared in Streak are each listed and repaired; the
nightly check alerts once on new differences; the page's CSV, the API and who may repair.
"""

import csv
import io
from contextlib import closing
from decimal import Decimal

import pyodbc
import pytest
from auditlog.models import LogEntry
from django.utils.timezone import localdate

from connectors.services import connector_for
from flows.models import FlowConfig, SyncRun
from flows.reconciliation import (
    AMOUNT_DIFFERS,
    LINES_DIFFER,
    MISSING_IN_SAGE,
    NUMBER_NOT_WRITTEN_BACK,
    PAYMENT_DIFFERS,
    SAGE_WITHOUT_DEAL,
    nightly,
    reconcile,
)
from monitoring.alerts.evaluation import evaluate
from monitoring.models import AlertIncident, AlertRule
from sandbox.streak.data import FIELD_SAGE_ORDER_NO
from tests import won_deals as shared
from tests.integration.flows.polling import set_status_in_sage
from tests.integration.flows.test_payments_to_crm import receive_in_sage100

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("runs_inline")]
TODAY = localdate()
ORDER_FIELD = "Sage Order No"


def sage100_sql(sandbox, sql: str, *params) -> None:
    """Change Sage 100's tables as a person in Sage would, behind the product's back."""
    with closing(pyodbc.connect(sandbox.app.odbc_connection_string, autocommit=True)) as db:
        db.execute(sql, *params)


def sage100_rows(sandbox, sql: str, *params) -> list[tuple]:
    with closing(pyodbc.connect(sandbox.app.odbc_connection_string, autocommit=True)) as db:
        return [tuple(row) for row in db.execute(sql, *params).fetchall()]


def page(client, pair, query: str = "") -> str:
    reply = client.get(f"/pairs/{pair.slug}/reconciliation/?since={TODAY.isoformat()}{query}")
    assert reply.status_code == 200
    return reply.content.decode()


@pytest.fixture
def won(client, streak_sandbox, sage100_pair):
    """SAL-1005 and SAL-1029 won through real runs."""
    pair, token = sage100_pair
    for deal_id in ("SAL-1005", "SAL-1029"):
        _, run = shared.win_box(client, streak_sandbox, pair, token, deal_id)
        run.refresh_from_db()
        assert run.status == SyncRun.Status.SUCCEEDED, run.error_message
    return pair, token


def test_deals_won_through_runs_match_sage(won):
    pair, _ = won

    result = reconcile(pair, TODAY)

    assert result.differences == [], result.differences
    assert result.won_deals == 2
    assert result.summary == f"2 won deals since {TODAY:%d %b %Y}, all matching Sage."


def test_orders_with_tax_match_from_the_first_check_on(won, sage100_sandbox):
    pair, _ = won
    taxes = sage100_rows(
        sage100_sandbox,
        "SELECT SalesTaxAmt FROM SO_SalesOrderHeader WHERE UDF_DEAL_ID IN (?, ?)",
        "SAL-1005", "SAL-1029",
    )  # fmt: skip
    assert len(taxes) == 2 and any(Decimal(str(tax)) > 0 for (tax,) in taxes), taxes

    first = reconcile(pair, TODAY)

    assert first.differences == [] and first.looked_closely == 2
    assert [d for d in reconcile(pair, TODAY).differences if d.problem == AMOUNT_DIFFERS] == []


def test_a_line_quantity_changed_in_sage_is_named_by_its_item(won, client, users, sage100_sandbox):
    pair, _ = won
    [(order_no,)] = sage100_rows(
        sage100_sandbox, "SELECT SalesOrderNo FROM SO_SalesOrderHeader WHERE UDF_DEAL_ID = ?",
        "SAL-1029",
    )  # fmt: skip
    item, quantity, line_key = sage100_rows(
        sage100_sandbox,
        "SELECT ItemCode, QuantityOrdered, LineKey FROM SO_SalesOrderDetail "
        "WHERE SalesOrderNo = ? ORDER BY LineKey",
        order_no,
    )[0]
    quantity = Decimal(str(quantity)).normalize()
    sage100_sql(
        sage100_sandbox,
        "UPDATE SO_SalesOrderDetail SET QuantityOrdered = ? WHERE SalesOrderNo = ? AND LineKey = ?",
        float(quantity + 3), order_no, line_key,
    )  # fmt: skip

    [difference] = reconcile(pair, TODAY).differences

    assert (difference.problem, difference.sage_id) == (LINES_DIFFER, order_no)
    assert difference.label.startswith("SAL-1029") and difference.actions == ("review",)
    said = f"{item.strip()}: {quantity:f} in the deal, {quantity + 3:f} in Sage"
    assert difference.found == said
    client.force_login(users["viewer"])
    html = page(client, pair, f"&problem={LINES_DIFFER}")
    assert "Lines differ" in html and said in html


def test_a_payment_the_deal_does_not_show_is_flagged_and_written_to_the_crm(
    won, client, users, streak_sandbox, sage100_sandbox
):
    pair, _ = won
    [(order_no, total)] = sage100_rows(
        sage100_sandbox,
        "SELECT SalesOrderNo, TaxableAmt + NonTaxableAmt + SalesTaxAmt + FreightAmt - DiscountAmt "
        "FROM SO_SalesOrderHeader WHERE UDF_DEAL_ID = ?",
        "SAL-1029",
    )  # fmt: skip
    set_status_in_sage(sage100_sandbox, order_no, "C")  # invoiced in Sage, nothing paid yet
    assert reconcile(pair, TODAY).differences == []
    [(invoice_no, division, customer_no)] = sage100_rows(
        sage100_sandbox,
        "SELECT InvoiceNo, ARDivisionNo, CustomerNo FROM AR_InvoiceHistoryHeader "
        "WHERE SalesOrderNo = ?",
        order_no,
    )  # fmt: skip
    receive_in_sage100(
        sage100_sandbox,
        {"InvoiceNo": invoice_no, "ARDivisionNo": division, "CustomerNo": customer_no},
        "25.00", "CHK-REC1",
    )  # fmt: skip
    still_open = str((Decimal(str(total)) - Decimal("25.00")).quantize(Decimal("0.01")))

    [difference] = reconcile(pair, TODAY).differences

    assert (difference.problem, difference.sage_id) == (PAYMENT_DIFFERS, order_no)
    assert (difference.expected, difference.found) == (still_open, "empty")
    assert difference.actions == ("write_payment", "review")
    client.force_login(users["operator"])
    reply = client.post(
        f"/api/v1/pairs/{pair.slug}/reconciliation/repair/",
        {"crm_id": difference.crm_id, "action": "write_payment", "since": TODAY.isoformat()},
        content_type="application/json",
    )
    assert reply.status_code == 200, reply.content
    box = shared.raw_box(streak_sandbox, shared.seeded_box_key("SAL-1029"))
    assert still_open in box["fields"].values()
    assert reconcile(pair, TODAY).differences == []
    assert LogEntry.objects.filter(
        additional_data__action="payment written to the CRM from reconciliation",
        actor=users["operator"],
    ).exists()


def test_a_total_changed_in_sage_is_flagged_and_marked_reviewed_with_an_audited_note(
    won, client, users, sage100_sandbox
):
    pair, _ = won
    assert reconcile(pair, TODAY).differences == []  # the totals Sage holds now are noted
    sage100_sql(
        sage100_sandbox,
        "UPDATE SO_SalesOrderHeader SET FreightAmt = FreightAmt + 100 WHERE UDF_DEAL_ID = ?",
        "SAL-1029",
    )

    [difference] = reconcile(pair, TODAY).differences
    assert difference.problem == AMOUNT_DIFFERS and difference.label.startswith("SAL-1029")
    assert Decimal(difference.found) - Decimal(difference.expected) == Decimal("100.00")
    assert difference.actions == ("review",)
    client.force_login(users["operator"])
    assert "Amount differs" in page(client, pair)
    reply = client.post(
        f"/pairs/{pair.slug}/reconciliation/",
        {"since": TODAY.isoformat(), "crm_id": difference.crm_id, "action": "review",
         "note": "Freight added by phone, agreed with the customer"},
    )  # fmt: skip
    assert reply.status_code == 302

    [reviewed] = reconcile(pair, TODAY).differences
    assert (
        reviewed.reviewed
        == "reviewed by operator: Freight added by phone, agreed with the customer"
    )
    entry = LogEntry.objects.get(additional_data__action="reviewed from reconciliation")
    assert (
        entry.actor == users["operator"]
        and "Freight added by phone" in entry.additional_data["detail"]
    )
    client.force_login(users["admin"])
    audit = client.get("/audit/?user=operator").content.decode()
    assert "Reviewed from reconciliation" in audit and "Freight added by phone" in audit


def test_a_won_deal_whose_run_failed_is_missing_and_a_replay_makes_its_order(
    won, client, users, streak_sandbox, sage
):
    pair, token = won
    _, run = shared.win_box(client, streak_sandbox, pair, token, "SAL-1008")  # sells WIDGET-999
    run.refresh_from_db()
    assert run.status == SyncRun.Status.FAILED
    [missing] = reconcile(pair, TODAY).differences
    assert (missing.problem, missing.crm_id, missing.sage_id) == (
        MISSING_IN_SAGE,
        run.entity_key,
        "",
    )
    config = FlowConfig.objects.get(pair=pair, flow="deal_won_to_sales_order")
    config.options = {**config.options, "unknown_item_policy": "skip_line"}  # the cause fixed
    config.save()
    shared.eur_rate(pair)
    client.force_login(users["operator"])

    reply = client.post(
        f"/api/v1/pairs/{pair.slug}/reconciliation/repair/",
        {"crm_id": run.entity_key, "action": "replay", "since": TODAY.isoformat()},
        content_type="application/json",
    )

    assert reply.status_code == 200, reply.content
    replayed = SyncRun.objects.filter(pair=pair, entity_key=run.entity_key).latest("pk")
    assert replayed.status == SyncRun.Status.SUCCEEDED, replayed.error_message
    assert len(shared.orders_for(sage, "SAL-1008")) == 1
    assert [d for d in reconcile(pair, TODAY).differences if d.problem == MISSING_IN_SAGE] == []
    assert LogEntry.objects.filter(
        additional_data__action="replayed from reconciliation", actor=users["operator"]
    ).exists()


def test_a_number_cleared_in_the_crm_is_written_back_by_the_repair(
    won, client, users, streak_sandbox
):
    pair, _ = won
    key = shared.seeded_box_key("SAL-1005")
    number = shared.raw_box(streak_sandbox, key)["fields"][FIELD_SAGE_ORDER_NO]
    connector_for(pair.crm).write_deal(key, {ORDER_FIELD: ""}, "test-clear-number")
    [difference] = reconcile(pair, TODAY).differences
    assert (difference.problem, difference.expected, difference.found) == (
        NUMBER_NOT_WRITTEN_BACK,
        number,
        "empty",
    )
    client.force_login(users["operator"])

    client.post(
        f"/pairs/{pair.slug}/reconciliation/",
        {"since": TODAY.isoformat(), "crm_id": key, "action": "write_back"},
    )

    assert shared.raw_box(streak_sandbox, key)["fields"][FIELD_SAGE_ORDER_NO] == number
    assert reconcile(pair, TODAY).differences == []
    assert LogEntry.objects.filter(
        additional_data__action="number written back from reconciliation", actor=users["operator"]
    ).exists()


def test_the_nightly_check_alerts_once_on_new_differences(won, sage100_sandbox):
    pair, _ = won
    rule = AlertRule.objects.create(name="Reconciliation", kind=AlertRule.Kind.RECONCILIATION)
    nightly()  # the totals Sage holds now are noted: nothing new
    evaluate()
    assert not AlertIncident.objects.filter(rule=rule).exists()
    sage100_sql(sage100_sandbox, "UPDATE SO_SalesOrderHeader SET FreightAmt = FreightAmt + 5")

    nightly()
    evaluate()
    nightly()
    evaluate()

    [alert] = AlertIncident.objects.filter(rule=rule)
    assert alert.subject == f"2 new differences on {pair.name}: 2 amount differs"
    assert alert.url == f"/pairs/{pair.slug}/reconciliation/"


def test_csv_api_and_who_may_repair(won, client, users, make_user, sage100_sandbox):
    pair, _ = won
    reconcile(pair, TODAY)
    sage100_sql(
        sage100_sandbox,
        "UPDATE SO_SalesOrderHeader SET UDF_DEAL_ID = ? WHERE UDF_DEAL_ID = ?",
        "=HYPERLINK(1)", "SAL-1029",
    )  # fmt: skip
    client.force_login(users["viewer"])

    html = page(client, pair)
    rows = list(csv.reader(io.StringIO(
        client.get(f"/pairs/{pair.slug}/reconciliation/?since={TODAY.isoformat()}"
                   f"&problem={SAGE_WITHOUT_DEAL}&format=csv").content.decode()
    )))  # fmt: skip
    api = client.get(f"/api/v1/pairs/{pair.slug}/reconciliation/?since={TODAY.isoformat()}")
    bad = client.get(f"/api/v1/pairs/{pair.slug}/reconciliation/?since=yesterday")
    refused = client.post(
        f"/api/v1/pairs/{pair.slug}/reconciliation/repair/",
        {"sage_id": "x", "action": "review", "note": "n"}, content_type="application/json",
    )  # fmt: skip

    assert "In Sage without a deal" in html and "Missing in Sage" in html
    assert 'data-action="' not in html  # a viewer sees no repair buttons
    assert rows[0][:4] == ["problem", "crm_id", "deal", "sage_id"]
    [stray] = rows[1:]
    assert stray[0] == SAGE_WITHOUT_DEAL and stray[2] == "'=HYPERLINK(1)"
    assert api.status_code == 200
    assert {(item["problem"], item["sage_id"] != "") for item in api.json()} == {
        (SAGE_WITHOUT_DEAL, True),
        (MISSING_IN_SAGE, False),
    }
    assert all({"crm_id", "sage_id", "problem"} <= item.keys() for item in api.json())
    assert bad.status_code == 400 and "since" in bad.json()
    assert refused.status_code == 403
    assert (
        client.post(f"/pairs/{pair.slug}/reconciliation/", {"action": "review"}).status_code == 403
    )
    client.force_login(make_user("nobody"))
    assert client.get(f"/pairs/{pair.slug}/reconciliation/").status_code == 403
    assert client.get(f"/api/v1/pairs/{pair.slug}/reconciliation/").status_code == 403
