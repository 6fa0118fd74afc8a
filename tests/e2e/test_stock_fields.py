"""Stock where salespeople look, in Chromium: the admin finds the stock flow on a Streak +
Sage 100 pair's Flows page, and after a stock count in Sage the open Streak box holding the
item shows the "Sage Stock" summary on its page."""

import pytest
from playwright.sync_api import Page, expect

from connectors.models import IntegrationPair
from connectors.services import connector_for
from connectors.streak.stock import items_asked
from flows.models import FlowConfig
from tests.integration.flows.polling import poll_now
from tests.integration.flows.test_inventory_to_crm import set_stock_in_sage, stock_of

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

FLOW = "inventory_to_crm"


@pytest.mark.usefixtures("runs_inline")
def test_the_stock_summary_shows_on_the_streak_box_page(
    page: Page, live_server, users, login, screenshot, streak, sage100, streak_sandbox,
    sage100_sandbox,
):  # fmt: skip
    pair = IntegrationPair.objects.create(name="Streak → Sage 100", crm=streak, erp=sage100)
    login("admin")
    page.goto(f"{live_server.url}/pairs/{pair.slug}/flows/")
    expect(page.locator(f"#flow-{FLOW}")).to_contain_text("stock summary on each open deal")

    FlowConfig.objects.filter(pair=pair, flow=FLOW).update(
        enabled=True, trigger=FlowConfig.Trigger.POLL
    )
    stocked = {
        (b["key"], sku)
        for b in connector_for(streak).boxes("Proposal")
        for sku in items_asked(b["fieldsByName"]["Products"])
        if stock_of(sage100_sandbox, sku)
    }
    box_key, sku = min(stocked)
    poll_now(pair, FLOW)
    for warehouse in stock_of(sage100_sandbox, sku):
        set_stock_in_sage(sage100_sandbox, sku, warehouse, 0)
    poll_now(pair, FLOW)

    page.goto(f"{streak_sandbox.url}/boxes/{box_key}")
    row = page.locator("tr", has=page.locator("th", has_text="Sage Stock"))
    expect(row).to_contain_text(f"{sku}: 0 on hand,")
    expect(row).to_contain_text("short")
    expect(page.locator("body")).to_contain_text("Stock alert: this deal asks for")
    screenshot("stock_field.png")
