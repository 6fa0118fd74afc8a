"""The exactly-once page in Chromium against the live sandboxes: from a pair's page a viewer
opens the report, sees every won deal in Sage once, then, after a second order is keyed in
Sage for one deal, sees that deal listed with two documents and opens its run; the
dashboard's line says the same."""

import pytest
from django.core.cache import cache
from django.utils.timezone import localdate
from playwright.sync_api import Page, expect

from flows.models import SyncRun
from tests import won_deals as shared
from tests.integration.flows.test_exactly_once import order_behind_our_back

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("runs_inline"),
]


def test_a_viewer_sees_each_deal_once_then_the_deal_sage_holds_twice(
    screenshot, page: Page, live_server, users, login, client, streak_sandbox, sage100_pair,
    sage100_sandbox,
):  # fmt: skip
    cache.clear()
    pair, token = sage100_pair
    _, run = shared.win_box(client, streak_sandbox, pair, token, "SAL-1005")
    run.refresh_from_db()
    assert run.status == SyncRun.Status.SUCCEEDED, run.error_message
    today = localdate()

    login("viewer")
    page.goto(f"{live_server.url}{pair.get_absolute_url()}")
    page.get_by_role("link", name="Exactly once").click()
    page.get_by_label("Won since").fill(today.isoformat())
    page.get_by_role("button", name="Check").click()
    expect(page.get_by_test_id("verdict")).to_contain_text(
        f"Every won deal since {today:%d %b %Y} is in Sage exactly once"
    )
    expect(page.locator("[data-metric='won-deals']")).to_have_text("1")

    order_behind_our_back(sage100_sandbox, "SAL-1005")
    page.reload()
    expect(page.get_by_test_id("verdict")).to_contain_text("1 deal needs a look")
    row = page.locator(f"#problem-deals tr[data-deal='{run.entity_key}']")
    expect(row.locator("[data-count]")).to_have_attribute("data-count", "2")
    expect(row).to_contain_text("2 documents in Sage")
    screenshot("exactly_once.png")

    page.goto(f"{live_server.url}/dashboard/")
    line = page.locator(f"section[data-pair='{pair.slug}'] [data-metric='exactly-once']")
    expect(line).to_contain_text("1 deal needs a look")
    page.goto(f"{live_server.url}/pairs/{pair.slug}/exactly-once/?since={today.isoformat()}")
    row.get_by_role("link", name=f"Run {run.pk}").click()
    expect(page).to_have_url(f"{live_server.url}/runs/{run.pk}/")
