"""OAuth 2.0 as Salesforce does it: client credentials, JWT bearer, authorization code and
refresh token grants on `/services/oauth2/token`, and Bearer sessions on the REST API.

Tokens live in their own store so a data reset does not log clients out.
"""

import base64
import hashlib
import hmac
import secrets
import time
from pathlib import Path
from typing import Any

import jwt
from werkzeug.wrappers import Request

from sandbox.core.store import DocumentStore
from sandbox.salesforce.schema import ORG_ID, USER_ID

CLIENT_ID = "sandbox-client"
CLIENT_SECRET = "sandbox-secret"
USERNAMES = ("integration@clarity-sandbox.example", "admin@clarity-sandbox.example")
SESSION_SECONDS = 7200
LOGIN_AUDIENCES = ("https://login.salesforce.com", "https://test.salesforce.com")
JWT_GRANT = "urn:ietf:params:oauth:grant-type:jwt-bearer"


class OAuthError(Exception):
    """Answered 400 (401 for a bad client) as `{"error", "error_description"}`."""

    def __init__(self, error: str, description: str, status: int = 400) -> None:
        super().__init__(description)
        self.error, self.description, self.status = error, description, status

    def body(self) -> dict:
        return {"error": self.error, "error_description": self.description}


class OAuth:
    def __init__(self, store: DocumentStore, jwt_public_key_path: Path) -> None:
        self.store = store
        if self.store.get_meta("jwt_public_key") is None:
            self.set_jwt_public_key(jwt_public_key_path.read_text())

    # ------------------------------------------------------------ configuration

    def set_jwt_public_key(self, pem: str) -> None:
        """The certificate's key the connected app checks JWT assertions with."""
        try:
            jwt.algorithms.RSAAlgorithm(jwt.algorithms.RSAAlgorithm.SHA256).prepare_key(pem)
        except (jwt.PyJWTError, TypeError, ValueError) as exc:
            raise ValueError(f"not an RSA public key in PEM: {exc}") from None
        self.store.set_meta("jwt_public_key", pem)

    def expire_sessions(self) -> int:
        """End every access token now (refresh tokens stay valid)."""
        sessions = self.store.all("sessions")
        for session in sessions:
            self.store.put("sessions", session["token"], {**session, "expires_at": 0})
        return len(sessions)

    # ------------------------------------------------------------ sessions

    def session(self, request: Request) -> dict | None:
        """The live session of a `Authorization: Bearer` (or OAuth) header, or None."""
        header = request.headers.get("Authorization", "")
        scheme, _, token = header.partition(" ")
        if scheme.lower() not in ("bearer", "oauth") or not token:
            return None
        return self.session_of_token(token.strip())

    def session_of_token(self, token: str) -> dict | None:
        """The live session of an access token (the Pub/Sub API gets it as metadata)."""
        session = self.store.get("sessions", token)
        if session is None or session["expires_at"] < time.time():
            return None
        return session

    def issue(self, base_url: str, username: str, with_refresh: bool, scope: str) -> dict:
        token = f"{ORG_ID[:15]}!AQ" + secrets.token_urlsafe(72)
        self.store.put(
            "sessions", token,
            {"token": token, "username": username, "expires_at": time.time() + SESSION_SECONDS},
        )  # fmt: skip
        issued_at = str(int(time.time() * 1000))
        identity = f"{base_url}/id/{ORG_ID}/{USER_ID}"
        signature = hmac.new(
            CLIENT_SECRET.encode(), (identity + issued_at).encode(), hashlib.sha256
        ).digest()
        reply = {
            "access_token": token,
            "instance_url": base_url,
            "id": identity,
            "token_type": "Bearer",
            "issued_at": issued_at,
            "signature": base64.b64encode(signature).decode(),
            "scope": scope,
        }
        if with_refresh:
            reply["refresh_token"] = self.new_refresh_token(username)
        return reply

    def new_refresh_token(self, username: str = USERNAMES[0]) -> str:
        refresh = f"5Aep861{secrets.token_urlsafe(60)}"
        self.store.put("refresh_tokens", refresh, {"username": username})
        return refresh

    def new_authorization_code(self, redirect_uri: str) -> str:
        code = f"aPrx{secrets.token_urlsafe(40)}"
        self.store.put(
            "codes", code, {"redirect_uri": redirect_uri, "expires_at": time.time() + 900}
        )
        return code

    # ------------------------------------------------------------ token endpoint

    def token(self, request: Request, base_url: str) -> dict:
        """Run the grant a token request asks for; raises OAuthError like Salesforce."""
        form = request.form
        grant = form.get("grant_type", "")
        if grant == JWT_GRANT:
            return self.jwt_bearer(form.get("assertion", ""), base_url)
        client_id, client_secret = self.client_credentials(request)
        if grant == "client_credentials":
            self.check_client(client_id, client_secret)
            return self.issue(base_url, USERNAMES[0], False, "api")
        if grant == "refresh_token":
            self.check_client(client_id, client_secret, secret_required=False)
            found = self.store.get("refresh_tokens", form.get("refresh_token", ""))
            if found is None:
                raise OAuthError("invalid_grant", "expired access/refresh token")
            reply = self.issue(base_url, found["username"], False, "refresh_token api")
            return reply
        if grant == "authorization_code":
            self.check_client(client_id, client_secret)
            code = self.store.get("codes", form.get("code", ""))
            if code is None or code["expires_at"] < time.time():
                raise OAuthError("invalid_grant", "invalid authorization code")
            if code["redirect_uri"] != form.get("redirect_uri", ""):
                raise OAuthError("redirect_uri_mismatch", "redirect_uri must match configuration")
            self.store.delete("codes", form["code"])
            return self.issue(base_url, USERNAMES[0], True, "refresh_token api")
        raise OAuthError("unsupported_grant_type", "grant type not supported")

    @staticmethod
    def client_credentials(request: Request) -> tuple[str, str]:
        """client_id/secret from the form, or from HTTP Basic as Salesforce also accepts."""
        if request.authorization and request.authorization.type == "basic":
            return request.authorization.username or "", request.authorization.password or ""
        return request.form.get("client_id", ""), request.form.get("client_secret", "")

    @staticmethod
    def check_client(client_id: str, client_secret: str, secret_required: bool = True) -> None:
        if client_id != CLIENT_ID:
            raise OAuthError("invalid_client_id", "client identifier invalid")
        if (secret_required or client_secret) and not hmac.compare_digest(
            client_secret, CLIENT_SECRET
        ):
            raise OAuthError("invalid_client", "invalid client credentials")

    def jwt_bearer(self, assertion: str, base_url: str) -> dict:
        try:
            claims: dict[str, Any] = jwt.decode(
                assertion,
                self.store.get_meta("jwt_public_key"),
                algorithms=["RS256"],
                options={"verify_aud": False, "require": ["iss", "sub", "aud", "exp"]},
            )
        except jwt.ExpiredSignatureError:
            raise OAuthError("invalid_grant", "expired authorization code") from None
        except jwt.InvalidTokenError:
            raise OAuthError("invalid_grant", "invalid assertion") from None
        if claims["iss"] != CLIENT_ID:
            raise OAuthError("invalid_client_id", "client identifier invalid")
        audiences = claims["aud"] if isinstance(claims["aud"], list) else [claims["aud"]]
        allowed = {*LOGIN_AUDIENCES, base_url, base_url.replace("127.0.0.1", "localhost")}
        if not allowed.intersection(a.rstrip("/") for a in audiences):
            raise OAuthError("invalid_grant", "audience is invalid")
        if claims["sub"] not in USERNAMES:
            raise OAuthError("invalid_grant", "user hasn't approved this consumer")
        return self.issue(base_url, claims["sub"], False, "api")
