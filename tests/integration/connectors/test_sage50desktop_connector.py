"""The Sage 50 US (desktop) connector against the live sandbox: reads over unixODBC + the
SQLite3 driver, writes over HTTP through the signed Clarity agent, with real Connection
rows; receipts and stock changes entered on the sandbox's own pages, as a Sage 50 user
enters them."""

import sqlite3
from datetime import date
from decimal import Decimal

import pyodbc
import pytest
from django.urls import reverse

from connectors.errors import Ambiguous, AuthError, ConnectorError, TransientError, ValidationError
from connectors.models import Connection
from connectors.odbc.client import DriverNotFound, odbc_error
from connectors.sage50desktop.client import SAGE50
from connectors.sage50desktop.connector import Sage50DesktopConnector
from connectors.sage50desktop.entities import AGENT_FIELDS
from connectors.services import check_connection, connector_for
from sandbox.catalogue import CODES_UNKNOWN_TO_SAGE, PRODUCTS
from sandbox.sage50desktop.data import COMPANY_NAME

pytestmark = pytest.mark.django_db

SOLD = PRODUCTS[0]
CRM_ID = "001CT0000000077AAA"  # a Salesforce account id: fits CustomField5 as it is
STREAK_KEY = "agxzfm1haWxmb29nYWVyMwsSDE9yZ2FuaXphdGlvbiIhY2xhcml0eS1jb25uZWN0LXRlc3QtMDAwMDEM"
NEW_CUSTOMER = {
    "Customer_Bill_Name": "Harbor Lights Outfitters",
    "eMail_Address": "ap@harborlights.example",
    "Phone_Number": "(303) 555-0142",
    "AddressLine1": "42 Test Way",
    "City": "Golden",
    "State": "CO",
    "Zip": "80401",
    "Terms_CreditLimit": Decimal("5000.00"),
}


@pytest.fixture
def sage(sage50desktop) -> Sage50DesktopConnector:
    return connector_for(sage50desktop)


@pytest.fixture
def db(sage50desktop_sandbox):
    """The sandbox company's file, to count what a write left behind."""
    with sqlite3.connect(sage50desktop_sandbox.app.db_path) as connection:
        yield connection


def canonical(crm_id: str = CRM_ID, **fields) -> dict:
    return {"name": NEW_CUSTOMER["Customer_Bill_Name"], "email": NEW_CUSTOMER["eMail_Address"],
            "external_refs": {"crm": crm_id}, **fields}  # fmt: skip


def journal_count(db, journal: int) -> int:
    return db.execute(
        "SELECT COUNT(*) FROM JrnlHdr WHERE JrnlKey_Journal = ?", (journal,)
    ).fetchone()[0]


def a_customer(sage) -> dict:
    """A seeded active customer (one with no namesake: the seed has none)."""
    return next(row for row in sage.stream("customer") if not row["CustomerIsInactive"])


def document(customer_id: str, deal: str, *lines: dict) -> dict:
    return {"CustomerID": customer_id, "Date": date.today(), "InternalNote": deal,
            "CustomerPurchaseOrderNumber": f"PO-{deal}",
            "lines": list(lines) or [{"ItemID": SOLD.code, "Quantity": Decimal("2"),
                                      "UnitPrice": SOLD.price}]}  # fmt: skip


# ---------------------------------------------------------------- connection


def test_the_connection_test_says_what_it_found(sage50desktop, db):
    customers = db.execute("SELECT COUNT(*) FROM Customers").fetchone()[0]

    health = check_connection(sage50desktop)

    assert health.ok, health.message
    assert health.message == (
        f"Connected to Sage 50 company {COMPANY_NAME}: ODBC reads {customers} customers and "
        "the agent (sandbox, Sage 50 2026 (sandbox)) is ready for writes."
    )


def test_a_wrong_agent_key_or_company_fails_the_test_saying_which(sage50desktop):
    sage50desktop.secrets = {**sage50desktop.secrets, "agent_key": "not-the-key"}
    sage50desktop.save()
    refused = check_connection(sage50desktop)

    sage50desktop.secrets = {**sage50desktop.secrets, "agent_key": "sandbox-agent-key"}
    sage50desktop.settings = {**sage50desktop.settings, "company_name": "Bellwether Tools"}
    sage50desktop.save()
    elsewhere = check_connection(sage50desktop)

    assert not refused.ok and refused.needs_reauth and "refused the key" in refused.message
    assert not elsewhere.ok and not elsewhere.needs_reauth
    assert f"has the company “{COMPANY_NAME}” open, not “Bellwether Tools”" in elsewhere.message


@pytest.mark.parametrize(
    "state, words, error_class, said",
    [
        ("28000", "[Pervasive][ODBC Engine Interface]Invalid user authorization "
         "specification (-1903)", AuthError, "Crystal Reports/Data Access"),
        ("IM002", "[unixODBC][Driver Manager]Data source name not found", DriverNotFound,
         "Actian Zen (Pervasive) ODBC driver"),
        ("HYT00", "Timeout expired", TransientError, "for now"),
        ("42S02", "Table not found: Nothing", ConnectorError, "ODBC read failed"),
    ],
)  # fmt: skip
def test_odbc_errors_are_classified_with_the_fix(state, words, error_class, said):
    error = odbc_error(pyodbc.Error(state, words), SAGE50, "DSN=CedarRidge")

    assert type(error) is error_class and error.detail == words
    assert error.system == "sage50desktop" and "Sage 50 (US desktop)" in error.message
    assert said in error.message


def test_a_missing_odbc_driver_is_told_on_the_connection_test(sage50desktop):
    missing = {"odbc_connection_string": "DRIVER={Pervasive ODBC Interface}",
               "odbc_dialect": "pervasive"}  # fmt: skip
    sage50desktop.settings = {**sage50desktop.settings, **missing}
    sage50desktop.save()

    health = check_connection(sage50desktop)

    assert not health.ok
    assert "install the Actian Zen (Pervasive) ODBC driver" in health.message
    assert "DRIVER={Pervasive ODBC Interface}" in health.message


# ---------------------------------------------------------------- schema and reads


def test_the_customer_schema_comes_from_the_catalog_with_the_crm_field_custom(sage):
    fields = {field.name: field for field in sage.schema("customer")}

    assert fields["CustomField5"].custom and fields["CustomField5"].label == (
        "Custom field 5 (the CRM id)"
    )
    assert fields["CustomField1"].custom and fields["CustomField1"].length == 20
    assert fields["Customer_Bill_Name"].required and fields["Customer_Bill_Name"].length == 39
    assert fields["Terms_CreditLimit"].type == "number"
    assert fields["AddressLine1"].length == 30 and fields["Zip"].type == "string"
    assert not {"Balance", "CustomerRecordNumber", "GUID"} & set(fields)  # kept by Sage


def test_documents_are_described_as_the_agent_takes_them(sage):
    header = {field.name: field for field in sage.schema("sales_invoice")}
    lines = {field.name: field for field in sage.schema("sales_order_line")}

    assert header["CustomerID"].required and "InternalNote" in header
    assert lines["Quantity"].required and set(lines) == {
        "ItemID", "AccountID", "Description", "Quantity", "UnitPrice", "Amount"}  # fmt: skip
    assert sage.mapping_entity("SalesInvoices") == ("sales_invoice", "sales_invoice_line")
    assert sage.mapping_entity("Customers") == ("customer", "")


def test_records_are_read_joined_the_way_sage_joins_them(sage, db):
    invoice = sage.sample("sales_invoice", 1)[0]
    item = sage.get("item", SOLD.code)
    customer = sage.get("customer", invoice["CustomerID"])

    rows = db.execute("SELECT COUNT(*) FROM JrnlRow WHERE PostOrder = ? AND RowType = 0",
                      (invoice["PostOrder"],)).fetchone()[0]  # fmt: skip
    assert len(invoice["lines"]) == rows and all(line["ItemID"] for line in invoice["lines"])
    assert isinstance(invoice["MainAmount"], Decimal)
    assert item["SalesAccountID"] == "40000" and item["SalesPrice1"] == SOLD.price
    assert customer["City"] and customer["SalesRepID"]


def test_every_entity_samples_records_holding_the_fields_its_schema_names(sage):
    for entity in sage.entities():
        fields = [field.name for field in sage.schema(entity)]
        records = sage.sample(entity, 2)

        assert fields and records, entity
        if entity not in AGENT_FIELDS:  # read as described (documents: as written)
            assert set(fields) <= set(records[0]), (entity, set(fields) - set(records[0]))


# ---------------------------------------------------------------- customers


def test_a_customer_is_found_by_email_then_name_and_bound_by_crm_id(sage):
    seeded = a_customer(sage)
    by_email = {"eMail_Address": seeded["eMail_Address"].upper(), "Customer_Bill_Name": "Other"}
    by_name = {"Customer_Bill_Name": seeded["Customer_Bill_Name"].lower()}

    email = sage.find_or_create_customer(by_email, canonical(""), "find-email")
    name = sage.find_or_create_customer(by_name, canonical(""), "find-name")

    assert (email.ref, email.how) == (seeded["CustomerID"], "found by email")
    assert (name.ref, name.how) == (seeded["CustomerID"], "found by name")


def test_a_customer_is_created_once_and_found_again_by_its_crm_id(sage):
    first = sage.find_or_create_customer(dict(NEW_CUSTOMER), canonical(), "create-1")
    renamed = {**NEW_CUSTOMER, "Customer_Bill_Name": "Harbor Lights West",
               "eMail_Address": "new@harborlights.example"}  # fmt: skip
    again = sage.find_or_create_customer(renamed, canonical(), "create-2")

    assert first.how == "created" and first.name == "Harbor Lights Outfitters"
    assert (again.ref, again.how) == (first.ref, "found by CRM id")
    assert sage.read_customer(first.ref)["CustomField5"] == CRM_ID


def test_a_streak_key_too_long_for_the_field_is_kept_as_a_digest_that_fits(sage):
    first = sage.find_or_create_customer(dict(NEW_CUSTOMER), canonical(STREAK_KEY), "streak-1")
    renamed = {**NEW_CUSTOMER, "Customer_Bill_Name": "Elsewhere", "eMail_Address": ""}
    again = sage.find_or_create_customer(renamed, canonical(STREAK_KEY), "streak-2")

    held = sage.read_customer(first.ref)["CustomField5"]
    assert held.startswith("sha256:") and len(held) == 20
    assert (again.ref, again.how) == (first.ref, "found by CRM id")


def test_a_customer_made_meanwhile_for_the_crm_record_is_not_made_twice(sage):
    values = {**NEW_CUSTOMER, "CustomField5": CRM_ID}
    made, _ = sage.agent.create("/v1/customers", "customer", values, "meanwhile-1")
    # Another run got there first; this one's searches missed it, its create must not.
    again, existed = sage.agent.create(
        "/v1/customers", "customer", {**values, "Customer_Bill_Name": "Harbor Two"},
        "meanwhile-2", match="CustomField5",
    )  # fmt: skip

    assert existed and again["CustomerID"] == made["CustomerID"]
    assert len(sage.search("customer", CustomField5=CRM_ID)) == 1


def test_namesakes_in_sage_are_ambiguous_with_both_as_candidates(sage):
    for number in (1, 2):
        sage.agent.create("/v1/customers", "customer", {
            "CustomerID": f"NAMESAKE{number}", "Customer_Bill_Name": "Namesake Hardware",
            "City": ["Denver", "Casper"][number - 1]}, f"namesake-{number}")  # fmt: skip

    with pytest.raises(Ambiguous) as several:
        sage.find_or_create_customer(
            {"Customer_Bill_Name": "Namesake Hardware"}, canonical(""), "namesake-find"
        )

    assert set(Ambiguous.candidates_in(several.value.fields)) == {"NAMESAKE1", "NAMESAKE2"}
    assert "NAMESAKE1 (Namesake Hardware)" in several.value.message
    assert "Denver" in Ambiguous.candidates_in(several.value.fields)["NAMESAKE1"]


# ---------------------------------------------------------------- documents


def test_an_invoice_is_made_once_per_deal_on_the_lines_ledger_accounts(sage, db):
    customer = a_customer(sage)["CustomerID"]
    before = journal_count(db, 3)
    values = document(customer, "DEAL-S50-1")
    lines = [{"sku": SOLD.code, "ledger_account_id": "40400"}]

    made = sage.create_invoice(values, lines, "", None, "invoice-1")
    again = sage.create_invoice(values, lines, "", None, "invoice-2")

    assert made.number and not made.existed and made.total == str(SOLD.price * 2)
    assert (again.number, again.existed) == (made.number, True)
    assert journal_count(db, 3) == before + 1
    invoice = sage.get("sales_invoice", made.number)
    assert [line["AccountID"] for line in invoice["lines"]] == ["40400"]
    assert sage.find_invoice(customer, "DEAL-S50-1") == sage.get_invoice(made.id)
    assert sage.find_invoice(customer, "PO-DEAL-S50-1").number == made.number
    assert sage.find_invoice(customer, "DEAL-S50-2") is None


def test_an_invoice_in_another_currency_is_refused_before_sage(sage, db):
    before = journal_count(db, 3)
    values = document(a_customer(sage)["CustomerID"], "DEAL-S50-EUR")

    with pytest.raises(ValidationError) as refused:
        sage.create_invoice(values, [{"sku": SOLD.code}], "", Decimal("1.08"), "invoice-eur")

    assert "one currency" in refused.value.message and "currency" in refused.value.fields
    assert journal_count(db, 3) == before


def test_a_sales_order_is_made_once_per_deal(sage, db):
    customer = a_customer(sage)["CustomerID"]
    before, credit = journal_count(db, 11), sage.credit(customer)
    values = document(customer, "")

    made = sage.create_sales_order(values, "DEAL-S50-2", "order-1")
    again = sage.create_sales_order(values, "DEAL-S50-2", "order-2")

    assert made.number.startswith("SO-") and not made.existed
    assert (again.number, again.existed) == (made.number, True)
    assert journal_count(db, 11) == before + 1
    order = sage.get("sales_order", made.number)
    assert order["InternalNote"] == "DEAL-S50-2" and order["lines"][0]["ItemID"] == SOLD.code
    after = sage.credit(customer)  # the order is open: it counts against the credit left
    assert after["open_orders"]["count"] == credit["open_orders"]["count"] + 1
    assert Decimal(after["available"]) == Decimal(credit["available"]) - Decimal(made.total)


def test_a_refused_item_comes_back_naming_the_lines_item_id(sage, db):
    unknown = CODES_UNKNOWN_TO_SAGE[0]
    before = journal_count(db, 11)
    values = document(a_customer(sage)["CustomerID"], "DEAL-S50-3",
                      {"ItemID": SOLD.code, "Quantity": 1},
                      {"ItemID": unknown, "Quantity": 1, "UnitPrice": Decimal("5.00")})  # fmt: skip

    with pytest.raises(ValidationError) as refused:
        sage.create_sales_order(values, "DEAL-S50-3", "order-refused")

    assert "ItemID" in refused.value.fields and unknown in refused.value.message
    assert "Line 2" in refused.value.message
    assert journal_count(db, 11) == before


def test_items_and_ledger_accounts_are_looked_up_live(sage):
    assert sage.find_item(SOLD.code.lower()).code == SOLD.code
    assert sage.find_item(CODES_UNKNOWN_TO_SAGE[0]) is None
    assert sage.ledger_account("40200") == "40200"
    assert sage.ledger_account("40900") == ""  # inactive
    assert sage.product_ledger_account(SOLD.code) == "40000"


# ---------------------------------------------------------------- the connection's pages


def test_an_admin_connects_sage50_desktop_through_its_form_and_the_keys_stay_hidden(
    client, users, sage50desktop_sandbox
):
    client.force_login(users["admin"])
    form = {
        "name": "Cedar Ridge books", "odbc_dialect": "sqlite", "company_name": COMPANY_NAME,
        "odbc_connection_string": sage50desktop_sandbox.app.odbc_connection_string,
        "agent_url": sage50desktop_sandbox.url, "customer_reference_field": "CustomField4",
        "agent_key": "sandbox-agent-key", "odbc_password": "data-access-secret",
    }  # fmt: skip

    reply = client.post(reverse("connection-create", args=["sage50desktop"]), form)

    connection = Connection.objects.get(name="Cedar Ridge books")
    assert reply.status_code == 302 and connection.system == "sage50desktop"
    assert connection.settings["customer_reference_field"] == "CustomField4"
    assert not {"agent_key", "odbc_password"} & set(connection.settings)
    edit = client.get(reverse("connection-edit", args=[connection.pk])).content.decode()
    assert "ODBC DSN or connection string" in edit and "Agent key" in edit
    assert "sandbox-agent-key" not in edit and "data-access-secret" not in edit
    assert check_connection(connection).ok
    schema = client.get(reverse("connection-schema", args=[connection.pk, "customer"]))
    assert "Custom field 4 (the CRM id)" in schema.content.decode()
