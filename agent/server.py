"""The agent's WSGI app: signed JSON requests in, one product's writes out (through its
`ProductApi` and backend). Reads of the company do not come here: Clarity reads ODBC.

In order, for every request: a body over `max_body_bytes` is refused (413 `too_large`)
before it is read; the signature is checked before anything else is done (401); its nonce
is taken, a nonce seen before refused (401 `replayed`, `agent.replay`); the path is
routed; a write (POST, PATCH) needs an Idempotency-Key and runs at most once for it, a
repeat getting the first reply. Backend errors become replies:

    Refused            -> 422 refused (+ "field" when Sage names one); nothing was written
    SeveralMatches     -> 409 several_matches + "field": the match (not kept for the key:
                          a retry after the duplicates are cleared looks again)
    RecordInUse        -> 409 record_in_use     (not kept for the key: a retry runs again)
    BackendUnavailable -> 503 unavailable       (not kept for the key)
"""

import json
import time
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import quote

from werkzeug.exceptions import MethodNotAllowed, NotFound
from werkzeug.wrappers import Request, Response

from agent import protocol
from agent.api import BadRequest, ProductApi
from agent.backend import BackendUnavailable, RecordInUse, Refused, SeveralMatches
from agent.idempotency import IdempotencyStore, KeyInProgress, KeyMismatch, fingerprint
from agent.replay import MAX_NONCES, CacheFull, NonceCache, Replayed

WRITE_METHODS = ("POST", "PATCH")
MAX_BODY_BYTES = 1_048_576
RETRY_STATUS = 409  # several matches or a record in use: nothing written, a retry looks again


def error_response(code: str, message: str, status: int | None = None, field: str = "") -> Response:
    return Response(
        protocol.dumps(protocol.error_body(code, message, field)),
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


class BodyTooLarge(Exception):
    pass


def read_body(request: Request, limit: int) -> bytes:
    """The body, never reading more than `limit` + 1 bytes: a declared Content-Length over
    the limit is refused before a byte is read. A body without Content-Length is one the
    server ends itself (chunked: `wsgi.input_terminated`), else there is none (HTTP/1.1)."""
    length = request.content_length
    if length is not None and length > limit:
        raise BodyTooLarge
    stream = request.environ["wsgi.input"]
    if length is not None:
        body = stream.read(length)
    elif request.environ.get("wsgi.input_terminated"):
        body = stream.read(limit + 1)
    else:
        return b""
    if len(body) > limit:
        raise BodyTooLarge
    return body


class AgentApp:
    """`clock` gives the agent's time in unix seconds (the tests move it)."""

    def __init__(
        self,
        api: ProductApi,
        key: str,
        idempotency_db_path: Path,
        max_body_bytes: int = MAX_BODY_BYTES,
        max_nonces: int = MAX_NONCES,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if not key:
            raise ValueError("The agent needs a non-empty shared key.")
        self.api = api
        self.key = key
        self.max_body_bytes = max_body_bytes
        self.idempotency = IdempotencyStore(idempotency_db_path)
        self.nonces = NonceCache(max_nonces)
        self.clock = clock

    def __call__(self, environ: dict[str, Any], start_response: Callable) -> Any:
        return self.handle(Request(environ))(environ, start_response)

    def handle(self, request: Request) -> Response:
        try:
            body = read_body(request, self.max_body_bytes)
        except BodyTooLarge:
            response = error_response(
                "too_large", f"The body is over the agent's limit of {self.max_body_bytes} bytes."
            )
            response.headers["Connection"] = "close"  # the unread rest must not be parsed
            return response
        idempotency_key = request.headers.get(protocol.IDEMPOTENCY_HEADER, "").strip()
        refusal = self._authenticate(request, body, idempotency_key)
        if refusal is not None:
            return refusal
        try:
            endpoint, values = self.api.url_map.bind_to_environ(request.environ).match()
        except NotFound:
            return error_response("not_found", f"No such path: {request.path}")
        except MethodNotAllowed:
            return error_response("method_not_allowed", f"{request.method} not allowed here.")
        if endpoint in self.api.conditional_creates:
            values = {**values, "match": request.args.get("match", "")}
        if request.method not in WRITE_METHODS:
            return self._run(endpoint, values, body)
        return self._run_once(request, idempotency_key, endpoint, values, body)

    def _authenticate(self, request: Request, body: bytes, idempotency_key: str) -> Response | None:
        """The refusal of a request not signed with the key inside the window, or whose
        nonce was taken before; None when it may go on (its nonce now taken)."""
        now = self.clock()
        nonce = request.headers.get(protocol.NONCE_HEADER, "")
        try:
            sent_at = protocol.verify_signature(
                self.key,
                request.method,
                signed_path(request),
                body,
                request.headers.get(protocol.TIMESTAMP_HEADER),
                request.headers.get(protocol.SIGNATURE_HEADER),
                idempotency_key,
                now=now,
                nonce=nonce,
            )
            self.nonces.take(nonce, sent_at, now)
        except protocol.SignatureError as exc:
            return error_response(exc.code, exc.message)
        except Replayed:
            return error_response(
                "replayed",
                f"This request was received before (its {protocol.NONCE_HEADER} was taken): "
                "a copy of a signed request is refused. Sign every attempt afresh.",
            )
        except CacheFull as exc:
            response = error_response(
                "rate_limited",
                f"More than {self.nonces.max_nonces} requests inside the "
                f"{protocol.WINDOW_SECONDS} s window: the agent remembers no more nonces to "
                f"refuse replays with. Retry after {exc.retry_after} s.",
            )
            response.headers["Retry-After"] = str(exc.retry_after)
            return response
        return None

    def _run_once(
        self, request: Request, key: str, endpoint: str, values: dict, body: bytes
    ) -> Response:
        """Run a write at most once per Idempotency-Key; a repeat gets the first reply."""
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
        if response.status_code >= 500 or response.status_code == RETRY_STATUS:
            self.idempotency.abandon(key)  # nothing written; a retry must run again
        else:
            self.idempotency.finish(key, response.status_code, response.get_data())
        return response

    def _run(self, endpoint: str, values: dict, body: bytes) -> Response:
        try:
            payload = json.loads(body, parse_float=Decimal) if body.strip() else {}
            if not isinstance(payload, dict):
                raise BadRequest("The body must be a JSON object.")
            status, data = getattr(self.api, f"on_{endpoint}")(payload, **values)
        except BadRequest as exc:
            return error_response("bad_request", exc.message, field=exc.field)
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            return error_response("bad_request", f"The body is not JSON: {exc}")
        except Refused as exc:
            return error_response("refused", exc.message, field=exc.field)
        except SeveralMatches as exc:
            return error_response("several_matches", exc.message, field=values.get("match", ""))
        except RecordInUse as exc:
            return error_response(
                "record_in_use", str(exc) or "A record this write needs is open in Sage."
            )
        except BackendUnavailable as exc:
            return error_response("unavailable", str(exc))
        except Exception as exc:  # the reply must stay JSON; the detail goes to the caller
            return error_response("internal_error", f"{type(exc).__name__}: {exc}")
        return Response(protocol.dumps(data), status=status, mimetype="application/json")
