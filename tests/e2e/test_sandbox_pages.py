"""What a person sees of each sandbox works in a real browser: one action per system."""

import pytest
import requests
from playwright.sync_api import Page, expect

pytestmark = pytest.mark.e2e

STREAK_AUTH = ("sandbox-streak-key", "")


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args):
    # The Salesforce sandbox's certificate is self-signed.
    return {**browser_context_args, "ignore_https_errors": True}


def test_moving_a_streak_box_changes_its_stage(page: Page, streak_sandbox):
    api = f"{streak_sandbox.url}/api/v1"
    pipeline = requests.get(f"{api}/pipelines", auth=STREAK_AUTH, timeout=5).json()[0]
    stages = pipeline["stages"]
    won = next(key for key, stage in stages.items() if stage["name"] == "Closed-Won")
    box = next(
        b
        for b in requests.get(
            f"{api}/pipelines/{pipeline['key']}/boxes", auth=STREAK_AUTH, timeout=5
        ).json()
        if b["stageKey"] != won
    )

    page.goto(f"{streak_sandbox.url}/pipelines/{pipeline['key']}")
    page.get_by_label(f"Stage of {box['name']}").select_option(label="Closed-Won")
    page.get_by_label(f"Stage of {box['name']}").locator("xpath=..").get_by_role(
        "button", name="Move"
    ).click()

    moved = requests.get(f"{api}/boxes/{box['key']}", auth=STREAK_AUTH, timeout=5).json()
    assert moved["stageKey"] == won


def test_marking_a_salesforce_opportunity_closed_won(page: Page, salesforce_sandbox):
    page.goto(salesforce_sandbox.url)
    row = page.get_by_role("row").filter(has=page.get_by_role("button", name="Mark Closed Won"))
    name = row.first.get_by_role("cell").first.inner_text()
    row.first.get_by_role("button", name="Mark Closed Won").click()
    page.goto(f"{salesforce_sandbox.url}/?stage=Closed+Won")
    expect(page.get_by_role("cell", name=name, exact=True)).to_be_visible()


def test_recording_a_payment_on_a_sage_accounting_invoice(page: Page, sage_accounting_sandbox):
    page.goto(sage_accounting_sandbox.url)
    unpaid = page.get_by_role("row").filter(has_text="Unpaid").first
    unpaid.get_by_role("link").filter(has_text="SI-").first.click()
    outstanding = page.get_by_label("Amount").input_value()
    assert float(outstanding) > 0
    page.get_by_role("button", name="Record payment").click()
    expect(page.get_by_text("Payment recorded.")).to_be_visible()
    expect(page.get_by_text("Outstanding 0.00")).to_be_visible()


def test_setting_a_sage100_order_on_hold(page: Page, sage100_sandbox):
    page.goto(sage100_sandbox.url)
    row = page.get_by_role("row").filter(has=page.get_by_role("button", name="Set")).first
    order_no = row.get_by_role("link").first.inner_text()
    row.get_by_role("combobox").select_option(value="H")
    row.get_by_role("button", name="Set").click()
    held = page.get_by_role("row").filter(has=page.get_by_role("link", name=order_no))
    expect(held.get_by_role("combobox")).to_have_value("H")
