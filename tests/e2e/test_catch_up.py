"""Catch-up for lost Streak webhooks, in Chromium: Streak never delivers the win (its webhook
is gone), yet the pair's Flows page shows the webhook flow's catch-up poll finding the change,
and the deal's run, with its Sage 100 order, is on the runs list (live sandboxes, runs
inline)."""

import pytest
from playwright.sync_api import Page, expect

from connectors.services import connector_for
from flows.models import FlowConfig, SyncRun
from flows.polling import poll
from tests import won_deals as shared

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("runs_inline"),
]


def test_a_win_streak_never_delivered_shows_up_through_the_catch_up_poll(
    page: Page, live_server, users, login, screenshot, streak_sandbox, sage100_pair, sage
):
    pair, _token = sage100_pair
    config = FlowConfig.objects.get(pair=pair, flow="deal_won_to_sales_order")
    for hook in connector_for(pair.crm).webhooks():
        connector_for(pair.crm).delete_webhook(hook["key"])
    poll(config)  # the first check only notes where it starts
    key = shared.seeded_box_key("SAL-1005")
    shared.move_box(streak_sandbox, key, "5001")
    shared.move_box(streak_sandbox, key, shared.CLOSED_WON)

    poll(config)

    run = SyncRun.objects.get(pair=pair, entity_key=key)
    assert run.status == SyncRun.Status.SUCCEEDED, run.error_message
    login("operator")
    page.goto(f"{live_server.url}/pairs/{pair.slug}/flows/")
    status = page.locator("#flow-deal_won_to_sales_order [data-poll-status]")
    expect(status).to_contain_text("1 change found")
    status.scroll_into_view_if_needed()
    screenshot("catch_up_poll.png", full_page=False)
    page.goto(f"{live_server.url}/runs/?q=SAL-1005")
    expect(page.get_by_role("main")).to_contain_text("SAL-1005")
    expect(page.get_by_role("main")).to_contain_text(
        f"SO {shared.orders_for(sage, 'SAL-1005')[0]['SalesOrderNo']}"
    )
