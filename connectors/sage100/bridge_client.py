"""Sage 100's client of the Clarity agent (long called "the bridge": the connection keeps
its `bridge_url` and `bridge_key` settings): the agent's Sage 100 endpoints over the
generic `connectors.agent_client.AgentClient`, which signs, keys and classifies.

A BOI refusal is a `ValidationError` carrying Sage's last-error message, or `NotFound` when
Sage says the very record the request addresses is not on file. A create naming its
external reference (`match`) comes back with whether Sage had the record already; several
records holding it are a `ValidationError` naming the column.
"""

from typing import Any

from connectors.agent_client import AgentClient, segment
from connectors.errors import NotFound, ValidationError

SYSTEM, LABEL, PRODUCT = "sage100", "Sage 100 bridge", "Sage 100"  # error identity; words
# Sage 100's phrases for a column its message does not name as such.
WORDS_TO_COLUMN = {
    "item code": "ItemCode",
    "terms code": "TermsCode",
    "tax schedule": "TaxSchedule",
    "AR division": "ARDivisionNo",
    "Warehouse": "WarehouseCode",
    "Vendor": "VendorNo",
}


class BridgeClient(AgentClient):
    """Signed calls to the agent beside one Sage 100. Every write needs the caller's
    idempotency key."""

    def __init__(
        self, base_url: str, key: str, *, ca_bundle: str = "", throttle_key: str = ""
    ) -> None:
        super().__init__(
            SYSTEM,
            LABEL,
            base_url,
            key,
            ca_bundle=ca_bundle,
            throttle_key=throttle_key,
            product=PRODUCT,
            words_to_field=WORDS_TO_COLUMN,
        )

    def call_on(
        self, record: str, method: str, path: str, body: dict[str, Any], idempotency_key: str
    ) -> dict[str, Any]:
        """A write to the record the path addresses (e.g. "Customer 00-ACME"): Sage saying
        that record "is not on file" is NotFound, not a refused value."""
        try:
            return self.call(method, path, body, idempotency_key)
        except ValidationError as exc:
            if exc.detail.startswith(record) and "is not on file" in exc.detail:
                raise NotFound(
                    exc.message, system=SYSTEM, status=exc.status, detail=exc.detail
                ) from exc
            raise

    # ------------------------------------------------------------ Sage 100's endpoints

    def create_customer(
        self, values: dict[str, Any], idempotency_key: str, match: str = ""
    ) -> tuple[dict[str, Any], bool]:
        """The customer written, or (with `match`) the one already holding that column's
        value; and whether it existed."""
        return self.create("/v1/customers", "customer", values, idempotency_key, match)

    def update_customer(
        self, division: str, customer_no: str, values: dict[str, Any], idempotency_key: str
    ) -> dict[str, Any]:
        return self.call_on(
            f"Customer {division}-{customer_no}",
            "PATCH",
            f"/v1/customers/{segment(division)}/{segment(customer_no)}",
            values,
            idempotency_key,
        )["customer"]

    def next_sales_order_number(self, idempotency_key: str) -> str:
        reply = self.call("POST", "/v1/sales-orders/next-number", None, idempotency_key)
        return reply["SalesOrderNo"]

    def create_sales_order(
        self,
        header: dict[str, Any],
        lines: list[dict[str, Any]],
        idempotency_key: str,
        match: str = "",
    ) -> tuple[dict[str, Any], bool]:
        """The order written, or (with `match`) the one, open or in history, already
        holding that column's value; and whether it existed."""
        body = {**header, "lines": lines}
        return self.create("/v1/sales-orders", "sales_order", body, idempotency_key, match)

    def create_invoice(
        self,
        header: dict[str, Any],
        lines: list[dict[str, Any]],
        idempotency_key: str,
        match: str = "",
    ) -> tuple[dict[str, Any], bool]:
        """The S/O invoice written, or (with `match`) the one, entered or posted, already
        holding that column's value; and whether it existed."""
        body = {**header, "lines": lines}
        return self.create("/v1/invoices", "invoice", body, idempotency_key, match)

    def create_purchase_order(
        self,
        header: dict[str, Any],
        lines: list[dict[str, Any]],
        idempotency_key: str,
        match: str = "",
    ) -> tuple[dict[str, Any], bool]:
        """The purchase order written, or (with `match`) the one already holding that
        column's value; and whether it existed."""
        body = {**header, "lines": lines}
        return self.create("/v1/purchase-orders", "purchase_order", body, idempotency_key, match)

    def set_order_status(
        self, sales_order_no: str, status: str, idempotency_key: str
    ) -> dict[str, Any]:
        return self.call_on(
            f"Sales order {sales_order_no}",
            "POST",
            f"/v1/sales-orders/{segment(sales_order_no)}/status",
            {"OrderStatus": status},
            idempotency_key,
        )["sales_order"]

    def post_cash_receipt(self, values: dict[str, Any], idempotency_key: str) -> dict[str, Any]:
        return self.call("POST", "/v1/cash-receipts", values, idempotency_key)["cash_receipt"]

    def set_stock(
        self, item_code: str, warehouse_code: str, quantity_on_hand: Any, idempotency_key: str
    ) -> dict[str, Any]:
        body = {"WarehouseCode": warehouse_code, "QuantityOnHand": quantity_on_hand}
        return self.call_on(
            f"The item code {item_code}",
            "POST",
            f"/v1/items/{segment(item_code)}/stock",
            body,
            idempotency_key,
        )["item_warehouse"]
