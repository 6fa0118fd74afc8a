"""Won deal → Sage 100 order with as few calls as it takes, keeping every guarantee: the
pipeline read once and again when it changed, Streak's comments read only when the note may
be there already, no order looked up before the create (the bridge finds it), and items
known to Sage remembered while an unknown one is always asked again.

A deal's organization and contact are kept for 5 minutes, forgotten when Streak's webhook
says they changed (tests/integration/flows/test_won_deal_parties_kept.py). The pipeline is
kept for 15 minutes (read again sooner when a box or a mapping names a field
it lacks), and the bindings runs make are not audited (people's rebinds and unbinds are).

Shared helpers: `tests/won_deals.py`; the deals run inline against the live sandboxes."""

import sqlite3
import time
from collections import Counter

import pytest
from auditlog.models import LogEntry
from django.contrib.contenttypes.models import ContentType

from connectors.sage100.client import OdbcReader
from connectors.streak import connector as streak_connector
from flows.models import ExternalLink, SyncRun
from flows.services import retry_run
from flows.steps import MAP_DEAL
from sandbox.streak import data as streak_data
from tests import won_deals as shared

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("runs_inline")]


@pytest.fixture
def calls(monkeypatch, streak_sandbox, sage100_sandbox) -> Counter:
    """Every API request the Streak and Sage 100 sandboxes answer, and every ODBC query or
    catalog read, counted by kind."""
    counted = shared.count_api_calls(monkeypatch, (streak_sandbox, sage100_sandbox))
    for method in ("rows", "one", "scalar", "columns"):
        original = getattr(OdbcReader, method)

        def querying(self, *args, original=original, **kwargs):
            counted["odbc"] += 1
            return original(self, *args, **kwargs)

        monkeypatch.setattr(OdbcReader, method, querying)
    return counted


def deliver(client, pair, token, box: dict) -> SyncRun:
    assert shared.deliver_streak(client, pair, token, box).status_code == 200
    return SyncRun.objects.get(pair=pair, entity_key=box["key"])


def test_a_won_deal_of_a_customer_already_linked_costs_four_calls(
    client, streak_sandbox, sage100_pair, sage, calls
):
    pair, token = sage100_pair
    first_box = shared.won_clone(streak_sandbox, "SAL-1005", "C-1")
    first = shared.succeeded(deliver(client, pair, token, first_box))
    box = shared.won_twice_as_big(streak_sandbox, "SAL-1005", "CALLS-2")  # the same company
    calls.clear()
    second = shared.succeeded(deliver(client, pair, token, box))
    assert second.references["sage_customer"] == first.references["sage_customer"]
    assert dict(calls) == {
        "streak GET /api/v1/boxes": 1,  # the deal re-read: the webhook is only a hint
        "sage100 POST /v1/sales-orders": 1,  # organization and contact kept from the first
        "streak POST /api/v1/boxes": 1,  # the order number written back
        "streak POST /api/v2/boxes": 1,  # the comment: a box field update carries none
    }
    assert len(shared.orders_for(sage, "CALLS-2")) == 1


def test_a_field_renamed_in_streak_after_the_pipeline_was_read_still_gets_the_number(
    client, monkeypatch, streak_sandbox, sage100_pair, streak_crm, sage
):
    pair, token = sage100_pair
    [order_field] = [
        field
        for field in streak_data.SALES["fields"]
        if field["key"] == streak_data.FIELD_SAGE_ORDER_NO
    ]
    monkeypatch.setitem(order_field, "name", "Order No (Sage)")
    assert streak_crm.pipeline().find_field("Sage Order No") is None  # read and kept like this
    order_field["name"] = "Sage Order No"  # an admin renames the field in Streak
    key, run = shared.win_box(client, streak_sandbox, pair, token, "SAL-1005")
    shared.succeeded(run)
    [order] = shared.orders_for(sage, "SAL-1005")
    box = shared.raw_box(streak_sandbox, key)
    assert box["fields"][streak_data.FIELD_SAGE_ORDER_NO] == order["SalesOrderNo"]


def test_a_retried_write_back_does_not_post_the_comment_twice(
    client, monkeypatch, streak_sandbox, sage100_pair, streak_crm
):
    pair, token = sage100_pair
    app, dispatch = streak_sandbox.app, streak_sandbox.app.dispatch

    def comment_reply_lost(request):
        response = dispatch(request)
        if request.method == "POST" and request.path.endswith("/comments"):
            return app.fault_body("commit_then_fail", 500)  # posted, but the reply is lost
        return response

    monkeypatch.setattr(app, "dispatch", comment_reply_lost)
    key, run = shared.win_box(client, streak_sandbox, pair, token, "SAL-1029")
    run.refresh_from_db()
    assert run.status == SyncRun.Status.RETRY_SCHEDULED
    monkeypatch.setattr(app, "dispatch", dispatch)
    run = shared.succeeded(retry_run(run))
    number = run.references["sage_order_no"]
    notes = [
        comment["message"]
        for comment in streak_crm.search("Comment", box_key=key)
        if f"Sage 100 sales order {number} created" in comment["message"]
    ]
    assert len(notes) == 1


def test_an_order_an_earlier_attempt_made_is_returned_by_the_create_not_made_again(
    client, streak_sandbox, sage100_pair, streak_crm, sage
):
    pair, token = sage100_pair
    made_before = sage.create(
        "sales_order",
        {"ARDivisionNo": "00", "CustomerNo": "MORRISON", "UDF_DEAL_ID": "SAL-1005",
         "lines": [{"ItemCode": "WIDGET-100", "QuantityOrdered": 1}]},
        "an-attempt-whose-reply-was-lost",
    )  # fmt: skip
    key, run = shared.win_box(client, streak_sandbox, pair, token, "SAL-1005")
    shared.succeeded(run)
    step = run.steps.get(name="sales_order", status="succeeded")
    assert step.output["how"] == "found (made by an earlier attempt)"
    [order] = shared.orders_for(sage, "SAL-1005")
    assert order["SalesOrderNo"] == made_before["SalesOrderNo"] == run.references["sage_order_no"]
    assert streak_crm.get("Box", key)["fieldsByName"]["Sage Order No"] == order["SalesOrderNo"]


def test_an_item_created_in_sage_after_the_run_failed_passes_on_retry(
    client, streak_sandbox, sage100_sandbox, sage100_pair, sage
):
    pair, token = sage100_pair
    shared.eur_rate(pair)
    _, run = shared.win_box(client, streak_sandbox, pair, token, "SAL-1008")  # sells WIDGET-999
    run.refresh_from_db()
    assert run.status == SyncRun.Status.FAILED and "WIDGET-999" in run.error_message
    create_item_like(sage100_sandbox, "WIDGET-100", "WIDGET-999")  # the operator adds it in Sage
    shared.succeeded(retry_run(run))
    [order] = shared.orders_for(sage, "SAL-1008")
    assert "WIDGET-999" in [line["ItemCode"] for line in order["lines"]]


def create_item_like(sage100_sandbox, model: str, code: str) -> None:
    """Add item `code` to Sage 100, stocked where `model` is, as a clerk would."""
    with sqlite3.connect(sage100_sandbox.app.db_path) as db:
        for table in ("CI_Item", "IM_ItemWarehouse"):
            columns = [row[1] for row in db.execute(f"PRAGMA table_info({table})")]
            listed = ", ".join(columns)
            values = ", ".join("?" if name == "ItemCode" else name for name in columns)
            db.execute(
                f"INSERT INTO {table} ({listed}) SELECT {values} FROM {table} WHERE ItemCode = ?",
                (code, model),
            )


def test_a_won_deal_ten_minutes_after_the_pipeline_was_read_reads_it_no_more(
    client, monkeypatch, streak_sandbox, sage100_pair, calls
):
    pair, token = sage100_pair
    shared.succeeded(
        deliver(client, pair, token, shared.won_clone(streak_sandbox, "SAL-1005", "TTL-1"))
    )
    later = time.monotonic() + 600
    monkeypatch.setattr(streak_connector.time, "monotonic", lambda: later)
    box = shared.won_twice_as_big(streak_sandbox, "SAL-1005", "TTL-2")
    calls.clear()
    shared.succeeded(deliver(client, pair, token, box))
    assert calls["streak GET /api/v1/pipelines"] == 0
    assert sum(count for kind, count in calls.items() if kind.startswith("streak")) == 5


def test_a_mapped_field_renamed_in_streak_after_the_pipeline_was_read_is_read_by_its_new_name(
    client, monkeypatch, streak_sandbox, sage100_pair, streak_crm
):
    pair, token = sage100_pair
    [terms_field] = [
        field
        for field in streak_data.SALES["fields"]
        if field["key"] == streak_data.FIELD_PAYMENT_TERMS
    ]
    monkeypatch.setitem(terms_field, "name", "Terms")
    assert streak_crm.pipeline().find_field("Payment Terms") is None  # read and kept like this
    terms_field["name"] = "Payment Terms"  # an admin renames the field in Streak
    key, run = shared.win_box(client, streak_sandbox, pair, token, "SAL-1005")
    shared.succeeded(run)
    terms = streak_crm.get("Box", key)["fieldsByName"]["Payment Terms"]
    assert terms and run.steps.get(name=MAP_DEAL).output["document"]["terms"] == terms


def test_runs_that_bind_customers_and_orders_leave_the_audit_log_to_people(
    client, streak_sandbox, sage100_pair
):
    pair, token = sage100_pair
    shared.succeeded(
        deliver(client, pair, token, shared.won_clone(streak_sandbox, "SAL-1005", "AUD-1"))
    )
    bigger = shared.won_twice_as_big(streak_sandbox, "SAL-1005", "AUD-2")  # the same company
    shared.succeeded(deliver(client, pair, token, bigger))
    assert ExternalLink.objects.filter(pair=pair).count() == 3  # one customer, two orders
    bindings = ContentType.objects.get_for_model(ExternalLink)
    assert not LogEntry.objects.filter(content_type=bindings).exists()
