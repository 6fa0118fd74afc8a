"""Clarity Connect's side of the agent protocol (`agent.protocol`): signed JSON requests to
a Clarity agent beside Sage, one Idempotency-Key per write, and its replies turned into
results and error classes. Each on-premises Sage connector wraps one `AgentClient`.

Errors, where the agent's code says more than the status alone:

    401                                   -> AuthError (the key, or the clocks' difference)
    422 refused                           -> ValidationError: Sage's words; `fields` from the
                                             reply's "field", else the column the words name
    400 bad_request                       -> ValidationError (the reply's "field" when named)
    404                                   -> NotFound
    409 several_matches                   -> ValidationError naming the column; keep one
    409 record_in_use, idempotency_in_progress, 5xx, no connection -> TransientError
    422 idempotency_mismatch              -> Conflict
    413 too_large                         -> ValidationError (the body is over the limit)
    429                                   -> RateLimited

A write whose reply was lost can be sent again with the same key: the agent answers with the
first reply and writes nothing more. The key is signed with the request, so a captured write
cannot be sent again under another key. Every attempt is signed as it leaves
(`AgentSignature`: a new timestamp and nonce, the HTTP helper's retries of reads included),
as the agent refuses a nonce it has seen. `ca_bundle` (a PEM file) trusts the private CA or
self-signed certificate an https agent was given.
"""

import json
import re
from datetime import date, datetime
from decimal import Decimal
from typing import Any
from urllib.parse import quote, urlencode

import requests
from requests.auth import AuthBase

from agent import protocol
from connectors.errors import (
    AuthError,
    Conflict,
    ConnectorError,
    TransientError,
    ValidationError,
)
from connectors.http import HttpClient, described

# Where Sage's message names a column: "The column X ...", "... for X", "The X is required."
COLUMN_IN_MESSAGE = [
    re.compile(r"\bcolumn ([A-Z][A-Za-z0-9_]+)"),
    re.compile(r"\bfor ([A-Z][A-Za-z0-9_]+)\b"),
    re.compile(r"^The ([A-Z][A-Za-z0-9_]+) is required"),
]
WRITE_METHODS = ("POST", "PATCH")


def json_value(value: Any) -> Any:
    """Decimals as JSON numbers when exact (the agent reads numbers back as Decimal), so a
    backend can tell numeric columns from text ones; dates as ISO text."""
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
    """A create's path, naming the field of its external reference when there is one."""
    return f"{path}?{urlencode({'match': match})}" if match else path


def error_of(response: requests.Response) -> dict[str, Any]:
    """The agent's `error` object, or {} when the body is not the agent's (a proxy's page)."""
    try:
        error = response.json()["error"]
    except (ValueError, KeyError, TypeError):
        return {}
    return error if isinstance(error, dict) else {}


def error_message(response: requests.Response) -> str:
    """The agent's message, or "" for a body that is not the agent's (the HTTP helper then
    describes it without quoting it)."""
    message = error_of(response).get("message")
    return str(message) if message is not None else ""


def fields_named_in(message: str, words_to_field: dict[str, str] | None = None) -> dict[str, str]:
    """The column Sage's message is about, so the error queue can point at the field."""
    for pattern in COLUMN_IN_MESSAGE:
        match = pattern.search(message)
        if match:
            return {match.group(1): message}
    for words, column in (words_to_field or {}).items():
        if words in message:
            return {column: message}
    return {}


class AgentSignature(AuthBase):
    """Signs a request as it is sent (each attempt anew): timestamp, nonce, signature."""

    def __init__(self, key: str, idempotency_key: str) -> None:
        self.key = key
        self.idempotency_key = idempotency_key

    def __call__(self, prepared: requests.PreparedRequest) -> requests.PreparedRequest:
        body = prepared.body or b""
        prepared.headers.update(
            protocol.signed_headers(
                self.key,
                str(prepared.method),
                prepared.path_url,
                body.encode() if isinstance(body, str) else body,
                self.idempotency_key,
            )
        )
        return prepared


class AgentClient:
    """Signed calls to one agent. `system` is the registry key its errors carry, `label` the
    agent's name in messages ("Sage 50 agent"), `product` Sage's ("Sage 50"), and
    `words_to_field` the product's phrases naming a field ("item code" → ItemCode) for
    refusals that do not name it themselves. Every write needs the caller's idempotency key."""

    def __init__(
        self,
        system: str,
        label: str,
        base_url: str,
        key: str,
        *,
        ca_bundle: str = "",
        throttle_key: str = "",
        product: str = "Sage",
        words_to_field: dict[str, str] | None = None,
    ) -> None:
        self.system = system
        self.label = label
        self.product = product
        self.key = key
        self.words_to_field = words_to_field or {}
        self.http = HttpClient(
            system,
            base_url,
            label=label,
            throttle_key=throttle_key,
            verify=ca_bundle or True,
            headers={"Content-Type": "application/json", "Accept": "application/json"},
            error_message=error_message,
            error_for=self.error_for,
        )

    def call(
        self,
        method: str,
        path: str,
        body: dict[str, Any] | None = None,
        idempotency_key: str = "",
        match: str = "",
    ) -> dict[str, Any]:
        """Send one signed request and return its JSON reply; `match` names the field of a
        create's external reference (`?match=`)."""
        method = method.upper()
        if method in WRITE_METHODS and not idempotency_key:
            raise ValueError(f"Every write to the {self.label} needs an idempotency key.")
        path = with_match(path, match)
        data = json.dumps(json_value(body)).encode() if body is not None else b""
        signature = AgentSignature(self.key, idempotency_key)
        response = self.http.request(method, path, data=data, auth=signature)
        try:
            reply = response.json()
        except ValueError:
            reply = None
        if not isinstance(reply, dict):
            raise TransientError(
                f"The {self.label} sent a reply that is not a JSON object.",
                system=self.system,
                detail=described(response),
            )
        return reply

    def health(self) -> dict[str, Any]:
        """What the agent says of its session to Sage (backend, company, version, product)."""
        return self.call("GET", "/v1/health")["health"]

    def create(
        self, path: str, name: str, body: dict[str, Any], idempotency_key: str, match: str = ""
    ) -> tuple[dict[str, Any], bool]:
        """POST a new record; the reply's `name` record and whether Sage had it already
        (a conditional create with `match` finding the record holding that field's value)."""
        reply = self.call("POST", path, body, idempotency_key, match)
        return reply[name], bool(reply.get("existed"))

    def error_for(self, response: requests.Response, message: str) -> ConnectorError | None:
        """The agent's error codes, where they say more than the status alone."""
        error = error_of(response)
        code, field = str(error.get("code", "")), str(error.get("field", "") or "")
        kwargs: dict[str, Any] = {
            "system": self.system,
            "status": response.status_code,
            "detail": message,
        }
        if response.status_code == 401:
            if code == "stale_timestamp":
                return AuthError(
                    f"The {self.label} refused the request's time (401): the clocks of this "
                    "server and the agent's machine differ by more than five minutes.",
                    **kwargs,
                )
            return AuthError(
                f"The {self.label} refused the key (401): enter the key it was started with.",
                **kwargs,
            )
        if code == "refused":
            fields = {field: message} if field else fields_named_in(message, self.words_to_field)
            return ValidationError(
                f"{self.product} refused the write: {message}", fields=fields, **kwargs
            )
        if code == "bad_request":
            return ValidationError(
                f"The {self.label} could not take the request: {message}",
                fields={field: message} if field else {},
                **kwargs,
            )
        if code == "several_matches":
            named = re.search(r"\bwith (\w+) ", message)  # "... 2 sales orders with UDF_DEAL_ID X"
            column = field or (named.group(1) if named else "match")
            return ValidationError(
                f"{message} Keep one, then retry.", fields={column: message}, **kwargs
            )
        if code == "record_in_use":
            return TransientError(
                f"{self.product} has a record this write needs open; it will be tried again: "
                f"{message}",
                **kwargs,
            )
        if code == "idempotency_in_progress":
            return TransientError(
                f"The {self.label} is still running the first request with this key; "
                "try again shortly.",
                **kwargs,
            )
        if code == "idempotency_mismatch":
            return Conflict(
                f"This idempotency key was already used for a different {self.product} write.",
                **kwargs,
            )
        if code == "too_large":
            return ValidationError(f"The {self.label} refused the request: {message}", **kwargs)
        if code == "unavailable":
            return TransientError(
                f"{self.product} is not reachable from the {self.label}: {message}", **kwargs
            )
        return None
