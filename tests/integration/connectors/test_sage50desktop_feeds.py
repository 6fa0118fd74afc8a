"""The Sage 50 US (desktop) change feeds against the live sandbox, read as the poller reads
them (`flows.polling.read_feed`): receipts entered on the sandbox's Receipts page, stock
adjusted on its Inventory page and customers changed through the agent are each announced
once, after the cursor or snapshot that came before them."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
import requests

from connectors.base import FeedCursor
from connectors.sage50desktop.connector import Sage50DesktopConnector
from connectors.services import connector_for
from flows.polling import event_of, read_feed

pytestmark = pytest.mark.django_db

NOW = datetime.now(UTC)


@pytest.fixture
def sage(sage50desktop) -> Sage50DesktopConnector:
    return connector_for(sage50desktop)


def page_form(sandbox, path: str, form: dict) -> None:
    """Submit one of the sandbox's pages as a Sage 50 user would; Sage's refusal fails."""
    reply = requests.post(f"{sandbox.url}{path}", data=form, timeout=10, allow_redirects=False)
    assert reply.status_code == 303 and "error=" not in reply.headers["Location"], reply.headers


def an_open_invoice(sage) -> dict:
    return next(
        invoice
        for invoice in sage.search("sales_invoice", limit=None, with_lines=False)
        if invoice["MainAmount"] > invoice["AmountPaid"] + 1
    )


def test_a_receipt_recorded_after_the_cursor_is_announced_once(sage, sage50desktop_sandbox):
    first, cursor = read_feed(sage, "cash_receipt", FeedCursor(NOW + timedelta(days=1)))
    invoice = an_open_invoice(sage)
    page_form(sage50desktop_sandbox, "/receipts", {
        "InvoiceNumber": invoice["Reference"], "Amount": "1.00", "Reference": "CHK-7781",
        "PaymentMethod": "Check", "Date": NOW.date().isoformat()})  # fmt: skip

    announced, after = read_feed(sage, "cash_receipt", cursor)
    again, _ = read_feed(sage, "cash_receipt", after)

    assert first == [] and again == []
    [(record, change)] = announced
    assert record["Reference"] == "CHK-7781" and record["MainAmount"] == Decimal("1.00")
    assert record["CustomerID"] == invoice["CustomerID"]
    assert record["InvoiceNumber"] == invoice["Reference"]
    key = event_of(sage.feeds["payments"][0], change, record).entity_key.partition(":")[2]
    read = sage.read_payment(key)
    assert read.invoices == [invoice["Reference"]] and read.record["PaymentMethod"] == "Check"


def test_a_first_read_of_receipts_takes_those_dated_since_the_cursor(sage):
    everything, cursor = read_feed(
        sage, "cash_receipt", FeedCursor(datetime(2000, 1, 1, tzinfo=UTC))
    )
    none_later, _ = read_feed(sage, "cash_receipt", cursor)

    numbers = [int(record["PostOrder"]) for record, _ in everything]
    assert numbers and numbers == sorted(numbers) and none_later == []
    assert all(record["InvoiceNumber"] for record, _ in everything)
    assert cursor.seen == {f"PostOrder:{numbers[-1]}"}


def test_a_customer_change_after_the_snapshot_is_announced_once(sage):
    snapshot, cursor = read_feed(sage, "customer", FeedCursor(NOW))
    customer = next(sage.stream("customer"))["CustomerID"]

    stamp = sage.update_customer(customer, {"phone": "(303) 555-0199"}, "feed-phone")
    announced, after = read_feed(sage, "customer", cursor)
    again, _ = read_feed(sage, "customer", after)

    assert len(snapshot) == len(list(sage.stream("customer")))  # the first read: them all
    assert again == []
    [(record, change)] = announced
    assert record["Phone_Number"] == "(303) 555-0199"
    assert (change.key, change.stamp) == (customer, stamp)  # customer sync knows its own


def test_a_customer_made_after_the_snapshot_is_announced(sage):
    _, cursor = read_feed(sage, "customer", FeedCursor(NOW))

    values = {"Customer_Bill_Name": "Feed Test Traders"}
    made, _ = sage.agent.create("/v1/customers", "customer", values, "feed-new")
    announced, _ = read_feed(sage, "customer", cursor)

    assert [change.key for _, change in announced] == [made["CustomerID"]]


def test_a_stock_change_after_the_snapshot_is_announced_once(sage, sage50desktop_sandbox):
    snapshot, cursor = read_feed(sage, "stock", FeedCursor(NOW))
    item = next(row for row in sage.stream("stock") if row["ItemClass"] == 1)

    adjusted = {"ItemID": item["ItemID"], "QuantityOnHand": str(item["QuantityOnHand"] + 7)}
    page_form(sage50desktop_sandbox, "/stock", adjusted)
    announced, after = read_feed(sage, "stock", cursor)
    again, _ = read_feed(sage, "stock", after)

    assert len(snapshot) == len(list(sage.stream("stock"))) and again == []
    [(_, change)] = announced
    assert change.key == item["ItemID"]
    stock = sage.read_stock(change.key)
    assert stock.sku == item["ItemID"] and len(stock.rows) == 1
    assert stock.rows[0]["QuantityOnHand"] == item["QuantityOnHand"] + 7


def test_an_invoice_moves_the_stock_and_the_customer_it_touches(sage):
    _, customers = read_feed(sage, "customer", FeedCursor(NOW))
    _, stock = read_feed(sage, "stock", FeedCursor(NOW))
    customer = next(row for row in sage.stream("customer") if not row["CustomerIsInactive"])
    item = next(row for row in sage.stream("stock") if row["ItemClass"] == 1
                and row["QuantityOnHand"] > 2 and not row["ItemIsInactive"])  # fmt: skip

    sage.create_invoice(
        {"CustomerID": customer["CustomerID"], "InternalNote": "DEAL-FEED-1",
         "lines": [{"ItemID": item["ItemID"], "Quantity": Decimal("2")}]},
        [{"sku": item["ItemID"]}], "", None, "feed-invoice",
    )  # fmt: skip

    assert [c.key for _, c in read_feed(sage, "customer", customers)[0]] == [customer["CustomerID"]]
    assert [c.key for _, c in read_feed(sage, "stock", stock)[0]] == [item["ItemID"]]
