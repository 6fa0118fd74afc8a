"""The rules editor in Chromium: from the pair's Flows page to the order flow's rules, a rule
added by clicking (Amount > 5000 → hold for review), saved as version 1, and the preview
naming the recent deals it would have held; only the inputs the chosen subject and action use
showing, and a rule still saved with JavaScript off."""

from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from flows.models import FlowConfig, InboundEvent, RunStep, SyncRun
from tests.conftest import PASSWORD
from tests.factories import IntegrationPairFactory

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

ORDERS = "deal_won_to_sales_order"


def won_deal(config: FlowConfig, deal_id: str, total: str) -> None:
    """A deal the order flow ran for, as its run recorded the deal and the mapped order."""
    event = InboundEvent.objects.create(
        pair=config.pair, source="webhook", kind="BOX_CHANGE_STAGE", dedupe_key=deal_id,
        entity_key=f"box-{deal_id}", status=InboundEvent.Status.ACCEPTED,
    )  # fmt: skip
    run = SyncRun.objects.create(
        flow_config=config, pair=config.pair, event=event, entity_key=event.entity_key,
        status=SyncRun.Status.SUCCEEDED,
    )  # fmt: skip
    document = {"crm_deal_id": deal_id, "customer_name": "Acme", "currency": "USD",
                "total": total, "total_base": total, "lines": []}  # fmt: skip
    started = timezone.now() - timedelta(minutes=5)
    for order, (name, output) in enumerate(
        [("read_deal", {"won": True, "record": {"name": deal_id}}),
         ("map_deal", {"document": document, "customer": {"name": "Acme"}})], start=1,
    ):  # fmt: skip
        RunStep.objects.create(
            run=run, attempt=1, order=order, name=name, status=RunStep.Status.SUCCEEDED,
            output=output, started_at=started,
        )  # fmt: skip


def test_an_admin_adds_a_rule_by_clicking_saves_it_and_previews_it(
    page: Page, live_server, users, login, screenshot
):
    pair = IntegrationPairFactory(name="Acme deals")
    config = FlowConfig.objects.get(pair=pair, flow=ORDERS)
    config.enabled = True
    config.save(update_fields=["enabled"])
    for deal_id, total in (("SAL-1", "12000.00"), ("SAL-2", "3000.00"), ("SAL-3", "8000.00")):
        won_deal(config, deal_id, total)

    login("admin")
    page.goto(f"{live_server.url}/pairs/{pair.slug}/flows/")
    page.locator(f"#flow-{ORDERS}").get_by_test_id("flow-rules-link").click()
    expect(page.get_by_test_id("current-version")).to_contain_text("No rules yet")

    page.get_by_role("button", name="Add rule").click()
    rule = page.get_by_test_id("rule-1")
    expect(rule).to_be_visible()
    rule.get_by_label("Rule 1 name").fill("Big deals")
    rule.get_by_label("Rule 1 condition 1 looks at").select_option("total")
    rule.get_by_label("Rule 1 condition 1 comparison").select_option("gt")
    rule.get_by_label("Rule 1 condition 1 value").fill("5000")
    rule.get_by_label("Rule 1 action").select_option("hold")
    rule.get_by_label("Rule 1 reason").fill("Look at big deals first")
    page.get_by_label("Comment").fill("Hold big deals")
    page.get_by_role("button", name="Save as a new version").click()

    expect(page.get_by_role("status")).to_contain_text("Rules saved as version 1.")
    expect(page.get_by_test_id("current-version")).to_contain_text("version 1")
    expect(page.get_by_test_id("current-version")).to_contain_text("Hold big deals")
    expect(page.get_by_test_id("rule-version")).to_have_count(1)
    expect(page.get_by_test_id("rule-1")).to_contain_text(
        "Amount > 5000 → Hold for review (Look at big deals first)"
    )

    page.get_by_role("button", name="Preview on the last 20 deals").click()
    preview = page.get_by_test_id("rules-preview")
    expect(preview).to_contain_text(
        "On the last 3 deals of this pair, rule 1 would have held for review 2 (SAL-3, SAL-1)."
    )
    expect(preview.get_by_role("row", name="SAL-2")).to_contain_text("no rule applies")
    screenshot("rules_editor.png")


def test_a_viewer_sees_the_rules_but_cannot_change_them(page: Page, live_server, users, login):
    pair = IntegrationPairFactory(name="Acme deals")
    login("viewer")
    page.goto(f"{live_server.url}/pairs/{pair.slug}/flows/{ORDERS}/rules/")
    expect(page.get_by_test_id("current-version")).to_contain_text("No rules yet")
    expect(page.get_by_role("button", name="Add rule")).to_have_count(0)


def test_the_editor_shows_only_the_inputs_the_chosen_subject_and_action_use(
    page: Page, live_server, users, login
):
    pair = IntegrationPairFactory(name="Acme deals")
    login("admin")
    page.goto(f"{live_server.url}/pairs/{pair.slug}/flows/{ORDERS}/rules/")
    page.get_by_role("button", name="Add rule").click()
    rule = page.get_by_test_id("rule-1")
    field_name = rule.get_by_label("Rule 1 condition 1 field name")
    reason = rule.get_by_label("Rule 1 reason")
    field_to_set = rule.get_by_label("Rule 1 field to set")
    value_to_set = rule.get_by_label("Rule 1 value to set")
    flow = rule.get_by_label("Rule 1 flow to route to")
    # A new rule: Amount > … → Require approval, which reads a reason and nothing else.
    expect(reason).to_be_visible()
    for unused in (field_name, field_to_set, value_to_set, flow):
        expect(unused).to_be_hidden()

    rule.get_by_label("Rule 1 condition 1 looks at").select_option("deal")
    expect(field_name).to_be_visible()
    rule.get_by_label("Rule 1 action").select_option("set_field")
    expect(field_to_set).to_be_visible()
    expect(value_to_set).to_be_visible()
    expect(reason).to_be_hidden()
    expect(flow).to_be_hidden()

    rule.get_by_label("Rule 1 action").select_option("hold")
    expect(field_to_set).to_be_hidden()
    expect(value_to_set).to_be_hidden()
    expect(reason).to_be_visible()
    rule.get_by_label("Rule 1 condition 1 looks at").select_option("total")
    expect(field_name).to_be_hidden()

    # The editor htmx draws again after a button shows the same: rule 2 is a new one.
    rule.get_by_label("Rule 1 action").select_option("set_field")
    page.get_by_role("button", name="Add rule").click()
    expect(page.get_by_test_id("rule-2").get_by_label("Rule 2 field to set")).to_be_hidden()
    expect(page.get_by_label("Rule 1 field to set")).to_be_visible()
    expect(page.get_by_label("Rule 1 reason")).to_be_hidden()


def test_a_set_field_rule_saves_with_javascript_off(browser, live_server, users):
    pair = IntegrationPairFactory(name="Acme deals")
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    page.goto(f"{live_server.url}/login/")
    page.get_by_label("Username").fill("admin")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.goto(f"{live_server.url}/pairs/{pair.slug}/flows/{ORDERS}/rules/")
    page.get_by_role("button", name="Add rule").click()
    rule = page.get_by_test_id("rule-1")
    rule.get_by_label("Rule 1 condition 1 value").fill("5000")
    rule.get_by_label("Rule 1 action").select_option("set_field")
    expect(rule.get_by_label("Rule 1 reason")).to_be_visible()  # nothing hides without JS
    rule.get_by_label("Rule 1 field to set").select_option("notes")
    rule.get_by_label("Rule 1 value to set").fill("Big deal: check stock")
    page.get_by_role("button", name="Save as a new version").click()

    expect(page.get_by_test_id("current-version")).to_contain_text("version 1")
    expect(page.get_by_test_id("rule-1")).to_contain_text(
        "Amount > 5000 → Set Notes (the order's comment) to “Big deal: check stock”"
    )
    context.close()
