"""Follow-up tasks in Chromium: the admin picks on the Flows page which events give the deal's
owner a task (the order status flow offers the order put on hold, ticked by default) and in
how many working days it is due; an order put on hold in Sage 100 then shows as a task on the
Streak box's page, with whom to call and why."""

import pytest
from playwright.sync_api import Page, expect

from connectors.services import connector_for
from flows.models import FlowConfig
from tests.integration.flows.polling import link_order, open_orders, poll_now, set_status_in_sage

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

FLOW = "order_status_to_crm"


@pytest.mark.usefixtures("runs_inline")
def test_the_hold_option_on_the_flows_page_and_the_task_on_the_streak_box(
    page: Page, live_server, users, login, screenshot, streak_pair, streak_sandbox,
    sage100_sandbox,
):  # fmt: skip
    pair = streak_pair
    login("admin")
    page.goto(f"{live_server.url}/pairs/{pair.slug}/flows/")
    card = page.locator(f"#flow-{FLOW}")
    hold = card.get_by_label("The order is put on hold")
    expect(hold).to_be_checked()
    expect(card.get_by_label("An approver rejects the deal")).to_have_count(0)  # not raised here
    due = card.get_by_label("Follow-up task due in (working days)")
    expect(due).to_have_value("2")
    hold.uncheck()
    due.fill("3")
    card.get_by_role("button", name="Save").click()
    expect(page.get_by_role("status")).to_contain_text("saved")
    options = FlowConfig.objects.get(pair=pair, flow=FLOW).options
    assert (options["task_events"], options["task_due_days"]) == ([], 3)

    card = page.locator(f"#flow-{FLOW}")
    card.get_by_label("The order is put on hold").check()
    card.get_by_role("button", name="Save").click()
    expect(page.get_by_role("status")).to_contain_text("saved")
    screenshot("follow_up_task_options.png")

    FlowConfig.objects.filter(pair=pair, flow=FLOW).update(
        enabled=True, trigger=FlowConfig.Trigger.POLL
    )
    order_no = open_orders(sage100_sandbox)[0]
    box = next(connector_for(pair.crm).boxes())
    link_order(pair, box["key"], order_no)
    poll_now(pair, FLOW)
    set_status_in_sage(sage100_sandbox, order_no, "H")
    poll_now(pair, FLOW)

    page.goto(f"{streak_sandbox.url}/boxes/{box['key']}")
    expect(page.locator("body")).to_contain_text(
        f"Call the customer: order {order_no} is on hold in Sage 100"
    )
    expect(page.locator("body")).to_contain_text("NOT_DONE")
    screenshot("follow_up_task_streak_box.png")
