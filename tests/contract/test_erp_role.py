"""The ERP role's contract, the same tests for every ERP connector (`erp`, see conftest):
customers found or created once, read and written in the common fields; the document it
takes (sales order or invoice) made once per deal; credit; the initial load's customers;
and the records its feeds announce. Which of these an ERP offers is decided by its
capabilities and feeds, never by which system it is."""

import re
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from connectors.base import FeedCursor
from connectors.erp_role import ErpRole
from connectors.errors import Unsupported
from connectors.records import ContactRecord, CustomerMatch, OpenInvoice
from connectors.roles import (
    CONTACTS,
    CREDIT,
    CUSTOMER_CONTACTS,
    CUSTOMER_LIST,
    CUSTOMER_SYNC,
    CUSTOMERS,
    INVOICES,
    ITEM_LIST,
    ORDER_INVOICES,
    ORDER_STATUS,
    ORDER_STATUS_WRITE,
    PAYMENTS,
    PRICES,
    PURCHASE_ORDERS,
    SALES_ORDERS,
    STOCK,
    Change,
)
from connectors.values import COMMON_FIELDS, same
from flows.polling import event_of, read_feed
from sandbox.catalogue import CODES_UNKNOWN_TO_SAGE, PRODUCTS
from tests.contract.defaults import to_erp

pytestmark = pytest.mark.django_db

SOLD = PRODUCTS[0]  # every sandbox's catalogue holds it
PLACE = {"city": "Springfield", "state": "IL", "zip": "62701", "country": "US"}
ADDRESS = {"lines": ["42 Test Way"], **PLACE}  # canonical
BILLING = {"street": "42 Test Way", **PLACE}  # in customer sync's common fields
# A deal's customer as the won-deal flows map it (canonical), new to every sandbox.
CUSTOMER = {
    "name": "Contract Test Outfitters",
    "email": "orders@contract-outfitters.example",
    "phone": "+1 217-555-0142",
    "billing_address": ADDRESS,
    "shipping_address": ADDRESS,
    "contacts": [{"name": "Casey Tester", "email": "orders@contract-outfitters.example"}],
    "external_refs": {"crm": "001CT0000000042AAA"},
    "currency": "USD",
    "terms": "Net 30",
    "credit_limit": "5000.00",
}
# The customer's common fields as customer sync writes them; not terms, which each ERP
# words its own way (Sage 100 terms codes, Sage Accounting credit days).
CHANGED = {
    "name": "Contract Test Outfitters West",
    "phone": "+1 217-555-0199",
    "email": "ap@contract-outfitters.example",
    "billing_address": {"street": "7 Harbor Rd\nSuite 4", "city": "Peoria", "state": "IL",
                        "zip": "61602", "country": "US"},
    "credit_limit": "7500.00",
}  # fmt: skip
AMOUNT = re.compile(r"-?\d+\.\d{2}")  # decimal text, to the cent


@pytest.fixture
def customer(erp: ErpRole) -> CustomerMatch:
    """The deal's customer, made in the ERP as the won-deal flows make it."""
    values = to_erp(erp, "Customer", CUSTOMER)
    return erp.find_or_create_customer(values, CUSTOMER, "contract-customer-1")


def document(customer: CustomerMatch, deal: str, lines: list[dict[str, Any]]) -> dict[str, Any]:
    """A won deal's canonical sales order or invoice for the customer."""
    today = date.today().isoformat()
    return {
        "customer_ref": customer.ref, "customer_name": CUSTOMER["name"],
        "customer_email": CUSTOMER["email"], "crm_deal_id": deal, "currency": "USD",
        "order_date": today, "invoice_date": today, "notes": f"Deal {deal}",
        "shipping_address": ADDRESS, "lines": lines,
    }  # fmt: skip


def sold(sku: str, **extra: Any) -> dict[str, Any]:
    return {"sku": sku, "description": SOLD.name, "quantity": "2",
            "unit_price": str(SOLD.price), **extra}  # fmt: skip


# ---------------------------------------------------------------- capabilities

# One call per method of each capability, made on an ERP that lacks it.
PROBES: dict[str, tuple[Callable[[Any], object], ...]] = {
    SALES_ORDERS: (lambda erp: erp.create_sales_order({}, "CT-0", "contract-probe"),),
    INVOICES: (
        lambda erp: erp.create_invoice({}, [], "", None, "contract-probe"),
        lambda erp: erp.find_invoice("CT-0", "CT-0"),
        lambda erp: erp.get_invoice("CT-0"),
        lambda erp: erp.ledger_account("4000"),
        lambda erp: erp.product_ledger_account("CT-0"),
    ),
    CUSTOMER_SYNC: (
        lambda erp: erp.read_customer("CT-0"),
        lambda erp: erp.customer_values({}),
        lambda erp: erp.update_customer("CT-0", {}, "contract-probe"),
    ),
    CUSTOMER_LIST: (lambda erp: erp.customers_to_load(),),
    ITEM_LIST: (lambda erp: erp.items_to_load(),),
    CREDIT: (lambda erp: erp.credit("CT-0"),),
    PURCHASE_ORDERS: (
        lambda erp: erp.shortfalls("CT-0"),
        lambda erp: erp.create_purchase_order("CT-0", [], "CT-0", "contract-probe"),
    ),
    ORDER_INVOICES: (lambda erp: erp.invoice_order("CT-0", "contract-probe"),),
    ORDER_STATUS_WRITE: (lambda erp: erp.set_order_status("CT-0", "on_hold", "contract-probe"),),
    CUSTOMER_CONTACTS: (
        lambda erp: erp.customer_contacts("CT-0"),
        lambda erp: erp.contact_customer("CT-0"),
        lambda erp: erp.write_customer_contact("CT-0", ContactRecord(""), [], "contract-probe"),
    ),
}
# What an ERP without a feed of the topic cannot read either.
FEED_PROBES: dict[str, tuple[Callable[[Any], object], ...]] = {
    ORDER_STATUS: (
        lambda erp: erp.read_order("CT-0"),
        lambda erp: erp.invoice_of_order("CT-0"),
    ),
    PAYMENTS: (lambda erp: erp.read_payment("CT-0"),),
    STOCK: (lambda erp: erp.read_stock("CT-0"),),
}
# The canonical entity the flows map each feed's records to (or from).
TOPIC_ENTITIES = {ORDER_STATUS: "OrderStatus", PAYMENTS: "Payment", STOCK: "InventoryLevel",
                  CUSTOMERS: "Customer", PRICES: "Item"}  # fmt: skip
# Feeds whose records the connector reads into a canonical record itself, with no mapping.
UNMAPPED_TOPICS = {CONTACTS}


def test_a_capability_the_erp_lacks_is_unsupported_and_its_attributes_agree(erp):
    assert erp.capabilities <= set(PROBES), "a capability the contract does not know"
    lacking = [probes for name, probes in PROBES.items() if name not in erp.capabilities]
    lacking += [probes for topic, probes in FEED_PROBES.items() if topic not in erp.feeds]
    for probe in (probe for probes in lacking for probe in probes):
        with pytest.raises(Unsupported) as refused:
            probe(erp)
        assert erp.label in str(refused.value)
    assert ("SalesOrder" in erp.entity_names) == (SALES_ORDERS in erp.capabilities)
    assert ("Invoice" in erp.entity_names) == (INVOICES in erp.capabilities)
    assert bool(erp.item_table) == (SALES_ORDERS in erp.capabilities)
    assert bool(erp.ledger_table) == (INVOICES in erp.capabilities)
    mapped_topics = set(erp.feeds) - UNMAPPED_TOPICS
    assert {TOPIC_ENTITIES[topic] for topic in mapped_topics} <= set(erp.entity_names)
    assert "Customer" in erp.entity_names and erp.short_label


# ---------------------------------------------------------------- customers


def test_a_customer_found_or_created_twice_is_one_customer(erp):
    values = to_erp(erp, "Customer", CUSTOMER)

    first = erp.find_or_create_customer(values, CUSTOMER, "contract-customer-1")
    again = erp.find_or_create_customer(values, CUSTOMER, "contract-customer-2")

    assert first.how == "created" and first.ref and first.name == CUSTOMER["name"]
    assert again.ref == first.ref and again.how.startswith("found by "), again
    bound = erp.bound_customer(first.ref, CUSTOMER)
    assert (bound.ref, bound.how, bound.tax_rate) == (first.ref, "bound before", first.tax_rate)


def test_a_customer_reads_in_the_common_fields(erp, customer):
    record = erp.read_customer(customer.ref)
    values = erp.customer_values(record)

    assert set(COMMON_FIELDS) <= set(values)
    assert erp.customer_ref(record) == customer.ref
    assert values["name"] == CUSTOMER["name"] and values["email"] == CUSTOMER["email"]
    assert same(values["billing_address"], BILLING), values["billing_address"]
    assert same(values["credit_limit"], CUSTOMER["credit_limit"])


def test_common_fields_written_to_a_customer_read_back_with_the_stamp_its_feed_carries(
    erp, customer
):
    written = {field: value for field, value in CHANGED.items() if field in erp.writable_fields}
    assert "phone" in written

    stamp = erp.update_customer(customer.ref, written, "contract-update")

    record = erp.read_customer(customer.ref)
    values = erp.customer_values(record)
    differing = [field for field, value in written.items() if not same(values[field], value)]
    assert stamp and not differing, {field: values[field] for field in differing}
    for feed in erp.feeds.get(CUSTOMERS, ()):  # customer sync knows the change for its own
        change = erp.change_of(feed.entity, record)
        assert (change.key, change.stamp) == (customer.ref, stamp)


def test_customers_to_load_come_in_a_stable_order(erp):
    refs = [erp.customer_ref(record) for record in erp.customers_to_load()]
    assert refs and len(set(refs)) == len(refs)

    erp.update_customer(refs[0], {"phone": "+1 217-555-0100"}, "contract-load-order")

    assert [erp.customer_ref(record) for record in erp.customers_to_load()] == refs


def test_credit_is_told_in_decimal_text(erp, customer):
    credit = erp.credit(customer.ref)

    amounts = [credit[name] for name in ("credit_limit", "balance", "available")]
    assert all(isinstance(amount, str) and AMOUNT.fullmatch(amount) for amount in amounts)
    limit, balance, available = map(Decimal, amounts)
    assert (limit, balance, available) == (Decimal("5000.00"), 0, Decimal("5000.00"))


def test_items_to_load_are_named_by_sku(erp):
    if ITEM_LIST not in erp.capabilities:
        with pytest.raises(Unsupported):
            erp.items_to_load()
        return
    items = erp.items_to_load()
    assert all(item["sku"] and item["name"] for item in items)
    assert SOLD.code in {item["sku"] for item in items}


# ---------------------------------------------------------------- documents


def test_an_item_is_found_by_its_code_in_any_case_and_an_unknown_code_is_not(erp):
    item = erp.find_item(SOLD.code.lower())

    assert item is not None and item.code == SOLD.code and item.id
    assert erp.find_item(CODES_UNKNOWN_TO_SAGE[0]) is None


def test_a_sales_order_made_twice_for_one_deal_is_one_order(erp, customer):
    if SALES_ORDERS not in erp.capabilities:
        with pytest.raises(Unsupported):
            erp.create_sales_order({}, "CT-DEAL-0042", "contract-order-1")
        return
    item = erp.find_item(SOLD.code)
    assert item, f"{erp.label} has no item {SOLD.code}"
    values = to_erp(erp, "SalesOrder", document(customer, "CT-DEAL-0042", [sold(item.code)]))

    first = erp.create_sales_order(values, "CT-DEAL-0042", "contract-order-1")
    again = erp.create_sales_order(values, "CT-DEAL-0042", "contract-order-2")

    assert first.number and not first.existed
    assert (again.number, again.existed) == (first.number, True)
    if ORDER_STATUS in erp.feeds:  # the order's status goes back to the deal it names
        assert erp.read_order(first.number).deal_reference == "CT-DEAL-0042"


def test_an_invoice_made_for_a_deal_is_found_by_its_reference(erp, customer):
    if INVOICES not in erp.capabilities:
        with pytest.raises(Unsupported):
            erp.create_invoice({}, [], "", None, "contract-invoice-1")
        return
    lines = [
        sold(SOLD.code, gl_account="", ledger_account_id=erp.product_ledger_account(SOLD.code))
    ]
    values = to_erp(erp, "Invoice", document(customer, "CT-DEAL-0043", lines))

    made = erp.create_invoice(values, lines, customer.tax_rate, None, "contract-invoice-1")

    found = erp.find_invoice(customer.ref, "CT-DEAL-0043")
    assert made.number and not made.existed
    assert found is not None and found.existed
    assert (found.id, found.number) == (made.id, made.number)
    assert erp.get_invoice(made.id).number == made.number
    assert erp.find_invoice(customer.ref, "CT-DEAL-0044") is None


def test_a_document_made_for_a_deal_is_listed_once_with_its_reference(erp, customer):
    item = erp.find_item(SOLD.code)
    assert item, f"{erp.label} has no item {SOLD.code}"
    before = {seen.number for seen in erp.documents_since(date.today())}
    if SALES_ORDERS in erp.capabilities:
        values = to_erp(erp, "SalesOrder", document(customer, "CT-DEAL-0045", [sold(item.code)]))
        made = erp.create_sales_order(values, "CT-DEAL-0045", "contract-listed-1")
        kind = "sales_order"
    else:
        lines = [sold(item.code, gl_account="", item_id=item.id,
                      ledger_account_id=erp.product_ledger_account(SOLD.code))]  # fmt: skip
        values = to_erp(erp, "Invoice", document(customer, "CT-DEAL-0045", lines))
        made = erp.create_invoice(values, lines, customer.tax_rate, None, "contract-listed-1")
        kind = "invoice"

    listed = [seen for seen in erp.documents_since(date.today()) if seen.number not in before]

    assert [(seen.kind, seen.number, seen.deal_reference) for seen in listed] == [
        (kind, made.number, "CT-DEAL-0045")
    ]
    [seen] = listed
    assert seen.customer_ref == customer.ref and seen.made_on == date.today()
    assert isinstance(seen.total, Decimal) and seen.total > 0
    tomorrow = date.today() + timedelta(days=1)
    assert made.number not in {found.number for found in erp.documents_since(tomorrow)}


def test_a_listed_document_tells_its_total_before_tax_and_its_lines(erp, customer):
    """What reconciliation compares with the deal: two of SOLD at its price, tax left out."""
    item = erp.find_item(SOLD.code)
    assert item, f"{erp.label} has no item {SOLD.code}"
    if SALES_ORDERS in erp.capabilities:
        values = to_erp(erp, "SalesOrder", document(customer, "CT-DEAL-0046", [sold(item.code)]))
        made = erp.create_sales_order(values, "CT-DEAL-0046", "contract-lines-1")
    else:
        lines = [sold(item.code, gl_account="", item_id=item.id,
                      ledger_account_id=erp.product_ledger_account(SOLD.code))]  # fmt: skip
        values = to_erp(erp, "Invoice", document(customer, "CT-DEAL-0046", lines))
        made = erp.create_invoice(values, lines, customer.tax_rate, None, "contract-lines-1")

    [seen] = [seen for seen in erp.documents_since(date.today()) if seen.number == made.number]
    read = erp.document_lines(seen.kind, seen.number)

    assert seen.net_total == 2 * SOLD.price
    assert [(line.sku.upper(), line.quantity, line.unit_price) for line in read] == [
        (item.code.upper(), 2, SOLD.price)
    ]
    with pytest.raises(Unsupported):
        erp.document_lines("credit_note", seen.number)


# ---------------------------------------------------------------- what flows back


def order_read_back(erp: ErpRole, key: str, change: Change) -> None:
    read = erp.read_order(key)
    assert read.record and read.changed == change.moment


def payment_read_back(erp: ErpRole, key: str, change: Change) -> None:
    read = erp.read_payment(key)
    assert read.record and all(isinstance(number, str) and number for number in read.invoices)


def stock_read_back(erp: ErpRole, key: str, change: Change) -> None:
    read = erp.read_stock(key)
    assert read.sku and read.rows
    if read.warehouse_of:  # an ERP with warehouses names each row's
        assert all(row[read.warehouse_of] for row in read.rows)


# How the flows re-read the record a feed of each topic announces.
READ_BACK = {ORDER_STATUS: order_read_back, PAYMENTS: payment_read_back, STOCK: stock_read_back}


def test_each_record_a_feed_announces_reads_back_by_its_event_key(erp):
    feeds = [(topic, feed) for topic in READ_BACK for feed in erp.feeds.get(topic, ())]
    if not feeds:
        pytest.skip(f"{erp.label} has no order, payment or stock feed")
    for topic, feed in feeds:
        changes, _ = read_feed(erp, feed.entity, FeedCursor(datetime(2000, 1, 1, tzinfo=UTC)))
        assert changes, f"the {erp.label} sandbox has no {feed.entity} to read"
        record, change = changes[-1]
        event = event_of(feed, change, record)

        READ_BACK[topic](erp, event.entity_key.partition(":")[2], change)


def test_an_invoice_a_payment_names_tells_its_open_balance_and_due_date(erp):
    """What the payments flow writes to the deal: the invoice's balance left, its due day."""
    feeds = erp.feeds.get(PAYMENTS, ())
    if not feeds:
        pytest.skip(f"{erp.label} has no payment feed")
    changes, _ = read_feed(erp, feeds[0].entity, FeedCursor(datetime(2000, 1, 1, tzinfo=UTC)))
    record, change = changes[-1]
    key = event_of(feeds[0], change, record).entity_key.partition(":")[2]
    [paid, *_] = erp.read_payment(key).invoices

    invoice = erp.open_invoice(paid)

    assert isinstance(invoice, OpenInvoice) and invoice.number
    assert isinstance(invoice.balance, Decimal) and invoice.balance >= 0
    assert AMOUNT.fullmatch(f"{invoice.balance}")
    assert isinstance(invoice.due_date, date)
    assert invoice.customer_name
    assert erp.open_invoice("CT-NO-SUCH") is None
    day_after = invoice.due_date + timedelta(days=1)
    assert (invoice.days_overdue(invoice.due_date), invoice.aging(invoice.due_date)) == (
        0,
        "Current",
    )
    assert (invoice.days_overdue(day_after), invoice.aging(day_after)) == (1, "1-30")
    assert invoice.aging(invoice.due_date + timedelta(days=91)) == "Over 90"
