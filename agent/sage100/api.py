"""Sage 100's endpoints on the agent (bodies and replies use Sage column names; amounts are
sent back as strings):

    GET   /v1/health                                  -> 200 {"health": {...}}
    POST  /v1/customers[?match=UDF_CRM_ID]  {AR_Customer}
                                 -> 201 {"customer": {...}, "existed": false}
                                 or 200 {"customer": {...}, "existed": true}  (already there)
    PATCH /v1/customers/<div>/<no>     {AR_Customer}  -> 200 {"customer": {...}}
    POST  /v1/sales-orders/next-number                -> 200 {"SalesOrderNo": "0000123"}
    POST  /v1/sales-orders[?match=UDF_DEAL_ID]
                             {header..., "lines": [{ItemCode, QuantityOrdered, ...}]}
                                 -> 201 {"sales_order": {..., "lines"}, "existed": false}
                                 or 200 {"sales_order": {...}, "existed": true}
    POST  /v1/invoices[?match=UDF_DEAL_ID]
                             {header..., "lines": [{ItemCode, QuantityOrdered, ...}]}
                                 -> 201 {"invoice": {..., "lines"}, "existed": false}
                                 or 200 {"invoice": {...}, "existed": true}
    POST  /v1/purchase-orders[?match=UDF_SO_REF]
                             {APDivisionNo, VendorNo, ..., "lines": [{ItemCode, QuantityOrdered,
                              SalesOrderNo, ...}]}
                                 -> 201 {"purchase_order": {..., "lines"}, "existed": false}
                                 or 200 {"purchase_order": {...}, "existed": true}
    POST  /v1/sales-orders/<no>/status {"OrderStatus": "H"}   -> 200 {"sales_order": {...}}
    POST  /v1/cash-receipts  {ARDivisionNo, CustomerNo, InvoiceNo, Amount, CheckNo, ...}
                                                      -> 201 {"cash_receipt": {...}}
    POST  /v1/items/<code>/stock {"WarehouseCode", "QuantityOnHand"}
                                                      -> 200 {"item_warehouse": {...}}

A write Sage refuses is 422 `refused` with Sage's last-error message, and nothing was
written. `match` names the column of the record's external reference (see `agent.server`).
"""

from typing import Any

from werkzeug.routing import Rule

from agent.api import BadRequest, ProductApi, check_match, created, lines_of
from agent.sage100 import contacts
from agent.sage100.backend import Sage100Backend


class Sage100Api(ProductApi):
    product = "sage100"
    conditional_creates = frozenset(
        {"create_customer", "create_sales_order", "create_invoice", "create_purchase_order"}
    )
    backend: Sage100Backend  # given to ProductApi.__init__

    def rules(self) -> list[Rule]:
        return [
            Rule("/v1/customers", endpoint="create_customer", methods=["POST"]),
            Rule("/v1/customers/<division>/<customer_no>", endpoint="update_customer",
                 methods=["PATCH"]),
            Rule("/v1/sales-orders/next-number", endpoint="next_order_number",
                 methods=["POST"]),
            Rule("/v1/sales-orders", endpoint="create_sales_order", methods=["POST"]),
            Rule("/v1/sales-orders/<order_no>/status", endpoint="set_order_status",
                 methods=["POST"]),
            Rule("/v1/invoices", endpoint="create_invoice", methods=["POST"]),
            Rule("/v1/purchase-orders", endpoint="create_purchase_order", methods=["POST"]),
            Rule("/v1/cash-receipts", endpoint="post_cash_receipt", methods=["POST"]),
            Rule("/v1/items/<item_code>/stock", endpoint="set_stock", methods=["POST"]),
            contacts.rule(),
        ]  # fmt: skip

    def on_create_customer(self, payload: dict, match: str) -> tuple[int, Any]:
        check_match(payload, match)
        return created("customer", self.backend.create_customer(payload, match))

    def on_update_customer(self, payload: dict, division: str, customer_no: str) -> tuple[int, Any]:
        return 200, {"customer": self.backend.update_customer(division, customer_no, payload)}

    def on_next_order_number(self, payload: dict) -> tuple[int, Any]:
        return 200, {"SalesOrderNo": self.backend.next_sales_order_number()}

    def on_create_sales_order(self, payload: dict, match: str) -> tuple[int, Any]:
        header, lines = lines_of(payload)
        check_match(header, match)
        return created("sales_order", self.backend.create_sales_order(header, lines, match))

    def on_create_invoice(self, payload: dict, match: str) -> tuple[int, Any]:
        header, lines = lines_of(payload)
        check_match(header, match)
        return created("invoice", self.backend.create_invoice(header, lines, match))

    def on_create_purchase_order(self, payload: dict, match: str) -> tuple[int, Any]:
        header, lines = lines_of(payload)
        check_match(header, match)
        order = self.backend.create_purchase_order(header, lines, match)
        return created("purchase_order", order)

    def on_set_order_status(self, payload: dict, order_no: str) -> tuple[int, Any]:
        status = payload.get("OrderStatus")
        if not isinstance(status, str):
            raise BadRequest('"OrderStatus" (a one-letter string) is required.', "OrderStatus")
        return 200, {"sales_order": self.backend.set_order_status(order_no, status)}

    def on_save_customer_contact(
        self, payload: dict, division: str, customer_no: str
    ) -> tuple[int, Any]:
        return contacts.save_customer_contact(self.backend, payload, division, customer_no)

    def on_post_cash_receipt(self, payload: dict) -> tuple[int, Any]:
        return 201, {"cash_receipt": self.backend.post_cash_receipt(payload)}

    def on_set_stock(self, payload: dict, item_code: str) -> tuple[int, Any]:
        if "WarehouseCode" not in payload or "QuantityOnHand" not in payload:
            raise BadRequest('"WarehouseCode" and "QuantityOnHand" are required.')
        row = self.backend.set_stock(item_code, payload["WarehouseCode"], payload["QuantityOnHand"])
        return 200, {"item_warehouse": row}
