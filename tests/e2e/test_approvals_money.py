"""Approvals that read like money, in Chromium against the live sandboxes: an approver lands
on the queue with a count in the navigation, reads the deal in its currency and the pair's,
the customer's credit as Sage has it now and the deal in the CRM; a rejection is a decision,
not a failure; an approved run shows its wait and its approval as steps, and the wait is no
part of the processing time; a Sage that does not answer costs the page one time budget.

Runs execute inline (django-q2 sync mode), in the live server's process."""

import re
import time
from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from connectors.models import IntegrationPair
from connectors.services import connector_for
from flows.models import Approval, ExternalLink, FlowConfig, RunStep, SyncRun
from monitoring.views.approvals import money
from tests import won_deals as shared

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("runs_inline"),
]
Status = SyncRun.Status


def northstar_waits(client, streak_sandbox, pair, token) -> tuple[str, SyncRun, str]:
    """Northstar Aviation's SAL-1049 (4,425.95 USD) becomes a Sage order and binds the
    customer; its SAL-1006 (12,155.70 USD, over the threshold) then waits for approval.
    Returns SAL-1006's box key, its run and the Sage customer."""
    _, first = shared.win_box(client, streak_sandbox, pair, token, "SAL-1049")
    first.refresh_from_db()
    assert first.status == Status.SUCCEEDED, first.error_message
    key, run = shared.win_box(client, streak_sandbox, pair, token, "SAL-1006")
    run.refresh_from_db()
    assert run.status == Status.AWAITING_APPROVAL
    return key, run, first.references["sage_customer"]


def test_an_approver_lands_on_the_queue_and_weighs_the_deal_as_money(
    screenshot, page: Page, live_server, users, login, client, streak_sandbox, sage100_pair, sage
):
    pair, token = sage100_pair
    key, run, customer = northstar_waits(client, streak_sandbox, pair, token)
    credit = sage.credit(customer)
    assert credit["open_orders"]["count"] >= 1  # SAL-1049's order is open in Sage

    login("approver")
    expect(page).to_have_url(f"{live_server.url}/approvals/")
    expect(page.get_by_role("link", name="Approvals")).to_contain_text("1")
    card = page.locator(f"[data-approval='{run.approval.pk}']")
    expect(card.locator("h2")).to_have_text(re.compile(r"^SAL-1006 · Northstar Aviation Services"))
    expect(card.locator("[data-amounts]")).to_have_text("12,155.70 USD")
    expect(card.locator("[data-credit-limit]")).to_have_text(
        money(credit["credit_limit"], "USD") if Decimal(credit["credit_limit"]) else "none set"
    )
    expect(card.locator("[data-balance]")).to_have_text(money(credit["balance"], "USD"))
    expect(card.locator("[data-open]")).to_have_text(
        f"{credit['open_orders']['count']} · {money(credit['open_orders']['amount'], 'USD')}"
    )
    expect(card.locator("table.lines tbody tr").first).to_contain_text("2,025.95")
    expect(card.locator("table.lines tbody tr").first).to_contain_text("12,155.70")
    deal_link = card.locator("[data-deal-link]")
    expect(deal_link).to_have_attribute("href", f"{streak_sandbox.url}/boxes/{key}")
    screenshot("approval_card.png")
    with page.context.expect_page() as opened:
        deal_link.click()
    expect(opened.value.locator("h2")).to_contain_text("Northstar Aviation Services")
    opened.value.close()

    # Sage's ODBC source goes away: the card says so in plain words, and still shows the deal.
    erp = pair.erp
    erp.settings = {**erp.settings, "odbc_connection_string": "DRIVER={SQLite3};Database=/no/x.db"}
    erp.save()
    page.reload()
    expect(card.locator("[data-credit-unavailable]")).to_contain_text(
        "credit not available: Sage 100 is unreachable"
    )
    expect(card.locator("[data-amounts]")).to_have_text("12,155.70 USD")

    for role in ("operator", "viewer"):  # they cannot decide: no count for them
        page.get_by_role("button", name="Sign out").click()
        login(role)
        expect(page).to_have_url(f"{live_server.url}/dashboard/")
        expect(page.locator("[data-nav-count]")).to_have_count(0)


def test_a_rejection_reads_as_a_decision_and_counts_as_no_failure(
    screenshot, page: Page, live_server, users, login, client, streak_sandbox, sage100_pair, sage
):
    pair, token = sage100_pair
    key, run, _ = northstar_waits(client, streak_sandbox, pair, token)
    login("approver")
    card = page.locator(f"[data-approval='{run.approval.pk}']")
    card.get_by_label("Comment").fill("Over the customer's credit limit")
    card.get_by_role("button", name="Reject").click()
    expect(page.get_by_role("status")).to_contain_text("Rejected:")
    expect(page.locator("[data-nav-count]")).to_have_count(0)
    run.refresh_from_db()
    assert run.status == Status.REJECTED and not shared.orders_for(sage, "SAL-1006")
    page.goto(f"{streak_sandbox.url}/boxes/{key}")  # the salesperson reads why on the deal
    expect(page.locator("body")).to_contain_text("Reason: Over the customer's credit limit")

    page.goto(f"{live_server.url}/approvals/?tab=decided")
    expect(page.locator("tr[data-decision=rejected]")).to_contain_text(
        "Rejected by approver — Over the customer's credit limit"
    )
    page.goto(f"{live_server.url}{run.get_absolute_url()}")
    expect(page.locator("#run-outcome")).to_contain_text(
        "Rejected by approver — Over the customer's credit limit"
    )
    expect(page.locator("#run-error")).to_have_count(0)
    expect(page.locator(".error-text")).to_have_count(0)
    screenshot("run_rejected.png")

    page.goto(f"{live_server.url}/errors/")
    expect(page.locator("main")).not_to_contain_text("SAL-1006")
    page.goto(f"{live_server.url}/dashboard/")
    pair_card = page.locator(f"[data-pair='{pair.slug}']")
    expect(pair_card.locator("[data-metric=success-rate]")).to_have_text("100 %")
    expect(pair_card.locator("[data-metric=errors]")).to_have_text("0")


def test_an_approved_deal_shows_its_wait_and_approval_as_steps_outside_processing_time(
    screenshot, page: Page, live_server, users, login, client, streak_sandbox, sage100_pair, sage
):
    pair, token = sage100_pair
    shared.eur_rate(pair)
    FlowConfig.objects.filter(pair=pair, flow="deal_won_to_sales_order").update(
        options={"approval_threshold": 2000}
    )
    _, run = shared.win_box(client, streak_sandbox, pair, token, "SAL-1019")  # 2,286.45 EUR
    run.refresh_from_db()
    assert run.status == Status.AWAITING_APPROVAL
    # The deal was won, and the approver asked a second later, two hours ago.
    two_hours_ago = timezone.now() - timedelta(hours=2)
    SyncRun.objects.filter(pk=run.pk).update(created_at=two_hours_ago - timedelta(seconds=1))
    Approval.objects.filter(run=run).update(created_at=two_hours_ago)

    login("approver")
    card = page.locator(f"[data-approval='{run.approval.pk}']")
    expect(card.locator("[data-amounts]")).to_contain_text("2,286.45 EUR")
    expect(card.locator("[data-amounts]")).to_contain_text("2,469.37 USD")  # at 1.08
    expect(card.locator("[data-credit-unavailable]")).to_contain_text(
        "credit not available: Rheinland Technik GmbH is not linked to a Sage 100 customer yet"
    )
    card.get_by_label("Comment").fill("Known customer, go ahead.")
    card.get_by_role("button", name="Approve").click()
    run.refresh_from_db()
    assert run.status == Status.SUCCEEDED, run.error_message
    expect(page.get_by_role("status")).to_contain_text("The run is now succeeded")

    page.goto(f"{live_server.url}{run.get_absolute_url()}")
    steps = page.locator("ol.steps")
    expect(steps.first).to_contain_text("Approved by approver — Known customer, go ahead.")
    expect(steps.last).to_contain_text("Waited for approval")
    expect(steps.last).to_contain_text("Decided after 2\xa0hours")
    expect(page.locator(".step-failed")).to_have_count(0)
    expect(page.locator("main")).not_to_contain_text("AwaitApproval")
    screenshot("run_approved.png")

    page.goto(f"{live_server.url}/dashboard/")
    p95 = page.locator(f"[data-pair='{pair.slug}'] [data-metric=p95]")
    expect(p95).to_have_text(re.compile(r"^\d+\.\d s$"))
    assert float(p95.inner_text().removesuffix(" s")) < 60  # not two hours


def waiting_on(pair: IntegrationPair, key: str, crm_id: str, amount: str) -> Approval:
    """A deal waiting for approval as the won-deal flow leaves it: mapped, then asked."""
    config = FlowConfig.objects.get(pair=pair, flow="deal_won_to_invoice")
    run = SyncRun.objects.create(
        flow_config=config, pair=pair, entity_key=key, status=Status.AWAITING_APPROVAL
    )
    customer = {"name": f"Customer {crm_id}", "external_refs": {"crm": crm_id}}
    RunStep.objects.create(
        run=run, attempt=1, order=2, name="map_deal", status="succeeded",
        started_at=timezone.now(), output={"customer": customer, "document": {"lines": []}},
    )  # fmt: skip
    return Approval.objects.create(
        run=run, amount=Decimal(amount), currency="USD", base_amount=Decimal(amount),
        base_currency="USD", reason="Over the threshold",
    )  # fmt: skip


def test_a_slow_sage_costs_the_page_one_time_budget_not_one_per_card(
    page: Page, live_server, users, login, streak_sandbox, sage_accounting_sandbox, settings
):
    erp = shared.sage50_connection(sage_accounting_sandbox)
    erp.secrets = {**erp.secrets, "access_token_expires_at": (
        timezone.now() + timedelta(hours=1)).isoformat()}  # fmt: skip
    erp.save()
    crm = shared.streak_connection(streak_sandbox)
    pair = IntegrationPair.objects.create(name="Streak Sage Accounting", crm=crm, erp=erp)
    sage = connector_for(erp)
    owing = [i for i in sage.search("sales_invoices") if Decimal(i["outstanding_amount"]) > 0]
    contacts = sorted({invoice["contact"]["id"] for invoice in owing})[:2]
    cards = []
    for number, contact in enumerate(contacts):
        ExternalLink.objects.create(pair=pair, entity="customer", crm_id=f"org-{number}",
                                    sage_id=contact)  # fmt: skip
        cards.append(waiting_on(pair, f"box-{number}", f"org-{number}", "15000"))

    login("approver")
    first = page.locator(f"[data-approval='{cards[0].pk}']")
    answer = sage.credit(contacts[0])
    expect(first.locator("[data-balance]")).to_have_text(
        money(answer["balance"], answer["currency"] or pair.base_currency)
    )
    expect(first).to_contain_text("Unpaid invoices")

    settings.CLARITY_CREDIT_BUDGET_SECONDS = 1
    shared.set_faults(sage_accounting_sandbox, latency_ms=2500)
    started = time.monotonic()
    page.reload()
    took = time.monotonic() - started
    for approval in cards:
        expect(
            page.locator(f"[data-approval='{approval.pk}'] [data-credit-unavailable]")
        ).to_have_text(
            "credit not available: Sage Accounting is unreachable: no answer within 1 s."
        )
    assert took < 2  # one budget for the page, not one per card
