"""The error queue in Chromium against the live sandboxes: a deal waiting out a Sage 100
outage is there at once with its attempt and next try in the user's time; resolving a run
with a note takes it out and the audit log shows who and why; the fix link of an unknown item
opens its row in the lookup table, and the deal then goes through from the queue.

Runs execute inline (django-q2 sync mode); a retry is queued for its due time, not run."""

from zoneinfo import ZoneInfo

import pytest
from django.conf import settings as django_settings
from django.utils import timezone
from playwright.sync_api import Page, expect

from flows.models import SyncRun
from monitoring.models import Resolution
from tests import won_deals as shared

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("runs_inline"),
]
ZONE = "America/Chicago"


def test_a_deal_waiting_out_an_outage_is_in_the_queue_at_once_with_its_attempt_and_next_try(
    screenshot,
    page: Page,
    live_server,
    users,
    login,
    client,
    settings,
    streak_sandbox,
    sage100_sandbox,
    sage100_pair,
    sage,
):
    settings.TIME_ZONE = ZONE
    pair, token = sage100_pair
    shared.set_faults(sage100_sandbox, outage=True)
    _, run = shared.win_box(client, streak_sandbox, pair, token, "SAL-1005")
    run.refresh_from_db()
    assert run.status == SyncRun.Status.RETRY_SCHEDULED
    next_try = timezone.localtime(run.next_attempt_at, ZoneInfo(ZONE)).strftime("%Y-%m-%d %H:%M %Z")

    login("operator")
    page.goto(f"{live_server.url}/errors/")
    group = page.locator(".error-group")
    expect(group).to_have_count(1)
    expect(group.locator("h2")).to_contain_text(run.error_message)
    row = group.locator(f"tr[data-run='{run.pk}']")
    budget = django_settings.CLARITY_MAX_ATTEMPTS
    expect(row).to_contain_text(f"Attempt 1 of {budget} failed, next try {next_try}")
    expect(row).to_contain_text("SAL-1005")
    expect(row.get_by_role("link", name="Streak box ↗")).to_have_attribute(
        "href", f"{streak_sandbox.url}/boxes/{run.entity_key}"
    )
    screenshot("error_queue.png")

    group.get_by_role("link", name="Open the Sage 100 connection “Sage 100”").click()
    expect(page).to_have_url(f"{live_server.url}/connections/{pair.erp_id}/")

    shared.set_faults(sage100_sandbox)  # Sage 100 is back: no need to wait for the next try
    page.go_back()
    page.locator(f"tr[data-run='{run.pk}']").get_by_role("button", name="Retry now").click()
    expect(page.get_by_role("status")).to_contain_text(f"Run {run.pk} retried: now succeeded.")
    expect(page.locator(".card.empty")).to_contain_text("none waiting to retry")
    assert len(shared.orders_for(sage, "SAL-1005")) == 1


def test_resolving_with_a_note_takes_the_run_out_and_the_audit_log_shows_it(
    screenshot, page: Page, live_server, users, login, client, streak_sandbox, sage100_pair, sage
):
    pair, token = sage100_pair
    shared.eur_rate(pair)
    _, run = shared.win_box(client, streak_sandbox, pair, token, "SAL-1008")  # sells WIDGET-999
    run.refresh_from_db()
    assert run.status == SyncRun.Status.FAILED

    login("operator")
    page.goto(f"{live_server.url}/errors/")
    row = page.locator(f"tr[data-run='{run.pk}']")
    expect(row).to_contain_text("SAL-1008")
    row.get_by_text("Resolve…").click()
    row.get_by_label("Note").fill("Keyed into Sage by hand with WIDGET-100 as SO 0000300")
    screenshot("error_queue_resolve.png", full_page=False)
    row.get_by_role("button", name="Resolve", exact=True).click()

    expect(page.get_by_role("status")).to_contain_text("1 run resolved: out of the error queue.")
    expect(page.locator(".error-group")).to_have_count(0)
    expect(page.locator(".closed-runs")).to_contain_text("Keyed into Sage by hand")
    assert Resolution.objects.get(run=run).by == users["operator"]

    page.goto(f"{live_server.url}/audit/?user=operator")
    entry = page.locator("tbody tr", has_text="Resolved").first
    expect(entry).to_contain_text("Keyed into Sage by hand with WIDGET-100 as SO 0000300")
    page.goto(f"{live_server.url}/dashboard/")
    card = page.locator(f"[data-pair='{pair.slug}']")
    expect(card.locator("[data-metric=errors]")).to_have_text("0")
    expect(card.locator("[data-status=failed]")).to_have_count(0)
    assert not shared.orders_for(sage, "SAL-1008")


def test_the_fix_link_of_an_unknown_item_opens_its_lookup_row_and_the_deal_then_goes_through(
    screenshot, page: Page, live_server, users, login, client, streak_sandbox, sage100_pair, sage
):
    pair, token = sage100_pair
    shared.eur_rate(pair)
    _, run = shared.win_box(client, streak_sandbox, pair, token, "SAL-1008")  # sells WIDGET-999

    login("operator")
    page.goto(f"{live_server.url}/errors/")
    group = page.locator(".error-group")
    expect(group.locator("h2")).to_contain_text("Item WIDGET-999 is not in Sage 100")
    group.get_by_role("link", name="Add or correct WIDGET-999 in").click()

    expect(page.locator("main h1")).to_have_text("Product code → Sage 100 item")
    expect(page.get_by_label("Filter rows")).to_have_value("WIDGET-999")
    expect(page.get_by_placeholder("Key").first).to_have_value("WIDGET-999")
    expect(page.get_by_placeholder("Value").first).to_be_focused()
    screenshot("error_queue_fix_link.png", full_page=False)
    page.get_by_placeholder("Value").first.fill("WIDGET-100")
    page.get_by_role("button", name="Add row").click()
    expect(page.locator('#entries tr[data-key="WIDGET-999"]')).to_contain_text("WIDGET-100")
    expect(page.get_by_placeholder("Key").first).to_have_value("")  # ready for the next one

    page.go_back()
    page.reload()
    page.locator(f"tr[data-run='{run.pk}']").get_by_role("button", name="Retry").click()
    expect(page.get_by_role("status")).to_contain_text(f"Run {run.pk} retried: now succeeded.")
    [order] = shared.orders_for(sage, "SAL-1008")
    assert "WIDGET-100" in [line["ItemCode"] for line in order["lines"]]
