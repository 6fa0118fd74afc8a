"""Approvals that read like money: the waiting count in the navigation, approvers landing on
the queue, amounts and credit on the cards, a rejection as a decision and not a failure, the
approval as a step of the run, and processing times without the wait for a decision."""

import time
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from flows.models import Approval, ExternalLink, FlowConfig, RunStep, SyncRun
from monitoring.views.approvals import money, success_rate
from tests.conftest import PASSWORD
from tests.factories import IntegrationPairFactory
from tests.prometheus import parse

pytestmark = pytest.mark.django_db
Status = SyncRun.Status
ORG = "org-northstar"


@pytest.fixture
def pair():
    return IntegrationPairFactory(name="Streak → Sage 100")


@pytest.fixture
def make_run(pair):
    config = FlowConfig.objects.get(pair=pair, flow="deal_won_to_sales_order")

    def make(status: str, key: str, **fields: Any) -> SyncRun:
        return SyncRun.objects.create(
            flow_config=config, pair=pair, entity_key=key, status=status, **fields
        )

    return make


def step(run: SyncRun, attempt: int, name: str, status: str, **fields: Any) -> RunStep:
    return RunStep.objects.create(
        run=run, attempt=attempt, order=3 if name == "approval" else 2, name=name,
        status=status, started_at=timezone.now(), **fields,
    )  # fmt: skip


def waiting(make_run, key: str, amount: str = "12155.70", currency: str = "USD",
            base: str | None = None, customer: dict | None = None) -> Approval:  # fmt: skip
    """A run waiting for approval as the won-deal flow leaves it: the deal mapped, then asked."""
    run = make_run(Status.AWAITING_APPROVAL, key)
    document = {
        "crm_deal_id": f"SAL-{key}", "customer_name": "Northstar Aviation", "currency": currency,
        "lines": [{"sku": "KIT-319", "description": "Hangar kit", "quantity": "6",
                   "unit_price": "2025.95", "amount": "12155.70"}],
    }  # fmt: skip
    if customer is None:
        customer = {"name": "Northstar Aviation", "external_refs": {"crm": ORG}}
    step(run, 1, "map_deal", "succeeded", output={"customer": customer, "document": document})
    return Approval.objects.create(
        run=run, amount=Decimal(amount), currency=currency,
        base_amount=Decimal(base or amount), base_currency="USD", reason="Over the threshold",
    )  # fmt: skip


def test_amounts_read_as_finance_writes_them():
    # A no-break space keeps the currency with its number when a line wraps.
    assert money(Decimal("1234.5"), "USD") == "1,234.50\xa0USD"
    assert money("12155.7", "EUR") == "12,155.70\xa0EUR"
    assert money("-20", "USD") == "-20.00\xa0USD"
    assert money(0, "USD") == "0.00\xa0USD" and money("405.19") == "405.19"
    assert money(None, "USD") == "" and money("") == ""


def test_approvers_and_admins_see_what_waits_in_the_navigation(client, users, make_run):
    waiting(make_run, "1")
    waiting(make_run, "2")
    cancelled = waiting(make_run, "3")  # its run was cancelled: it waits for no one
    SyncRun.objects.filter(pk=cancelled.run_id).update(status=Status.CANCELLED)
    for role, shown in (("approver", "2"), ("admin", "2"), ("operator", None), ("viewer", None)):
        client.force_login(users[role])
        html = client.get(reverse("dashboard")).content.decode()
        if shown:
            assert f'data-nav-count title="2 waiting for a decision">{shown}</span>' in html, role
        else:
            assert "data-nav-count" not in html, role
    client.force_login(users["approver"])
    assert "Pending (2)" in client.get(reverse("approval-list")).content.decode()


def approval_counts(queries: CaptureQueriesContext) -> int:
    """How many times the waiting approvals were counted (`.count()`)."""
    return sum(
        1
        for query in queries.captured_queries
        if '"__count"' in query["sql"] and '"flows_approval"' in query["sql"]
    )


def test_the_count_is_one_query_per_page_and_none_for_partials(client, users, make_run):
    waiting(make_run, "1")
    client.force_login(users["approver"])
    with CaptureQueriesContext(connection) as queries:
        html = client.get(reverse("approval-list")).content.decode()
    assert "Pending (1)" in html and "data-nav-count" in html
    assert approval_counts(queries) == 1  # the tab and the badge share it
    with CaptureQueriesContext(connection) as queries:
        client.get(reverse("dashboard-cards"))  # polled every few seconds, no navigation
    assert approval_counts(queries) == 0


@pytest.mark.parametrize(
    ("role", "lands_on"),
    [("approver", "approval-list"), ("admin", "dashboard"), ("operator", "dashboard"),
     ("viewer", "dashboard")],
)  # fmt: skip
def test_signing_in_leads_approvers_to_the_queue(client, users, role, lands_on):
    reply = client.post(reverse("login"), {"username": role, "password": PASSWORD}, follow=True)
    assert reply.redirect_chain[-1][0] == reverse(lands_on)
    client.logout()
    reply = client.post(
        f"{reverse('login')}?next={reverse('run-list')}",
        {"username": role, "password": PASSWORD},
    )
    assert reply.url == reverse("run-list")  # a link followed before signing in still wins


def test_a_card_reads_as_money_with_the_deal_link_and_why_credit_is_missing(
    client, users, make_run, pair
):
    euros = waiting(make_run, "box-eur", amount="4408.74", currency="EUR", base="4761.44")
    unnamed = waiting(make_run, "box-anon", customer={"name": "Walk-in"})
    client.force_login(users["approver"])
    html = client.get(reverse("approval-list")).content.decode()
    assert "4,408.74\xa0EUR" in html and "4,761.44\xa0USD" in html
    assert "2,025.95" in html and "12,155.70" in html and "Unit price (EUR)" in html
    assert "SAL-box-eur · Northstar Aviation" in html
    base_url = pair.crm.settings["base_url"]
    assert (
        f'href="{base_url}/boxes/box-eur"' in html and f'href="{base_url}/boxes/box-anon"' in html
    )
    assert (
        "credit not available: Northstar Aviation is not linked to a Sage 100 customer yet; it "
        "is linked when its first won deal reaches Sage 100."
    ) in html
    assert "credit not available: the deal names no customer record in the CRM." in html
    assert euros.pk and unnamed.pk


@pytest.mark.django_db(transaction=True)  # the credit read's thread writes the connection's health
def test_credit_says_sage_is_unreachable_and_the_rest_of_the_card_stays(
    client, users, make_run, pair
):
    ExternalLink.objects.create(pair=pair, entity="customer", crm_id=ORG, sage_id="01-NORTH")
    ExternalLink.objects.create(pair=pair, entity="customer", crm_id="org-2", sage_id="01-TWO")
    missing_file = "DRIVER={SQLite3};Database=/no/such/dir/sage.db"
    pair.erp.settings = {**pair.erp.settings, "odbc_connection_string": missing_file,
                         "odbc_dialect": "sqlite"}  # fmt: skip
    pair.erp.save()
    waiting(make_run, "1")
    waiting(make_run, "2", customer={"name": "Other", "external_refs": {"crm": "org-2"}})
    client.force_login(users["approver"])
    started = time.monotonic()
    html = client.get(reverse("approval-list")).content.decode()
    assert time.monotonic() - started < 2
    assert html.count("credit not available: Sage 100 is unreachable: Sage 100 ODBC read") == 2
    assert html.count("12,155.70\xa0USD") == 2 and "KIT-319" in html


def test_a_rejection_is_a_decision_not_a_failure(client, users, make_run):
    for key in ("a", "b", "c"):
        make_run(Status.SUCCEEDED, key, finished_at=timezone.now())
    approval = waiting(make_run, "big")
    run = approval.run
    Approval.objects.filter(pk=approval.pk).update(
        status=Approval.Status.REJECTED, decided_by=users["approver"],
        decided_at=timezone.now(), comment="Over the customer's credit limit",
    )  # fmt: skip
    note = "Sage order not created: rejected by approver on 2025-01-01. Reason: Over the limit"
    step(run, 2, "approval", "failed", error=f"Rejected: {note}")
    SyncRun.objects.filter(pk=run.pk).update(
        status=Status.REJECTED, error_class="Rejected", error_message=note
    )
    assert success_rate({"succeeded": 3, "rejected": 1}) == 100
    assert success_rate({"succeeded": 3, "failed": 1}) == 75
    assert success_rate({"rejected": 2, "awaiting_approval": 1}) is None
    client.force_login(users["operator"])
    [card] = client.get(reverse("dashboard-cards")).context["cards"]
    assert card["success_rate"] == 100 and card["in_error_queue"] == 0
    assert "Over the limit" not in client.get(reverse("error-queue")).content.decode()
    html = client.get(run.get_absolute_url()).content.decode()
    assert "Rejected by approver — Over the customer&#x27;s credit limit" in html
    assert "What went wrong" not in html and "Fix:" not in html and "error-text" not in html


def test_an_approved_run_shows_the_wait_and_the_approval_as_steps(client, users, make_run):
    approval = waiting(make_run, "big")
    run = approval.run
    asked = "12,155.70 USD is over the approval threshold of 10,000.00 USD."
    step(run, 1, "approval", "failed", error=f"AwaitApproval: {asked}")
    client.force_login(users["viewer"])
    html = client.get(run.get_absolute_url()).content.decode()
    assert "Awaiting approval" in html and asked in html and "AwaitApproval" not in html

    Approval.objects.filter(pk=approval.pk).update(
        status=Approval.Status.APPROVED, decided_by=users["approver"],
        decided_at=approval.created_at + timedelta(hours=2, minutes=5), comment="Known customer",
    )  # fmt: skip
    output = {"needed": True, "approved_by": "approver", "comment": "Known customer"}
    step(run, 2, "approval", "succeeded", output=output)
    SyncRun.objects.filter(pk=run.pk).update(status=Status.SUCCEEDED, finished_at=timezone.now())
    html = client.get(run.get_absolute_url()).content.decode()
    assert "Waited for approval" in html and "Decided after 2\xa0hours, 5\xa0minutes." in html
    assert "Approved by approver — Known customer" in html
    assert "AwaitApproval" not in html and "step-failed" not in html and "error-text" not in html


def test_a_deal_under_the_threshold_says_so(client, users, make_run):
    run = make_run(Status.SUCCEEDED, "small")
    step(run, 1, "approval", "succeeded", output={"needed": False, "base_amount": "442.93",
                                                  "threshold": "10000"})  # fmt: skip
    client.force_login(users["viewer"])
    html = client.get(run.get_absolute_url()).content.decode()
    assert (
        "Not needed" in html
        and "442.93\xa0USD is within the threshold of 10,000.00\xa0USD." in html
    )


def test_processing_times_leave_out_the_wait_for_a_decision(client, users, make_run, pair):
    now = timezone.now()
    approval = waiting(make_run, "big")
    run = approval.run
    SyncRun.objects.filter(pk=run.pk).update(
        created_at=now - timedelta(hours=3), status=Status.SUCCEEDED, finished_at=now
    )
    Approval.objects.filter(pk=approval.pk).update(
        status=Approval.Status.APPROVED, created_at=now - timedelta(hours=3) + timedelta(seconds=1),
        decided_at=now - timedelta(seconds=2),
    )  # fmt: skip
    quick = make_run(Status.SUCCEEDED, "quick", finished_at=now)
    SyncRun.objects.filter(pk=quick.pk).update(created_at=now - timedelta(seconds=1))
    # Approved a minute ago, not yet taken by a worker: pending for a minute, not three hours.
    late = waiting(make_run, "late")
    SyncRun.objects.filter(pk=late.run_id).update(
        status=Status.PENDING, created_at=now - timedelta(hours=3)
    )
    Approval.objects.filter(pk=late.pk).update(
        status=Approval.Status.APPROVED, decided_at=now - timedelta(minutes=1)
    )
    client.force_login(users["viewer"])
    [card] = client.get(reverse("dashboard-cards")).context["cards"]
    assert card["p95_seconds"] == pytest.approx(3, abs=1)  # 1 s asking + 2 s after the decision
    samples = parse(client.get("/metrics").content.decode())
    labels = frozenset({("pair", pair.slug)})
    assert samples[("clarity_run_processing_seconds_count", labels)] == 2
    assert samples[("clarity_run_processing_seconds_sum", labels)] == pytest.approx(4, abs=1)
    assert 59 <= samples[("clarity_inbox_lag_seconds", frozenset())] < 120
