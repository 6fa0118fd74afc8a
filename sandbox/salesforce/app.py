"""The Salesforce sandbox: https, OAuth, REST, SOQL, composite, Outbound Messages, pages.

Every `/services/data/vXX.X/` call needs a Bearer session, counts against the daily API
limit (`Sforce-Limit-Info` on every reply, 403 REQUEST_LIMIT_EXCEEDED once spent) and
answers errors in Salesforce's `[{"message", "errorCode", "fields"}]` shape.
Test knobs: `POST /_control/settings`, `/_control/refresh_token`, `/_control/expire_sessions`,
`/_control/outbound-messages`. Beside it runs the Pub/Sub API (gRPC) with Change Data Capture of
every record write: see sandbox/salesforce/pubsub/ and `/_control/pubsub`.
"""

import re
import ssl
from datetime import date
from pathlib import Path
from urllib.parse import urlsplit

from werkzeug.routing import Rule
from werkzeug.wrappers import Request, Response

from sandbox.core.app import SandboxApp, json_response, read_json
from sandbox.core.store import DocumentStore
from sandbox.registry import SANDBOXES
from sandbox.salesforce import auth, data, ids, tls
from sandbox.salesforce.composite import CompositeApi, composite_rules
from sandbox.salesforce.outbound import OutboundMessenger
from sandbox.salesforce.pages import Pages, page_rules
from sandbox.salesforce.pubsub.capture import CapturingStore, change_origin
from sandbox.salesforce.pubsub.control import PubSubControl, pubsub_rules
from sandbox.salesforce.pubsub.service import PubSubService, configured_port
from sandbox.salesforce.records import Records
from sandbox.salesforce.rest import (
    MAX_BATCH_SIZE,
    NEWEST_VERSION,
    OLDEST_VERSION,
    QueryCursors,
    RestApi,
    rest_rules,
)
from sandbox.salesforce.schema import BY_PREFIX, ORG_ID, sobject

VERSIONED_PATH = re.compile(r"^/services/data/v([^/]+)")
VERSION = re.compile(r"(\d+)\.\d")
DEFAULT_API_LIMIT = 15000  # a Developer Edition org's daily allocation


def api_error(status: int, code: str, message: str) -> Response:
    return json_response([{"message": message, "errorCode": code}], status=status)


class ApiLimits:
    """The org's daily API request counter; it really runs out."""

    def __init__(self, store: DocumentStore) -> None:
        self.store = store

    def usage(self) -> tuple[int, int]:
        if self.store.get_meta("api_day") != date.today().isoformat():
            return 0, self.limit
        return int(self.store.get_meta("api_used", "0")), self.limit

    @property
    def limit(self) -> int:
        return int(self.store.get_meta("api_limit", str(DEFAULT_API_LIMIT)))

    def take(self) -> bool:
        """Count one request; False (nothing counted) once the day's allocation is spent."""
        with self.store.transaction():
            used, limit = self.usage()
            if used >= limit:
                return False
            self.store.set_meta("api_day", date.today().isoformat())
            self.store.set_meta("api_used", str(used + 1))
        return True

    def header(self) -> str:
        used, limit = self.usage()
        return f"api-usage={used}/{limit}"


class SalesforceSandbox(RestApi, CompositeApi, Pages, PubSubControl, SandboxApp):
    name = "salesforce"
    title = "Salesforce"
    accent = "#0176d3"
    api_prefixes = ("/services/data/", "/services/oauth2/token")
    template_dir = Path(__file__).parent / "templates"

    def __init__(self, data_dir: Path) -> None:
        super().__init__(data_dir)
        self.cert_path, self.key_path = tls.ensure_certificate(self.data_dir)
        self.jwt_private_path, jwt_public_path = tls.ensure_jwt_keys(self.data_dir)
        self.store = CapturingStore(self.data_dir / "salesforce.db")
        self.oauth = auth.OAuth(
            DocumentStore(self.data_dir / "salesforce-auth.db"), jwt_public_path
        )
        self.seeding = False
        self.pubsub = PubSubService(self.store, self.oauth, lambda: not self.seeding)
        self.pubsub_address: str | None = None  # "127.0.0.1:PORT" once started
        self.records = Records(self.store, self.rule_met)
        self.outbound = OutboundMessenger(self.store, self.record_of)
        self.limits = ApiLimits(self.store)
        self.cursors = QueryCursors()
        if self.store.count("Account") == 0:
            self.reset()

    def routes(self) -> list[Rule]:
        return [
            *rest_rules(),
            *composite_rules(),
            *page_rules(),
            Rule("/services/oauth2/token", endpoint="token", methods=["POST"]),
            Rule("/_control/settings", endpoint="settings", methods=["GET", "POST"]),
            Rule("/_control/refresh_token", endpoint="control_refresh", methods=["POST"]),
            Rule("/_control/expire_sessions", endpoint="control_expire", methods=["POST"]),
            Rule(
                "/_control/outbound-messages",
                endpoint="control_outbound_messages",
                methods=["GET", "POST"],
            ),
            *pubsub_rules(),
        ]

    def reset(self) -> None:
        """Seed data, default limits and settings; sessions and refresh tokens survive."""
        self.cursors.clear()
        self.store.clear()
        self.pubsub.reset()
        self.seeding = True
        try:
            with self.store.transaction():
                data.seed(self.records, ids.now().date())
        finally:
            self.seeding = False

    def rule_met(self, record_id: str) -> None:
        """A workflow rule's criteria became true (Closed Won, Activated): its Outbound
        Message goes out, except for what the seed sets up."""
        if not self.seeding:
            self.outbound.enqueue(record_id)

    def opportunity(self, opportunity_id: str) -> dict | None:
        return self.records.get(sobject("Opportunity"), opportunity_id)

    def record_of(self, record_id: str) -> dict | None:
        """The record with this Id, of whichever object its key prefix names."""
        obj = BY_PREFIX.get(record_id[:3])
        return self.records.get(obj, record_id) if obj else None

    # ------------------------------------------------------------ hooks of the base

    def ssl_context(self) -> ssl.SSLContext:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(self.cert_path, self.key_path)
        return context

    def started(self, base_url: str) -> None:
        super().started(base_url)
        self.outbound.base_url = base_url
        http_default = next(spec for spec in SANDBOXES if spec.name == self.name).port()
        port = configured_port(urlsplit(base_url).port or 0, http_default)
        self.pubsub_address = self.pubsub.start(base_url, port)

    def describe(self) -> list[str]:
        return [
            f"TLS certificate (verify against it): {self.cert_path}",
            f"JWT bearer: iss {auth.CLIENT_ID}, sub {auth.USERNAMES[0]}, "
            f"private key {self.jwt_private_path}",
            "Outbound Messages to: "
            + (
                without_token(self.outbound.endpoint_url)
                if self.outbound.endpoint_url
                else "(not set: POST /_control/settings outbound_url)"
            ),
            f"Pub/Sub API (gRPC, insecure): {self.pubsub_address}; tenantid {ORG_ID}",
        ]

    def close(self) -> None:
        self.outbound.close()
        self.pubsub.stop()

    def fault_body(self, kind: str, status: int) -> Response:
        if kind == "rate_limited":
            return api_error(429, "REQUEST_LIMIT_EXCEEDED", "Too many requests; retry later.")
        if kind == "outage":
            return api_error(503, "SERVER_UNAVAILABLE", "Server is unavailable; retry later.")
        return api_error(
            500, "UNKNOWN_EXCEPTION",
            "An unexpected error occurred. Please include this ErrorId if you contact support: "
            "1234567890-12345 (-1234567890)",
        )  # fmt: skip

    def not_found(self, request: Request) -> Response:
        if request.path.startswith("/services/"):
            return api_error(404, "NOT_FOUND", "The requested resource does not exist")
        return super().not_found(request)

    def dispatch(self, request: Request) -> Response:
        """One request is one transaction: its change events share a transactionKey."""
        version = VERSIONED_PATH.match(request.path)
        origin = change_origin(
            version.group(1) if version else "59.0",
            request.headers.get("Sforce-Call-Options", ""),
        )
        with self.pubsub.capture.transaction(origin):
            return self.dispatch_versioned(request)

    def dispatch_versioned(self, request: Request) -> Response:
        """Versioned REST calls: version check, session, API limit, then the base chain."""
        version = VERSIONED_PATH.match(request.path)
        if version is None:
            return super().dispatch(request)
        number = VERSION.fullmatch(version.group(1))
        if not number or not OLDEST_VERSION <= int(number.group(1)) <= NEWEST_VERSION:
            return api_error(404, "NOT_FOUND", "The requested resource does not exist")
        if self.oauth.session(request) is None:
            return api_error(401, "INVALID_SESSION_ID", "Session expired or invalid")
        if not self.limits.take():
            response = api_error(403, "REQUEST_LIMIT_EXCEEDED", "TotalRequests Limit exceeded.")
        else:
            response = super().dispatch(request)
        if response.status_code == 405:
            response = api_error(
                405, "METHOD_NOT_ALLOWED", f"HTTP Method '{request.method}' not allowed."
            )
        response.headers["Sforce-Limit-Info"] = self.limits.header()
        return response

    # ------------------------------------------------------------ OAuth and control

    def on_token(self, request: Request) -> Response:
        try:
            return json_response(self.oauth.token(request, self.base_url))
        except auth.OAuthError as error:
            return json_response(error.body(), status=error.status)

    def on_control_refresh(self, request: Request) -> Response:
        """A refresh token for the demo connection, without the authorization-code dance."""
        return json_response({"refresh_token": self.oauth.new_refresh_token()})

    def on_control_expire(self, request: Request) -> Response:
        return json_response({"expired": self.oauth.expire_sessions()})

    def on_control_outbound_messages(self, request: Request) -> Response:
        """`{"enabled": false}` turns Outbound Messages off, e.g. while CDC carries the changes."""
        if request.method == "POST":
            body = read_json(request) or {}
            if not isinstance(body, dict) or not isinstance(body.get("enabled"), bool):
                return json_response({"error": 'expected {"enabled": true|false}'}, status=400)
            self.outbound.set_enabled(body["enabled"])
        return json_response({"enabled": self.outbound.enabled})

    def on_settings(self, request: Request) -> Response:
        """GET the knobs; POST any of api_limit, api_used, query_batch_size, outbound_url,
        outbound_retry_base_seconds, jwt_public_key (PEM)."""
        if request.method == "POST":
            body = read_json(request) or {}
            try:
                self.apply_settings(body)
            except (TypeError, ValueError) as exc:
                return json_response({"error": str(exc)}, status=400)
        used, limit = self.limits.usage()
        return json_response({
            "api_limit": limit, "api_used": used,
            "query_batch_size": int(self.store.get_meta("query_batch_size", str(MAX_BATCH_SIZE))),
            "outbound_url": self.outbound.endpoint_url,
            "outbound_retry_base_seconds": self.outbound.retry_base,
        })  # fmt: skip

    def apply_settings(self, body: dict) -> None:
        known = {"api_limit", "api_used", "query_batch_size", "outbound_url",
                 "outbound_retry_base_seconds", "jwt_public_key"}  # fmt: skip
        unknown = set(body) - known
        if unknown:
            raise ValueError(f"unknown setting(s): {', '.join(sorted(unknown))}")
        if "api_limit" in body:
            self.store.set_meta("api_limit", str(int(body["api_limit"])))
        if "api_used" in body:
            self.store.set_meta("api_day", date.today().isoformat())
            self.store.set_meta("api_used", str(int(body["api_used"])))
        if "query_batch_size" in body:
            size = int(body["query_batch_size"])
            if not 1 <= size <= MAX_BATCH_SIZE:
                raise ValueError(f"query_batch_size must be 1..{MAX_BATCH_SIZE}")
            self.store.set_meta("query_batch_size", str(size))
        if "jwt_public_key" in body:
            self.oauth.set_jwt_public_key(body["jwt_public_key"])
        self.outbound.configure(body.get("outbound_url"), body.get("outbound_retry_base_seconds"))


def without_token(url: str) -> str:
    """A pair's webhook URL as the console shows it: its last part, the secret token that
    lets anyone post to the pair, left out (`make run` prints what the sandboxes say)."""
    head = url.rstrip("/").rpartition("/")[0]
    return f"{head}/… (the token is not shown)"
