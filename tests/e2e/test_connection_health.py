"""Connecting and testing connections from their pages, against the live sandboxes."""

import pytest
from playwright.sync_api import Page, expect

from connectors.models import Connection

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def connection(sage_accounting_sandbox) -> Connection:
    """A Sage 50 connection to the sandbox with its client credentials, not yet connected."""
    sage = sage_accounting_sandbox.url
    return Connection.objects.create(
        name="Brightline Sage",
        system="sage50",
        settings={
            "api_url": f"{sage}/v3.1",
            "auth_url": f"{sage}/oauth/authorize",
            "token_url": f"{sage}/oauth/token",
            "client_id": "sandbox-client",
        },
        secrets={"client_secret": "sandbox-secret"},
    )


def test_connect_to_sage_through_the_consent_page(
    page: Page, live_server, users, login, connection
):
    login("admin")
    page.goto(f"{live_server.url}/connections/{connection.pk}/")
    page.get_by_role("button", name="Connect to Sage 50").click()

    expect(page.get_by_text("Allow Clarity Connect to access")).to_be_visible()
    page.get_by_role("button", name="Allow").click()

    expect(page.get_by_role("status")).to_contain_text(
        "Connected. Connected to Brightline Industrial Supply Inc. in Sage; base currency USD."
    )
    expect(page.locator(".health .badge")).to_have_text("OK")
    connection.refresh_from_db()
    assert connection.status == "ok" and connection.secrets["refresh_token"]


def test_denied_consent_is_reported(page: Page, live_server, users, login, connection):
    login("admin")
    page.goto(f"{live_server.url}/connections/{connection.pk}/")
    page.get_by_role("button", name="Connect to Sage 50").click()
    page.get_by_role("button", name="Deny").click()
    expect(page.get_by_role("status")).to_contain_text("did not grant access")
