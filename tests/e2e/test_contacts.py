"""Contact sync in Chromium: the admin finds it on a Streak + Sage 100 pair's Flows page with
its table of who keeps each contact field, and a person a Sage user added to a bound
customer is shown on the run's page, made in Streak."""

from datetime import datetime

import pytest
from playwright.sync_api import Page, expect

from connectors.models import IntegrationPair
from connectors.services import connector_for
from flows.models import FlowConfig, SyncRun
from flows.runner import execute_run
from sandbox.sage100.rules import decimal_hours
from tests.integration.flows.polling import poll_now, sage100_rows
from tests.integration.flows.sync_helpers import bind_sage100_customer

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

FLOW = "contact_sync"


@pytest.fixture
def pair(streak, sage100) -> IntegrationPair:
    pair = IntegrationPair.objects.create(name="Streak → Sage 100", crm=streak, erp=sage100)
    FlowConfig.objects.filter(pair=pair, flow=FLOW).update(
        enabled=True, trigger=FlowConfig.Trigger.POLL
    )
    return pair


def test_the_admin_sets_who_keeps_contact_fields_and_reads_a_contact_run(
    page: Page, live_server, users, login, screenshot, pair, streak, sage100, sage100_sandbox
):
    customer = next(connector_for(sage100).stream("customer"))
    organization = connector_for(streak).create(
        "Organization", {"name": customer["CustomerName"], "domains": ["rivera.example"]}, "o"
    )
    bind_sage100_customer(pair, organization["key"], customer)
    poll_now(pair, FLOW)
    login("admin")
    page.goto(f"{live_server.url}/pairs/{pair.slug}/flows/")

    card = page.locator(f"#flow-{FLOW}")
    expect(card).to_contain_text("Contact sync")
    expect(card).to_contain_text("Which system keeps each contact field")
    expect(card.get_by_label("Phone")).to_have_value("sage")
    card.get_by_label("Title").select_option(label="Streak")
    card.get_by_role("button", name="Save").click()
    expect(page.get_by_role("status")).to_contain_text("saved")
    options = FlowConfig.objects.get(pair=pair, flow=FLOW).options["contact_owners"]
    assert options["title"] == "crm" and options["phone"] == "sage"
    card.scroll_into_view_if_needed()
    screenshot("contact_sync_settings.png", full_page=False)

    now = datetime.now()
    sage100_rows(  # a Sage user adds a person to the customer
        sage100_sandbox,
        "INSERT INTO AR_CustomerContact (ARDivisionNo, CustomerNo, ContactCode, ContactName, "
        "EmailAddress, TelephoneNo1, DateUpdated, TimeUpdated) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        customer["ARDivisionNo"],
        customer["CustomerNo"],
        "MRIVERA",
        "Maya Rivera",
        "maya@rivera.example",
        "(555) 300-1200",
        now.date().isoformat(),
        decimal_hours(now),
    )
    assert poll_now(pair, FLOW).runs == 1
    run = SyncRun.objects.get(pair=pair)
    execute_run(run.pk)

    page.goto(f"{live_server.url}/runs/{run.pk}/")
    expect(
        page.get_by_text("Contact Maya Rivera: created in the CRM from Sage 100.")
    ).to_be_visible()
    screenshot("contact_sync_run.png")
    [made] = connector_for(streak).search("Contact", email="maya@rivera.example")
    assert (made["givenName"], made["familyName"], made["phoneNumbers"]) == (
        "Maya",
        "Rivera",
        ["(555) 300-1200"],
    )
