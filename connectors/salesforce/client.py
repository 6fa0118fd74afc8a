"""Salesforce transport: the access token kept encrypted on the connection and renewed by one
worker at a time (a claim on the connection's row, the token asked with no transaction open),
simple-salesforce driven through one requests session, and every exception it
or requests raises turned into the connector errors with Salesforce's errorCode kept.

The one retry: a call answered 401 INVALID_SESSION_ID never reached the data, so it is sent
once more with a new token. Everything else is left to the runner.

The session is the outbound guard's (`connectors.outbound`), and it sends only to the
instance the token names. Record ids are checked before they travel (`record_ids`): a URL's
record segment that is not an id is refused before the request leaves.
"""

import re
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from operator import methodcaller
from typing import Any, TypeVar
from urllib.parse import urlsplit

import requests
from django.db import transaction
from django.utils import timezone
from simple_salesforce import Salesforce
from simple_salesforce.exceptions import SalesforceError, SalesforceExpiredSession

from clarity.cpu_turns import pause
from clarity.prepared import Param, PreparedChange, PreparedQuery
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
from connectors.http import bucket_for, origin, retry_after_seconds
from connectors.models import Connection
from connectors.outbound import GuardedSession
from connectors.salesforce.oauth import SYSTEM, AccessToken, OAuthClient
from connectors.salesforce.record_ids import check_record_path

DEFAULT_API_VERSION = "59.0"
TOKEN_SECRET = "access_session"  # key in connection.secrets
RENEWED = (TOKEN_SECRET, "refresh_token")  # the secrets a renewal writes
RENEWING = "renewing_until"  # key in connection.secrets: a worker renews the token until then
RENEWAL_SECONDS = 120.0  # a claim outlives any token request (HttpClient's timeouts and tries)
RENEWAL_WAIT = 0.1  # seconds between looks at the renewal another worker is making
REQUEST_LIMIT_RETRY_SECONDS = 3600.0  # the daily allocation is a rolling 24 h window
ALLOCATION_RECHECK_SECONDS = 600.0  # once spent, one call may look again this often
DEFAULT_RESERVE_PERCENT = 95  # of the allocation, the rest left to the org's other apps
# Salesforce lets a call run up to 10 minutes; a 200-record collection write with triggers
# can take a minute, and a timed-out write leaves its outcome unknown.
API_TIMEOUT = (5.0, 120.0)  # connect, read (seconds)
USAGE = re.compile(r"api-usage=(\d+)/(\d+)")
TRANSIENT_CODES = {"UNABLE_TO_LOCK_ROW", "SERVER_UNAVAILABLE", "UNKNOWN_EXCEPTION"}
MISSING_CODES = {"NOT_FOUND", "ENTITY_IS_DELETED", "INVALID_CROSS_REFERENCE_KEY"}
CONFLICT_CODES = {"DUPLICATE_VALUE", "DUPLICATE_EXTERNAL_ID"}

CALL_OPTIONS = "client=clarity-connect"  # the client id change events name in changeOrigin
T = TypeVar("T")
# The connection's settings, read locked and written back with the usage: each call batch.
SETTINGS = PreparedQuery(
    lambda: (
        Connection.objects.select_for_update()
        .filter(pk=Param("pk"))
        .values_list("settings", flat=True)
    )
)
SAVE_SETTINGS = PreparedChange(
    lambda: Connection.objects.filter(pk=Param("pk")), settings=Param("settings")
)


def error_from_code(
    code: str,
    message: str,
    fields: list[str] | None = None,
    status: int | None = None,
    retry_after: float | None = None,
) -> ConnectorError:
    """One Salesforce error (`errorCode` of a single call, `statusCode` of a collection
    record) as the connector error the runner acts on."""
    detail = f"{code}: {message}" if code else message
    kwargs: dict[str, Any] = {"system": SYSTEM, "status": status, "detail": detail}
    said = f"({code}) {message}" if code else message
    if status == 429 or code == "REQUEST_LIMIT_EXCEEDED":
        if status == 429:
            text = f"Salesforce asked us to slow down: {said}"
        else:
            text = f"Salesforce's daily API request limit is used up: {said}"
        wait = retry_after if retry_after is not None else REQUEST_LIMIT_RETRY_SECONDS
        return RateLimited(text, retry_after=wait, **kwargs)
    if status == 401 or code == "INVALID_SESSION_ID":
        return AuthError(f"Salesforce refused the session {said}", **kwargs)
    if status == 403:
        return AuthError(f"Salesforce refused the request {said}", **kwargs)
    if code in TRANSIENT_CODES or (status or 0) >= 500:
        return TransientError(f"Salesforce could not do it just now {said}", **kwargs)
    if code in CONFLICT_CODES or status in (300, 409, 412):
        return Conflict(f"Salesforce found a conflict {said}", **kwargs)
    if code in MISSING_CODES or status == 404:
        return NotFound(f"Salesforce has no such record {said}", **kwargs)
    if status is None or status == 400:
        problems = {name: message for name in fields or []}
        return ValidationError(f"Salesforce refused the data {said}", fields=problems, **kwargs)
    return ConnectorError(f"Salesforce answered {status} {said}", **kwargs)


def first_error(content: Any) -> tuple[str, str, list[str]]:
    """(errorCode, message, fields) from a REST error body; a 300's body is a list of URLs.
    A body of another shape (simple-salesforce hands over a non-JSON body as text) is not
    quoted: errors reach pages every viewer reads."""
    first = content[0] if isinstance(content, list) and content else content
    if isinstance(first, dict):
        code = first.get("errorCode") or first.get("statusCode") or ""
        return code, str(first.get("message", ""))[:500], list(first.get("fields") or [])
    if isinstance(content, list):
        urls = ", ".join(str(url)[:100] for url in content[:5])
        return "MULTIPLE_RECORDS", f"several records match: {urls}", []
    return "", "a reply that is not Salesforce's error format", []


class ApiSession(GuardedSession):
    """The session simple-salesforce sends through: the outbound guard, our timeouts,
    throttle and TLS setting (with the environment's CA bundle ignored), a call count, and
    the last reply kept so its Retry-After and Sforce-Limit-Info can be read after
    simple-salesforce has raised. It sends only to the `instance` the token names (a link
    elsewhere would carry the session id with it) and checks record paths first.

    Every call names our client in `Sforce-Call-Options`: Salesforce writes it into the
    `changeOrigin` of the change events our writes cause, so the subscriber drops them."""

    def __init__(self, verify: bool | str, throttle_key: str, rate: float | None) -> None:
        super().__init__()
        self.instance = ""
        self.verify = verify
        self.headers["Sforce-Call-Options"] = CALL_OPTIONS
        self.bucket = bucket_for(throttle_key, rate) if rate else None
        self.calls = 0
        self.last_response: requests.Response | None = None
        self.limit_info = ""

    def request(self, method: str, url: str, *args: Any, **kwargs: Any) -> requests.Response:
        if self.instance and origin(url) != origin(self.instance):
            raise OutboundRefused(
                f"Not sent: the request was for {urlsplit(url).hostname}, not the Salesforce "
                f"instance {urlsplit(self.instance).hostname} the session belongs to.",
                system=SYSTEM,
                host=urlsplit(url).hostname or "",
                reason="another address",
            )
        check_record_path(url)
        kwargs.setdefault("timeout", API_TIMEOUT)
        if self.bucket:
            self.bucket.acquire()
        self.calls += 1
        self.last_response = None
        response = super().request(method, url, *args, **kwargs)
        self.last_response = response
        self.limit_info = response.headers.get("Sforce-Limit-Info", self.limit_info)
        return response


class SalesforceClient:
    """One connection's way into Salesforce. Not shared between threads."""

    def __init__(self, connection: Connection) -> None:
        self.connection = connection
        settings = connection.settings or {}
        verify: bool | str = settings.get("ca_bundle") or True
        self.api_version = settings.get("api_version") or DEFAULT_API_VERSION
        self.oauth = OAuthClient(settings, verify)
        rate = float(settings["rate"]) if settings.get("rate") else None
        self.session = ApiSession(verify, f"salesforce:{connection.pk or id(self)}", rate)
        self.api: Salesforce | None = None
        self.batch_depth = 0

    @property
    def api_calls(self) -> int:
        """Requests sent so far, token requests included."""
        return self.session.calls + self.oauth.http.calls

    # ------------------------------------------------------------ tokens

    def stored_token(self, secrets: dict[str, Any]) -> AccessToken | None:
        return AccessToken.from_secret(secrets.get(TOKEN_SECRET), self.oauth.fingerprint(secrets))

    def token(self) -> AccessToken:
        """The stored token while it has more than five minutes left, else a new one."""
        stored = self.stored_token(self.connection.secrets or {})
        return stored if stored and stored.fresh() else self.renew()

    def renew(self, rejected: str = "") -> AccessToken:
        """A new token; a fresh token another worker stored meanwhile is used instead, unless
        it is the `rejected` one Salesforce just refused. Concurrent workers ask once: the
        first claims the renewal on the connection's row, asks with no transaction open (on
        SQLite each one holds the database's one write lock), then stores the token; the
        others wait for it. The claim of a worker that died lapses."""
        if self.connection.pk is None:  # an unsaved connection (the benchmark) keeps it in memory
            token = self.request_token(self.connection)
        else:
            while (claimed := self.stored_or_claimed(rejected)) is None:
                pause(RENEWAL_WAIT)
            token = claimed if isinstance(claimed, AccessToken) else self.renewed(claimed)
        self.api = None
        return token

    def stored_or_claimed(self, rejected: str) -> AccessToken | float | None:
        """Under the row's lock: the stored token when fresh and not `rejected`; else this
        worker's claim on the renewal (when it lapses), None while another worker holds one."""
        with transaction.atomic():
            row = Connection.objects.select_for_update().only("secrets").get(pk=self.connection.pk)
            secrets = row.secrets or {}
            current = self.stored_token(secrets)
            if current and current.fresh() and current.access_token != rejected:
                self.connection.secrets = secrets
                return current
            if float(secrets.get(RENEWING) or 0) > time.time():
                return None
            claim = time.time() + RENEWAL_SECONDS
            row.secrets = self.connection.secrets = {**secrets, RENEWING: claim}
            row.save(update_fields=["secrets"])
        return claim

    def renewed(self, claim: float) -> AccessToken:
        """The token Salesforce gives now, asked under this worker's `claim`."""
        renewed: dict[str, Any] = {}
        try:
            token = self.request_token(self.connection)
            renewed = self.connection.secrets
        finally:
            self.end_renewal(claim, renewed)
        return token

    def end_renewal(self, claim: float, renewed: dict[str, Any]) -> None:
        """Store the renewal's token (and rotated refresh token) and drop this worker's
        claim; nothing stored when the request failed (`renewed` empty)."""
        with transaction.atomic():
            row = Connection.objects.select_for_update().only("secrets").get(pk=self.connection.pk)
            secrets = {**(row.secrets or {})}
            secrets.update({key: renewed[key] for key in RENEWED if key in renewed})
            if secrets.get(RENEWING) == claim:
                del secrets[RENEWING]
            row.secrets = secrets
            row.save(update_fields=["secrets"])
        self.connection.secrets = row.secrets

    def request_token(self, connection: Connection) -> AccessToken:
        secrets = dict(connection.secrets or {})
        token, rotated_refresh_token = self.oauth.request_token(secrets)
        secrets[TOKEN_SECRET] = token.as_secret()
        if rotated_refresh_token:
            secrets["refresh_token"] = rotated_refresh_token
        connection.secrets = secrets
        return token

    def salesforce(self) -> Salesforce:
        token = self.token()
        if self.api is None or self.api.session_id != token.access_token:
            self.api = Salesforce(
                instance_url=token.instance_url,
                session_id=token.access_token,
                session=self.session,
                version=self.api_version,
            )
            self.session.instance = f"https://{self.api.sf_instance}"
        return self.api

    # ------------------------------------------------------------ calls

    def call(self, operation: Callable[[Salesforce], T]) -> T:
        """Run one API operation; its errors come out as connector errors."""
        self.check_allocation()
        with self.batch():
            try:
                try:
                    return operation(self.salesforce())
                except SalesforceExpiredSession as exc:
                    if first_error(exc.content)[0] != "INVALID_SESSION_ID":
                        raise
                    self.renew(rejected=self.api.session_id if self.api else "")
                    return operation(self.salesforce())
            except SalesforceError as exc:
                code, message, fields = first_error(exc.content)
                raise error_from_code(
                    code, message, fields, exc.status, self.retry_after(exc.status)
                ) from exc
            except requests.Timeout as exc:
                raise TransientError(
                    "Salesforce did not answer in time; a write may or may not have been applied",
                    system=SYSTEM,
                    detail=str(exc),
                ) from exc
            except requests.RequestException as exc:
                raise TransientError(
                    "Could not reach Salesforce: the connection failed or was dropped",
                    system=SYSTEM,
                    detail=str(exc),
                ) from exc

    def check_allocation(self) -> None:
        """Refuse to call while the last reading of the daily allocation (`Sforce-Limit-Info`,
        kept on the connection) says it is spent down to the reserve: RateLimited parks the run.
        Salesforce's window rolls over 24 h, so the usage only drops bit by bit: a reading
        older than ALLOCATION_RECHECK_SECONDS lets a call through, and its reply reads it again."""
        usage = (self.connection.settings or {}).get("api_usage") or {}
        used, limit = usage.get("used", 0), usage.get("limit", 0)
        percent = float((self.connection.settings or {}).get("api_reserve_percent") or 0)
        stop_at = limit * (percent or DEFAULT_RESERVE_PERCENT) / 100
        if not limit or used < stop_at:
            return
        try:
            age = (timezone.now() - datetime.fromisoformat(usage["at"])).total_seconds()
        except (KeyError, TypeError, ValueError):
            return
        if age >= ALLOCATION_RECHECK_SECONDS:
            return
        wait = ALLOCATION_RECHECK_SECONDS - age
        minutes = max(1, round(wait / 60))
        if used >= limit:
            said = f"is spent ({used:,}/{limit:,})"
        else:
            said = (
                f"is nearly spent ({used:,}/{limit:,}; we stop at {stop_at:,.0f} to leave the "
                "rest to the org's other apps)"
            )
        raise RateLimited(
            f"Salesforce's daily API allocation {said}: waiting, and looking again in "
            f"{minutes} minute{'s' if minutes > 1 else ''}.",
            retry_after=wait,
            system=SYSTEM,
        )

    def retry_after(self, status: int) -> float | None:
        response = self.session.last_response
        if status != 429 or response is None:
            return None
        return retry_after_seconds(response)

    def query(self, soql: str) -> Iterator[dict[str, Any]]:
        """Every row of a SOQL query, page by page (`nextRecordsUrl`). Each page is its own
        call, so a session that expires mid-way is renewed without starting over."""
        with self.batch():
            page = self.call(lambda sf: sf.query(soql))
            while True:
                yield from page["records"]
                if page.get("done", True):
                    return
                next_url = page["nextRecordsUrl"]
                page = self.call(methodcaller("query_more", next_url, identifier_is_url=True))

    @contextmanager
    def batch(self) -> Iterator[None]:
        """Calls made inside share one save of the API usage, when the outermost ends."""
        self.batch_depth += 1
        try:
            yield
        finally:
            self.batch_depth -= 1
            if self.batch_depth == 0:
                self.save_usage()

    def save_usage(self) -> None:
        """Store the last `Sforce-Limit-Info` usage on the connection, for pages to show.
        Written past the model's save, so it is no audit log entry: it changes with every
        call batch, and no person changed anything."""
        found = USAGE.search(self.session.limit_info)
        if not found:
            return
        usage = {
            "used": int(found.group(1)),
            "limit": int(found.group(2)),
            "at": timezone.now().isoformat(),
        }
        self.session.limit_info = ""
        if self.connection.pk is None:
            self.connection.settings = {**(self.connection.settings or {}), "api_usage": usage}
            return
        with transaction.atomic():
            settings = {**(SETTINGS.first(pk=self.connection.pk) or {}), "api_usage": usage}
            SAVE_SETTINGS.run(pk=self.connection.pk, settings=settings)
        self.connection.settings = settings
