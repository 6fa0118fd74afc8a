"""Sage 100's writes, through the Clarity agent beside Sage (the bridge: `BridgeClient`), which
drives the Business Object Interface: customers, sales orders, invoices, order status,
purchase orders, cash receipts and stock; the write half of `Sage100Connector`.

Values go out typed as the ODBC catalog says (numbers as Decimal, dates as ISO text) and
replies come back in the shape ODBC reads have. A create naming the deal (`UDF_DEAL_ID`:
orders, invoices), the CRM record (`UDF_CRM_ID`: customers) or the sales order and vendor
(`UDF_SO_REF`: purchase orders) is conditional: the bridge returns the record Sage already
has for it, marked `existed`, instead of writing a second one.
"""

from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from connectors.base import Record
from connectors.errors import Unsupported, ValidationError
from connectors.sage100.customers import CUSTOMER_REFERENCE
from connectors.sage100.entities import number
from connectors.sage100.erp import ORDER_REFERENCE
from connectors.sage100.purchasing import PURCHASE_REFERENCE


class Sage100BridgeWrites:
    """The write half of `Sage100Connector`, placed first in its bases; `bridge`, `catalog`,
    `parse_key` and `system` are the connector's."""

    bridge: Any
    catalog: Any
    parse_key: Any
    system: str

    def typed(self, table: str, values: Record) -> Record:
        """Values typed as the catalog says (numbers as Decimal, dates as ISO text), so the
        BOI backend sets numeric columns as numbers and text columns as text."""
        kinds = self.catalog.kinds(table)
        typed: Record = {}
        for name, value in values.items():
            kind = kinds.get(name)
            try:
                if value is None or kind is None:
                    typed[name] = value
                elif kind in ("number", "integer"):
                    typed[name] = Decimal(str(value))
                elif kind == "date":
                    typed[name] = value if isinstance(value, date) else date.fromisoformat(value)
                else:
                    typed[name] = str(value)
            except (InvalidOperation, ValueError, TypeError):
                raise ValidationError(
                    f"Sage 100 {table}.{name} needs a {kind}, not {value!r}.",
                    fields={name: f"expected a {kind}"},
                    system=self.system,
                ) from None
        return typed

    def from_bridge(self, table: str, record: Record) -> Record:
        """A bridge reply in the shape ODBC reads have: Decimal money, date dates."""
        kinds = self.catalog.kinds(table)
        shaped: Record = {}
        for name, value in record.items():
            kind = kinds.get(name)
            if kind in ("number", "integer") and isinstance(value, str | int | float):
                value = Decimal(str(value)) if kind == "number" else int(value)
            elif kind == "date" and isinstance(value, str):
                value = date.fromisoformat(value) if value else None
            shaped[name] = value
        return shaped

    def create(self, entity: str, data: Record, idempotency_key: str) -> Record:
        if entity == "customer":
            reply, existed = self.bridge.create_customer(
                self.typed("AR_Customer", data),
                f"{idempotency_key}:customer",
                match=CUSTOMER_REFERENCE if data.get(CUSTOMER_REFERENCE) else "",
            )
            return self.from_bridge("AR_Customer", reply) | {"existed": existed}
        if entity == "sales_order":
            return self.write_sales_order(data, idempotency_key)
        if entity == "invoice":
            return self.write_invoice(data, idempotency_key)
        if entity == "cash_receipt":
            return self.post_cash_receipt(data, idempotency_key)
        if entity == "purchase_order":
            return self.write_purchase_order(data, idempotency_key)
        raise Unsupported(f"Sage 100 cannot create {entity} through the bridge", system=self.system)

    def update(self, entity: str, key: str, data: Record, idempotency_key: str) -> Record:
        values = self.parse_key(entity, key)
        if entity == "customer":
            reply = self.bridge.update_customer(
                values["ARDivisionNo"],
                values["CustomerNo"],
                self.typed("AR_Customer", data),
                f"{idempotency_key}:customer",
            )
            return self.from_bridge("AR_Customer", reply)
        if entity == "sales_order" and set(data) == {"OrderStatus"}:
            return self.write_order_status(values["SalesOrderNo"], data["OrderStatus"],
                                           idempotency_key)  # fmt: skip
        if entity == "stock" and set(data) == {"QuantityOnHand"}:
            return self.set_stock(values["ItemCode"], values["WarehouseCode"],
                                  data["QuantityOnHand"], idempotency_key)  # fmt: skip
        raise Unsupported(
            f"Sage 100 can update customers, a sales order's OrderStatus and stock's "
            f"QuantityOnHand, not {entity} {sorted(data)}",
            system=self.system,
        )

    def next_sales_order_number(self, idempotency_key: str) -> str:
        """Reserve the next sales order number (SO_SalesOrder_bus.nGetNextSalesOrderNo)."""
        return self.bridge.next_sales_order_number(f"{idempotency_key}:next-order-number")

    def write_sales_order(self, data: Record, idempotency_key: str) -> Record:
        """Header and `lines` written together by BOI, or nothing (ValidationError). With a
        `UDF_DEAL_ID`, the order Sage already has for that deal (open or in history) comes
        back instead, `existed` true; several such orders are a ValidationError."""
        header = dict(data)
        lines = header.pop("lines", None) or []
        reply, existed = self.bridge.create_sales_order(
            self.typed("SO_SalesOrderHeader", header),
            [self.typed("SO_SalesOrderDetail", line) for line in lines],
            f"{idempotency_key}:sales-order",
            match=ORDER_REFERENCE if header.get(ORDER_REFERENCE) else "",
        )
        order = self.from_bridge("SO_SalesOrderHeader", reply)
        order["lines"] = [
            self.from_bridge("SO_SalesOrderDetail", line) for line in reply.get("lines", [])
        ]
        order["existed"] = existed
        return order

    def write_invoice(self, data: Record, idempotency_key: str) -> Record:
        """An S/O invoice (SO_Invoice_bus), header and `lines` together or nothing; with a
        `UDF_DEAL_ID`, the invoice Sage has for that deal (entered or posted) instead."""
        header = dict(data)
        lines = header.pop("lines", None) or []
        reply, existed = self.bridge.create_invoice(
            self.typed("SO_InvoiceHeader", header),
            [self.typed("SO_InvoiceDetail", line) for line in lines],
            f"{idempotency_key}:invoice",
            match=ORDER_REFERENCE if header.get(ORDER_REFERENCE) else "",
        )
        invoice = self.from_bridge("SO_InvoiceHeader", reply)
        invoice["lines"] = [
            self.from_bridge("SO_InvoiceDetail", line) for line in reply.get("lines", [])
        ]
        invoice["existed"] = existed
        return invoice

    def write_order_status(self, sales_order_no: str, status: str, idempotency_key: str) -> Record:
        """N, O or H keep the order open; C completes (invoices) and X deletes it."""
        reply = self.bridge.set_order_status(
            sales_order_no, status, f"{idempotency_key}:order-status"
        )
        order = self.from_bridge("SO_SalesOrderHeader", reply)
        order["lines"] = [
            self.from_bridge("SO_SalesOrderDetail", line) for line in reply.get("lines", [])
        ]
        return order

    def write_purchase_order(self, data: Record, idempotency_key: str) -> Record:
        """A purchase order (PO_PurchaseOrder_bus), header and `lines` together or nothing;
        with a `UDF_SO_REF`, the one Sage has for that sales order and vendor instead."""
        header = dict(data)
        lines = header.pop("lines", None) or []
        reply, existed = self.bridge.create_purchase_order(
            self.typed("PO_PurchaseOrderHeader", header),
            [self.typed("PO_PurchaseOrderDetail", line) for line in lines],
            f"{idempotency_key}:purchase-order",
            match=PURCHASE_REFERENCE if header.get(PURCHASE_REFERENCE) else "",
        )
        order = self.from_bridge("PO_PurchaseOrderHeader", reply)
        order["lines"] = [
            self.from_bridge("PO_PurchaseOrderDetail", line) for line in reply.get("lines", [])
        ]
        return order | {"existed": existed}

    def post_cash_receipt(self, data: Record, idempotency_key: str) -> Record:
        """A payment applied to one open invoice: ARDivisionNo, CustomerNo, InvoiceNo,
        Amount, CheckNo (and optionally DepositDate, PaymentType)."""
        values = {**data, "Amount": number(data.get("Amount"), "Amount")}
        reply = self.bridge.post_cash_receipt(values, f"{idempotency_key}:cash-receipt")
        return self.from_bridge("AR_CashReceiptsHistory", reply)

    def set_stock(
        self, item_code: str, warehouse_code: str, quantity_on_hand: Any, idempotency_key: str
    ) -> Record:
        reply = self.bridge.set_stock(
            item_code,
            warehouse_code,
            number(quantity_on_hand, "QuantityOnHand"),
            f"{idempotency_key}:stock",
        )
        return self.from_bridge("IM_ItemWarehouse", reply)
