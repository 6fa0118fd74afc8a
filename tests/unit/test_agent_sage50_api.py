"""Sage 50 US's endpoints on the agent, without Sage: what reaches the backend (Decimal
amounts, the match field), what is refused before it (400 naming the field), and Sage's
refusals with their field. The agent app runs in-process on a recording fake backend."""

import json
from decimal import Decimal

import pytest
from werkzeug.test import Client

from agent.backend import EXISTED, Refused
from agent.protocol import signed_headers
from agent.sage50.api import Sage50Api
from agent.sage50.backend import Sage50Backend
from agent.server import AgentApp

KEY = "unit-test-key"


def post(client, path, payload, key="key-1"):
    body = json.dumps(payload).encode()
    headers = signed_headers(KEY, "POST", path, body, key)
    return client.post(path, data=body, headers={**headers, "Content-Type": "application/json"})


class FakeSage50(Sage50Backend):
    """Records what reaches it; an invoice for customer NOPE is refused, like the SDK's
    ValidationException; invoices are kept for conditional creates."""

    def __init__(self) -> None:
        self.calls: list[tuple] = []
        self.invoices: list[dict] = []

    def health(self):
        return {"status": "ok", "backend": "fake"}

    def create_customer(self, values, match=""):
        self.calls.append(("create_customer", values, match))
        return {**values, "CustomerRecordNumber": 7}

    def update_customer(self, customer_id, values):
        self.calls.append(("update_customer", customer_id, values))
        return {"CustomerID": customer_id, **values}

    def create_sales_invoice(self, header, lines, match=""):
        self.calls.append(("create_sales_invoice", header, lines, match))
        if header.get("CustomerID") == "NOPE":
            raise Refused("Customer ID 'NOPE' was not found.", "CustomerID")
        found = [invoice for invoice in self.invoices if match and invoice[match] == header[match]]
        if found:
            return {**found[0], EXISTED: True}
        total = sum(line["Amount"] for line in lines)
        self.invoices.append({**header, "ReferenceNumber": "10051", "MainAmount": total})
        return {**self.invoices[-1], "lines": lines}

    def create_sales_order(self, header, lines, match=""):
        self.calls.append(("create_sales_order", header, lines, match))
        return {**header, "ReferenceNumber": "SO-1051", "lines": lines}


@pytest.fixture
def sage50():
    return FakeSage50()


@pytest.fixture
def sage50_client(sage50, tmp_path):
    return Client(AgentApp(Sage50Api(sage50), KEY, tmp_path / "sage50-idempotency.db"))


INVOICE = {
    "CustomerID": "ACME",
    "Date": "2026-03-02",
    "InternalNote": "DEAL-42",
    "lines": [{"ItemID": "WID-100", "Quantity": 2, "UnitPrice": 12.5, "Amount": "25.00"}],
}


def test_a_sage50_invoice_reaches_the_backend_with_decimal_amounts_and_is_made_once(
    sage50_client, sage50
):
    made = post(sage50_client, "/v1/sales-invoices?match=InternalNote", INVOICE, key="i-1")
    again = post(sage50_client, "/v1/sales-invoices?match=InternalNote", INVOICE, key="i-2")
    assert (made.status_code, made.json["existed"]) == (201, False)
    assert made.json["sales_invoice"]["MainAmount"] == "25.00"
    assert (again.status_code, again.json["existed"]) == (200, True)
    line = sage50.calls[0][2][0]
    assert line["Quantity"] == Decimal(2) and line["UnitPrice"] == Decimal("12.5")
    assert line["Amount"] == Decimal("25.00") and sage50.calls[0][3] == "InternalNote"
    assert len(sage50.invoices) == 1


@pytest.mark.parametrize(
    "change, field",
    [
        ({"lines": [{"ItemID": "WID-100", "Quantity": "two"}]}, "lines[1].Quantity"),
        ({"lines": [{"ItemID": "WID-100"}, {"UnitPrice": True}]}, "lines[2].UnitPrice"),
        ({"lines": [{"ItemID": "WID-100", "Amount": "NaN"}]}, "lines[1].Amount"),
        ({"lines": "WID-100"}, "lines"),
        ({"Date": "02/03/2026"}, "Date"),
        ({"DateDue": "2026-02-30"}, "DateDue"),
        ({"FreightAmount": "free"}, "FreightAmount"),
        ({"ShipToName": {"first": "Ann"}}, "ShipToName"),
    ],
)
def test_a_bad_sage50_document_is_400_naming_the_field_and_reaches_no_backend(
    sage50_client, sage50, change, field
):
    reply = post(sage50_client, "/v1/sales-orders", {**INVOICE, **change}, key=f"bad-{field}")
    assert reply.status_code == 400 and reply.json["error"]["field"] == field
    assert field in reply.json["error"]["message"] and sage50.calls == []


def test_sage50_refusals_customers_and_orders(sage50_client, sage50):
    refused = post(sage50_client, "/v1/sales-invoices", {**INVOICE, "CustomerID": "NOPE"})
    assert refused.status_code == 422 and refused.json["error"]["field"] == "CustomerID"
    customer = {"Customer_Bill_Name": "Acme", "CustomField5": "crm-1", "Terms_CreditLimit": 5000}
    made = post(sage50_client, "/v1/customers?match=CustomField5", customer, key="c-1")
    assert made.status_code == 201 and made.json["customer"]["CustomerRecordNumber"] == 7
    assert sage50.calls[-1][1]["Terms_CreditLimit"] == Decimal(5000)
    assert sage50.calls[-1][2] == "CustomField5"
    body = json.dumps({"Phone_Number": "555-0100"}).encode()
    path = "/v1/customers/ACME%2001"
    changed = sage50_client.patch(
        path, data=body, headers=signed_headers(KEY, "PATCH", path, body, "u-1")
    )
    assert changed.json["customer"] == {"CustomerID": "ACME 01", "Phone_Number": "555-0100"}
    order = post(sage50_client, "/v1/sales-orders", INVOICE, key="o-1")
    assert order.status_code == 201 and order.json["sales_order"]["ReferenceNumber"] == "SO-1051"
