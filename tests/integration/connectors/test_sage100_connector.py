"""The Sage 100 connector against the live sandbox: reads over unixODBC + the SQLite3 driver,
writes over HTTP through the signed bridge, with real Connection rows."""

import sqlite3
import time
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal

import pyodbc
import pytest
import requests

from connectors.base import FeedCursor
from connectors.errors import (
    AuthError,
    ConnectorError,
    NotFound,
    RateLimited,
    TransientError,
    Unsupported,
    ValidationError,
)
from connectors.models import Connection
from connectors.sage100.client import odbc_error
from connectors.sage100.connector import Sage100Connector
from connectors.services import check_connection, connector_for
from sandbox.sage100.app import BRIDGE_KEY
from sandbox.sage100.rules import decimal_hours

pytestmark = pytest.mark.django_db

CENT = Decimal("0.01")
CUSTOMER = "00-MORRISON"  # seeded: active, not on credit hold, tax schedule MA


@pytest.fixture
def sage100(sage100_sandbox):
    return sage100_sandbox


@pytest.fixture
def make_connection(sage100):
    def make(**overrides) -> Connection:
        settings = {
            "odbc_connection_string": sage100.app.odbc_connection_string,
            "odbc_dialect": "sqlite",
            "company_code": "ABC",
            "bridge_url": sage100.url,
            "default_warehouse": "000",
        }
        secrets = {"bridge_key": BRIDGE_KEY}
        for name, value in overrides.items():
            (secrets if name == "bridge_key" else settings)[name] = value
        return Connection.objects.create(
            name=f"Sage 100 {Connection.objects.count()}",
            system="sage100",
            settings=settings,
            secrets=secrets,
        )

    return make


@pytest.fixture
def sage(make_connection) -> Sage100Connector:
    return connector_for(make_connection())


def set_faults(sandbox, **knobs) -> None:
    requests.post(f"{sandbox.url}/_control/faults", json=knobs, timeout=5).raise_for_status()


def order_payload(**header) -> dict:
    return {
        "ARDivisionNo": "00",
        "CustomerNo": "MORRISON",
        "CustomerPONo": "PO-CRM-1",
        **header,
        "lines": [
            {"ItemCode": "WIDGET-100", "QuantityOrdered": 2},
            {"ItemCode": "WIDGET-101", "QuantityOrdered": "3", "UnitPrice": Decimal("10.50")},
        ],
    }


def orders_with_po(sage, po: str) -> list[dict]:
    return sage.search("sales_order", CustomerPONo=po)


# ---------------------------------------------------------------- health


def test_test_connection_reads_odbc_and_reaches_the_bridge(make_connection):
    connection = make_connection()
    health = check_connection(connection)
    assert health.ok, health.message
    assert "290 customers" in health.message and "company ABC" in health.message
    connection.refresh_from_db()
    assert connection.status == Connection.Status.OK


def test_a_missing_odbc_driver_is_named_in_one_plain_sentence(make_connection):
    connection = make_connection(
        odbc_connection_string="DRIVER={MAS 90 4.0 ODBC Driver};UID=x", odbc_dialect="providex"
    )
    health = check_connection(connection)
    connection.refresh_from_db()
    assert connection.status == Connection.Status.FAILING
    assert connection.last_error.startswith("Sage 100 ODBC driver not found: install")
    assert "DRIVER={MAS 90 4.0 ODBC Driver}" in health.message


def test_a_wrong_bridge_key_is_an_auth_error_with_a_plain_sentence(make_connection):
    connection = make_connection(bridge_key="not-the-key")
    health = check_connection(connection)
    connection.refresh_from_db()
    assert connection.status == Connection.Status.NEEDS_REAUTH
    assert connection.last_error.startswith("The Sage 100 bridge refused the key (401)")
    with pytest.raises(AuthError) as caught:
        connector_for(connection).create("customer", {"ARDivisionNo": "00"}, "k-auth")
    assert "Signature does not match" in caught.value.detail
    assert not health.ok


# ---------------------------------------------------------------- reads


def test_entities_and_schema_from_the_catalog_with_custom_fields(sage, sage100):
    assert {"customer", "item", "stock", "sales_order", "cash_receipt", "gl_account"} <= set(
        sage.entities()
    )
    fields = {field.name: field for field in sage.schema("customer")}
    assert fields["CustomerName"].type == "string" and fields["CustomerName"].length == 50
    assert fields["ARDivisionNo"].required and not fields["CustomerName"].required
    assert not fields["CustomerNo"].required  # Sage numbers a new customer itself
    assert fields["CreditLimit"].type == "number" and fields["DateUpdated"].type == "date"
    assert fields["UDF_CRM_ID"].custom and fields["UDF_CRM_ID"].label == "Crm Id (custom)"
    assert "UDF_REGION" not in fields
    with sqlite3.connect(sage100.app.db_path) as db:  # Custom Office adds a field
        db.execute("ALTER TABLE AR_Customer ADD COLUMN UDF_REGION VARCHAR(10)")
    added = {field.name: field for field in sage.schema("customer")}["UDF_REGION"]
    assert added.custom and added.type == "string" and added.length == 10


def test_get_customer_by_key_with_money_as_decimal_and_dates_as_dates(sage):
    customer = sage.get("customer", CUSTOMER)
    assert customer["CustomerName"] == "Morrison Electric LLC"
    assert isinstance(customer["CreditLimit"], Decimal)
    assert isinstance(customer["DateEstablished"], date)
    assert sage.key_of("customer", customer) == CUSTOMER
    with pytest.raises(NotFound):
        sage.get("customer", "00-NOSUCHCUSTOMER")
    with pytest.raises(NotFound):
        sage.get("customer", "MORRISON")  # no division: not a key


def test_search_customers_by_email_and_name_without_case(sage):
    by_email = sage.customer_by_email("  AP@MorrisonElectric.com ")
    assert [c["CustomerNo"] for c in by_email] == ["MORRISON"]
    by_name = sage.customers_by_name("morrison electric")
    assert "MORRISON" in {c["CustomerNo"] for c in by_name}
    assert sage.customers_by_name("Morrison Electric LLC", exact=True)[0]["ARDivisionNo"] == "00"
    with pytest.raises(ValidationError) as caught:
        sage.search("customer", **{"CustomerName; DROP TABLE AR_Customer": "x"})
    assert caught.value.fields


def test_items_stock_gl_orders_history_invoices_and_receipts(sage):
    item = sage.get("item", "WIDGET-100")
    assert isinstance(item["StandardUnitPrice"], Decimal)
    stock = sage.get("stock", "WIDGET-100-000")
    assert (stock["ItemCode"], stock["WarehouseCode"]) == ("WIDGET-100", "000")
    per_warehouse = sage.search("stock", ItemCode="WIDGET-100")
    assert {row["WarehouseCode"] for row in per_warehouse} >= {"000"}
    assert sage.get("gl_account", "000000001")["Account"] == "1000-00-00"
    open_order = sage.get("sales_order", "0000171")
    assert open_order["lines"] and all(
        line["SalesOrderNo"] == "0000171" for line in open_order["lines"]
    )
    closed = sage.get("sales_order", "0000101")  # left the open table: found in history
    assert closed["OrderStatus"] == "C" and closed["lines"]
    assert sage.get("open_invoice", "00-BRENNANT-0100006-IN")["Balance"] == Decimal("339.89")
    assert sage.get("invoice_history", "0100006-000000")["CustomerNo"] == "BRENNANT"
    receipt = sage.sample("cash_receipt", 1)[0]
    assert sage.get("cash_receipt", sage.key_of("cash_receipt", receipt)) == receipt
    assert len(sage.sample("customer", 3)) == 3
    assert sum(1 for _ in sage.stream("customer")) == 290


# ---------------------------------------------------------------- writes


def test_customer_and_order_created_through_the_bridge_read_back_over_odbc(sage):
    customer = sage.create(
        "customer",
        {"ARDivisionNo": "00", "CustomerName": "Orbital Pump Systems Inc", "State": "WI",
         "CreditLimit": Decimal("5000.00"), "UDF_CRM_ID": "streak-box-1"},
        "crm-customer-1",
    )  # fmt: skip
    key = sage.key_of("customer", customer)
    assert sage.get("customer", key)["UDF_CRM_ID"] == "streak-box-1"
    assert sage.get("customer", key)["CreditLimit"] == Decimal("5000.00")
    order = sage.create(
        "sales_order",
        order_payload(ARDivisionNo="00", CustomerNo=customer["CustomerNo"], CustomerPONo="PO-7"),
        "crm-order-1",
    )
    read = sage.get("sales_order", order["SalesOrderNo"])
    widget_100 = sage.get("item", "WIDGET-100")["StandardUnitPrice"]
    goods = (2 * widget_100 + 3 * Decimal("10.50")).quantize(CENT)
    assert read["TaxableAmt"] + read["NonTaxableAmt"] == goods
    wisconsin_tax = (read["TaxableAmt"] * Decimal("0.05")).quantize(CENT, ROUND_HALF_UP)
    assert read["SalesTaxAmt"] == wisconsin_tax
    assert [line["ItemCode"] for line in read["lines"]] == ["WIDGET-100", "WIDGET-101"]
    assert read["TaxableAmt"] == order["TaxableAmt"]


def test_updates_status_stock_receipts_and_next_number(sage):
    updated = sage.update("customer", CUSTOMER, {"TelephoneNo": "(617) 555-0199"}, "u-1")
    assert sage.get("customer", CUSTOMER)["TelephoneNo"] == updated["TelephoneNo"]
    with pytest.raises(NotFound):
        sage.update("customer", "00-NOSUCH", {"TelephoneNo": "1"}, "u-2")
    held = sage.update("sales_order", "0000171", {"OrderStatus": "H"}, "s-1")
    assert held["OrderStatus"] == sage.get("sales_order", "0000171")["OrderStatus"] == "H"
    stock = sage.update("stock", "WIDGET-100-000", {"QuantityOnHand": 42}, "q-1")
    assert sage.get("stock", "WIDGET-100-000")["QuantityOnHand"] == stock["QuantityOnHand"] == 42
    receipt = sage.create(
        "cash_receipt",
        {"ARDivisionNo": "00", "CustomerNo": "BRENNANT", "InvoiceNo": "0100006",
         "Amount": "100.00", "CheckNo": "5501"},
        "r-1",
    )  # fmt: skip
    assert receipt["CashAmountApplied"] == Decimal("100.00")
    assert sage.get("open_invoice", "00-BRENNANT-0100006-IN")["Balance"] == Decimal("239.89")
    first, second = sage.next_sales_order_number("n-1"), sage.next_sales_order_number("n-2")
    assert len(first) == 7 and int(second) == int(first) + 1
    assert sage.next_sales_order_number("n-1") == first  # a retried reservation


def test_a_boi_refusal_is_a_validation_error_with_sages_message_and_writes_nothing(sage):
    payload = order_payload(CustomerPONo="PO-REFUSED")
    payload["lines"].append({"ItemCode": "NO-SUCH-ITEM", "QuantityOrdered": 1})
    with pytest.raises(ValidationError) as caught:
        sage.create("sales_order", payload, "refused-1")
    assert "The item code NO-SUCH-ITEM is not on file." in caught.value.message
    assert caught.value.detail == "The item code NO-SUCH-ITEM is not on file."
    assert caught.value.fields == {"ItemCode": caught.value.detail}
    assert orders_with_po(sage, "PO-REFUSED") == []
    with pytest.raises(ValidationError) as typed:
        sage.create("sales_order", order_payload(FreightAmt="lots"), "refused-2")
    assert typed.value.fields == {"FreightAmt": "expected a number"}


def test_commit_then_fail_then_the_same_key_gives_one_order_and_the_same_number(sage, sage100):
    set_faults(sage100, commit_then_fail_rate=1.0)
    with pytest.raises(TransientError):
        sage.create("sales_order", order_payload(CustomerPONo="PO-ONCE"), "deal-42-order")
    set_faults(sage100)
    committed = orders_with_po(sage, "PO-ONCE")
    assert len(committed) == 1  # written once, though the reply was lost
    retried = sage.create("sales_order", order_payload(CustomerPONo="PO-ONCE"), "deal-42-order")
    assert retried["SalesOrderNo"] == committed[0]["SalesOrderNo"]
    assert len(orders_with_po(sage, "PO-ONCE")) == 1


def test_a_dropped_connection_and_a_500_are_transient(sage, sage100):
    set_faults(sage100, commit_then_fail_rate=1.0, drop_connection=True)
    with pytest.raises(TransientError) as dropped:
        sage.create("sales_order", order_payload(CustomerPONo="PO-DROP"), "drop-1")
    assert "connection failed or was dropped" in dropped.value.message
    set_faults(sage100, error_rate=1.0)
    with pytest.raises(TransientError) as failed:
        sage.update("customer", CUSTOMER, {"TelephoneNo": "1"}, "err-1")
    assert failed.value.status == 500
    set_faults(sage100, outage=True)
    with pytest.raises(TransientError) as outage:
        sage.next_sales_order_number("out-1")
    assert outage.value.status == 503 and "not reachable" in outage.value.message


def test_429_is_rate_limited_with_the_bridges_retry_after(sage, sage100):
    set_faults(sage100, rate_limit_rate=1.0, retry_after=7)
    with pytest.raises(RateLimited) as caught:
        sage.create("customer", {"ARDivisionNo": "00", "CustomerName": "Slow Co"}, "slow-1")
    assert caught.value.retry_after == 7


# ---------------------------------------------------------------- change feed


def test_the_feed_takes_a_bridge_write_once_and_its_cursor_is_the_only_memory(
    make_connection,
):
    connection = make_connection()
    sage = connector_for(connection)
    start = FeedCursor(datetime.now().astimezone() - timedelta(seconds=30))
    rows, nothing_new = sage.feed("customer", start)
    assert rows == [] and nothing_new == start  # the seed is older than the overlap
    created = sage.create(
        "customer", {"ARDivisionNo": "00", "CustomerName": "Changefeed Test Co"}, "cf-1"
    )
    first, after_create = sage.feed("customer", start)
    assert [row["CustomerNo"] for row in first] == [created["CustomerNo"]]
    assert after_create.since == sage.updated_at(first[0]) >= start.since - timedelta(seconds=1)
    again = connector_for(Connection.objects.get(pk=connection.pk))  # the next poll's connector
    assert again.feed("customer", after_create)[0] == []
    assert [r["CustomerNo"] for r in again.feed("customer", start)[0]] == [created["CustomerNo"]]
    assert "change_feed_seen" not in Connection.objects.get(pk=connection.pk).settings
    time.sleep(1.5)  # TimeUpdated counts in 1/10000 hour (0.36 s, rounded): let it move on
    sage.update("customer", sage.key_of("customer", created), {"City": "Madison"}, "cf-2")
    changed, _ = again.feed("customer", after_create)
    assert [(row["CustomerNo"], row["City"]) for row in changed] == [
        (created["CustomerNo"], "Madison")
    ]


def stamp_customer(sage100, key: str, moment: datetime) -> None:
    """A Sage workstation saves the customer at `moment` (by its own clock)."""
    division, customer_no = key.split("-", 1)
    with sqlite3.connect(sage100.app.db_path) as db:
        db.execute(
            "UPDATE AR_Customer SET DateUpdated = ?, TimeUpdated = ? "
            "WHERE ARDivisionNo = ? AND CustomerNo = ?",
            (moment.date().isoformat(), decimal_hours(moment), division, customer_no),
        )


def test_changes_in_the_cursors_own_instant_are_neither_lost_nor_taken_twice(sage, sage100):
    first_saved, same_instant, late, later = [
        sage.key_of("customer", row) for row in sage.sample("customer", 4)
    ]
    now = datetime.now().replace(microsecond=0)
    start = FeedCursor(now.astimezone() - timedelta(minutes=1))

    def keys(rows: list[dict]) -> list[str]:
        return [sage.key_of("customer", row) for row in rows]

    stamp_customer(sage100, first_saved, now)
    taken, cursor = sage.feed("customer", start)
    assert keys(taken) == [first_saved]
    stamp_customer(sage100, same_instant, now)  # saved in the same instant, after that read
    taken, cursor = sage.feed("customer", cursor)
    assert keys(taken) == [same_instant]
    stamp_customer(sage100, late, now - timedelta(minutes=2))  # a clock two minutes behind
    taken, cursor = sage.feed("customer", cursor)
    assert keys(taken) == [late]
    assert sage.feed("customer", cursor)[0] == []

    stamp_customer(sage100, later, now + timedelta(minutes=10))
    taken, cursor = sage.feed("customer", cursor)
    assert keys(taken) == [later]
    assert cursor.seen == {sage.change_mark("customer", taken[0])}  # older marks let go


def test_a_feed_mark_made_from_a_datetime_column_reads_back(sage):
    """SQL Server (Sage 100 Premium) gives DateUpdated as a datetime; its marks must parse."""
    stamped = {"ARDivisionNo": "00", "CustomerNo": "ACME", "TimeUpdated": "14.25"}
    for day in (date(2024, 5, 1), datetime(2024, 5, 1)):
        mark = sage.change_mark("customer", stamped | {"DateUpdated": day})
        assert sage.marked_at(mark).replace(tzinfo=None) == datetime(2024, 5, 1, 14, 15)


def test_the_change_feed_reads_history_in_time_order(sage):
    rows = list(sage.changes("sales_order_history", datetime(2025, 6, 1)))
    moments = [sage.updated_at(row) for row in rows]
    assert rows and moments == sorted(moments)
    assert all(row["lines"] for row in rows)
    with pytest.raises(Unsupported):
        list(sage.changes("sales_order_line", datetime(2025, 6, 1)))


# ---------------------------------------------------------------- ODBC error classes


@pytest.mark.parametrize(
    "state, words, error_class",
    [
        ("28000", "[ProvideX][ODBC Driver]Invalid password", AuthError),
        ("HYT00", "Timeout expired", TransientError),
        ("HY000", "[SQLite]database is locked (5)", TransientError),
        ("42S02", "no such table: AR_Nothing", ConnectorError),
    ],
)
def test_odbc_errors_are_classified(state, words, error_class):
    error = odbc_error(pyodbc.Error(state, words), "DSN=SOTAMAS90")
    assert type(error) is error_class and error.detail == words
