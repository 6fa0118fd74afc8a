"""A pair's Flows page in Chromium as an integration admin sets it up: selects in plain words,
stages read from the CRM, Sage 100's warehouses to tick, who keeps each customer field, each
flow's last run and errors, the initial load as a button to its page, and no JSON anywhere;
only the options that fit the pair's systems (nothing of Salesforce on a Streak pair)."""

import pytest
from playwright.sync_api import Page, expect

from connectors.models import IntegrationPair
from flows.models import FlowConfig, SyncRun

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def salesforce_pair(salesforce, sage100) -> IntegrationPair:
    return IntegrationPair.objects.create(name="Salesforce → Sage 100", crm=salesforce, erp=sage100)


def config_of(pair: IntegrationPair, flow: str) -> FlowConfig:
    return FlowConfig.objects.get(pair=pair, flow=flow)


def test_an_admin_sets_a_streak_pair_up_with_selects_and_tables_and_no_json(
    page: Page, live_server, users, login, screenshot, streak_pair
):
    pair = streak_pair
    orders = config_of(pair, "deal_won_to_sales_order")
    for key, status in (("box-1", SyncRun.Status.SUCCEEDED), ("box-2", SyncRun.Status.FAILED)):
        SyncRun.objects.create(flow_config=orders, pair=pair, entity_key=key, status=status)
    login("admin")
    page.goto(f"{live_server.url}/pairs/{pair.slug}/flows/")

    expect(page.locator("textarea")).to_have_count(0)
    for settings in page.locator("main form.form").all():
        expect(settings).not_to_contain_text("Salesforce")
        expect(settings).not_to_contain_text("{")
    card = page.locator("#flow-deal_won_to_sales_order")
    expect(card.get_by_test_id("flow-activity")).to_contain_text("Failed")
    expect(card.get_by_test_id("flow-activity")).to_contain_text("1 in the error queue")
    stage = card.get_by_label("Stage that starts it")
    expect(stage.locator("option")).to_have_text(
        ["Closed-Won (the won stage)", "Lead", "Qualified", "Proposal", "Closed-Lost"]
    )
    policy = card.get_by_label("An item Sage 100 does not know")
    expect(policy.locator("option")).to_have_count(2)  # Sage 100 items are not made here
    stage.select_option("Proposal")
    policy.select_option(label="Leave the line out and say so on the deal")
    card.get_by_label("Approval needed above (USD)").fill("2500.50")
    card.get_by_role("button", name="Save").click()
    expect(page.get_by_role("status")).to_contain_text("saved")
    orders.refresh_from_db()
    assert orders.options["trigger_stage"] == "Proposal"
    assert orders.options["unknown_item_policy"] == "skip_line"
    assert orders.options["approval_threshold"] == "2500.50"

    status = page.locator("#flow-order_status_to_crm")
    expect(status.get_by_label("Starts", exact=True)).to_have_count(0)  # only polling fits Sage 100
    expect(status).to_contain_text("By checking for changes (polling)")
    status.get_by_label("Cancelled (deleted in Sage 100)").select_option("Closed-Lost")
    status.get_by_role("button", name="Save").click()
    expect(page.get_by_role("status")).to_contain_text("saved")
    assert config_of(pair, "order_status_to_crm").options["status_stages"] == {
        "deleted": "Closed-Lost"
    }

    stock = page.locator("#flow-inventory_to_crm")
    expect(stock.get_by_label("000 · Central Warehouse")).to_be_visible()
    stock.get_by_label("001 · East Coast Warehouse").check()
    expect(stock.get_by_label("Closed-Won", exact=True)).to_be_checked()
    stock.get_by_role("button", name="Save").click()
    expect(page.get_by_role("status")).to_contain_text("saved")
    stock_options = config_of(pair, "inventory_to_crm").options
    assert stock_options["warehouses"] == ["001"]
    assert "closed_stages" not in stock_options  # left at its default, kept implicit

    sync = page.locator("#flow-customer_sync")
    expect(sync.get_by_label("Balance").locator("option")).to_have_text(
        ["Sage 100 (read-only there)"]
    )
    sync.get_by_label("Phone").select_option(label="Sage 100")
    sync.get_by_role("button", name="Save").click()
    expect(page.get_by_role("status")).to_contain_text("saved")
    assert config_of(pair, "customer_sync").options["owners"]["phone"] == "sage"

    load = page.locator("#flow-initial_load")
    expect(load.get_by_text("Off", exact=True)).to_have_count(0)
    expect(load.get_by_role("checkbox")).to_have_count(0)
    page.locator("#flow-deal_won_to_sales_order").scroll_into_view_if_needed()
    screenshot("flow_settings.png", full_page=False)
    load.get_by_role("link", name="Open initial load").click()
    expect(page.get_by_role("heading", name="Initial load")).to_be_visible()


def test_a_salesforce_pair_offers_its_stages_triggers_and_account_fields(
    page: Page, live_server, users, login, salesforce_pair
):
    pair = salesforce_pair
    login("admin")
    page.goto(f"{live_server.url}/pairs/{pair.slug}/flows/")

    card = page.locator("#flow-deal_won_to_sales_order")
    stages = card.get_by_label("Stage that starts it").locator("option")
    expect(stages.first).to_have_text("Closed Won (the won stage)")
    expect(stages).to_contain_text(["Prospecting", "Negotiation/Review", "Closed Lost"])
    expect(card.get_by_label("Starts", exact=True).locator("option")).to_have_text(
        ["When Salesforce tells us of a change", "By checking for changes (polling)"]
    )
    expect(page.locator("#flow-inventory_to_crm")).not_to_contain_text("Stages of closed deals")
    sync = page.locator("#flow-customer_sync")
    expect(sync).to_contain_text("Salesforce Account fields that hold Sage 100's values")
    limit = sync.get_by_label("Credit limit field")
    expect(limit).to_have_value("Credit_Limit__c")
    limit.select_option("ExternalID__c")
    sync.get_by_role("button", name="Save").click()
    expect(page.get_by_role("status")).to_contain_text("saved")
    crm_fields = config_of(pair, "customer_sync").options["crm_fields"]
    assert crm_fields == {"credit_limit": "ExternalID__c"}


def test_a_viewer_reads_the_settings_in_words(page: Page, live_server, users, login, streak_pair):
    config = config_of(streak_pair, "deal_won_to_sales_order")
    config.options = {"unknown_item_policy": "skip_line", "trigger_stage": "Proposal"}
    config.save()
    login("viewer")
    page.goto(f"{live_server.url}/pairs/{streak_pair.slug}/flows/")

    card = page.locator("#flow-deal_won_to_sales_order")
    expect(card.locator("form")).to_have_count(0)
    expect(card).to_contain_text("Leave the line out and say so on the deal")
    expect(card).to_contain_text("Proposal")
