"""Calls per won deal for the kinds beyond Streak → Sage 100 (that one:
test_deal_won_to_sales_order_calls.py): Streak → Sage Accounting invoice, counted exactly so a
regression fails. Products by item code, ledger accounts by nominal code and bound customers
(read for their tax rate) are kept per connection a few minutes (connectors/sage50/kept.py);
a product Sage does not know is asked again every time. The credit check, which would read
the customer's balance, is off unless its task event is ticked."""

from collections import Counter
from decimal import Decimal

import pytest

from connectors.services import connector_for
from flows.models import SyncRun
from flows.services import retry_run
from sandbox.streak import data as streak_data
from tests import won_deals as shared

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("runs_inline")]


@pytest.fixture
def invoice_pair(streak_sandbox, sage_accounting_sandbox):
    crm = shared.streak_connection(streak_sandbox, streak_data.SERVICES)
    erp = shared.sage50_connection(sage_accounting_sandbox)
    return shared.make_pair("Streak Sage Accounting", crm, erp, "deal_won_to_invoice")


@pytest.fixture
def calls(monkeypatch, streak_sandbox, sage_accounting_sandbox) -> Counter:
    """Every API request the Streak and Sage Accounting sandboxes answer, by method, path
    shape and the Sage resource a search names."""
    return shared.count_api_calls(monkeypatch, (streak_sandbox, sage_accounting_sandbox))


def deliver(client, pair, token, box: dict) -> SyncRun:
    assert shared.deliver_streak(client, pair, token, box).status_code == 200
    run = SyncRun.objects.get(pair=pair, entity_key=box["key"])
    assert run.status == SyncRun.Status.SUCCEEDED, run.error_message
    return run


def test_a_won_deal_invoiced_to_a_customer_already_linked_reads_no_customer_product_or_ledger_again(
    client, streak_sandbox, invoice_pair, calls
):
    pair, token = invoice_pair
    first = deliver(client, pair, token, shared.won_clone(streak_sandbox, "SRV-2001", "INV-1"))
    box = shared.won_twice_as_big(streak_sandbox, "SRV-2001", "INV-2")  # the same company
    calls.clear()
    second = deliver(client, pair, token, box)
    assert second.references["sage_customer"] == first.references["sage_customer"]
    assert dict(calls) == {
        "streak GET /api/v1/boxes": 1,  # the deal re-read: the webhook is only a hint
        # no look-up by the deal's reference: on the step's first try no earlier try can
        # have made the invoice (a retry looks: the next test)
        "sage_accounting POST /v3.1/sales_invoices": 1,
        "streak POST /api/v1/boxes": 1,  # the invoice number written back
        "streak POST /api/v2/boxes": 1,  # the comment: a box field update carries none
    }


def test_a_product_added_in_sage_after_a_run_missed_it_is_found_by_the_retry(
    client, streak_sandbox, invoice_pair
):
    pair, token = invoice_pair
    shared.without_anomaly_checks(pair)
    deliver(client, pair, token, shared.won_clone(streak_sandbox, "SRV-2001", "INV-3"))
    box = shared.won_clone(streak_sandbox, "SRV-2001", "INV-4")
    stored = streak_sandbox.app.store.get("boxes", box["key"])
    fields = stored["fields"]
    fields[streak_data.FIELD_PRODUCTS] += "\nNEW-KIT x 1 @ 10.00"  # not in Sage yet
    fields[streak_data.FIELD_AMOUNT] = f"{Decimal(fields[streak_data.FIELD_AMOUNT]) + 10:.2f}"
    streak_sandbox.app.store.put("boxes", box["key"], stored)
    box = shared.raw_box(streak_sandbox, box["key"])
    assert shared.deliver_streak(client, pair, token, box).status_code == 200
    run = SyncRun.objects.get(pair=pair, entity_key=box["key"])
    assert run.status == SyncRun.Status.FAILED and "NEW-KIT" in run.error_message
    sage = connector_for(pair.erp)
    sage.create_item("NEW-KIT", "New kit", Decimal("10.00"), "", "clerk-adds-new-kit")
    run = retry_run(run)
    run.refresh_from_db()
    assert run.status == SyncRun.Status.SUCCEEDED, run.error_message
    invoice = sage.get("sales_invoices", run.references["sage_invoice_id"])
    assert "NEW-KIT" in [line["description"] for line in invoice["invoice_lines"]]


def test_an_invoice_whose_reply_was_lost_is_found_by_the_retry_not_made_twice(
    client, streak_sandbox, sage_accounting_sandbox, invoice_pair, calls
):
    pair, token = invoice_pair
    deliver(client, pair, token, shared.won_clone(streak_sandbox, "SRV-2001", "INV-5"))
    box = shared.won_twice_as_big(streak_sandbox, "SRV-2001", "INV-6")  # customer bound
    shared.set_faults(sage_accounting_sandbox, commit_then_fail_rate=1.0)
    assert shared.deliver_streak(client, pair, token, box).status_code == 200
    run = SyncRun.objects.get(pair=pair, entity_key=box["key"])
    assert run.status == SyncRun.Status.RETRY_SCHEDULED, run.error_message
    sage = connector_for(pair.erp)
    [made] = sage.search("sales_invoices", reference="INV-6")
    shared.set_faults(sage_accounting_sandbox, commit_then_fail_rate=0.0)
    calls.clear()
    run = retry_run(run)
    run.refresh_from_db()
    assert run.status == SyncRun.Status.SUCCEEDED, run.error_message
    assert run.references["sage_invoice_id"] == made["id"]
    assert run.steps.get(name="sales_invoice", attempt=run.attempt).output["how"] == (
        "found (made by an earlier attempt)"
    )
    assert calls["sage_accounting GET /v3.1/sales_invoices"] == 1
    assert "sage_accounting POST /v3.1/sales_invoices" not in calls
    assert len(sage.search("sales_invoices", reference="INV-6")) == 1
