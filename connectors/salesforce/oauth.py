"""OAuth 2.0 token requests to a Salesforce login URL: client credentials, JWT bearer and
refresh token. Nothing here touches the database; `client.py` stores what this returns.

Salesforce's token reply carries no `expires_in`: a session lasts as long as the org's
session timeout (2 h by default), so the lifetime comes from the connection's settings.
Its `instance_url` is where every later call (and the session id) goes, so it passes the
outbound guard (`connectors.outbound`) before it is stored.
"""

import hashlib
import time
from dataclasses import asdict, dataclass
from typing import Any

import jwt
import requests

from connectors.errors import AuthError, ConnectorError, OutboundRefused
from connectors.http import HttpClient
from connectors.outbound import check_now

SYSTEM, LABEL = "salesforce", "Salesforce"  # the error identity (registry key); words
DEFAULT_LOGIN_URL = "https://login.salesforce.com"
DEFAULT_SESSION_SECONDS = 7200
RENEW_AHEAD_SECONDS = 300  # renew five minutes before the session would end
JWT_LIFETIME_SECONDS = 180  # Salesforce accepts assertions that expire within 3 minutes
JWT_GRANT = "urn:ietf:params:oauth:grant-type:jwt-bearer"
TOKEN_PATH = "/services/oauth2/token"
# The secret each flow signs in with; a change to it (or to a setting) voids a stored token.
FLOW_SECRET = {
    "client_credentials": "client_secret",
    "jwt_bearer": "private_key",
    "refresh_token": "refresh_token",
}


@dataclass(frozen=True)
class AccessToken:
    """A Salesforce session: what the REST API needs, and when it stops working."""

    access_token: str
    instance_url: str
    identity_url: str  # https://login…/id/<org id>/<user id>
    expires_at: float  # epoch seconds
    fingerprint: str  # of the credentials that obtained it

    @property
    def org_id(self) -> str:
        parts = self.identity_url.rstrip("/").split("/")
        return parts[-2] if len(parts) >= 2 else ""

    def fresh(self) -> bool:
        return time.time() < self.expires_at - RENEW_AHEAD_SECONDS

    def as_secret(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_secret(cls, stored: Any, fingerprint: str) -> "AccessToken | None":
        """The stored token, unless absent, malformed or obtained with other credentials."""
        if not isinstance(stored, dict) or stored.get("fingerprint") != fingerprint:
            return None
        try:
            return cls(**stored)
        except TypeError:
            return None


def oauth_error_message(response: requests.Response) -> str:
    """`error: error_description` of an OAuth error body, or "" for any other body (the
    HTTP helper then describes it without quoting it)."""
    body = response.json()
    if isinstance(body, dict) and body.get("error"):
        description = body.get("error_description") or ""
        return f"{body['error']}: {description}" if description else str(body["error"])
    return ""


def oauth_error_for(response: requests.Response, message: str) -> ConnectorError | None:
    """Refusals of the token request are one plain sentence naming Salesforce's error code;
    429 and 5xx keep the shared classification (rate limit, transient)."""
    status = response.status_code
    if status == 429 or status >= 500:
        return None
    code = message.split(":", 1)[0] if message else f"HTTP {status}"
    return AuthError(
        f"Salesforce token request failed: {code}", system=SYSTEM, status=status, detail=message
    )


class OAuthClient:
    """Obtains access tokens for one connection's settings."""

    def __init__(self, settings: dict[str, Any], verify: bool | str) -> None:
        self.login_url = (settings.get("login_url") or DEFAULT_LOGIN_URL).rstrip("/")
        self.flow = settings.get("auth_flow") or "client_credentials"
        self.client_id = settings.get("client_id") or ""
        self.username = settings.get("username") or ""
        self.session_seconds = int(settings.get("session_seconds") or DEFAULT_SESSION_SECONDS)
        self.http = HttpClient(
            SYSTEM,
            self.login_url,
            label=LABEL,
            verify=verify,
            error_message=oauth_error_message,
            error_for=oauth_error_for,
        )

    def fingerprint(self, secrets: dict[str, Any]) -> str:
        secret = str(secrets.get(FLOW_SECRET.get(self.flow, ""), ""))
        material = "\n".join((self.login_url, self.flow, self.client_id, self.username, secret))
        return hashlib.sha256(material.encode()).hexdigest()

    def request_token(self, secrets: dict[str, Any]) -> tuple[AccessToken, str]:
        """A new access token, and the refresh token if Salesforce rotated it (else "")."""
        started = time.time()
        response = self.http.post(TOKEN_PATH, data=self.grant(secrets))
        try:
            reply = response.json()
            token = AccessToken(
                access_token=reply["access_token"],
                instance_url=reply["instance_url"].rstrip("/"),
                identity_url=reply.get("id", ""),
                expires_at=started + self.session_seconds,
                fingerprint=self.fingerprint(secrets),
            )
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise AuthError(  # the reply is not quoted: it may hold a token
                "Salesforce token request failed: the reply held no access token and instance URL",
                system=SYSTEM,
            ) from exc
        self.check_instance(token.instance_url)
        rotated = reply.get("refresh_token", "")
        return token, rotated if rotated != secrets.get("refresh_token") else ""

    def check_instance(self, instance_url: str) -> None:
        """The instance the token reply names passes the outbound guard, or nothing is
        stored: the reply comes from whatever the login URL reaches."""
        try:
            check_now(instance_url)
        except OutboundRefused as refused:
            raise OutboundRefused(
                f"Salesforce's token reply names an instance this server will not call: "
                f"{refused.message}",
                system=SYSTEM,
                host=refused.host,
                reason=refused.reason,
            ) from refused

    def grant(self, secrets: dict[str, Any]) -> dict[str, str]:
        if self.flow == "client_credentials":
            return {
                "grant_type": "client_credentials",
                "client_id": self.client_id,
                "client_secret": self.required(secrets, "client_secret"),
            }
        if self.flow == "jwt_bearer":
            return {"grant_type": JWT_GRANT, "assertion": self.assertion(secrets)}
        if self.flow == "refresh_token":
            grant = {
                "grant_type": "refresh_token",
                "client_id": self.client_id,
                "refresh_token": self.required(secrets, "refresh_token"),
            }
            if secrets.get("client_secret"):
                grant["client_secret"] = secrets["client_secret"]
            return grant
        raise AuthError(f"Unknown Salesforce OAuth flow “{self.flow}”", system=SYSTEM)

    def assertion(self, secrets: dict[str, Any]) -> str:
        """The RS256-signed JWT: iss = consumer key, sub = user, aud = the login URL."""
        if not self.username:
            raise AuthError("Salesforce JWT bearer needs the username to act as", system=SYSTEM)
        claims = {
            "iss": self.client_id,
            "sub": self.username,
            "aud": self.login_url,
            "exp": int(time.time()) + JWT_LIFETIME_SECONDS,
        }
        try:
            return jwt.encode(claims, self.required(secrets, "private_key"), algorithm="RS256")
        except (jwt.PyJWTError, ValueError, TypeError) as exc:
            raise AuthError(
                "Salesforce JWT private key is not a usable RSA key in PEM form",
                system=SYSTEM,
                detail=str(exc),
            ) from exc

    def required(self, secrets: dict[str, Any], key: str) -> str:
        value = secrets.get(key)
        if not value:
            label = key.replace("_", " ")
            flow = self.flow.replace("_", " ")
            raise AuthError(f"Salesforce {flow} flow needs the {label}", system=SYSTEM)
        return str(value)
