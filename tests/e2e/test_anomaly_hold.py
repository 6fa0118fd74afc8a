"""Anomaly holds in Chromium against the live sandboxes: the approver finds the held deal on the
approval queue marked "Held: looks unusual", reads why in words beside its lines, and sends it
on; the order reaches Sage. An admin finds the holds' switch and limits on the Flows page.

Runs execute inline (django-q2 sync mode), in the live server's process."""

import pytest
from playwright.sync_api import Page, expect

from flows.models import FlowConfig, SyncRun
from tests import won_deals as shared
from tests.anomaly_deals import TYPO, brightwater, deliver, five_ordinary_deals

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("runs_inline"),
]


def test_the_approver_reads_why_a_deal_is_held_and_sends_it_on(
    screenshot, page: Page, live_server, users, login, client, streak_sandbox, sage100_pair, sage
):
    pair, token = sage100_pair
    five_ordinary_deals(client, streak_sandbox, pair, token)
    run = deliver(
        client, pair, token, brightwater(streak_sandbox, "TYPO-E2E", ((9, "7.10"), (10, "34.99")))
    )
    assert run.status == SyncRun.Status.AWAITING_APPROVAL

    login("approver")
    expect(page).to_have_url(f"{live_server.url}/approvals/")
    card = page.locator(f"[data-approval='{run.approval.pk}']")
    expect(card.locator("[data-hold-kind]")).to_have_text("Held: looks unusual")
    expect(card.locator("[data-findings] li")).to_have_text(
        [f"{TYPO} Check the deal's line before it reaches Sage 100."]
    )
    expect(card.locator("table.lines tbody tr").first).to_contain_text("7.10")
    screenshot("anomaly_hold.png")

    card.get_by_label("Comment").fill("Agreed price for this customer")
    card.get_by_role("button", name="Send it anyway").click()

    expect(page.get_by_role("status")).to_contain_text("Sent on:")
    expect(page.get_by_role("status")).to_contain_text("The run is now succeeded.")
    [order] = shared.orders_for(sage, "TYPO-E2E")
    run.refresh_from_db()
    assert run.status == SyncRun.Status.SUCCEEDED and run.document.endswith(order["SalesOrderNo"])
    page.goto(f"{live_server.url}/approvals/?tab=decided")
    decided = page.locator("tr[data-decision=approved]")
    expect(decided).to_contain_text("Approved by approver — Agreed price for this customer")
    expect(decided.locator("[data-hold-kind]")).to_contain_text(f"Held: looks unusual: {TYPO}")


def test_an_admin_sets_the_holds_limits_on_the_flows_page(
    page: Page, live_server, users, login, screenshot, sage100_pair
):
    pair, _ = sage100_pair
    login("admin")
    page.goto(f"{live_server.url}/pairs/{pair.slug}/flows/")
    card = page.locator("#flow-deal_won_to_sales_order")
    switch = card.get_by_label("Hold deals that look unusual")
    expect(switch).to_be_checked()
    expect(card.get_by_label("Hold a unit price off the list by (times)")).to_have_value("3.0")
    expect(card.get_by_label("Unusual amount or quantity: score above")).to_have_value("4.5")
    expect(card.get_by_label("Earlier deals needed to judge against history")).to_have_value("5")
    days = card.get_by_label("Hold a repeat of an order won within (days)")
    expect(days).to_have_value("3")
    screenshot("anomaly_options.png")

    days.fill("7")
    card.get_by_role("button", name="Save").click()

    expect(page.get_by_role("status")).to_contain_text("saved")
    options = FlowConfig.objects.get(pair=pair, flow="deal_won_to_sales_order").options
    assert options["anomaly_duplicate_days"] == 7
    assert "anomaly_history_score" not in options  # a default left alone stays implicit
    card = page.locator("#flow-deal_won_to_sales_order")
    card.get_by_label("Hold deals that look unusual").uncheck()
    card.get_by_role("button", name="Save").click()
    expect(page.get_by_role("status")).to_contain_text("saved")
    options = FlowConfig.objects.get(pair=pair, flow="deal_won_to_sales_order").options
    assert options["anomaly_checks"] is False
