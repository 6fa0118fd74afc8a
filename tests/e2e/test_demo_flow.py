"""The demo as a person sees it: a box moved to Closed-Won on the Streak sandbox page becomes
a Sage 100 order, and its number appears on the box; one won on the Wholesale board becomes a
Sage 50 desktop invoice, listed on the Sage 50 sandbox's invoices page and numbered on the box.
The newer features work in the demo as seeded: a person added to a won deal's organization
in Streak reaches the Sage 100 customer's contacts; a rejected deal gives its owner a task on
the box; an opportunity won in Salesforce gets its Sage 100 invoice number."""

import re
import time
from decimal import Decimal

import pytest
import requests
from django.contrib.auth import get_user_model
from django.core.management import call_command
from playwright.sync_api import Page, expect

from connectors.models import Connection, IntegrationPair
from connectors.services import connector_for
from flows.approvals import reject
from flows.models import ExternalLink, SyncRun
from sandbox.demo import connect_demo
from sandbox.streak import data as streak_data
from tests import won_deals
from tests.integration.flows.polling import sage100_rows
from tests.integration.sandbox.salesforce_client import control

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

STREAK_AUTH = ("sandbox-streak-key", "")
SALES_PIPELINE = "agxzfm1haWxmb29nYWVyUGlwZWxpbmU6MDAwMDAwMDE6c2FuZGJveA"
WHOLESALE_PIPELINE = streak_data.WHOLESALE["key"]
# An open Wholesale deal in USD, under the approval threshold, selling items Sage 50 has.
WHOLESALE_DEAL = "WHL-3003"
WITHIN_SECONDS = 15  # from the Move click to the invoice number on the box


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args: dict) -> dict:
    """The Salesforce sandbox's certificate is its own."""
    return {**browser_context_args, "ignore_https_errors": True}


@pytest.fixture
def demo(settings, live_server, monkeypatch, streak_sandbox, sage100_sandbox,
         salesforce_sandbox, sage_accounting_sandbox, sage50desktop_sandbox):  # fmt: skip
    """seed_demo, with the demo connections pointed at this test's sandboxes and server."""
    settings.CLARITY_PUBLIC_URL = live_server.url
    settings.CLARITY_DEMO = True  # as `make run` starts
    monkeypatch.setattr("django_q.conf.Conf.SYNC", True)  # runs execute in the request
    call_command("seed_demo", stdout=open("/dev/null", "w"))  # noqa: SIM115
    moves = {
        "http://127.0.0.1:8101": streak_sandbox.url,
        "http://127.0.0.1:8104": sage100_sandbox.url,
        "https://127.0.0.1:8443": salesforce_sandbox.url,
        "http://127.0.0.1:8102": sage_accounting_sandbox.url,
        "http://127.0.0.1:8106": sage50desktop_sandbox.url,
    }
    read_over_odbc = {"sage100": sage100_sandbox, "sage50desktop": sage50desktop_sandbox}
    for connection in Connection.objects.all():
        settings_ = dict(connection.settings)
        for key, value in settings_.items():
            for old, new in moves.items():
                if isinstance(value, str) and value.startswith(old):
                    settings_[key] = value.replace(old, new)
        if connection.system in read_over_odbc:
            sandbox = read_over_odbc[connection.system]
            settings_["odbc_connection_string"] = sandbox.app.odbc_connection_string
        if connection.system == "salesforce":
            settings_["ca_bundle"] = str(salesforce_sandbox.app.data_dir / "salesforce-cert.pem")
        connection.settings = settings_
        connection.save()
    sandboxes = {"streak": streak_sandbox, "salesforce": salesforce_sandbox,
                 "sage_accounting": sage_accounting_sandbox}  # fmt: skip
    return connect_demo(sandboxes)


def test_connect_demo_joins_every_pair_and_is_idempotent(demo, streak_sandbox):
    assert "Streak → Sage 100: Streak posts BOX_CHANGE_STAGE to the pair." in demo
    assert "Streak → Sage 50 desktop: Streak posts BOX_CHANGE_STAGE to the pair." in demo
    assert any("Salesforce sends Outbound Messages" in line for line in demo)
    assert any(line.startswith("Demo Sage 50: Connected to Brightline") for line in demo)
    again = connect_demo({"streak": streak_sandbox})
    assert "Streak → Sage 100: Streak webhook already registered." in again
    assert "Streak → Sage 50 desktop: Streak webhook already registered." in again


def test_connect_demo_registers_the_contact_events_a_demo_registered_before_lacks(
    demo, streak_sandbox
):
    assert "Streak → Sage 100: Streak posts CONTACT_CREATE to the pair." in demo
    pair = IntegrationPair.objects.get(slug="streak-sage100")
    streak = connector_for(pair.crm)
    for hook in streak.webhooks():  # as an older demo registered: stage changes only
        if hook["event"].startswith("CONTACT_") and hook["targetUrl"].startswith(
            pair.webhook_base_url
        ):
            streak.delete_webhook(hook["key"])

    again = connect_demo({"streak": streak_sandbox})
    assert "Streak → Sage 100: Streak posts CONTACT_CREATE to the pair." in again
    assert "Streak → Sage 100: Streak posts CONTACT_UPDATE to the pair." in again
    assert "Streak → Sage Accounting: Streak webhook already registered." in again


def open_sales_box(streak_sandbox) -> dict:
    """An open box of the Sales pipeline selling items Sage 100 has."""
    boxes = requests.get(f"{streak_sandbox.url}/api/v1/pipelines/{SALES_PIPELINE}/boxes",
                         auth=STREAK_AUTH, timeout=10).json()  # fmt: skip
    return next(b for b in boxes if "Closed" not in b.get("stageName", "")
                and not {"WIDGET-999", "GADGET-998"} & set(str(b["fields"]).split()))  # fmt: skip


def test_a_box_won_on_the_streak_page_gets_its_sage_order_number(demo, page: Page, streak_sandbox):
    api = f"{streak_sandbox.url}/api/v1"
    box = open_sales_box(streak_sandbox)

    page.goto(f"{streak_sandbox.url}/pipelines/{SALES_PIPELINE}")
    stage = page.get_by_label(f"Stage of {box['name']}")
    stage.select_option(label="Closed-Won")
    stage.locator("xpath=..").get_by_role("button", name="Move").click()

    deadline = time.monotonic() + 60
    order_no = ""
    while time.monotonic() < deadline and not order_no:
        fields = requests.get(f"{api}/boxes/{box['key']}", auth=STREAK_AUTH, timeout=10).json()
        order_no = next(
            (v for k, v in fields["fields"].items() if isinstance(v, str) and v.isdigit()
             and len(v) == 7), ""
        )  # fmt: skip
        time.sleep(1)
    runs = list(SyncRun.objects.values_list("status", "error_message", "summary"))
    assert order_no, f"the box never got its Sage order number: {runs}"
    page.goto(f"{streak_sandbox.url}/boxes/{box['key']}")
    assert order_no in page.content()


def test_a_box_won_on_the_wholesale_board_becomes_a_sage50_desktop_invoice_numbered_on_the_box(
    demo, page: Page, streak_sandbox, sage50desktop_sandbox, screenshot
):
    api = f"{streak_sandbox.url}/api/v1"
    boxes = requests.get(f"{api}/pipelines/{WHOLESALE_PIPELINE}/boxes", auth=STREAK_AUTH,
                         timeout=10).json()  # fmt: skip
    box = next(b for b in boxes if b["fields"][streak_data.FIELD_DEAL_ID] == WHOLESALE_DEAL)
    assert box["stageKey"] != streak_data.CLOSED_WON

    page.goto(f"{streak_sandbox.url}/pipelines/{WHOLESALE_PIPELINE}")
    stage = page.get_by_label(f"Stage of {box['name']}")
    stage.select_option(label="Closed-Won")
    won_at = time.monotonic()
    stage.locator("xpath=..").get_by_role("button", name="Move").click()

    invoice_no = ""
    while time.monotonic() - won_at < WITHIN_SECONDS and not invoice_no:
        fields = requests.get(f"{api}/boxes/{box['key']}", auth=STREAK_AUTH, timeout=10).json()
        invoice_no = fields["fields"].get(streak_data.FIELD_SAGE_INVOICE_ID, "")
        time.sleep(0.5)
    runs = list(SyncRun.objects.values_list("status", "error_message", "summary"))
    assert invoice_no, f"no Sage 50 invoice number on the box {WITHIN_SECONDS} s after: {runs}"

    page.goto(sage50desktop_sandbox.url)
    invoice = page.get_by_role("row").filter(
        has=page.get_by_role("link", name=invoice_no, exact=True)
    )
    expect(invoice).to_contain_text(box["name"].partition(" - ")[0])
    expect(invoice).to_contain_text(f"{Decimal(box['fields'][streak_data.FIELD_AMOUNT]):,.2f}")
    screenshot("demo-sage50desktop-invoices.png", full_page=False)  # the newest first
    invoice.get_by_role("link", name=invoice_no).click()
    expect(page.get_by_role("heading", name=f"Sales invoice {invoice_no}")).to_be_visible()
    for product in box["fields"][streak_data.FIELD_PRODUCTS].splitlines():
        code, _, rest = product.partition(" x ")
        quantity, _, price = rest.partition(" @ ")
        line = page.get_by_role("row").filter(has=page.get_by_role("cell", name=code, exact=True))
        expect(line).to_contain_text(f"{Decimal(price):,.2f}")
        expect(line.get_by_role("cell", name=quantity, exact=True)).to_be_visible()
    screenshot("demo-sage50desktop-invoice.png")

    page.goto(f"{streak_sandbox.url}/boxes/{box['key']}")
    expect(page.get_by_role("row", name=re.compile("Sage Invoice ID"))).to_contain_text(invoice_no)
    expect(
        page.get_by_text(f"Sage 50 (US desktop) sales invoice {invoice_no} created")
    ).to_be_visible()
    screenshot("demo-streak-wholesale-box.png")


def wait_for(check, seconds: float = WITHIN_SECONDS):
    """What `check` finds, once it finds something; fails after `seconds`."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if found := check():
            return found
        time.sleep(0.3)
    runs = list(SyncRun.objects.values_list("flow_config__flow", "status", "summary"))
    raise AssertionError(f"not seen within {seconds} s; runs: {runs}")


def test_a_person_added_to_a_won_deal_s_organization_in_streak_reaches_sage100(
    demo, streak_sandbox, sage100_sandbox
):
    pair = IntegrationPair.objects.get(slug="streak-sage100")
    key = open_sales_box(streak_sandbox)["key"]
    won_deals.move_box(streak_sandbox, key, streak_data.CLOSED_WON)  # Streak posts the move
    bound = wait_for(lambda: ExternalLink.objects.filter(pair=pair, entity="customer").first())
    streak = connector_for(pair.crm)
    domain = streak.get("Organization", bound.crm_id)["domains"][0]
    division, _, customer_no = bound.sage_id.partition("-")

    person = {"givenName": "Dana", "familyName": "Whitfield",
              "emailAddresses": [f"dana.whitfield@{domain}"]}  # fmt: skip
    streak.create("Contact", person, "demo-user")  # a Streak user adds them

    [row] = wait_for(
        lambda: sage100_rows(
            sage100_sandbox,
            "SELECT * FROM AR_CustomerContact WHERE EmailAddress = ?",
            f"dana.whitfield@{domain}",
        )
    )
    assert (row["ContactName"], row["ARDivisionNo"], row["CustomerNo"]) == (
        "Dana Whitfield", division, customer_no
    )  # fmt: skip


def test_a_deal_rejected_by_the_demo_approver_gives_its_owner_a_task_on_the_box(
    demo, page: Page, streak_sandbox
):
    key = won_deals.seeded_box_key("SAL-1006")  # over the approval threshold
    won_deals.move_box(streak_sandbox, key, streak_data.CLOSED_WON)
    run = wait_for(
        lambda: SyncRun.objects.filter(
            entity_key=key, status=SyncRun.Status.AWAITING_APPROVAL
        ).first()
    )
    approver = get_user_model().objects.get(username="approver")
    reject(run.approval, approver, "Customer is two invoices behind.")

    page.goto(f"{streak_sandbox.url}/boxes/{key}")
    expect(page.locator("body")).to_contain_text("Customer is two invoices behind.")
    task = page.get_by_role("heading", name="Tasks").locator("xpath=following-sibling::ul[1]")
    expect(task.get_by_role("listitem")).to_have_count(1)
    expect(task).to_contain_text("Call ")
    expect(task).to_contain_text("rejected")


def test_an_opportunity_won_in_salesforce_gets_its_sage100_invoice_number(
    demo, page: Page, salesforce_sandbox, sage100_sandbox
):
    """The demo pair follows Change Data Capture (`run_subscribers`); here Salesforce's
    Outbound Message, registered by connect_demo, carries the win instead."""
    control(salesforce_sandbox, "outbound-messages", {"enabled": True})
    salesforce = connector_for(IntegrationPair.objects.get(slug="salesforce-sage100").crm)
    opportunity = won_deals.open_usd_opportunity(salesforce)
    salesforce.update("Opportunity", opportunity["Id"], {"StageName": "Closed Won"}, "won")

    invoice_no = wait_for(
        lambda: salesforce.get("Opportunity", opportunity["Id"]).get("Sage_Invoice_No__c")
    )
    order_no = salesforce.get("Opportunity", opportunity["Id"])["Sage_Order_No__c"]
    [invoice] = sage100_rows(
        sage100_sandbox, "SELECT * FROM SO_InvoiceHeader WHERE InvoiceNo = ?", invoice_no
    )
    assert invoice["SalesOrderNo"] == order_no  # Sage 100 invoiced the order it made
    page.goto(f"{salesforce_sandbox.url}/opportunities/{opportunity['Id']}")
    expect(page.get_by_role("row", name=re.compile("Sage invoice no."))).to_contain_text(invoice_no)
