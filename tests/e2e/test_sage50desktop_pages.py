"""The Sage 50 desktop sandbox's pages in a real browser: a person records a payment
against an open invoice in Receipts, as in Sage 50, and sees it listed and applied."""

import re
from decimal import Decimal

import pytest
from playwright.sync_api import Page, expect

pytestmark = pytest.mark.e2e


def test_recording_a_payment_on_the_receipts_page(page: Page, sage50desktop_sandbox, screenshot):
    page.goto(f"{sage50desktop_sandbox.url}/receipts")
    invoice = page.get_by_label("Invoice")
    first_open = invoice.locator("option").nth(1)
    number = first_open.get_attribute("value")
    due = re.search(r"([\d,]+\.\d\d) due", first_open.inner_text()).group(1)
    invoice.select_option(value=number)
    page.get_by_label("Amount").fill("125.00")
    page.get_by_label("Check number").fill("50871")
    page.get_by_label("Payment method").select_option("Check")
    page.get_by_role("button", name="Record payment").click()

    expect(page.get_by_role("status")).to_have_text(
        f"Receipt of 125.00 recorded against invoice {number}."
    )
    receipt = page.get_by_role("row").filter(has=page.get_by_role("cell", name="50871", exact=True))
    expect(receipt).to_contain_text(number)
    expect(receipt).to_contain_text("125.00")
    screenshot("sage50desktop-receipts.png")

    page.get_by_role("link", name=number).first.click()
    expect(page.get_by_role("row", name=re.compile("50871"))).to_contain_text("125.00")
    left = Decimal(due.replace(",", "")) - Decimal("125.00")
    expect(page.get_by_role("row", name=re.compile("Balance due"))).to_contain_text(f"{left:,.2f}")
