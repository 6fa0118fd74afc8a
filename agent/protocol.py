"""The wire protocol between Clarity Connect and the Clarity agent beside Sage.

JSON over HTTP. Every request is signed with the key both sides share:

    X-Agent-Timestamp: <unix seconds>
    X-Agent-Signature: <hex HMAC-SHA256 of
                        timestamp \\n METHOD \\n path?query \\n Idempotency-Key \\n raw body>

The method, the path (as sent on the wire, query included) and the Idempotency-Key (empty
for a read) are signed with the body, so a captured request cannot be replayed to another
endpoint or record inside the window, nor sent again under a new key to write twice. The
agent refuses (401) a request without these headers, with a signature that does not match,
or with a timestamp more than `WINDOW_SECONDS` away from its clock. Writes (POST, PATCH)
carry an `Idempotency-Key`: the agent answers a repeat with the first reply.

A create may name the field holding its external reference (`?match=UDF_CRM_ID`,
`?match=InternalNote`): when Sage already has the record, the reply is 200 with that record
and `"existed": true` instead of 201, and nothing is written.

Errors always look like `{"error": {"code": "<one of ERROR_CODES>", "message": "..."}}`; a
refusal (`refused`) may add `"field"`, the value Sage refused when it names one.
"""

import hashlib
import hmac
import json
import time
from typing import Any

TIMESTAMP_HEADER = "X-Agent-Timestamp"
SIGNATURE_HEADER = "X-Agent-Signature"
IDEMPOTENCY_HEADER = "Idempotency-Key"
REPLAYED_HEADER = "Idempotent-Replayed"  # "true" on a reply repeated from the first request
WINDOW_SECONDS = 300

ERROR_CODES = {
    "missing_signature": 401,  # no timestamp or signature header
    "bad_signature": 401,  # signature does not match the request and timestamp
    "stale_timestamp": 401,  # timestamp outside the window (or not a number)
    "missing_idempotency_key": 400,
    "bad_request": 400,  # body is not JSON, or a field has the wrong type
    "not_found": 404,
    "method_not_allowed": 405,
    "idempotency_in_progress": 409,  # the first request with this key is still running
    "several_matches": 409,  # a create's external reference is held by several records
    "record_in_use": 409,  # Sage has a record the write needs open; nothing written, retry
    "too_large": 413,  # the body is over the agent's limit; it was not read
    "idempotency_mismatch": 422,  # the key was used before with another request
    "refused": 422,  # Sage refused the write; message = Sage's words, "field" when named
    "rate_limited": 429,
    "internal_error": 500,
    "unavailable": 503,  # Sage (or the agent's session to it) is not reachable
}


class SignatureError(Exception):
    """A request the agent must refuse; `code` is one of the 401 ERROR_CODES."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def sign_request(
    key: str,
    method: str,
    path: str,
    body: bytes,
    timestamp: int | str,
    idempotency_key: str = "",
) -> str:
    """The hex signature of one request (method, path with query, idempotency key, body)
    at one timestamp."""
    head = f"{timestamp}\n{method.upper()}\n{path}\n{idempotency_key}\n".encode()
    return hmac.new(key.encode(), head + body, hashlib.sha256).hexdigest()


def signed_headers(
    key: str,
    method: str,
    path: str,
    body: bytes,
    idempotency_key: str = "",
    now: float | None = None,
) -> dict[str, str]:
    """The timestamp, signature (and, for a write, Idempotency-Key) headers of a request
    sent now."""
    timestamp = str(int(time.time() if now is None else now))
    headers = {
        TIMESTAMP_HEADER: timestamp,
        SIGNATURE_HEADER: sign_request(key, method, path, body, timestamp, idempotency_key),
    }
    if idempotency_key:
        headers[IDEMPOTENCY_HEADER] = idempotency_key
    return headers


def verify_signature(
    key: str,
    method: str,
    path: str,
    body: bytes,
    timestamp: str | None,
    signature: str | None,
    idempotency_key: str = "",
    now: float | None = None,
) -> None:
    """Raise SignatureError unless the request was signed with `key` within the window."""
    if not timestamp or not signature:
        raise SignatureError(
            "missing_signature",
            f"Unsigned request: send {TIMESTAMP_HEADER} and {SIGNATURE_HEADER} headers.",
        )
    try:
        sent_at = int(timestamp)
    except ValueError:
        raise SignatureError(
            "stale_timestamp", f"{TIMESTAMP_HEADER} must be unix seconds, got {timestamp!r}."
        ) from None
    skew = (time.time() if now is None else now) - sent_at
    if abs(skew) > WINDOW_SECONDS:
        raise SignatureError(
            "stale_timestamp",
            f"Timestamp is {abs(int(skew))} s {'old' if skew > 0 else 'in the future'}; "
            f"the agent accepts {WINDOW_SECONDS} s either way. Check both clocks.",
        )
    expected = sign_request(key, method, path, body, timestamp, idempotency_key)
    if not hmac.compare_digest(expected, signature.strip().lower()):
        raise SignatureError(
            "bad_signature",
            "Signature does not match: wrong key, or the method, path, Idempotency-Key or "
            "body was altered.",
        )


def error_body(code: str, message: str, field: str = "") -> dict[str, Any]:
    error: dict[str, Any] = {"code": code, "message": message}
    if field:
        error["field"] = field
    return {"error": error}


def dumps(data: Any) -> bytes:
    """JSON as the agent sends it: Decimals and dates become strings."""
    return json.dumps(data, default=str).encode()
