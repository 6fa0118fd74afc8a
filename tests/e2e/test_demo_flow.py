"""The demo as a person sees it: a box moved to Closed-Won on the Streak sandbox page becomes
a Sage 100 order, and its number appears on the box; one won on the Wholesale board becomes a
Sage 50 desktop invoice, listed on the Sage 50 sandbox's invoices page and numbered on the box."""

import re
import time
from decimal import Decimal

import pytest
import requests
from django.core.management import call_command
from playwright.sync_api import Page, expect

from connectors.models import Connection
from flows.models import SyncRun
from sandbox.demo import connect_demo
from sandbox.streak import data as streak_data

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

STREAK_AUTH = ("sandbox-streak-key", "")
SALES_PIPELINE = "agxzfm1haWxmb29nYWVyUGlwZWxpbmU6MDAwMDAwMDE6c2FuZGJveA"
WHOLESALE_PIPELINE = streak_data.WHOLESALE["key"]
# An open Wholesale deal in USD, under the approval threshold, selling items Sage 50 has.
WHOLESALE_DEAL = "WHL-3003"
WITHIN_SECONDS = 15  # from the Move click to the invoice number on the box


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


def test_a_box_won_on_the_streak_page_gets_its_sage_order_number(demo, page: Page, streak_sandbox):
    api = f"{streak_sandbox.url}/api/v1"
    boxes = requests.get(f"{api}/pipelines/{SALES_PIPELINE}/boxes", auth=STREAK_AUTH,
                         timeout=10).json()  # fmt: skip
    box = next(b for b in boxes if "Closed" not in b.get("stageName", "")
               and not {"WIDGET-999", "GADGET-998"} & set(str(b["fields"]).split()))  # fmt: skip

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
