"""The Sage 50 US desktop sandbox as its clients see it: the company's tables read through
pyodbc + unixODBC + the SQLite3 driver with Sage 50's names, writes through the agent's
signed HTTP with `AgentClient`, and the pages' forms."""

import uuid
from collections import defaultdict
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

import pyodbc
import pytest
import requests

from agent.protocol import signed_headers
from connectors.agent_client import AgentClient
from connectors.errors import TransientError, ValidationError
from sandbox.catalogue import CODES_UNKNOWN_TO_SAGE, PRODUCTS
from sandbox.sage50desktop.app import AGENT_KEY
from sandbox.sage50desktop.schema import DATE, TABLES
from sandbox.sage50desktop.seed import seed_tables

pytestmark = pytest.mark.django_db  # AgentClient counts its calls for /metrics

WIDGET = "WIDGET-100"


@pytest.fixture
def sage50(sage50desktop_sandbox):
    return sage50desktop_sandbox


@pytest.fixture
def odbc(sage50):
    """A read-only ODBC cursor like the connector's (autocommit: every SELECT sees now)."""
    connection = pyodbc.connect(sage50.app.odbc_connection_string, autocommit=True)
    yield connection.cursor()
    connection.close()


@pytest.fixture
def agent(sage50) -> AgentClient:
    return AgentClient("sage50desktop", "Sage 50 agent", sage50.url, AGENT_KEY, product="Sage 50")


def create(agent: AgentClient, path: str, name: str, body: dict, match: str = "", key: str = ""):
    return agent.create(path, name, body, key or str(uuid.uuid4()), match)


def one(odbc, sql: str, *params):
    return odbc.execute(sql, *params).fetchone()


def on_hand(odbc, item_id: str) -> Decimal:
    return Decimal(one(odbc, "SELECT QuantityOnHand FROM LineItem WHERE ItemID = ?", item_id)[0])


def balance(odbc, customer_id: str) -> Decimal:
    return money(one(odbc, "SELECT Balance FROM Customers WHERE CustomerID = ?", customer_id)[0])


def count(odbc, table: str, where: str = "", *params) -> int:
    return one(odbc, f"SELECT COUNT(*) FROM {table} {where}", *params)[0]


def money(value) -> Decimal:
    """A DECIMAL column as pyodbc reads it through the SQLite3 driver (text) as Decimal."""
    return Decimal(value).quantize(Decimal("0.01"), ROUND_HALF_UP)


def active_customer(odbc) -> tuple[str, int]:
    row = one(
        odbc,
        "SELECT CustomerID, CustomerRecordNumber FROM Customers WHERE CustomerIsInactive = 0 "
        "ORDER BY CustomerRecordNumber LIMIT 1",
    )
    return row.CustomerID, row.CustomerRecordNumber


def snapshot(odbc) -> tuple:
    """What any write would change: journal and master row counts, balances, stock."""
    return (
        count(odbc, "JrnlHdr"),
        count(odbc, "JrnlRow"),
        count(odbc, "Customers"),
        count(odbc, "Address"),
        count(odbc, "Contacts"),
        one(odbc, "SELECT SUM(Balance) FROM Customers")[0],
        one(odbc, "SELECT SUM(QuantityOnHand) FROM LineItem")[0],
        one(odbc, "SELECT NextInvoiceNumber, NextSalesOrderNumber FROM Company")[:],
    )


# ---------------------------------------------------------------- ODBC reads


def test_every_table_reads_through_odbc_with_sage_50_names_types_and_seeded_counts(odbc):
    seeded = seed_tables()
    for table in TABLES:
        catalog = list(odbc.columns(table=table.name))
        assert [c.column_name for c in catalog] == table.column_names, table.name
        for column, (name, kind) in zip(catalog, table.columns, strict=True):
            assert column.type_name == kind, (table.name, name)
            if kind.startswith("VARCHAR("):
                assert column.column_size == table.length(name), (table.name, name)
        rows = odbc.execute(f"SELECT * FROM {table.name}").fetchall()
        assert len(rows) == len(seeded[table.name]), table.name
        for name, kind in table.columns:
            values = [getattr(row, name) for row in rows]
            if kind == DATE:
                assert all(isinstance(v, date | None) for v in values), (table.name, name)
            elif kind.startswith("DECIMAL"):  # the driver reports DECIMAL as text
                assert all(isinstance(v, str) and Decimal(v).is_finite() for v in values), (
                    table.name,
                    name,
                )
            elif kind in ("INTEGER", "SMALLINT"):
                assert all(isinstance(v, int) for v in values), (table.name, name)
    assert count(odbc, "Customers") == 60


def test_the_company_holds_the_catalogue_the_chart_and_its_history(odbc):
    company = one(odbc, "SELECT * FROM Company")
    assert company.CompanyName == "Cedar Ridge Supply Co."
    assert company.FirstOpenPeriodStart == date(date.today().year, 1, 1)
    items = {r.ItemID: r for r in odbc.execute("SELECT * FROM LineItem")}
    assert set(items) == {p.code for p in PRODUCTS}
    assert not set(items) & set(CODES_UNKNOWN_TO_SAGE)
    inactive = {code for code, item in items.items() if item.ItemIsInactive}
    assert inactive == {"WIDGET-140", "GADGET-229"}
    widget, service = items[WIDGET], items["SERV-HOUR"]
    assert (widget.ItemClass, service.ItemClass) == (1, 4)
    assert money(widget.SalesPrice2) == money(Decimal(widget.SalesPrice1) * Decimal("0.95"))
    assert money(widget.SalesPrice3) == money(Decimal(widget.SalesPrice1) * Decimal("0.90"))
    accounts = dict(odbc.execute("SELECT GLAcntNumber, AccountID FROM Chart").fetchall())
    assert accounts[widget.GLSalesAcct] == "40000"
    assert accounts[service.GLSalesAcct] == "40200"
    assert accounts[items["KIT-300"].GLSalesAcct] == "40400"
    assert {"10200", "11000", "12000", "50000"} <= set(accounts.values())
    journals = dict(
        odbc.execute("SELECT JrnlKey_Journal, COUNT(*) FROM JrnlHdr GROUP BY JrnlKey_Journal")
    )
    assert journals == {1: 20, 3: 40, 11: 15}
    assert count(odbc, "JrnlHdr", "WHERE JrnlKey_Journal = 11 AND IsClosed = 1") == count(
        odbc, "JrnlHdr", "WHERE JrnlKey_Journal = 3 AND INV_POSOOrderNumber <> ''"
    )
    assert count(odbc, "Customers", "WHERE CustomerIsInactive = 1") == 3


def test_seeded_journals_balance_and_customer_balances_follow_them(odbc):
    totals: dict[int, Decimal] = defaultdict(Decimal)
    for row in odbc.execute("SELECT PostOrder, Amount FROM JrnlRow"):
        totals[row.PostOrder] += Decimal(row.Amount)
    assert totals and all(total == 0 for total in totals.values())
    owed: dict[int, Decimal] = defaultdict(Decimal)
    for row in odbc.execute(
        "SELECT CustVendId, MainAmount, AmountPaid FROM JrnlHdr WHERE JrnlKey_Journal = 3"
    ):
        owed[row.CustVendId] += Decimal(row.MainAmount) - Decimal(row.AmountPaid)
    for row in odbc.execute("SELECT CustomerRecordNumber, Balance FROM Customers"):
        assert money(row.Balance) == money(owed[row.CustomerRecordNumber])
    paid = one(odbc, "SELECT SUM(AmountPaid) FROM JrnlHdr WHERE JrnlKey_Journal = 3")[0]
    received = one(odbc, "SELECT SUM(MainAmount) FROM JrnlHdr WHERE JrnlKey_Journal = 1")[0]
    assert money(paid) == money(received) > 0


# ---------------------------------------------------------------- the agent


def test_health_names_the_company_and_unsigned_requests_are_refused(sage50, agent):
    assert agent.health() == {
        "status": "ok", "backend": "sandbox", "company": "Cedar Ridge Supply Co.",
        "version": "Sage 50 2026 (sandbox)", "product": "sage50",
    }  # fmt: skip
    unsigned = requests.post(f"{sage50.url}/v1/customers", json={}, timeout=5)
    assert unsigned.status_code == 401
    wrong_key = signed_headers("not-the-key", "GET", "/v1/health", b"")
    assert requests.get(f"{sage50.url}/v1/health", headers=wrong_key, timeout=5).status_code == 401


def test_an_invoice_posts_journal_3_with_sales_rows_and_an_ar_row_summing_to_zero(agent, odbc):
    customer_id, record_number = active_customer(odbc)
    stock_before, balance_before = on_hand(odbc, WIDGET), balance(odbc, customer_id)
    body = {
        "CustomerID": customer_id, "CustomerPurchaseOrderNumber": "PO-5521",
        "InternalNote": "deal-901", "FreightAmount": Decimal("25.00"),
        "lines": [
            {"ItemID": WIDGET, "Quantity": 3, "UnitPrice": Decimal("40.00"),
             "Amount": Decimal("120.00")},
            {"AccountID": "40200", "Description": "Site survey", "Quantity": 2,
             "UnitPrice": Decimal("99.50")},
        ],
    }  # fmt: skip
    invoice, existed = create(agent, "/v1/sales-invoices", "sales_invoice", body)
    assert not existed
    assert invoice["ReferenceNumber"] == "10051"
    assert Decimal(invoice["MainAmount"]) == Decimal("344.00")
    assert [line["ItemID"] for line in invoice["lines"]] == [WIDGET, ""]

    header = one(odbc, "SELECT * FROM JrnlHdr WHERE PostOrder = ?", invoice["PostOrder"])
    assert (header.JrnlKey_Journal, header.JournalEx, header.Module) == (3, 8, "R")
    assert [header.Reference, header.PurchOrder, header.InternalNote] == [
        "10051", "PO-5521", "deal-901",
    ]  # fmt: skip
    assert header.CustVendId == record_number and header.TransactionDate == date.today()
    rows = odbc.execute(
        "SELECT r.*, c.AccountID FROM JrnlRow r JOIN Chart c ON c.GLAcntNumber = r.GLAcntNumber "
        "WHERE r.PostOrder = ? ORDER BY r.RowNumber",
        invoice["PostOrder"],
    ).fetchall()
    assert [(r.RowType, r.AccountID, money(r.Amount)) for r in rows] == [
        (0, "40000", Decimal("-120.00")), (0, "40200", Decimal("-199.00")),
        (2, "40600", Decimal("-25.00")), (1, "11000", Decimal("344.00")),
    ]  # fmt: skip
    assert sum(Decimal(r.Amount) for r in rows) == 0
    assert (Decimal(rows[0].Quantity), Decimal(rows[0].UnitCost)) == (3, 40)
    assert all(r.CustomerRecordNumber == record_number for r in rows)
    assert on_hand(odbc, WIDGET) == stock_before - 3
    assert balance(odbc, customer_id) == balance_before + Decimal("344.00")
    last = one(odbc, "SELECT LastInvoiceDate FROM Customers WHERE CustomerID = ?", customer_id)
    assert last[0] == date.today()
    assert one(odbc, "SELECT NextInvoiceNumber FROM Company")[0] == 10052


def test_a_sales_order_posts_journal_11_and_moves_no_balance_or_stock(agent, odbc):
    customer_id, _ = active_customer(odbc)
    before = snapshot(odbc)
    body = {"CustomerID": customer_id, "lines": [{"ItemID": WIDGET, "Quantity": 5}]}
    order, _ = create(agent, "/v1/sales-orders", "sales_order", body)
    assert order["ReferenceNumber"] == "SO-1051"
    header = one(odbc, "SELECT * FROM JrnlHdr WHERE PostOrder = ?", order["PostOrder"])
    assert (header.JrnlKey_Journal, header.JournalEx, header.IsClosed) == (11, 19, 0)
    price = one(
        odbc,
        "SELECT SalesPrice1, SalesPrice2, SalesPrice3 FROM LineItem WHERE ItemID = ?",
        WIDGET,
    )
    level = one(odbc, "SELECT PriceLevel FROM Customers WHERE CustomerID = ?", customer_id)[0]
    assert money(header.MainAmount) == money(5 * Decimal(price[level]))
    after = snapshot(odbc)
    assert (after[0], after[1]) == (before[0] + 1, before[1] + 2)
    assert after[5:7] == before[5:7]  # balances and stock as they were


def test_a_customer_is_written_with_its_address_and_primary_contact_then_found_again(agent, odbc):
    body = {
        "Customer_Bill_Name": "Orbital Pump Systems Inc", "Contact": "Jane Ortiz",
        "eMail_Address": "ap@orbitalpump.com", "Phone_Number": "(303) 555-0177",
        "AddressLine1": "4400 Ward Rd", "City": "Wheat Ridge", "State": "CO", "Zip": "80033",
        "CustomField5": "streak:box-77", "Terms_CreditLimit": Decimal("7500.00"),
    }  # fmt: skip
    customer, existed = create(agent, "/v1/customers", "customer", body, match="CustomField5")
    assert (customer["CustomerID"], existed) == ("ORBITALP", False)
    row = one(odbc, "SELECT * FROM Customers WHERE CustomerID = 'ORBITALP'")
    where = f"WHERE CustomerRecordNumber = {row.CustomerRecordNumber}"
    address = one(odbc, f"SELECT * FROM Address {where}")
    contact = one(odbc, f"SELECT * FROM Contacts {where}")
    assert (row.CustomField5, money(row.Terms_CreditLimit), row.SalesTaxCode) == (
        "streak:box-77", Decimal("7500.00"), "CO",
    )  # fmt: skip
    assert (address.AddressTypeNumber, address.City, address.Zip) == (0, "Wheat Ridge", "80033")
    assert (contact.IsPrimaryContact, contact.FirstName, contact.LastName) == (1, "Jane", "Ortiz")

    again, existed = create(
        agent, "/v1/customers", "customer", {**body, "Customer_Bill_Name": "Orbital Pumps"},
        match="CustomField5",
    )  # fmt: skip
    assert (again["CustomerID"], existed) == ("ORBITALP", True)
    assert count(odbc, "Customers", "WHERE CustomField5 = 'streak:box-77'") == 1

    changed = agent.call(
        "PATCH", "/v1/customers/ORBITALP", {"City": "Golden", "Contact": "Sam Lee"}, "k-upd"
    )
    assert (changed["customer"]["City"], changed["customer"]["Contact"]) == ("Golden", "Sam Lee")
    assert one(odbc, f"SELECT FirstName FROM Contacts {where}")[0] == "Sam"


def test_a_conditional_create_returns_the_invoice_already_holding_the_deal(agent, odbc):
    customer_id, _ = active_customer(odbc)
    body = {
        "CustomerID": customer_id,
        "InternalNote": "deal-42",
        "lines": [{"ItemID": WIDGET, "Quantity": 1}],
    }
    first, existed = create(agent, "/v1/sales-invoices", "sales_invoice", body, "InternalNote")
    assert not existed
    before = snapshot(odbc)
    second, existed = create(agent, "/v1/sales-invoices", "sales_invoice", body, "InternalNote")
    assert existed and second["PostOrder"] == first["PostOrder"]
    assert second["ReferenceNumber"] == first["ReferenceNumber"]
    assert snapshot(odbc) == before

    create(agent, "/v1/sales-invoices", "sales_invoice", body)  # a second, unconditionally
    with pytest.raises(ValidationError) as refused:
        create(agent, "/v1/sales-invoices", "sales_invoice", body, "InternalNote")
    assert "InternalNote" in refused.value.fields
    assert "2 sales invoices" in str(refused.value)


def _line(**values) -> dict:
    return {"ItemID": WIDGET, "Quantity": 2, **values}


@pytest.mark.parametrize(
    "header, lines, field, words",
    [
        ({"CustomerID": "NOSUCH"}, [_line()], "CustomerID", "Customer ID 'NOSUCH' was not found"),
        ({"CustomerID": "{inactive}"}, [_line()], "CustomerID", "is inactive"),
        ({"CustomerID": None}, [_line()], "CustomerID", "Customer ID is required"),
        ({}, [_line(), _line(ItemID="WIDGET-999")], "ItemID",
         "Line 2: Item ID 'WIDGET-999' was not found"),
        ({}, [_line(ItemID="GADGET-229")], "ItemID", "Item ID 'GADGET-229' is inactive"),
        ({}, [_line(AccountID="49999")], "AccountID", "GL account '49999' was not found"),
        ({}, [_line(AccountID="40900")], "AccountID", "GL account '40900' is inactive"),
        ({"Date": "2025-03-01"}, [_line()], "Date",
         "The date 2025-03-01 falls in a closed accounting period"),
        ({"ReferenceNumber": "10011"}, [_line()], "ReferenceNumber", "already been used"),
        ({}, [], "lines", "has no lines"),
        ({}, [{"ItemID": WIDGET}], "Quantity", "Line 1: a quantity is required"),
        ({}, [_line(Quantity=0)], "Quantity", "greater than zero"),
        ({}, [_line(UnitPrice=Decimal("10.00"), Amount=Decimal("20.01"))], "Amount",
         "is not the quantity times"),
    ],
)  # fmt: skip
def test_each_refused_invoice_says_why_in_sages_words_and_writes_nothing(
    agent, odbc, header, lines, field, words
):
    customer_id, _ = active_customer(odbc)
    inactive = one(odbc, "SELECT CustomerID FROM Customers WHERE CustomerIsInactive = 1")[0]
    body = {"CustomerID": customer_id, **header, "lines": lines}
    if body["CustomerID"] == "{inactive}":
        body["CustomerID"] = inactive
    before = snapshot(odbc)
    with pytest.raises(ValidationError) as refused:
        create(agent, "/v1/sales-invoices", "sales_invoice", body)
    assert words in str(refused.value)
    assert field in refused.value.fields
    assert snapshot(odbc) == before


def test_commit_then_fail_writes_the_invoice_and_the_retry_replays_it(sage50, agent, odbc):
    customer_id, _ = active_customer(odbc)
    body = {"CustomerID": customer_id, "lines": [_line()]}
    before = count(odbc, "JrnlHdr")
    requests.post(f"{sage50.url}/_control/faults", json={"commit_then_fail_rate": 1}, timeout=5)
    with pytest.raises(TransientError):
        create(agent, "/v1/sales-invoices", "sales_invoice", body, key="retry-me")
    assert count(odbc, "JrnlHdr") == before + 1  # written, though the reply was lost
    requests.delete(f"{sage50.url}/_control/faults", timeout=5)
    invoice, _ = create(agent, "/v1/sales-invoices", "sales_invoice", body, key="retry-me")
    assert count(odbc, "JrnlHdr") == before + 1
    assert one(odbc, "SELECT MAX(PostOrder) FROM JrnlHdr")[0] == invoice["PostOrder"]


def test_an_outage_answers_503_in_the_agents_shape(sage50, agent):
    requests.post(f"{sage50.url}/_control/faults", json={"outage": True}, timeout=5)
    with pytest.raises(TransientError) as down:
        agent.health()
    assert "could not open the company" in str(down.value)
    reply = requests.get(f"{sage50.url}/v1/health", timeout=5)
    assert reply.status_code == 503 and reply.json()["error"]["code"] == "unavailable"


# ---------------------------------------------------------------- pages


def test_a_receipt_recorded_on_the_page_pays_the_invoice(sage50, odbc):
    invoice = one(
        odbc,
        "SELECT h.*, c.CustomerID FROM JrnlHdr h JOIN Customers c "
        "ON c.CustomerRecordNumber = h.CustVendId WHERE h.JrnlKey_Journal = 3 "
        "AND h.AmountPaid = 0 ORDER BY h.PostOrder LIMIT 1",
    )
    owed = balance(odbc, invoice.CustomerID)
    form = {"InvoiceNumber": invoice.Reference, "Amount": "100.00", "Reference": "4471",
            "PaymentMethod": "Check", "Date": date.today().isoformat()}  # fmt: skip
    page = requests.post(f"{sage50.url}/receipts", data=form, timeout=5)
    assert page.status_code == 200 and "Receipt of 100.00 recorded" in page.text
    assert "4471" in page.text
    paid = one(odbc, "SELECT AmountPaid FROM JrnlHdr WHERE PostOrder = ?", invoice.PostOrder)[0]
    assert money(paid) == Decimal("100.00")
    assert balance(odbc, invoice.CustomerID) == owed - Decimal("100.00")
    receipt = one(odbc, "SELECT * FROM JrnlHdr WHERE JrnlKey_Journal = 1 AND Reference = '4471'")
    rows = odbc.execute(
        "SELECT RowType, Amount, LinkToAnotherTrx FROM JrnlRow WHERE PostOrder = ? "
        "ORDER BY RowNumber",
        receipt.PostOrder,
    ).fetchall()
    assert [(r.RowType, money(r.Amount), r.LinkToAnotherTrx) for r in rows] == [
        (0, Decimal("-100.00"), invoice.PostOrder), (1, Decimal("100.00"), 0),
    ]  # fmt: skip

    before = snapshot(odbc)
    too_much = {**form, "Amount": "999999.00", "Reference": "4472"}
    page = requests.post(f"{sage50.url}/receipts", data=too_much, timeout=5)
    assert "is more than the" in page.text
    assert snapshot(odbc) == before


def test_the_stock_page_sets_the_quantity_on_hand(sage50, odbc):
    page = requests.post(
        f"{sage50.url}/stock", data={"ItemID": WIDGET, "QuantityOnHand": "77"}, timeout=5
    )
    assert f"{WIDGET}: 77 on hand." in page.text
    assert on_hand(odbc, WIDGET) == 77
    page = requests.post(
        f"{sage50.url}/stock", data={"ItemID": "SERV-HOUR", "QuantityOnHand": "5"}, timeout=5
    )
    assert "is not a stock item" in page.text


def test_pages_show_invoices_orders_and_customers(sage50, odbc):
    invoice = one(
        odbc,
        "SELECT Reference FROM JrnlHdr WHERE JrnlKey_Journal = 3 AND INV_POSOOrderNumber <> '' "
        "LIMIT 1",
    )[0]
    order = one(odbc, "SELECT INV_POSOOrderNumber FROM JrnlHdr WHERE Reference = ?", invoice)[0]
    assert invoice in requests.get(sage50.url, timeout=5).text
    page = requests.get(f"{sage50.url}/invoices/{invoice}", timeout=5).text
    assert "Accounts Receivable" in page and order in page
    assert "Closed" in requests.get(f"{sage50.url}/sales-orders", timeout=5).text
    customer = one(odbc, "SELECT CustomerID, Customer_Bill_Name FROM Customers LIMIT 1")
    found = requests.get(f"{sage50.url}/customers", params={"q": customer.CustomerID}, timeout=5)
    assert customer.Customer_Bill_Name in found.text
    assert requests.get(f"{sage50.url}/invoices/99999", timeout=5).status_code == 404
