"""The wire protocol between the Sage 100 connector and the bridge beside Sage 100.

JSON over HTTP. Every request is signed with the key both sides share:

    X-Bridge-Timestamp: <unix seconds>
    X-Bridge-Signature: <hex HMAC-SHA256 of  timestamp \n METHOD \n path?query \n raw body>

The method and the path (as sent on the wire, query included) are signed with the body, so
a captured request cannot be replayed to another endpoint or record inside the window. The
bridge refuses (401) a request without these headers, with a signature that does not match,
or with a timestamp more than `WINDOW_SECONDS` away from its clock. Writes (POST,
PATCH) also carry an `Idempotency-Key`: the bridge answers a repeat with the first reply.

A create of a customer or a sales order may name the column holding its external reference
(`?match=UDF_CRM_ID`, `?match=UDF_DEAL_ID`): when Sage already has the record, the reply is
200 with that record and `"existed": true` instead of 201, and nothing is written.

Errors always look like `{"error": {"code": "<one of ERROR_CODES>", "message": "..."}}`.
"""

import hashlib
import hmac
import json
import time
from typing import Any

TIMESTAMP_HEADER = "X-Bridge-Timestamp"
SIGNATURE_HEADER = "X-Bridge-Signature"
IDEMPOTENCY_HEADER = "Idempotency-Key"
REPLAYED_HEADER = "Idempotent-Replayed"  # "true" on a reply repeated from the first request
WINDOW_SECONDS = 300

ERROR_CODES = {
    "missing_signature": 401,  # no timestamp or signature header
    "bad_signature": 401,  # signature does not match the body and timestamp
    "stale_timestamp": 401,  # timestamp outside the window (or not a number)
    "missing_idempotency_key": 400,
    "bad_request": 400,  # body is not JSON, or a field has the wrong type
    "not_found": 404,
    "method_not_allowed": 405,
    "idempotency_in_progress": 409,  # the first request with this key is still running
    "idempotency_mismatch": 422,  # the key was used before with another request
    "several_matches": 409,  # a create's external reference is held by several records
    "boi_error": 422,  # Sage refused the write (BOI result 0); message = its last error
    "rate_limited": 429,
    "internal_error": 500,
    "unavailable": 503,  # Sage 100 (or the bridge's session to it) is not reachable
}


class SignatureError(Exception):
    """A request the bridge must refuse; `code` is one of the 401 ERROR_CODES."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def sign_request(key: str, method: str, path: str, body: bytes, timestamp: int | str) -> str:
    """The hex signature of one request (method, path with query, body) at one timestamp."""
    head = f"{timestamp}\n{method.upper()}\n{path}\n".encode()
    return hmac.new(key.encode(), head + body, hashlib.sha256).hexdigest()


def signed_headers(
    key: str, method: str, path: str, body: bytes, now: float | None = None
) -> dict[str, str]:
    """The timestamp and signature headers for a request sent now."""
    timestamp = str(int(time.time() if now is None else now))
    return {
        TIMESTAMP_HEADER: timestamp,
        SIGNATURE_HEADER: sign_request(key, method, path, body, timestamp),
    }


def verify_signature(
    key: str,
    method: str,
    path: str,
    body: bytes,
    timestamp: str | None,
    signature: str | None,
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
            f"the bridge accepts {WINDOW_SECONDS} s either way. Check both clocks.",
        )
    expected = sign_request(key, method, path, body, timestamp)
    if not hmac.compare_digest(expected, signature.strip().lower()):
        raise SignatureError(
            "bad_signature",
            "Signature does not match: wrong key, or the method, path or body was altered.",
        )


def error_body(code: str, message: str) -> dict[str, Any]:
    return {"error": {"code": code, "message": message}}


def dumps(data: Any) -> bytes:
    """JSON as the bridge sends it: Decimals and dates become strings."""
    return json.dumps(data, default=str).encode()
