"""Sage holds two customers with a new organization's name: the run stops, its page lists
both, and an operator books the deal to one with a click (Chromium, live sandboxes)."""

import pytest
from playwright.sync_api import Page, expect

from connectors.services import connector_for
from flows.models import ExternalLink, SyncRun
from tests import won_deals as shared

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("runs_inline"),
]


def test_an_operator_chooses_which_of_two_sage_customers_an_organization_buys_as(
    screenshot, page: Page, live_server, users, login, client, streak_sandbox, sage100_pair, sage
):
    pair, token = sage100_pair
    name = "Harbor Twin Supplies"
    twins = [
        sage.create("customer", {"ARDivisionNo": "00", "CustomerName": name}, f"twin-{n}")
        for n in (1, 2)
    ]
    chosen = f"00-{twins[1]['CustomerNo']}"
    organization = connector_for(pair.crm).create("Organization", {"name": name}, "org")
    box = shared.won_clone(streak_sandbox, "SAL-1005", "TWIN-E2E-1")
    stored = streak_sandbox.app.store.get("boxes", box["key"])
    stored |= {"organizations": [{"key": organization["key"]}], "contacts": []}
    streak_sandbox.app.store.put("boxes", box["key"], stored)
    shared.deliver_streak(client, pair, token, shared.raw_box(streak_sandbox, box["key"]))
    run = SyncRun.objects.get(pair=pair, entity_key=box["key"])

    login("operator")
    page.goto(f"{live_server.url}{run.get_absolute_url()}")
    error = page.locator("#run-error")
    expect(error).to_contain_text("Sage 100 has 2 customers with the name")
    expect(error).to_contain_text("choose below the one it buys as")
    candidates = page.locator("#customer-candidates tr")
    expect(candidates).to_have_count(2)
    screenshot("run_duplicate_customers.png")
    candidates.filter(has_text=chosen).get_by_role("button", name="Book to this customer").click()

    expect(page.get_by_role("status")).to_contain_text(f"Booked to {chosen}")
    expect(page.locator("h1 .badge")).to_have_text("Succeeded")
    [order] = shared.orders_for(sage, "TWIN-E2E-1")
    assert f"{order['ARDivisionNo']}-{order['CustomerNo']}" == chosen
    link = ExternalLink.objects.get(pair=pair, entity="customer", sage_id=chosen)
    assert link.crm_id == organization["key"]
