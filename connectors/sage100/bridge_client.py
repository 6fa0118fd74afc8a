"""The connector's side of the bridge protocol: signed JSON requests, one Idempotency-Key
per write, and the bridge's replies turned into results and error classes.

A BOI refusal (422 `boi_error`) is a `ValidationError` carrying Sage's last-error message,
or `NotFound` when Sage says the very record the request addresses is not on file. A write
whose reply was lost can be sent again with the same key: the bridge answers with the first
reply and writes nothing more. A create naming its external reference (`match`) comes back
with whether Sage had the record already; several records holding it are a
`ValidationError` naming the column.
"""

import json
import re
from datetime import date, datetime
from decimal import Decimal
from typing import Any
from urllib.parse import quote, urlencode

import requests

from connectors.errors import (
    AuthError,
    Conflict,
    ConnectorError,
    NotFound,
    TransientError,
    ValidationError,
)
from connectors.http import HttpClient
from connectors.sage100.bridge import protocol

SYSTEM, LABEL = "sage100", "Sage 100 bridge"  # the error identity (registry key); words
# Where Sage's message names a column: "The column X ...", "... for X", "The X is required."
COLUMN_IN_MESSAGE = [
    re.compile(r"\bcolumn ([A-Z][A-Za-z0-9_]+)"),
    re.compile(r"\bfor ([A-Z][A-Za-z0-9_]+)\b"),
    re.compile(r"^The ([A-Z][A-Za-z0-9_]+) is required"),
]
WORDS_TO_COLUMN = {
    "item code": "ItemCode",
    "terms code": "TermsCode",
    "tax schedule": "TaxSchedule",
    "AR division": "ARDivisionNo",
    "Warehouse": "WarehouseCode",
}


def json_value(value: Any) -> Any:
    """Decimals as JSON numbers when exact (the bridge reads numbers back as Decimal), so a
    BOI backend can tell numeric columns from text ones; dates as ISO text."""
    if isinstance(value, Decimal):
        as_float = float(value)
        return as_float if Decimal(repr(as_float)) == value else str(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, dict):
        return {key: json_value(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [json_value(item) for item in value]
    return value


def segment(value: str) -> str:
    """One path segment, escaped (item codes may hold "/" or spaces)."""
    return quote(str(value), safe="")


def with_match(path: str, match: str) -> str:
    """A create's path, naming the column of its external reference when there is one."""
    return f"{path}?{urlencode({'match': match})}" if match else path


def error_message(response: requests.Response) -> str:
    try:
        return str(response.json()["error"]["message"])
    except (ValueError, KeyError, TypeError):
        return response.text[:500]


def fields_named_in(message: str) -> dict[str, str]:
    """The column Sage's message is about, so the error queue can point at the field."""
    for pattern in COLUMN_IN_MESSAGE:
        match = pattern.search(message)
        if match:
            return {match.group(1): message}
    for words, column in WORDS_TO_COLUMN.items():
        if words in message:
            return {column: message}
    return {}


def error_for(response: requests.Response, message: str) -> ConnectorError | None:
    """The bridge's error codes, where they say more than the status alone."""
    try:
        code = response.json()["error"]["code"]
    except (ValueError, KeyError, TypeError):
        code = ""
    kwargs: dict[str, Any] = {"system": SYSTEM, "status": response.status_code, "detail": message}
    if response.status_code == 401:
        if code == "stale_timestamp":
            return AuthError(
                "The Sage 100 bridge refused the request's time (401): the clocks of this "
                "server and the bridge differ by more than five minutes.",
                **kwargs,
            )
        return AuthError(
            "The Sage 100 bridge refused the key (401): enter the key the bridge was started with.",
            **kwargs,
        )
    if code == "boi_error":
        return ValidationError(
            f"Sage 100 refused the write: {message}", fields=fields_named_in(message), **kwargs
        )
    if code == "idempotency_in_progress":
        return TransientError(
            "The Sage 100 bridge is still running the first request with this key; "
            "try again shortly.",
            **kwargs,
        )
    if code == "several_matches":
        column = re.search(r"\bwith (\w+) ", message)  # "... 2 sales orders with UDF_DEAL_ID X"
        return ValidationError(
            f"{message} Keep one, then retry.",
            fields={column.group(1) if column else "match": message},
            **kwargs,
        )
    if code == "idempotency_mismatch":
        return Conflict(
            "This idempotency key was already used for a different Sage 100 write.", **kwargs
        )
    if code == "unavailable":
        return TransientError(f"Sage 100 is not reachable from the bridge: {message}", **kwargs)
    return None


class BridgeClient:
    """Signed calls to one bridge. Every write needs the caller's idempotency key."""

    def __init__(self, base_url: str, key: str, *, throttle_key: str = "") -> None:
        self.key = key
        self.http = HttpClient(
            SYSTEM,
            base_url,
            label=LABEL,
            throttle_key=throttle_key,
            headers={"Content-Type": "application/json", "Accept": "application/json"},
            error_message=error_message,
            error_for=error_for,
        )

    def call(
        self,
        method: str,
        path: str,
        payload: dict[str, Any] | None = None,
        idempotency_key: str = "",
        not_found_prefix: str = "",
    ) -> dict[str, Any]:
        """Send one signed request; `not_found_prefix` names the record the path addresses
        (e.g. "Customer 00-ACME"), whose "is not on file" becomes NotFound."""
        body = json.dumps(json_value(payload)).encode() if payload is not None else b""
        prepared = requests.Request(method, self.http.url(path)).prepare()
        headers = protocol.signed_headers(self.key, method, prepared.path_url, body)
        if method in ("POST", "PATCH"):
            if not idempotency_key:
                raise ValueError("Every write to the bridge needs an idempotency key.")
            headers[protocol.IDEMPOTENCY_HEADER] = idempotency_key
        try:
            response = self.http.request(method, path, data=body, headers=headers)
        except ValidationError as exc:
            if (
                not_found_prefix
                and exc.detail.startswith(not_found_prefix)
                and ("is not on file" in exc.detail)
            ):
                raise NotFound(
                    exc.message, system=SYSTEM, status=exc.status, detail=exc.detail
                ) from exc
            raise
        try:
            return response.json()
        except ValueError:
            raise TransientError(
                "The Sage 100 bridge sent a reply that is not JSON.",
                system=SYSTEM,
                detail=response.text[:500],
            ) from None

    # ------------------------------------------------------------ the bridge's endpoints

    def health(self) -> dict[str, Any]:
        return self.call("GET", "/v1/health")["health"]

    def create_customer(
        self, values: dict[str, Any], idempotency_key: str, match: str = ""
    ) -> tuple[dict[str, Any], bool]:
        """The customer written, or (with `match`) the one already holding that column's
        value; and whether it existed."""
        reply = self.call("POST", with_match("/v1/customers", match), values, idempotency_key)
        return reply["customer"], bool(reply.get("existed"))

    def update_customer(
        self, division: str, customer_no: str, values: dict[str, Any], idempotency_key: str
    ) -> dict[str, Any]:
        return self.call(
            "PATCH",
            f"/v1/customers/{segment(division)}/{segment(customer_no)}",
            values,
            idempotency_key,
            not_found_prefix=f"Customer {division}-{customer_no}",
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
        payload = {**header, "lines": lines}
        path = with_match("/v1/sales-orders", match)
        reply = self.call("POST", path, payload, idempotency_key)
        return reply["sales_order"], bool(reply.get("existed"))

    def set_order_status(
        self, sales_order_no: str, status: str, idempotency_key: str
    ) -> dict[str, Any]:
        return self.call(
            "POST",
            f"/v1/sales-orders/{segment(sales_order_no)}/status",
            {"OrderStatus": status},
            idempotency_key,
            not_found_prefix=f"Sales order {sales_order_no}",
        )["sales_order"]

    def post_cash_receipt(self, values: dict[str, Any], idempotency_key: str) -> dict[str, Any]:
        return self.call("POST", "/v1/cash-receipts", values, idempotency_key)["cash_receipt"]

    def set_stock(
        self, item_code: str, warehouse_code: str, quantity_on_hand: Any, idempotency_key: str
    ) -> dict[str, Any]:
        payload = {"WarehouseCode": warehouse_code, "QuantityOnHand": quantity_on_hand}
        return self.call(
            "POST",
            f"/v1/items/{segment(item_code)}/stock",
            payload,
            idempotency_key,
            not_found_prefix=f"The item code {item_code}",
        )["item_warehouse"]
