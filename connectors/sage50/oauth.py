"""Sage's OAuth 2.0 authorization-code flow and the tokens it gives us.

Access tokens live about five minutes and refresh tokens rotate: each refresh returns a new
one and kills the old. So a worker refreshes only after claiming the refresh on the
connection's row (a short transaction, which also finds a token another worker refreshed
already), asks Sage with no transaction open (on SQLite each one holds the database's one
write lock), then saves the new pair; workers finding a claim wait for that pair. A dead
refresh token (`invalid_grant`) marks the connection
`needs_reauth`: only a person pressing Connect to Sage can fix that.
"""

import time
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

import requests
from django.db import transaction
from django.utils import timezone

from clarity.cpu_turns import pause
from connectors.errors import AuthError, ConnectorError, ValidationError
from connectors.http import HttpClient, described
from connectors.models import Connection

SYSTEM, LABEL = "sage50", "Sage Accounting"  # the error identity (registry key); words
REFRESH_AHEAD = timedelta(seconds=60)
NOT_CONNECTED = "Not connected to Sage yet: press Connect to Sage."
NO_REFRESH_TOKEN = (
    "Sage's access token has expired and there is no refresh token: press Connect to Sage."
)
REFRESHING = "refreshing_until"  # key in connection.secrets: a worker refreshes until then
REFRESH_SECONDS = 120.0  # a claim outlives any token request (HttpClient's timeouts and tries)
REFRESH_WAIT = 0.1  # seconds between looks at the refresh another worker is making
DEFAULT_SCOPE = "full_access"


def token_error_message(response: requests.Response) -> str:
    """The token endpoint's own words, `error: error_description`; "" for another body (the
    HTTP helper describes it without quoting it)."""
    body = response.json()
    if not isinstance(body, dict):
        return ""
    return ": ".join(str(body[key]) for key in ("error", "error_description") if body.get(key))


def token_error_for(response: requests.Response, message: str) -> ConnectorError | None:
    """Plain sentences for the token errors a person can act on."""
    code = message.partition(":")[0]
    kwargs: dict[str, Any] = {"system": SYSTEM, "status": response.status_code, "detail": message}
    if code == "invalid_client":
        return AuthError(
            "Sage refused the client ID or secret (invalid_client): check them on the connection.",
            **kwargs,
        )
    if code == "invalid_grant":
        return AuthError(
            "Sage no longer accepts this connection's authorisation (invalid_grant): press "
            "Connect to Sage to authorise again.",
            **kwargs,
        )
    if response.status_code == 400:
        return ValidationError(f"Sage's token endpoint refused the request ({message}).", **kwargs)
    return None


def _token_client(connection: Connection) -> HttpClient:
    return HttpClient(
        SYSTEM,
        connection.settings["token_url"],
        label=LABEL,
        headers={"Accept": "application/json"},
        error_message=token_error_message,
        error_for=token_error_for,
    )


def _token_request(connection: Connection, secrets: dict[str, Any], form: dict[str, str]) -> dict:
    """POST a grant to the token endpoint with the client credentials in the form."""
    body = {
        **form,
        "client_id": connection.settings.get("client_id", ""),
        "client_secret": secrets.get("client_secret", ""),
    }
    response = _token_client(connection).post("", data=body)
    try:
        tokens = response.json()
    except ValueError:
        tokens = None
    if not isinstance(tokens, dict) or not tokens.get("access_token"):
        raise ConnectorError(  # the reply is not quoted: it may hold a refresh token
            "Sage's token endpoint answered without an access token.",
            system=SYSTEM,
            detail=described(response),
        )
    return tokens


def _stored(secrets: dict[str, Any], tokens: dict[str, Any]) -> dict[str, Any]:
    """The secrets with a token response merged in; expiries as ISO 8601 UTC."""
    now = datetime.now(UTC)
    stored = {
        **secrets,
        "access_token": tokens["access_token"],
        "access_token_expires_at": (
            now + timedelta(seconds=int(tokens.get("expires_in", 300)))
        ).isoformat(),
    }
    if tokens.get("refresh_token"):
        stored["refresh_token"] = tokens["refresh_token"]
    if tokens.get("refresh_token_expires_in"):
        lifetime = timedelta(seconds=int(tokens["refresh_token_expires_in"]))
        stored["refresh_token_expires_at"] = (now + lifetime).isoformat()
    return stored


def authorization_url(connection: Connection, redirect_uri: str, state: str) -> str:
    """Where the Connect to Sage button sends the browser; Sage redirects back with a code."""
    settings = connection.settings
    query = {
        "filter": "apiv3.1",
        "response_type": "code",
        "client_id": settings.get("client_id", ""),
        "redirect_uri": redirect_uri,
        "scope": settings.get("scope") or DEFAULT_SCOPE,
        "state": state,
    }
    separator = "&" if "?" in settings["auth_url"] else "?"
    return f"{settings['auth_url']}{separator}{urlencode(query)}"


def complete_authorization(connection: Connection, code: str, redirect_uri: str) -> None:
    """Exchange the callback's code for tokens and store them encrypted on the connection.

    Raises AuthError with a plain sentence when Sage refuses the code or the client.
    """
    tokens = _token_request(
        connection,
        connection.secrets or {},
        {"grant_type": "authorization_code", "code": code, "redirect_uri": redirect_uri},
    )
    with transaction.atomic():
        locked = Connection.objects.select_for_update().get(pk=connection.pk)
        locked.secrets = _stored(locked.secrets or {}, tokens)
        locked.secrets_changed_at = timezone.now()
        if locked.status == Connection.Status.NEEDS_REAUTH:
            locked.status, locked.last_error = Connection.Status.UNKNOWN, ""
        locked.save(
            update_fields=["secrets", "secrets_changed_at", "status", "last_error", "updated_at"]
        )
    connection.secrets, connection.status = locked.secrets, locked.status
    connection.secrets_changed_at, connection.last_error = locked.secrets_changed_at, ""


def is_connected(connection: Connection) -> bool:
    secrets = connection.secrets or {}
    return bool(secrets.get("access_token") or secrets.get("refresh_token"))


def _fresh(secrets: dict[str, Any]) -> bool:
    """True when the stored access token outlives the next REFRESH_AHEAD seconds."""
    expires_at = secrets.get("access_token_expires_at")
    if not secrets.get("access_token") or not expires_at:
        return False
    return datetime.fromisoformat(expires_at) > datetime.now(UTC) + REFRESH_AHEAD


class TokenKeeper:
    """Hands out a valid access token for one connection, refreshing it when needed."""

    def __init__(self, connection: Connection) -> None:
        self.connection = connection

    def access_token(self) -> str:
        secrets = self.connection.secrets or {}
        if _fresh(secrets):
            return secrets["access_token"]
        return self.refresh(stale=secrets.get("access_token", ""))

    def refresh(self, stale: str) -> str:
        """A new access token to replace `stale` (the one that expired or got a 401): one
        another worker refreshed already, else one this worker asks for under its claim."""
        if not is_connected(self.connection):
            raise AuthError(NOT_CONNECTED, system=SYSTEM)
        while (claimed := self.stored_or_claimed(stale)) is None:
            pause(REFRESH_WAIT)
        if isinstance(claimed, str):
            return claimed
        claim, secrets = claimed
        tokens: dict[str, Any] = {}
        try:
            if not secrets.get("refresh_token"):
                raise AuthError(NO_REFRESH_TOKEN, system=SYSTEM)
            tokens = _token_request(
                self.connection,
                secrets,
                {"grant_type": "refresh_token", "refresh_token": secrets["refresh_token"]},
            )
        except AuthError as refused:
            self.mark_needs_reauth(refused)
            raise
        finally:
            self.end_refresh(claim, tokens)
        return self.connection.secrets["access_token"]

    def stored_or_claimed(self, stale: str) -> str | tuple[float, dict[str, Any]] | None:
        """Under the row lock: a fresh token another worker stored in place of `stale`; else
        this worker's claim on the refresh and the secrets to spend, None while another
        worker's claim stands (a claim lapses after REFRESH_SECONDS)."""
        with transaction.atomic():
            locked = Connection.objects.select_for_update().get(pk=self.connection.pk)
            secrets = locked.secrets or {}
            if secrets.get("access_token") != stale and _fresh(secrets):
                self.connection.secrets = secrets
                return secrets["access_token"]
            if float(secrets.get(REFRESHING) or 0) > time.time():
                return None
            claim = time.time() + REFRESH_SECONDS
            locked.secrets = {**secrets, REFRESHING: claim}
            locked.save(update_fields=["secrets", "updated_at"])
        return claim, secrets

    def end_refresh(self, claim: float, tokens: dict[str, Any]) -> None:
        """Save the rotated pair (none when the refresh failed) and drop this worker's claim."""
        with transaction.atomic():
            locked = Connection.objects.select_for_update().get(pk=self.connection.pk)
            secrets = _stored(locked.secrets or {}, tokens) if tokens else {**locked.secrets}
            if secrets.get(REFRESHING) == claim:
                del secrets[REFRESHING]
            locked.secrets = secrets
            locked.save(update_fields=["secrets", "updated_at"])
        self.connection.secrets = locked.secrets

    def mark_needs_reauth(self, error: AuthError) -> None:
        """Outside the refresh transaction, so the mark survives the error being raised."""
        Connection.objects.filter(pk=self.connection.pk).update(
            status=Connection.Status.NEEDS_REAUTH, last_error=error.message
        )
        self.connection.status = Connection.Status.NEEDS_REAUTH
        self.connection.last_error = error.message
