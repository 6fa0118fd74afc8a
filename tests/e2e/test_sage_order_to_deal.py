"""Order keyed in Sage → CRM deal in Chromium: an admin switches the flow on for a Streak +
Sage 100 pair on the Flows page and picks the stage its deals start in; an order keyed in
Sage for a bound customer then shows as a box at that stage on the Streak sandbox's board."""

import pytest
from playwright.sync_api import Page, expect

from connectors.services import connector_for
from flows.models import ExternalLink, FlowConfig
from sandbox.streak import data as streak_data
from tests.integration.flows.polling import poll_now

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]
FLOW = "sage_order_to_deal"


def test_an_admin_switches_it_on_at_a_stage_and_a_keyed_order_shows_as_a_box(
    page: Page, live_server, users, login, screenshot, streak_pair, streak_sandbox, runs_inline
):
    pair = streak_pair
    login("admin")
    page.goto(f"{live_server.url}/pairs/{pair.slug}/flows/")
    card = page.locator(f"#flow-{FLOW}")
    expect(card).to_contain_text("Off")
    stage = card.get_by_label("Stage the deal is made at")
    expect(stage.locator("option")).to_have_text(
        ["(the first stage)", "Lead", "Qualified", "Proposal", "Closed-Won", "Closed-Lost"]
    )
    card.get_by_label("On", exact=True).check()
    stage.select_option("Proposal")
    card.get_by_role("button", name="Save").click()
    expect(page.get_by_role("status")).to_contain_text("saved")
    screenshot("sage_order_to_deal_option.png")
    config = FlowConfig.objects.get(pair=pair, flow=FLOW)
    assert config.enabled and config.options["deal_stage"] == "Proposal"

    streak = connector_for(pair.crm)
    organization = streak.create("Organization", {"name": "Morrison Hardware Co"}, "org")
    ExternalLink.objects.create(
        pair=pair, entity="customer", crm_id=organization["key"], sage_id="00-MORRISON"
    )
    poll_now(pair, FLOW)
    order = connector_for(pair.erp).create(
        "sales_order",
        {"ARDivisionNo": "00", "CustomerNo": "MORRISON",
         "lines": [{"ItemCode": "WIDGET-100", "QuantityOrdered": 3}]},
        "keyed-in-sage",
    )  # fmt: skip
    poll_now(pair, FLOW)

    name = f"SO {order['SalesOrderNo']} · Morrison Hardware Co"
    page.goto(f"{streak_sandbox.url}/pipelines/{streak_data.SALES['key']}")
    proposal = page.locator(f"section.column[data-stage='{streak_data.STAGES[2][0]}']")
    expect(proposal).to_contain_text(name)
    proposal.get_by_role("link", name=name).click()
    expect(page.locator("h2")).to_have_text(name)
    expect(page.locator("main, body").first).to_contain_text(order["SalesOrderNo"])
    expect(page.get_by_role("link", name="Morrison Hardware Co")).to_be_visible()
    screenshot("sage_order_to_deal_box.png")
