"""The Sage 100 sandbox as its clients see it: Sage's tables read through pyodbc + unixODBC
+ the SQLite3 driver, writes through the signed agent with `requests`, and the pages."""

import json
import time
import uuid
from datetime import date

import pyodbc
import pytest
import requests

from agent.protocol import (
    IDEMPOTENCY_HEADER,
    REPLAYED_HEADER,
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    sign_request,
    signed_headers,
)
from sandbox.sage100.schema import TABLES
from sandbox.sage100.seed import seed_tables

KEY = "sandbox-bridge-key"


@pytest.fixture
def sage100(sage100_sandbox):
    return sage100_sandbox


@pytest.fixture
def odbc(sage100):
    """A read-only ODBC cursor like the connector's (autocommit: every SELECT sees now)."""
    connection = pyodbc.connect(sage100.app.odbc_connection_string, autocommit=True)
    yield connection.cursor()
    connection.close()


def bridge(sandbox, method: str, path: str, body=None, key: str = KEY, idempotency_key=None):
    raw = json.dumps(body).encode() if body is not None else b""
    if method in ("POST", "PATCH"):
        idempotency_key = idempotency_key or str(uuid.uuid4())
    headers = {
        "Content-Type": "application/json",
        **signed_headers(key, method, path, raw, idempotency_key or ""),
    }
    return requests.request(method, f"{sandbox.url}{path}", data=raw, headers=headers, timeout=10)


def count(odbc, table: str, where: str = "", *params) -> int:
    return odbc.execute(f"SELECT COUNT(*) FROM {table} {where}", *params).fetchone()[0]


def active_customer(odbc) -> str:
    """The number of a seeded division 00 customer that can take orders."""
    return odbc.execute(
        "SELECT CustomerNo FROM AR_Customer WHERE ARDivisionNo = '00' AND CustomerStatus = 'A' "
        "AND CreditHold = 'N' ORDER BY CustomerNo LIMIT 1"
    ).fetchone()[0]


def new_customer(sandbox, **values) -> dict:
    body = {"ARDivisionNo": "00", "CustomerName": "Orbital Pump Systems Inc", **values}
    reply = bridge(sandbox, "POST", "/v1/customers", body)
    assert reply.status_code == 201, reply.text
    return reply.json()["customer"]


# ---------------------------------------------------------------- ODBC reads


def test_every_table_reads_through_odbc_with_sage_names_types_and_seeded_counts(odbc):
    seeded = seed_tables()
    for table in TABLES:
        odbc.execute(f"SELECT * FROM {table.name}")
        names = [column[0] for column in odbc.description]
        rows = odbc.fetchall()
        assert names == table.column_names, table.name
        assert len(rows) == len(seeded.get(table.name, [])), table.name
        for name, kind in table.all_columns:
            values = [getattr(row, name) for row in rows]
            if kind == "DATE":
                expected: tuple = (date, type(None))
            elif kind.startswith("NUMERIC"):
                expected = (float,)
            elif kind == "INTEGER":
                expected = (int,)
            else:
                expected = (str,)
            assert all(isinstance(v, expected) for v in values), (table.name, name)
    assert count(odbc, "AR_Customer") >= 250
    assert count(odbc, "CI_Item") == 109
    assert "UDF_CRM_ID" in seeded["AR_Customer"][0]
    assert "UDF_DEAL_ID" in seeded["SO_SalesOrderHeader"][0]


def test_odbc_data_follows_sage_conventions(odbc):
    divisions = {r[0] for r in odbc.execute("SELECT DISTINCT ARDivisionNo FROM AR_Customer")}
    assert divisions == {"00", "01"}
    numbers = [r[0] for r in odbc.execute("SELECT SalesOrderNo FROM SO_SalesOrderHeader")]
    assert numbers and all(len(n) == 7 and n.isdigit() for n in numbers)
    times = [r[0] for r in odbc.execute("SELECT TimeUpdated FROM AR_Customer")]
    assert all(0 <= float(t) < 24 and len(t) <= 8 for t in times)
    codes = {r[0] for r in odbc.execute("SELECT ItemCode FROM CI_Item")}
    assert {"WIDGET-100", "GADGET-229", "SERV-HOUR", "KIT-319", "PART-900"} <= codes
    assert "WIDGET-999" not in codes
    inactive = {r[0] for r in odbc.execute("SELECT ItemCode FROM CI_Item WHERE InactiveItem = 'Y'")}
    assert inactive == {"WIDGET-140", "GADGET-229", "PART-914"}
    statuses = {r[0] for r in odbc.execute("SELECT DISTINCT OrderStatus FROM SO_SalesOrderHeader")}
    assert statuses <= {"N", "O", "H"} and len(statuses) > 1
    assert count(odbc, "SO_SalesOrderHeader", "WHERE OrderType = 'B'") > 0
    assert count(odbc, "SO_SalesOrderHistoryHeader", "WHERE OrderStatus = 'C'") > 0
    assert {r[0] for r in odbc.execute("SELECT WarehouseCode FROM IM_Warehouse")} == {"000", "001"}
    recent = odbc.execute(
        "SELECT COUNT(*) FROM AR_Customer WHERE DateUpdated >= {d '2025-06-01'}"
    ).fetchone()[0]
    assert 0 < recent < count(odbc, "AR_Customer")


def test_customer_lookup_by_email_and_by_name_with_bound_parameters(odbc):
    some = odbc.execute(
        "SELECT ARDivisionNo, CustomerNo, CustomerName, EmailAddress FROM AR_Customer "
        "WHERE ARDivisionNo = ? ORDER BY CustomerNo LIMIT 1",
        "01",
    ).fetchone()
    by_email = odbc.execute(
        "SELECT ARDivisionNo, CustomerNo FROM AR_Customer WHERE LOWER(EmailAddress) = LOWER(?)",
        some.EmailAddress.upper(),
    ).fetchall()
    assert [(r.ARDivisionNo, r.CustomerNo) for r in by_email] == [("01", some.CustomerNo)]
    by_name = odbc.execute(
        "SELECT CustomerNo FROM AR_Customer WHERE CustomerName LIKE ?",
        some.CustomerName[:12] + "%",
    ).fetchall()
    assert some.CustomerNo in [r.CustomerNo for r in by_name]
    hostile = odbc.execute(
        "SELECT COUNT(*) FROM AR_Customer WHERE CustomerName = ?", "x' OR '1'='1"
    ).fetchone()[0]
    assert hostile == 0


# ---------------------------------------------------------------- bridge security


@pytest.mark.parametrize(
    "headers, code, words",
    [
        ({}, "missing_signature", "Unsigned"),
        ({TIMESTAMP_HEADER: "{now}", SIGNATURE_HEADER: "0" * 64}, "bad_signature", "wrong key"),
        ({TIMESTAMP_HEADER: "{old}", SIGNATURE_HEADER: "{old_signature}"}, "stale_timestamp",
         "old"),
    ],
)  # fmt: skip
def test_bridge_refuses_unsigned_badly_signed_and_stale_requests(
    sage100, odbc, headers, code, words
):
    body = json.dumps({"ARDivisionNo": "00", "CustomerName": "Sneaky Corp"}).encode()
    now, old = str(int(time.time())), str(int(time.time()) - 301)
    filled = {
        name: value.format(
            now=now,
            old=old,
            old_signature=sign_request(KEY, "POST", "/v1/customers", body, old, "k1"),
        )
        for name, value in headers.items()
    }
    filled[IDEMPOTENCY_HEADER] = "k1"
    reply = requests.post(f"{sage100.url}/v1/customers", data=body, headers=filled, timeout=5)
    assert reply.status_code == 401
    assert reply.json()["error"]["code"] == code
    assert words in reply.json()["error"]["message"]
    assert count(odbc, "AR_Customer", "WHERE CustomerName = ?", "Sneaky Corp") == 0


def test_bridge_refuses_a_request_signed_with_another_key(sage100):
    reply = bridge(sage100, "GET", "/v1/health", key="not-the-key")
    assert reply.status_code == 401
    assert reply.json()["error"]["code"] == "bad_signature"
    assert bridge(sage100, "GET", "/v1/health").json()["health"]["status"] == "ok"


# ---------------------------------------------------------------- bridge writes


def test_customer_then_order_through_the_bridge_reads_back_through_odbc(sage100, odbc):
    customer = new_customer(sage100, EmailAddress="buyer@orbitalpump.com", State="CA",
                            UDF_CRM_ID="streak:box-42")  # fmt: skip
    assert customer["CustomerNo"] == "ORBITALP"
    row = odbc.execute(
        "SELECT * FROM AR_Customer WHERE ARDivisionNo = ? AND CustomerNo = ?", "00", "ORBITALP"
    ).fetchone()
    assert (row.EmailAddress, row.UDF_CRM_ID, row.TaxSchedule) == (
        "buyer@orbitalpump.com", "streak:box-42", "CA",
    )  # fmt: skip
    assert row.DateCreated == row.DateUpdated == date.today()
    order = {
        "ARDivisionNo": "00", "CustomerNo": "ORBITALP", "CustomerPONo": "PO-7781",
        "UDF_DEAL_ID": "deal-42", "FreightAmt": 25,
        "lines": [
            {"ItemCode": "WIDGET-100", "QuantityOrdered": 3},
            {"ItemCode": "GADGET-200", "QuantityOrdered": 2, "UnitPrice": 99.5,
             "LineDiscountPercent": 10},
            {"ItemCode": "SERV-HOUR", "QuantityOrdered": 4},
        ],
    }  # fmt: skip
    on_order_before = odbc.execute(
        "SELECT QuantityOnSalesOrder FROM IM_ItemWarehouse "
        "WHERE ItemCode = 'WIDGET-100' AND WarehouseCode = '000'"
    ).fetchone()[0]
    reply = bridge(sage100, "POST", "/v1/sales-orders", order)
    assert reply.status_code == 201, reply.text
    number = reply.json()["sales_order"]["SalesOrderNo"]
    assert len(number) == 7
    header = odbc.execute(
        "SELECT * FROM SO_SalesOrderHeader WHERE SalesOrderNo = ?", number
    ).fetchone()
    lines = odbc.execute(
        "SELECT * FROM SO_SalesOrderDetail WHERE SalesOrderNo = ? ORDER BY LineKey", number
    ).fetchall()
    widget_price = odbc.execute(
        "SELECT StandardUnitPrice FROM CI_Item WHERE ItemCode = 'WIDGET-100'"
    ).fetchone()[0]
    assert [line.ItemCode for line in lines] == ["WIDGET-100", "GADGET-200", "SERV-HOUR"]
    assert [line.LineKey for line in lines] == ["000001", "000002", "000003"]
    assert lines[0].ExtensionAmt == pytest.approx(3 * widget_price)
    assert lines[1].ExtensionAmt == pytest.approx(179.10)  # 2 x 99.50 less 10 %
    assert lines[2].ExtensionAmt == pytest.approx(500.00)  # service: not taxable
    taxable = 3 * widget_price + 179.10
    assert header.TaxableAmt == pytest.approx(taxable)
    assert header.NonTaxableAmt == pytest.approx(500.00)
    assert header.SalesTaxAmt == pytest.approx(round(taxable * 0.0725, 2))
    assert (header.FreightAmt, header.UDF_DEAL_ID, header.CustomerPONo) == (25.0, "deal-42",
                                                                            "PO-7781")  # fmt: skip
    assert (header.OrderStatus, header.OrderDate, header.DateUpdated) == ("N", date.today(),
                                                                          date.today())  # fmt: skip
    assert abs(float(header.TimeUpdated) - _hours_now()) < 0.05
    on_order_after = odbc.execute(
        "SELECT QuantityOnSalesOrder FROM IM_ItemWarehouse "
        "WHERE ItemCode = 'WIDGET-100' AND WarehouseCode = '000'"
    ).fetchone()[0]
    assert on_order_after == on_order_before + 3


def _hours_now() -> float:
    now = time.localtime()
    return now.tm_hour + now.tm_min / 60 + now.tm_sec / 3600


@pytest.mark.parametrize(
    "customer_no, line, message",
    [
        ("ACTIVE", {"ItemCode": "WIDGET-999", "QuantityOrdered": 1},
         "The item code WIDGET-999 is not on file."),
        ("ACTIVE", {"ItemCode": "WIDGET-101", "QuantityOrdered": 0},
         "the quantity ordered must be greater than zero"),
        ("ACTIVE", {"ItemCode": "WIDGET-140", "QuantityOrdered": 1},
         "Item WIDGET-140 is inactive."),
        ("NOSUCHCO", {"ItemCode": "WIDGET-101", "QuantityOrdered": 1},
         "Customer 00-NOSUCHCO is not on file."),
    ],
)  # fmt: skip
def test_a_refused_order_is_refused_with_sages_message_and_writes_nothing(
    sage100, odbc, customer_no, line, message
):
    before = [count(odbc, t) for t in ("SO_SalesOrderHeader", "SO_SalesOrderDetail")]
    next_number = odbc.execute("SELECT NextSalesOrderNo FROM SO_Options").fetchone()[0]
    good_line = {"ItemCode": "WIDGET-102", "QuantityOrdered": 1}
    if customer_no == "ACTIVE":
        customer_no = active_customer(odbc)
    body = {"ARDivisionNo": "00", "CustomerNo": customer_no, "lines": [good_line, line]}
    reply = bridge(sage100, "POST", "/v1/sales-orders", body)
    assert reply.status_code == 422
    assert reply.json()["error"]["code"] == "refused"
    assert message in reply.json()["error"]["message"]
    assert [count(odbc, t) for t in ("SO_SalesOrderHeader", "SO_SalesOrderDetail")] == before
    assert odbc.execute("SELECT NextSalesOrderNo FROM SO_Options").fetchone()[0] == next_number


def test_same_idempotency_key_twice_creates_one_order(sage100, odbc):
    before = count(odbc, "SO_SalesOrderHeader")
    body = {"ARDivisionNo": "00", "CustomerNo": active_customer(odbc),
            "lines": [{"ItemCode": "KIT-300", "QuantityOrdered": 1}]}  # fmt: skip
    first = bridge(sage100, "POST", "/v1/sales-orders", body, idempotency_key="deal-7-order")
    second = bridge(sage100, "POST", "/v1/sales-orders", body, idempotency_key="deal-7-order")
    assert first.status_code == second.status_code == 201
    assert second.json() == first.json()
    assert second.headers[REPLAYED_HEADER] == "true"
    assert count(odbc, "SO_SalesOrderHeader") == before + 1
    other = bridge(sage100, "POST", "/v1/sales-orders", {**body, "CustomerPONo": "X"},
                   idempotency_key="deal-7-order")  # fmt: skip
    assert other.status_code == 422
    assert other.json()["error"]["code"] == "idempotency_mismatch"
    assert count(odbc, "SO_SalesOrderHeader") == before + 1


def test_status_change_cash_receipt_and_stock_change_are_visible_through_odbc(sage100, odbc):
    number = odbc.execute(
        "SELECT SalesOrderNo FROM SO_SalesOrderHeader WHERE OrderStatus = 'O' LIMIT 1"
    ).fetchone()[0]
    held = bridge(sage100, "POST", f"/v1/sales-orders/{number}/status", {"OrderStatus": "H"})
    assert held.status_code == 200, held.text
    row = odbc.execute(
        "SELECT OrderStatus, DateUpdated FROM SO_SalesOrderHeader WHERE SalesOrderNo = ?", number
    ).fetchone()
    assert (row.OrderStatus, row.DateUpdated) == ("H", date.today())

    done = bridge(sage100, "POST", f"/v1/sales-orders/{number}/status", {"OrderStatus": "C"})
    assert done.status_code == 200, done.text
    invoice_no = done.json()["sales_order"]["InvoiceNo"]
    assert count(odbc, "SO_SalesOrderHeader", "WHERE SalesOrderNo = ?", number) == 0
    history = odbc.execute(
        "SELECT * FROM SO_SalesOrderHistoryHeader WHERE SalesOrderNo = ?", number
    ).fetchone()
    assert history.OrderStatus == "C"
    invoice = odbc.execute(
        "SELECT * FROM AR_OpenInvoice WHERE InvoiceNo = ?", invoice_no
    ).fetchone()
    customer_key = (invoice.ARDivisionNo, invoice.CustomerNo)
    balance_before = odbc.execute(
        "SELECT CurrentBalance FROM AR_Customer WHERE ARDivisionNo = ? AND CustomerNo = ?",
        *customer_key,
    ).fetchone()[0]
    receipt = {"ARDivisionNo": customer_key[0], "CustomerNo": customer_key[1],
               "InvoiceNo": invoice_no, "Amount": "50.00", "CheckNo": "10452"}  # fmt: skip
    paid = bridge(sage100, "POST", "/v1/cash-receipts", receipt)
    assert paid.status_code == 201, paid.text
    assert odbc.execute(
        "SELECT Balance FROM AR_OpenInvoice WHERE InvoiceNo = ?", invoice_no
    ).fetchone()[0] == pytest.approx(invoice.Balance - 50)
    customer = odbc.execute(
        "SELECT CurrentBalance, DateUpdated FROM AR_Customer "
        "WHERE ARDivisionNo = ? AND CustomerNo = ?",
        *customer_key,
    ).fetchone()
    assert customer.CurrentBalance == pytest.approx(balance_before - 50)
    stored = odbc.execute(
        "SELECT CashAmountApplied, CheckNo FROM AR_CashReceiptsHistory WHERE InvoiceNo = ?",
        invoice_no,
    ).fetchone()
    assert (stored.CashAmountApplied, stored.CheckNo) == (50.0, "10452")
    too_much = bridge(sage100, "POST", "/v1/cash-receipts", {**receipt, "Amount": 10**7})
    assert too_much.status_code == 422
    assert "exceeds the invoice balance" in too_much.json()["error"]["message"]

    stock = bridge(sage100, "POST", "/v1/items/GADGET-205/stock",
                   {"WarehouseCode": "000", "QuantityOnHand": 77})  # fmt: skip
    assert stock.status_code == 200, stock.text
    row = odbc.execute(
        "SELECT QuantityOnHand, DateUpdated FROM IM_ItemWarehouse "
        "WHERE ItemCode = 'GADGET-205' AND WarehouseCode = '000'"
    ).fetchone()
    assert (row.QuantityOnHand, row.DateUpdated) == (77.0, date.today())
    totals = odbc.execute(
        "SELECT i.TotalQuantityOnHand, SUM(w.QuantityOnHand) FROM CI_Item i "
        "JOIN IM_ItemWarehouse w ON w.ItemCode = i.ItemCode WHERE i.ItemCode = 'GADGET-205'"
    ).fetchone()
    assert totals[0] == totals[1]


def test_customer_update_and_refused_customer(sage100, odbc):
    new_customer(sage100)
    changed = bridge(sage100, "PATCH", "/v1/customers/00/ORBITALP",
                     {"TelephoneNo": "(608) 555-0199", "CreditLimit": 20000})  # fmt: skip
    assert changed.status_code == 200, changed.text
    row = odbc.execute(
        "SELECT TelephoneNo, CreditLimit FROM AR_Customer WHERE CustomerNo = 'ORBITALP'"
    ).fetchone()
    assert (row.TelephoneNo, row.CreditLimit) == ("(608) 555-0199", 20000.0)
    refused = [
        ({"ARDivisionNo": "07", "CustomerName": "X"}, "AR division 07 is not on file"),
        ({"ARDivisionNo": "00", "CustomerName": "Y" * 51}, "exceeds 50 characters"),
        ({"ARDivisionNo": "00", "CustomerName": "Z", "TermsCode": "99"}, "terms code 99"),
        ({"ARDivisionNo": "00", "CustomerName": "Z", "Colour": "red"}, "not in the IOList"),
    ]
    for body, message in refused:
        reply = bridge(sage100, "POST", "/v1/customers", body)
        assert reply.status_code == 422 and message in reply.json()["error"]["message"], body


# ---------------------------------------------------------------- faults


def test_commit_then_fail_writes_the_order_and_the_retry_replays_it(sage100, odbc):
    """The order is written but the reply is a 500 in the bridge's shape; the client's retry
    with the same Idempotency-Key gets the original 201, and there is still one order."""
    knobs = {"commit_then_fail_rate": 1.0, "seed": 1}
    assert requests.post(f"{sage100.url}/_control/faults", json=knobs, timeout=5).ok
    before = count(odbc, "SO_SalesOrderHeader")
    body = {"ARDivisionNo": "00", "CustomerNo": active_customer(odbc), "UDF_DEAL_ID": "deal-99",
            "lines": [{"ItemCode": "WIDGET-110", "QuantityOrdered": 5}]}  # fmt: skip
    failed = bridge(sage100, "POST", "/v1/sales-orders", body, idempotency_key="deal-99")
    assert failed.status_code == 500
    assert failed.json()["error"]["code"] == "internal_error"
    assert count(odbc, "SO_SalesOrderHeader", "WHERE UDF_DEAL_ID = 'deal-99'") == 1
    retried = bridge(sage100, "POST", "/v1/sales-orders", body, idempotency_key="deal-99")
    assert retried.status_code == 201
    assert retried.headers[REPLAYED_HEADER] == "true"
    written = odbc.execute(
        "SELECT SalesOrderNo FROM SO_SalesOrderHeader WHERE UDF_DEAL_ID = 'deal-99'"
    ).fetchall()
    assert [r[0] for r in written] == [retried.json()["sales_order"]["SalesOrderNo"]]
    assert count(odbc, "SO_SalesOrderHeader") == before + 1


def test_rate_limit_answers_429_with_retry_after_in_the_bridge_shape(sage100):
    knobs = {"rate_limit_rate": 1.0, "retry_after": 3}
    assert requests.post(f"{sage100.url}/_control/faults", json=knobs, timeout=5).ok
    reply = bridge(sage100, "GET", "/v1/health")
    assert reply.status_code == 429
    assert reply.headers["Retry-After"] == "3"
    assert reply.json()["error"]["code"] == "rate_limited"
    assert requests.get(f"{sage100.url}/customers", timeout=5).status_code == 200


# ---------------------------------------------------------------- pages


def test_pages_render_the_data(sage100, odbc):
    order = odbc.execute("SELECT SalesOrderNo, CustomerNo FROM SO_SalesOrderHeader").fetchone()
    listing = requests.get(f"{sage100.url}/", timeout=5)
    assert listing.status_code == 200 and order.SalesOrderNo in listing.text
    detail = requests.get(f"{sage100.url}/orders/{order.SalesOrderNo}", timeout=5)
    first_line = odbc.execute(
        "SELECT ItemCode FROM SO_SalesOrderDetail WHERE SalesOrderNo = ?", order.SalesOrderNo
    ).fetchone()[0]
    assert detail.status_code == 200 and first_line in detail.text
    customer = odbc.execute(
        "SELECT CustomerNo, CustomerName FROM AR_Customer WHERE ARDivisionNo = '01' LIMIT 1"
    ).fetchone()
    customers = requests.get(
        f"{sage100.url}/customers", params={"q": customer.CustomerNo}, timeout=5
    )
    assert customer.CustomerName in customers.text
    assert requests.get(f"{sage100.url}/orders/9999999", timeout=5).status_code == 404
    assert "WIDGET-100" in requests.get(f"{sage100.url}/stock", timeout=5).text


def test_page_forms_change_the_data(sage100, odbc):
    number = odbc.execute("SELECT SalesOrderNo FROM SO_SalesOrderHeader LIMIT 1").fetchone()[0]
    reply = requests.post(f"{sage100.url}/orders/{number}/status", data={"status": "H"},
                          timeout=5)  # fmt: skip
    assert reply.status_code == 200 and "status changed to H" in reply.text
    assert (
        odbc.execute(
            "SELECT OrderStatus FROM SO_SalesOrderHeader WHERE SalesOrderNo = ?", number
        ).fetchone()[0]
        == "H"
    )

    stock = {"ItemCode": "PART-901", "WarehouseCode": "001", "QuantityOnHand": "12"}
    reply = requests.post(f"{sage100.url}/stock", data=stock, timeout=5)
    assert reply.status_code == 200 and "12 on hand" in reply.text
    assert (
        odbc.execute(
            "SELECT QuantityOnHand FROM IM_ItemWarehouse WHERE ItemCode = 'PART-901' "
            "AND WarehouseCode = '001'"
        ).fetchone()[0]
        == 12.0
    )

    invoice = odbc.execute(
        "SELECT ARDivisionNo, CustomerNo, InvoiceNo, Balance FROM AR_OpenInvoice "
        "WHERE Balance > 20 LIMIT 1"
    ).fetchone()
    form = {"ARDivisionNo": invoice.ARDivisionNo, "CustomerNo": invoice.CustomerNo,
            "InvoiceNo": invoice.InvoiceNo, "Amount": "20", "CheckNo": "555"}  # fmt: skip
    reply = requests.post(f"{sage100.url}/cash-receipts", data=form, timeout=5)
    assert reply.status_code == 200 and "applied to invoice" in reply.text
    assert odbc.execute(
        "SELECT Balance FROM AR_OpenInvoice WHERE InvoiceNo = ?", invoice.InvoiceNo
    ).fetchone()[0] == pytest.approx(invoice.Balance - 20)

    refused = requests.post(f"{sage100.url}/stock", timeout=5,
                            data={"ItemCode": "WIDGET-999", "WarehouseCode": "000",
                                  "QuantityOnHand": "1"})  # fmt: skip
    assert "The item code WIDGET-999 is not on file." in refused.text
