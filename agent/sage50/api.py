"""Sage 50 US's endpoints on the agent (names as `agent.sage50.backend` gives them; amounts
are sent back as strings):

    GET   /v1/health                                      -> 200 {"health": {...}}
    POST  /v1/customers[?match=CustomField5]  {Customers + Address columns}
                                 -> 201 {"customer": {...}, "existed": false}
                                 or 200 {"customer": {...}, "existed": true}  (already there)
    PATCH /v1/customers/<customer_id>  {columns to change}  -> 200 {"customer": {...}}
    POST  /v1/sales-invoices[?match=InternalNote]
                      {CustomerID, Date, ..., "lines": [{ItemID, AccountID, Quantity, ...}]}
                                 -> 201 {"sales_invoice": {..., "lines"}, "existed": false}
                                 or 200 {"sales_invoice": {...}, "existed": true}
    POST  /v1/sales-orders[?match=InternalNote]        as invoices -> {"sales_order": ...}

A body that is not what the endpoint takes is 400 `bad_request` naming the field (a nested
value, a number that is not one, a date not YYYY-MM-DD, lines that are not objects), before
the backend sees it; amounts and quantities reach the backend as Decimal. Sage's own
refusals are 422 `refused`, nothing written.
"""

from typing import Any

from werkzeug.routing import Rule

from agent.api import (
    ProductApi,
    check_match,
    created,
    decimal_value,
    iso_date_value,
    lines_of,
    plain_values,
)
from agent.backend import Record
from agent.sage50.backend import Sage50Backend

CUSTOMER_AMOUNTS = ("Terms_CreditLimit",)
DOCUMENT_AMOUNTS = ("FreightAmount",)
DOCUMENT_DATES = ("Date", "DateDue")
LINE_AMOUNTS = ("Quantity", "UnitPrice", "Amount")


class Sage50Api(ProductApi):
    product = "sage50"
    conditional_creates = frozenset(
        {"create_customer", "create_sales_invoice", "create_sales_order"}
    )
    backend: Sage50Backend  # given to ProductApi.__init__

    def rules(self) -> list[Rule]:
        return [
            Rule("/v1/customers", endpoint="create_customer", methods=["POST"]),
            Rule("/v1/customers/<customer_id>", endpoint="update_customer", methods=["PATCH"]),
            Rule("/v1/sales-invoices", endpoint="create_sales_invoice", methods=["POST"]),
            Rule("/v1/sales-orders", endpoint="create_sales_order", methods=["POST"]),
        ]

    def on_create_customer(self, payload: dict, match: str) -> tuple[int, Any]:
        values = customer_values(payload)
        check_match(values, match)
        return created("customer", self.backend.create_customer(values, match))

    def on_update_customer(self, payload: dict, customer_id: str) -> tuple[int, Any]:
        values = customer_values(payload)
        return 200, {"customer": self.backend.update_customer(customer_id, values)}

    def on_create_sales_invoice(self, payload: dict, match: str) -> tuple[int, Any]:
        header, lines = document_values(payload)
        check_match(header, match)
        invoice = self.backend.create_sales_invoice(header, lines, match)
        return created("sales_invoice", invoice)

    def on_create_sales_order(self, payload: dict, match: str) -> tuple[int, Any]:
        header, lines = document_values(payload)
        check_match(header, match)
        return created("sales_order", self.backend.create_sales_order(header, lines, match))


def customer_values(payload: dict) -> Record:
    values = dict(payload)
    plain_values(values)
    for name in CUSTOMER_AMOUNTS:
        decimal_value(values, name)
    return values


def document_values(payload: dict) -> tuple[Record, list[Record]]:
    """The header and lines of an invoice or order body, checked and with Decimal amounts."""
    header, body_lines = lines_of(payload)
    plain_values(header)
    for name in DOCUMENT_AMOUNTS:
        decimal_value(header, name)
    for name in DOCUMENT_DATES:
        iso_date_value(header, name)
    lines = []
    for number, body_line in enumerate(body_lines, start=1):
        line, where = dict(body_line), f"lines[{number}]."
        plain_values(line, where)
        for name in LINE_AMOUNTS:
            decimal_value(line, name, where)
        lines.append(line)
    return header, lines
