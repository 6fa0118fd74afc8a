"""The one HTTP helper every REST connector uses.

A pooled session through the outbound guard (`connectors.outbound`: no private address
unless allowed, redirects checked hop by hop), connect/read timeouts, a token bucket per
connection shared by every process and host (`connectors.budgets`), and replies turned
into the error classes with the system's own message kept. Only reads are tried again
here (twice, quickly); the runner owns retries of writes, so a write is never silently
sent twice.

Error bodies are quoted only when they are JSON and the system's error shape yields a
message, cut to MESSAGE_CHARS; anything else (an HTML page, whatever a wrong address
answers) is described, never quoted, since errors reach pages every viewer reads.
"""

import os
import threading
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

import requests

from clarity.cpu_turns import pause
from connectors import metering
from connectors.budgets import SharedBucket
from connectors.errors import (
    AuthError,
    Conflict,
    ConnectorError,
    NotFound,
    OutboundRefused,
    RateLimited,
    TransientError,
    ValidationError,
)
from connectors.outbound import SAFE_METHODS, SCHEMES, GuardedSession

DEFAULT_TIMEOUT = (5.0, 30.0)  # connect, read (seconds)
READ_RETRY_DELAYS = (0.2, 1.0)  # pauses before a failed read is tried again
MESSAGE_CHARS = 500  # of a system's own error message
MESSAGE_KEYS = ("message", "error_description", "error", "detail")  # a plain JSON error


_buckets: dict[str, SharedBucket] = {}
_buckets_lock = threading.Lock()


def _forget_parents_buckets() -> None:
    """A forked worker takes its own tokens: the parent's are the parent's to spend."""
    global _buckets_lock
    _buckets_lock = threading.Lock()
    _buckets.clear()


os.register_at_fork(after_in_child=_forget_parents_buckets)


def bucket_for(key: str, rate: float) -> SharedBucket:
    """The connection's budget (`connectors.budgets`), shared by every client, process and
    host that uses the connection; this process's end of it is kept per key."""
    with _buckets_lock:
        bucket = _buckets.get(key)
        if bucket is None or bucket.rate != rate:
            bucket = _buckets[key] = SharedBucket(key, rate)
        return bucket


def retry_after_seconds(response: requests.Response, default: float = 30.0) -> float:
    value = response.headers.get("Retry-After", "")
    try:
        return max(0.0, float(value))
    except ValueError:
        return default


def structured(response: requests.Response) -> bool:
    """The body is a JSON object or array: the only shape a system's error comes in."""
    try:
        return isinstance(response.json(), dict | list)
    except ValueError:
        return False


def described(response: requests.Response) -> str:
    """A reply's body in words, without quoting it."""
    size = len(response.content or b"")
    if not size:
        return "an empty reply"
    kind = response.headers.get("Content-Type", "").split(";")[0].strip().lower()
    if "html" in kind:
        return f"an HTML page of {size} bytes"
    return f"a reply of {size} bytes of {kind or 'no stated type'}"


def json_message(response: requests.Response) -> str:
    """The message of a plain JSON error (`{"message": …}` and its usual cousins), or ""."""
    body = response.json()
    if not isinstance(body, dict):
        return ""
    return next((body[key] for key in MESSAGE_KEYS if isinstance(body.get(key), str)), "")


def classify(
    system: str, response: requests.Response, message: str, label: str = ""
) -> ConnectorError:
    """Map an HTTP status to an error class; `message` is the system's own words, `label`
    the system's name in them (its key when not given)."""
    status = response.status_code
    kwargs: dict[str, Any] = {"system": system, "status": status, "detail": message}
    label = label or system
    text = f"{label} answered {status}: {message}" if message else f"{label} answered {status}"
    if status == 429:
        return RateLimited(text, retry_after=retry_after_seconds(response), **kwargs)
    if status in (401, 403):
        return AuthError(text, **kwargs)
    if status == 404:
        return NotFound(text, **kwargs)
    if status in (409, 412):
        return Conflict(text, **kwargs)
    if status in (400, 422):
        return ValidationError(text, **kwargs)
    if status >= 500 or status == 408:
        return TransientError(text, **kwargs)
    return ConnectorError(text, **kwargs)


def origin(url: str) -> tuple[str, str, int | None]:
    """Scheme, host and port: what a link must share with the base URL to be followed."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    return scheme, (parts.hostname or "").lower(), parts.port or SCHEMES.get(scheme)


def place(url: str) -> str:
    """host:port of a URL, as named in messages (never its path or user)."""
    scheme, host, port = origin(url)
    return f"{host}:{port}" if port != SCHEMES.get(scheme) else host


class HttpClient:
    """Send requests to one system for one connection.

    `error_message(response)` extracts the system's message from an error body;
    `error_for(response, message)` may return a more specific error than the status alone
    says (e.g. Salesforce's REQUEST_LIMIT_EXCEEDED arrives as a 403 but is a rate limit).
    """

    def __init__(
        self,
        system: str,
        base_url: str,
        *,
        label: str = "",
        throttle_key: str = "",
        rate: float | None = None,
        timeout: tuple[float, float] = DEFAULT_TIMEOUT,
        verify: bool | str = True,
        auth: Any = None,
        headers: dict[str, str] | None = None,
        error_message: Callable[[requests.Response], str] | None = None,
        error_for: Callable[[requests.Response, str], ConnectorError | None] | None = None,
    ) -> None:
        self.system = system  # the registry key its errors carry
        self.label = label or system  # its name in messages
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self.bucket = bucket_for(throttle_key or base_url, rate) if rate else None
        self.session = GuardedSession()
        self.session.verify = verify
        self.session.auth = auth
        self.session.headers.update(headers or {})
        self.error_message = error_message or json_message
        self.error_for = error_for
        self.calls = 0

    def url(self, path: str) -> str:
        """`path` under the base URL. An absolute URL (a paging link a reply gave) is taken
        only on the base URL's own scheme, host and port, so no reply can send our
        credentials elsewhere."""
        if not path.startswith(("http://", "https://")):
            if path and not path.startswith(("/", "?")):
                raise OutboundRefused(
                    f"Not sent: “{path[:80]}” is not a path on {self.label}'s API.",
                    system=self.system,
                    reason="not a path",
                )
            return f"{self.base_url}{path}"
        if origin(path) != origin(self.base_url):
            host = urlsplit(path).hostname or ""
            raise OutboundRefused(
                f"Not followed: a link in {self.label}'s reply points to {place(path)}, not to "
                f"{self.label} at {place(self.base_url)}.",
                system=self.system,
                host=host,
                reason="another address",
            )
        return path

    def words(self, response: requests.Response) -> str:
        """The system's own message in an error reply, or what the reply was instead."""
        said = self.error_message(response) if structured(response) else ""
        if said:
            return said[:MESSAGE_CHARS]
        return f"{described(response)} (not {self.label}'s error format)"

    def request(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        """Send; a read that fails transiently is tried again after a short pause, since reading
        twice changes nothing. A write is sent once: whether to repeat it is the runner's call."""
        for delay in READ_RETRY_DELAYS if method in SAFE_METHODS else ():
            try:
                return self.send_once(method, path, **kwargs)
            except RateLimited:
                raise
            except TransientError:
                pause(delay)
        return self.send_once(method, path, **kwargs)

    def send_once(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        """Send once and count the call by its outcome (`connectors.metering`)."""
        if self.bucket:
            self.bucket.acquire()
        self.calls += 1
        try:
            response = self.exchange(method, path, **kwargs)
        except Exception as error:
            metering.count(self.system, error)
            raise
        metering.count(self.system)
        return response

    def exchange(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        """One request; raise a classified ConnectorError for anything but 2xx/3xx."""
        kwargs.setdefault("timeout", self.timeout)
        try:
            response = self.session.request(method, self.url(path), **kwargs)
        except requests.Timeout as exc:
            raise TransientError(
                f"{self.label} did not answer in time ({method} {path}); a write may or may "
                "not have been applied",
                system=self.system,
                detail=str(exc),
            ) from exc
        except requests.ConnectionError as exc:
            raise TransientError(
                f"Could not reach {self.label} at {self.base_url}: the connection failed or "
                "was dropped",
                system=self.system,
                detail=str(exc),
            ) from exc
        except OutboundRefused as refused:
            refused.system = refused.system or self.system
            raise
        if response.status_code >= 400:
            message = self.words(response)
            error = (self.error_for and self.error_for(response, message)) or classify(
                self.system, response, message, self.label
            )
            raise error
        return response

    def get(self, path: str, **kwargs: Any) -> requests.Response:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, **kwargs: Any) -> requests.Response:
        return self.request("POST", path, **kwargs)

    def put(self, path: str, **kwargs: Any) -> requests.Response:
        return self.request("PUT", path, **kwargs)

    def patch(self, path: str, **kwargs: Any) -> requests.Response:
        return self.request("PATCH", path, **kwargs)

    def delete(self, path: str, **kwargs: Any) -> requests.Response:
        return self.request("DELETE", path, **kwargs)
