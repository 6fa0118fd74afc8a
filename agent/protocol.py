"""The wire protocol between Clarity Connect and the Clarity agent beside Sage.

JSON over HTTP. Every request is signed with the key both sides share:

    X-Agent-Timestamp: <unix seconds>
    X-Agent-Nonce:     <16 to 64 letters, digits, - or _; new for every request sent>
    X-Agent-Signature: <hex HMAC-SHA256 of
                        timestamp SP nonce \\n METHOD \\n path?query \\n Idempotency-Key \\n
                        raw body>

The method, the path (as sent on the wire, query included) and the Idempotency-Key (empty
for a read) are signed with the body, so a captured request cannot be replayed to another
endpoint or record inside the window, nor sent again under a new key to write twice. The
agent refuses (401) a request without a timestamp or signature, with a signature that does
not match, or with a timestamp more than `WINDOW_SECONDS` away from its clock. It remembers every
nonce until its timestamp leaves the window and refuses one it has seen (401 `replayed`),
so a captured request, read or write, cannot be sent again as it is either; a client
therefore signs every attempt afresh, retries included. A request signed the older way,
without a nonce, is told so (400 `bad_nonce`): its client must be updated. Writes (POST,
PATCH) carry an `Idempotency-Key`: the agent answers a repeat (sent under a new nonce)
with the first reply.

A create may name the field holding its external reference (`?match=UDF_CRM_ID`,
`?match=InternalNote`): when Sage already has the record, the reply is 200 with that record
and `"existed": true` instead of 201, and nothing is written.

Errors always look like `{"error": {"code": "<one of ERROR_CODES>", "message": "..."}}`; a
refusal (`refused`) may add `"field"`, the value Sage refused when it names one.
"""

import hashlib
import hmac
import json
import re
import secrets
import time
from typing import Any

TIMESTAMP_HEADER = "X-Agent-Timestamp"
SIGNATURE_HEADER = "X-Agent-Signature"
NONCE_HEADER = "X-Agent-Nonce"
NONCE = re.compile(r"[A-Za-z0-9_-]{16,64}")
IDEMPOTENCY_HEADER = "Idempotency-Key"
REPLAYED_HEADER = "Idempotent-Replayed"  # "true" on a reply repeated from the first request
WINDOW_SECONDS = 300

ERROR_CODES = {
    "missing_signature": 401,  # no timestamp or signature header
    "bad_signature": 401,  # signature does not match the request and timestamp
    "stale_timestamp": 401,  # timestamp outside the window (or not a number)
    "replayed": 401,  # this nonce was taken before: a captured request sent again
    "bad_nonce": 400,  # no nonce (a client older than the replay guard) or not of its form
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
    "rate_limited": 429,  # e.g. more requests inside the window than the agent remembers
    "internal_error": 500,
    "unavailable": 503,  # Sage (or the agent's session to it) is not reachable
}


class SignatureError(Exception):
    """A request the agent must refuse before acting on it; `code` is one of ERROR_CODES
    (401 but for `bad_nonce`)."""

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
    nonce: str = "",
) -> str:
    """The hex signature of one request (method, path with query, idempotency key, body)
    at one timestamp under one nonce. Without a nonce it is the layout clients signed
    before the replay guard (how the agent recognises such a client)."""
    first_line = f"{timestamp} {nonce}" if nonce else str(timestamp)
    head = f"{first_line}\n{method.upper()}\n{path}\n{idempotency_key}\n".encode()
    return hmac.new(key.encode(), head + body, hashlib.sha256).hexdigest()


def new_nonce() -> str:
    """A nonce no request has carried (144 random bits)."""
    return secrets.token_urlsafe(18)


def signed_headers(
    key: str,
    method: str,
    path: str,
    body: bytes,
    idempotency_key: str = "",
    now: float | None = None,
    nonce: str | None = None,
) -> dict[str, str]:
    """The timestamp, nonce, signature (and, for a write, Idempotency-Key) headers of a
    request sent now; a new nonce unless one is given. Call it for every attempt: the
    agent refuses headers it has seen."""
    timestamp = str(int(time.time() if now is None else now))
    nonce = new_nonce() if nonce is None else nonce
    headers = {
        TIMESTAMP_HEADER: timestamp,
        NONCE_HEADER: nonce,
        SIGNATURE_HEADER: sign_request(key, method, path, body, timestamp, idempotency_key, nonce),
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
    nonce: str | None = None,
) -> int:
    """The request's timestamp (unix seconds) when it was signed with `key` within the
    window under a well-formed nonce; else raise SignatureError. Whether the nonce was seen
    before is the caller's question (`agent.replay.NonceCache`)."""
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
    if nonce and not NONCE.fullmatch(nonce):
        raise SignatureError(
            "bad_nonce",
            f"{NONCE_HEADER} must be 16 to 64 letters, digits, '-' or '_', new for every request.",
        )
    expected = sign_request(key, method, path, body, timestamp, idempotency_key, nonce or "")
    if not hmac.compare_digest(expected.encode(), signature.strip().lower().encode()):
        raise SignatureError(
            "bad_signature",
            "Signature does not match: wrong key, or the method, path, Idempotency-Key, "
            "nonce or body was altered.",
        )
    if not nonce:
        raise SignatureError(
            "bad_nonce",
            f"The request is signed without an {NONCE_HEADER} header, as clients did before "
            "this agent refused replayed requests: update Clarity Connect (or the client) to "
            "one that sends a new nonce with every request.",
        )
    return sent_at


def error_body(code: str, message: str, field: str = "") -> dict[str, Any]:
    error: dict[str, Any] = {"code": code, "message": message}
    if field:
        error["field"] = field
    return {"error": error}


def dumps(data: Any) -> bytes:
    """JSON as the agent sends it: Decimals and dates become strings."""
    return json.dumps(data, default=str).encode()
