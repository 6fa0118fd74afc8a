"""The connection page tells how much of the API budget is in use and by how many processes,
and for Salesforce how much of the day's allocation the org has used."""

import pytest
from playwright.sync_api import Page, expect

from connectors.models import Connection
from connectors.services import connector_for

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_the_connection_page_shows_the_budget_in_use(
    page: Page, live_server, users, login, streak: Connection, screenshot
):
    streak.settings = {**streak.settings, "requests_per_second": 10}
    streak.save()
    client = connector_for(streak).client
    for _ in range(6):
        client.get("/v1/users/me")

    login("viewer")
    page.goto(f"{live_server.url}/connections/{streak.pk}/")

    budget = page.get_by_test_id("api-budget")
    expect(budget).to_contain_text("/10 a second in use")
    expect(budget).to_contain_text("(shared by 1 process)")
    screenshot("api_budget.png")


def test_the_salesforce_page_shows_the_calls_used_today(
    page: Page, live_server, users, login, salesforce: Connection, salesforce_sandbox
):
    salesforce_sandbox.app.apply_settings({"api_used": 12344})
    list(connector_for(salesforce).query("SELECT Id FROM Account LIMIT 1"))

    login("viewer")
    page.goto(f"{live_server.url}/connections/{salesforce.pk}/")

    expect(page.get_by_test_id("api-allocation")).to_contain_text(
        "Salesforce: 12,345 of 15,000 calls today"
    )
