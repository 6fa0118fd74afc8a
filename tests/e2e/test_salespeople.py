"""Fill salespeople in Chromium: an admin presses "Fill salespeople" on the lookup tables
page for a Streak + Sage 100 pair, sees who matched and who did not, and the table's rows."""

import pytest
from playwright.sync_api import Page, expect

from mappings.models import LookupTable

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_an_admin_fills_salespeople_and_sees_the_rows_and_who_did_not_match(
    page: Page, live_server, users, login, screenshot, streak_pair
):
    pair = streak_pair
    login("admin")
    page.goto(f"{live_server.url}/lookups/")
    page.locator(f"#pair-{pair.pk}").get_by_role("button", name="Fill salespeople").click()

    expect(page.locator("#fill-summary")).to_contain_text("Matched 3 of 4 users")
    matched = page.locator("#matched")
    expect(matched.locator("tbody tr")).to_have_count(3)
    expect(matched.get_by_role("row", name="Daniel Okafor")).to_contain_text("same name")
    expect(matched.get_by_role("row", name="Priya Raman")).to_contain_text("0200")
    unmatched = page.locator("#unmatched")
    expect(unmatched.locator("li")).to_have_text(
        [r"Sofia Lindqvist sofia.lindqvist@claritydemo.com — key sofia.lindqvist@claritydemo.com"]
    )
    expect(unmatched).to_contain_text("add a row in the table by hand")
    screenshot("salespeople_filled.png")

    page.get_by_role("link", name="Open the table “salespeople”").click()
    expect(page.locator("#entries tr")).to_have_count(3)
    expect(page.locator("#entries")).to_contain_text("alex.morgan@claritydemo.com")
    screenshot("salespeople_table.png")
    table = LookupTable.objects.get(pair=pair, name="salespeople")
    assert table.entries.get(key="priya.raman@claritydemo.com").value == "0200"


def test_an_operator_sees_no_fill_button(page: Page, live_server, users, login, streak_pair):
    login("operator")
    page.goto(f"{live_server.url}/lookups/")
    expect(page.locator(f"#pair-{streak_pair.pk}")).to_be_visible()
    expect(page.get_by_role("button", name="Fill salespeople")).to_have_count(0)
