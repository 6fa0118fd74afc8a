"""The Sage 100 sandbox's Sales invoices page in Chromium: an S/O invoice Clarity made of a
sales order through the agent, entered but not yet posted, shows with its order number,
deal, lines and total — what a demo user looks for after a won deal is invoiced."""

import pytest
from playwright.sync_api import Page, expect

from connectors.models import Connection
from connectors.services import connector_for

pytestmark = [pytest.mark.e2e, pytest.mark.django_db]

DEAL = "006DEMO0000WON1"  # a won opportunity's id, as the order flow stamps it


def test_an_invoice_made_of_an_order_through_the_agent_shows_with_its_order_number(
    page: Page, sage100_sandbox, sage100: Connection, screenshot
):
    sage = connector_for(sage100)
    customer = sage100_sandbox.app.pages.open_orders()[0]
    order = sage.create(
        "sales_order",
        {"ARDivisionNo": customer["ARDivisionNo"], "CustomerNo": customer["CustomerNo"],
         "UDF_DEAL_ID": DEAL, "lines": [{"ItemCode": "WIDGET-100", "QuantityOrdered": 3}]},
        "e2e-order-of-deal",
    )  # fmt: skip
    order_no = order["SalesOrderNo"]
    page.goto(f"{sage100_sandbox.url}/sales-invoices")
    expect(page.get_by_role("row").filter(has_text=DEAL)).to_have_count(0)

    made = sage.invoice_order(order_no, "e2e-invoice-of-order")

    page.goto(sage100_sandbox.url)
    page.get_by_role("link", name="Sales invoices").click()
    invoice = page.get_by_role("row").filter(has_text=made.number).first
    expect(invoice).to_be_visible()
    expect(invoice.get_by_role("link", name=order_no)).to_be_visible()
    expect(invoice).to_contain_text(made.total)
    expect(invoice).to_contain_text(DEAL)
    screenshot("sage100_sales_invoices.png")

    invoice.get_by_role("link", name=order_no).click()
    expect(page.get_by_role("heading", name=f"Sales order {order_no}")).to_be_visible()
