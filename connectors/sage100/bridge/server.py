"""The bridge: a small WSGI app beside Sage 100 that turns signed JSON requests into BOI
writes (through a `Sage100Backend`). Reads do not go through it: the connector reads ODBC.

Endpoints (bodies and replies use Sage column names; amounts are sent back as strings):

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
    POST  /v1/sales-orders/<no>/status {"OrderStatus": "H"}   -> 200 {"sales_order": {...}}
    POST  /v1/cash-receipts  {ARDivisionNo, CustomerNo, InvoiceNo, Amount, CheckNo, ...}
                                                      -> 201 {"cash_receipt": {...}}
    POST  /v1/items/<code>/stock {"WarehouseCode", "QuantityOnHand"}
                                                      -> 200 {"item_warehouse": {...}}

Every request is signed (see `protocol`); POST and PATCH need an Idempotency-Key. A write
Sage refuses is 422 `boi_error` with Sage's last-error message, and nothing was written.
`match` names the column of the record's external reference: the create returns the record
already holding the body's value instead of writing (409 `several_matches` when several do;
that answer is not kept for the key, so a retry after the duplicates are cleared runs again).
"""

import json
import re
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import quote

from werkzeug.exceptions import MethodNotAllowed, NotFound
from werkzeug.routing import Map, Rule
from werkzeug.wrappers import Request, Response

from connectors.sage100.bridge import protocol
from connectors.sage100.bridge.backend import (
    EXISTED,
    BackendUnavailable,
    BOIError,
    Sage100Backend,
    SeveralMatches,
)
from connectors.sage100.bridge.idempotency import (
    IdempotencyStore,
    KeyInProgress,
    KeyMismatch,
    fingerprint,
)

WRITE_METHODS = ("POST", "PATCH")
SEVERAL_MATCHES_STATUS = protocol.ERROR_CODES["several_matches"]
CONDITIONAL_CREATES = {"create_customer", "create_sales_order"}  # take `?match=<column>`
COLUMN_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,63}$")

URL_MAP = Map(
    [
        Rule("/v1/health", endpoint="health", methods=["GET"]),
        Rule("/v1/customers", endpoint="create_customer", methods=["POST"]),
        Rule("/v1/customers/<division>/<customer_no>", endpoint="update_customer",
             methods=["PATCH"]),
        Rule("/v1/sales-orders/next-number", endpoint="next_order_number", methods=["POST"]),
        Rule("/v1/sales-orders", endpoint="create_sales_order", methods=["POST"]),
        Rule("/v1/sales-orders/<order_no>/status", endpoint="set_order_status",
             methods=["POST"]),
        Rule("/v1/cash-receipts", endpoint="post_cash_receipt", methods=["POST"]),
        Rule("/v1/items/<item_code>/stock", endpoint="set_stock", methods=["POST"]),
    ],
    strict_slashes=False,
)  # fmt: skip


class BadRequest(Exception):
    """The body is not what the endpoint needs (400 bad_request)."""


def error_response(code: str, message: str, status: int | None = None) -> Response:
    return Response(
        protocol.dumps(protocol.error_body(code, message)),
        status=status or protocol.ERROR_CODES[code],
        mimetype="application/json",
    )


def signed_path(request: Request) -> str:
    """The path and query exactly as the client sent them (what it signed)."""
    raw = request.environ.get("RAW_URI") or request.environ.get("REQUEST_URI")
    if raw:
        return raw
    query = request.query_string.decode()
    return quote(request.path) + (f"?{query}" if query else "")


class BridgeApp:
    def __init__(self, backend: Sage100Backend, key: str, idempotency_db_path: Path) -> None:
        if not key:
            raise ValueError("The bridge needs a non-empty shared key.")
        self.backend = backend
        self.key = key
        self.idempotency = IdempotencyStore(idempotency_db_path)

    def __call__(self, environ: dict[str, Any], start_response: Callable) -> Any:
        return self.handle(Request(environ))(environ, start_response)

    def handle(self, request: Request) -> Response:
        body = request.get_data(cache=True)
        try:
            protocol.verify_signature(
                self.key,
                request.method,
                signed_path(request),
                body,
                request.headers.get(protocol.TIMESTAMP_HEADER),
                request.headers.get(protocol.SIGNATURE_HEADER),
            )
        except protocol.SignatureError as exc:
            return error_response(exc.code, exc.message)
        try:
            endpoint, values = URL_MAP.bind_to_environ(request.environ).match()
        except NotFound:
            return error_response("not_found", f"No such path: {request.path}")
        except MethodNotAllowed:
            return error_response("method_not_allowed", f"{request.method} not allowed here.")
        if endpoint in CONDITIONAL_CREATES:
            values = {**values, "match": request.args.get("match", "")}
        if request.method not in WRITE_METHODS:
            return self._run(endpoint, values, body)
        return self._run_once(request, endpoint, values, body)

    def _run_once(self, request: Request, endpoint: str, values: dict, body: bytes) -> Response:
        """Run a write at most once per Idempotency-Key; a repeat gets the first reply."""
        key = request.headers.get(protocol.IDEMPOTENCY_HEADER, "").strip()
        if not key:
            return error_response(
                "missing_idempotency_key",
                f"{request.method} needs an {protocol.IDEMPOTENCY_HEADER} header.",
            )
        try:
            stored = self.idempotency.begin(key, fingerprint(request.method, request.path, body))
        except KeyInProgress:
            return error_response(
                "idempotency_in_progress", "A request with this Idempotency-Key is still running."
            )
        except KeyMismatch:
            return error_response(
                "idempotency_mismatch",
                "This Idempotency-Key was already used for a different request.",
            )
        if stored is not None:
            response = Response(stored.body, status=stored.status, mimetype="application/json")
            response.headers[protocol.REPLAYED_HEADER] = "true"
            return response
        try:
            response = self._run(endpoint, values, body)
        except BaseException:
            self.idempotency.abandon(key)
            raise
        if response.status_code >= 500 or response.status_code == SEVERAL_MATCHES_STATUS:
            self.idempotency.abandon(key)  # nothing written; a retry must look again
        else:
            self.idempotency.finish(key, response.status_code, response.get_data())
        return response

    def _run(self, endpoint: str, values: dict, body: bytes) -> Response:
        try:
            payload = json.loads(body, parse_float=Decimal) if body.strip() else {}
            if not isinstance(payload, dict):
                raise BadRequest("The body must be a JSON object.")
            status, data = getattr(self, f"on_{endpoint}")(payload, **values)
        except (BadRequest, json.JSONDecodeError) as exc:
            return error_response("bad_request", str(exc))
        except BOIError as exc:
            return error_response("boi_error", exc.message)
        except SeveralMatches as exc:
            return error_response("several_matches", exc.message)
        except BackendUnavailable as exc:
            return error_response("unavailable", str(exc))
        except Exception as exc:  # the reply must stay JSON; the detail goes to the caller
            return error_response("internal_error", f"{type(exc).__name__}: {exc}")
        return Response(protocol.dumps(data), status=status, mimetype="application/json")

    # ------------------------------------------------------------ endpoints

    def on_health(self, payload: dict) -> tuple[int, Any]:
        return 200, {"health": self.backend.health()}

    def on_create_customer(self, payload: dict, match: str) -> tuple[int, Any]:
        check_match(payload, match)
        return created("customer", self.backend.create_customer(payload, match))

    def on_update_customer(self, payload: dict, division: str, customer_no: str) -> tuple[int, Any]:
        return 200, {"customer": self.backend.update_customer(division, customer_no, payload)}

    def on_next_order_number(self, payload: dict) -> tuple[int, Any]:
        return 200, {"SalesOrderNo": self.backend.next_sales_order_number()}

    def on_create_sales_order(self, payload: dict, match: str) -> tuple[int, Any]:
        header = dict(payload)
        lines = header.pop("lines", None)
        if not isinstance(lines, list) or not all(isinstance(line, dict) for line in lines):
            raise BadRequest('"lines" must be a list of objects.')
        check_match(header, match)
        return created("sales_order", self.backend.create_sales_order(header, lines, match))

    def on_set_order_status(self, payload: dict, order_no: str) -> tuple[int, Any]:
        status = payload.get("OrderStatus")
        if not isinstance(status, str):
            raise BadRequest('"OrderStatus" (a one-letter string) is required.')
        return 200, {"sales_order": self.backend.set_order_status(order_no, status)}

    def on_post_cash_receipt(self, payload: dict) -> tuple[int, Any]:
        return 201, {"cash_receipt": self.backend.post_cash_receipt(payload)}

    def on_set_stock(self, payload: dict, item_code: str) -> tuple[int, Any]:
        if "WarehouseCode" not in payload or "QuantityOnHand" not in payload:
            raise BadRequest('"WarehouseCode" and "QuantityOnHand" are required.')
        row = self.backend.set_stock(item_code, payload["WarehouseCode"], payload["QuantityOnHand"])
        return 200, {"item_warehouse": row}


def check_match(values: dict, match: str) -> None:
    """`match` must name a column the body gives a value for."""
    if not match:
        return
    if not COLUMN_NAME.match(match) or values.get(match) in (None, ""):
        raise BadRequest(f'"match" must name a column the body gives a value for, not {match!r}.')


def created(name: str, record: dict) -> tuple[int, Any]:
    """201 with the record written, or 200 with the one a conditional create found."""
    existed = bool(record.pop(EXISTED, False))
    return (200 if existed else 201), {name: record, "existed": existed}
