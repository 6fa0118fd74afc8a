"""Connecting and testing connections from their pages, against the live sandboxes."""

import re

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
    page.get_by_role("button", name="Connect to Sage Accounting").click()

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
    page.get_by_role("button", name="Connect to Sage Accounting").click()
    page.get_by_role("button", name="Deny").click()
    expect(page.get_by_role("status")).to_contain_text("did not grant access")


def test_reconnect_from_the_connections_list_when_sage_needs_it(
    page: Page, live_server, users, login, connection
):
    Connection.objects.filter(pk=connection.pk).update(
        status=Connection.Status.NEEDS_REAUTH,
        last_error="Sage no longer accepts this connection's authorisation (invalid_grant): "
        "press Connect to Sage to authorise again.",
    )
    Connection.objects.create(name="Acme Streak", system="streak", status="ok", settings={})
    login("admin")
    page.goto(f"{live_server.url}/connections/")
    row = page.get_by_role("row").filter(has_text="Brightline Sage")
    expect(row).to_contain_text("Needs re-authorisation")
    expect(row).to_contain_text("(invalid_grant)")
    reconnect = row.get_by_role("button", name="Reconnect Brightline Sage")
    expect(reconnect).to_have_class(re.compile(r"\bprimary\b"))  # it stands out
    expect(row.get_by_role("button", name="Test")).to_be_visible()
    streak_row = page.get_by_role("row").filter(has_text="Acme Streak")
    expect(streak_row.get_by_role("button", name=re.compile("Connect"))).to_have_count(0)

    reconnect.click()
    page.get_by_role("button", name="Allow").click()
    expect(page.get_by_role("status")).to_contain_text("Connected.")
    page.goto(f"{live_server.url}/connections/")
    expect(row.locator(".health .badge")).to_have_text("OK")
    expect(row).not_to_contain_text("invalid_grant")
    expect(row.get_by_role("button", name="Reconnect Brightline Sage")).not_to_have_class(
        re.compile(r"\bprimary\b")
    )


@pytest.mark.parametrize("role", ["operator", "viewer"])
def test_only_admins_see_reconnect_on_the_list(page: Page, live_server, users, login, connection,
                                               role):  # fmt: skip
    login(role)
    page.goto(f"{live_server.url}/connections/")
    expect(page.get_by_role("row").filter(has_text="Brightline Sage")).to_be_visible()
    expect(page.get_by_role("button", name=re.compile("Connect"))).to_have_count(0)
