"""Back-to-back purchasing and stage → order status in Chromium: an admin switches the
purchase orders on and fills the stage table on the pair's Flows page, and a purchase order
Clarity made through the agent shows on the Sage 100 sandbox's Purchase orders page."""

from decimal import Decimal

import pytest
from playwright.sync_api import Page, expect

from connectors.records import Shortfall
from connectors.services import connector_for
from flows.models import FlowConfig

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_an_admin_turns_back_to_back_orders_on_and_maps_stages_to_order_statuses(
    page: Page, live_server, users, login, screenshot, streak_pair
):
    pair = streak_pair
    login("admin")
    page.goto(f"{live_server.url}/pairs/{pair.slug}/flows/")

    orders = page.locator("#flow-deal_won_to_sales_order")
    box = orders.get_by_label("Order short lines from the vendor (back-to-back)")
    expect(box).not_to_be_checked()  # off by default
    box.check()
    orders.get_by_role("button", name="Save").click()
    expect(page.get_by_role("status")).to_contain_text("saved")
    config = FlowConfig.objects.get(pair=pair, flow="deal_won_to_sales_order")
    assert config.options["back_to_back_purchase_orders"] is True

    status = page.locator("#flow-deal_stage_to_order_status")
    expect(status).to_contain_text("Change the Sage 100 order when the deal moves to")
    lost = status.get_by_label("Closed-Lost", exact=True)
    expect(lost.locator("option")).to_have_text(
        ["(leave the order as it is)", "Put on hold", "Opened again", "Cancelled"]
    )
    status.get_by_label("Proposal", exact=True).select_option(label="Put on hold")
    lost.select_option(label="Cancelled")
    screenshot("back_to_back_flow_settings.png")
    status.get_by_role("button", name="Save").click()
    expect(page.get_by_role("status")).to_contain_text("saved")
    options = FlowConfig.objects.get(pair=pair, flow="deal_stage_to_order_status").options
    assert options["stage_statuses"] == {"Proposal": "on_hold", "Closed-Lost": "deleted"}


def test_a_purchase_order_made_through_the_agent_is_listed_in_sage_100(
    page: Page, sage100_sandbox, sage100, screenshot
):
    sage = connector_for(sage100)
    short = Shortfall("WIDGET-117", "000", Decimal(8), Decimal(0), "00-ALLENCO", "Allen & Co")
    made = sage.create_purchase_order("00-ALLENCO", [short], "0000216", "e2e-b2b-1")

    page.goto(f"{sage100_sandbox.url}/purchase-orders")
    row = page.locator("tr.purchase-order", has_text=made.number)
    expect(row).to_contain_text("00-ALLENCO Allen & Co Fasteners")
    cells = row.locator("td")
    expect(cells.nth(5)).to_have_text("Back-to-back for SO 0000216")
    expect(cells.nth(6)).to_have_text("WIDGET-117")
    expect(cells.nth(7)).to_have_text("8")
    expect(cells.nth(10)).to_have_text("0000216")
    screenshot("sage100_purchase_orders.png")
    page.get_by_role("link", name="Stock").click()
    stock = page.locator("tr", has_text="WIDGET-117").first  # warehouse 000
    expect(stock.locator("td").last).to_have_text("58")  # 50 on PO in the seed, 8 more now
