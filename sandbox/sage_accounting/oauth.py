"""Sage's OAuth 2 authorization-code flow: single-use codes, short-lived access tokens,
refresh tokens that rotate (a used one is dead), and revocation of a whole grant.

Tokens live in their own SQLite file so `reset()` of the business data does not disconnect
a product that is already connected; only the lifetimes go back to their defaults.
"""

import secrets
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from sandbox.core.store import DocumentStore
from sandbox.sage_accounting.errors import SageError, error_item

CODE_LIFETIME = 60
ACCESS_TOKEN_LIFETIME = 300
REFRESH_TOKEN_LIFETIME = 31 * 24 * 3600
SCOPES = ("full_access", "readonly")


@dataclass(frozen=True)
class Client:
    client_id: str
    secret: str
    name: str


CLIENTS = {"sandbox-client": Client("sandbox-client", "sandbox-secret", "Clarity Connect")}


class OAuthError(Exception):
    """A token-endpoint error: `{"error": ..., "error_description": ...}` with a status."""

    def __init__(self, error: str, description: str, status: int = 400) -> None:
        super().__init__(description)
        self.error = error
        self.description = description
        self.status = status

    def body(self) -> dict[str, str]:
        return {"error": self.error, "error_description": self.description}


@dataclass(frozen=True)
class AuthorizeRequest:
    """The validated query of GET /oauth/authorize."""

    client: Client
    redirect_uri: str
    scope: str
    state: str


@dataclass(frozen=True)
class Grant:
    """What an access token stands for."""

    grant_id: str
    client_id: str
    scope: str


class OAuthServer:
    def __init__(self, store: DocumentStore, user_id: str) -> None:
        self.store = store
        self.user_id = user_id
        self.reset_lifetimes()

    def reset_lifetimes(self) -> None:
        self.access_token_lifetime = ACCESS_TOKEN_LIFETIME
        self.refresh_token_lifetime = REFRESH_TOKEN_LIFETIME
        self.code_lifetime = CODE_LIFETIME

    def lifetimes(self) -> dict[str, int]:
        return {
            "access_token_lifetime": self.access_token_lifetime,
            "refresh_token_lifetime": self.refresh_token_lifetime,
            "code_lifetime": self.code_lifetime,
        }

    # ------------------------------------------------------------ authorize

    def check_authorize(self, params: Any) -> AuthorizeRequest:
        """Validate the authorize query; a ValueError's text is shown on the page, since an
        unknown client or a bad redirect_uri must not be redirected to."""
        client = CLIENTS.get(params.get("client_id", ""))
        if client is None:
            raise ValueError("Unknown client_id.")
        redirect_uri = params.get("redirect_uri", "")
        parts = urlsplit(redirect_uri)
        if parts.scheme not in ("http", "https") or not parts.netloc or parts.fragment:
            raise ValueError("redirect_uri must be an absolute http(s) URL without a fragment.")
        if params.get("response_type") != "code":
            raise ValueError("response_type must be 'code'.")
        scope = params.get("scope") or "full_access"
        if scope not in SCOPES:
            raise ValueError(f"scope must be one of: {', '.join(SCOPES)}.")
        return AuthorizeRequest(client, redirect_uri, scope, params.get("state", ""))

    def issue_code(self, request: AuthorizeRequest) -> str:
        code = secrets.token_urlsafe(24)
        self.store.put(
            "codes",
            code,
            {
                "client_id": request.client.client_id,
                "redirect_uri": request.redirect_uri,
                "scope": request.scope,
                "expires_at": time.time() + self.code_lifetime,
                "grant_id": None,
            },
        )
        return code

    # ------------------------------------------------------------ token endpoint

    def token(self, form: Any, basic_auth: Any) -> dict[str, Any]:
        client = self._client(form, basic_auth)
        grant_type = form.get("grant_type", "")
        if grant_type == "authorization_code":
            return self._exchange_code(client, form.get("code", ""), form.get("redirect_uri", ""))
        if grant_type == "refresh_token":
            return self._refresh(client, form.get("refresh_token", ""))
        raise OAuthError("unsupported_grant_type", f"grant_type {grant_type!r} is not supported.")

    def _client(self, form: Any, basic_auth: Any) -> Client:
        """Client credentials from the form (Sage's documented way) or HTTP Basic."""
        client_id, secret = form.get("client_id", ""), form.get("client_secret", "")
        if basic_auth is not None and basic_auth.username:
            client_id, secret = basic_auth.username, basic_auth.password or ""
        client = CLIENTS.get(client_id)
        if client is None or not secrets.compare_digest(client.secret, secret):
            raise OAuthError("invalid_client", "Client authentication failed.", status=401)
        return client

    def _exchange_code(self, client: Client, code: str, redirect_uri: str) -> dict[str, Any]:
        with self.store.transaction():
            stored = self.store.get("codes", code) if code else None
            if stored is None or stored["client_id"] != client.client_id:
                raise OAuthError("invalid_grant", "The authorization code is invalid.")
            if not stored["grant_id"]:
                if stored["expires_at"] < time.time():
                    raise OAuthError("invalid_grant", "The authorization code has expired.")
                if stored["redirect_uri"] != redirect_uri:
                    raise OAuthError("invalid_grant", "redirect_uri does not match authorize.")
                grant_id = secrets.token_hex(16)
                self.store.put(
                    "grants", grant_id, {"client_id": client.client_id, "revoked": False}
                )
                self.store.put("codes", code, {**stored, "grant_id": grant_id})
                return self._issue(grant_id, stored["scope"])
            # A replayed code: revoke what it already gave (RFC 6749 4.1.2), then refuse it.
            self._revoke_grant(stored["grant_id"])
        raise OAuthError("invalid_grant", "The authorization code has already been used.")

    def _refresh(self, client: Client, refresh_token: str) -> dict[str, Any]:
        with self.store.transaction():
            stored = self.store.get("refresh_tokens", refresh_token) if refresh_token else None
            grant = self.store.get("grants", stored["grant_id"]) if stored else None
            if (
                stored is None
                or grant is None
                or grant["revoked"]
                or grant["client_id"] != client.client_id
                or stored["used"]
                or stored["expires_at"] < time.time()
            ):
                raise OAuthError("invalid_grant", "The refresh token is invalid or has expired.")
            self.store.put("refresh_tokens", refresh_token, {**stored, "used": True})
            return self._issue(stored["grant_id"], stored["scope"])

    def issue_tokens(self, client_id: str = "sandbox-client", scope: str = "full_access") -> dict:
        """A token pair without the browser dance, for tests and demos (control API)."""
        grant_id = secrets.token_hex(16)
        with self.store.transaction():
            self.store.put("grants", grant_id, {"client_id": client_id, "revoked": False})
            return self._issue(grant_id, scope)

    def _issue(self, grant_id: str, scope: str) -> dict[str, Any]:
        now = time.time()
        access_token, refresh_token = secrets.token_urlsafe(48), secrets.token_urlsafe(48)
        self.store.put(
            "access_tokens",
            access_token,
            {"grant_id": grant_id, "scope": scope, "expires_at": now + self.access_token_lifetime},
        )
        self.store.put(
            "refresh_tokens",
            refresh_token,
            {
                "grant_id": grant_id,
                "scope": scope,
                "expires_at": now + self.refresh_token_lifetime,
                "used": False,
            },
        )
        return {
            "access_token": access_token,
            "expires_in": self.access_token_lifetime,
            "token_type": "bearer",
            "refresh_token": refresh_token,
            "refresh_token_expires_in": self.refresh_token_lifetime,
            "scope": scope,
            "requested_by_id": self.user_id,
        }

    # ------------------------------------------------------------ revoke

    def revoke(self, form: Any, basic_auth: Any) -> None:
        """Revoke the grant behind a refresh (or access) token; unknown tokens are ignored,
        as RFC 7009 asks."""
        self._client(form, basic_auth)
        token = form.get("token", "")
        with self.store.transaction():
            stored = self.store.get("refresh_tokens", token) or self.store.get(
                "access_tokens", token
            )
            if stored:
                self._revoke_grant(stored["grant_id"])

    def _revoke_grant(self, grant_id: str) -> None:
        grant = self.store.get("grants", grant_id)
        if grant:
            self.store.put("grants", grant_id, {**grant, "revoked": True})

    # ------------------------------------------------------------ API calls

    def authenticate(self, authorization: str) -> Grant:
        """The grant behind an `Authorization: Bearer` header, or a 401 in Sage's shape."""
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise SageError(401, [error_item("AuthorizationFailure", "Missing access token")])
        stored = self.store.get("access_tokens", token.strip())
        grant = self.store.get("grants", stored["grant_id"]) if stored else None
        if stored is None or grant is None or grant["revoked"]:
            raise SageError(401, [error_item("AuthorizationFailure", "Invalid access token")])
        if stored["expires_at"] < time.time():
            raise SageError(
                401, [error_item("AuthorizationFailure", "The access token has expired")]
            )
        return Grant(stored["grant_id"], grant["client_id"], stored["scope"])
