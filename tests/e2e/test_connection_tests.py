"""The Test connection button on each system's connection page, against the live sandboxes."""

import pytest
from playwright.sync_api import Page, expect

from connectors.models import Connection

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

SALES_PIPELINE = "agxzfm1haWxmb29nYWVyUGlwZWxpbmU6MDAwMDAwMDE6c2FuZGJveA"


def press_test(page: Page, live_server, connection: Connection) -> None:
    page.goto(f"{live_server.url}/connections/{connection.pk}/")
    page.get_by_role("button", name="Test connection").click()


def test_streak(page: Page, live_server, users, login, streak_sandbox):
    connection = Connection.objects.create(
        name="Acme Streak", system="streak",
        settings={"base_url": streak_sandbox.url, "pipeline_key": SALES_PIPELINE},
        secrets={"api_key": "sandbox-streak-key"},
    )  # fmt: skip
    login("operator")
    press_test(page, live_server, connection)
    expect(page.locator(".health .badge")).to_have_text("OK")
    expect(page.locator(".health-message")).to_contain_text("Streak")


def test_streak_with_a_wrong_key_says_so(page: Page, live_server, users, login, streak_sandbox):
    connection = Connection.objects.create(
        name="Acme Streak", system="streak", settings={"base_url": streak_sandbox.url},
        secrets={"api_key": "not-the-key"},
    )  # fmt: skip
    login("operator")
    press_test(page, live_server, connection)
    expect(page.locator(".health .badge")).to_have_text("Needs re-authorisation")
    expect(page.locator(".health-message")).to_have_text("Streak refused the API key (401)")


def test_salesforce(page: Page, live_server, users, login, salesforce_sandbox):
    connection = Connection.objects.create(
        name="Acme Salesforce", system="salesforce",
        settings={
            "login_url": salesforce_sandbox.url, "auth_flow": "client_credentials",
            "client_id": "sandbox-client", "api_version": "59.0",
            "ca_bundle": str(salesforce_sandbox.app.data_dir / "salesforce-cert.pem"),
        },
        secrets={"client_secret": "sandbox-secret"},
    )  # fmt: skip
    login("admin")
    press_test(page, live_server, connection)
    expect(page.locator(".health .badge")).to_have_text("OK")
    expect(page.locator(".health-message")).to_contain_text("daily API requests used")


def test_sage100(page: Page, live_server, users, login, sage100_sandbox):
    database = sage100_sandbox.app.data_dir / "sage100.db"
    connection = Connection.objects.create(
        name="Acme Sage 100", system="sage100",
        settings={
            "odbc_connection_string": f"DRIVER={{SQLite3}};Database={database}",
            "odbc_dialect": "sqlite", "company_code": "ABC",
            "bridge_url": sage100_sandbox.url, "default_warehouse": "000",
        },
        secrets={"bridge_key": "sandbox-bridge-key"},
    )  # fmt: skip
    login("admin")
    press_test(page, live_server, connection)
    expect(page.locator(".health .badge")).to_have_text("OK")
    expect(page.locator(".health-message")).to_contain_text("customers")


def test_sage50_not_yet_connected_asks_for_connect(
    page: Page, live_server, users, login, sage_accounting_sandbox
):
    sage = sage_accounting_sandbox.url
    connection = Connection.objects.create(
        name="Acme Sage 50", system="sage50",
        settings={"api_url": f"{sage}/v3.1", "auth_url": f"{sage}/oauth/authorize",
                  "token_url": f"{sage}/oauth/token", "client_id": "sandbox-client"},
        secrets={"client_secret": "sandbox-secret"},
    )  # fmt: skip
    login("admin")
    press_test(page, live_server, connection)
    expect(page.locator(".health .badge")).to_have_text("Needs re-authorisation")
    expect(page.locator(".health-message")).to_have_text(
        "Not connected to Sage yet: press Connect to Sage."
    )
