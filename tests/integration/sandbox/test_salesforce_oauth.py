"""The Salesforce sandbox's OAuth 2.0 flows, seen from plain requests and simple-salesforce."""

import base64
import hashlib
import hmac
import time
from urllib.parse import parse_qs, urlsplit

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from simple_salesforce.exceptions import SalesforceExpiredSession

from tests.integration.sandbox.salesforce_client import (
    CLIENT,
    connect,
    control,
    https_session,
)

USERNAME = "integration@clarity-sandbox.example"


def token_request(sandbox, **form):
    return https_session(sandbox).post(
        f"{sandbox.url}/services/oauth2/token", data=form, timeout=10
    )


def assertion(sandbox, private_pem: bytes, **claims) -> str:
    payload = {"iss": "sandbox-client", "sub": USERNAME, "aud": sandbox.url,
               "exp": int(time.time()) + 180, **claims}  # fmt: skip
    return jwt.encode(payload, private_pem, algorithm="RS256")


def jwt_grant(sandbox, token: str):
    return token_request(
        sandbox, grant_type="urn:ietf:params:oauth:grant-type:jwt-bearer", assertion=token
    )


def test_client_credentials_reply_has_salesforce_shape_and_signature(salesforce_sandbox):
    reply = token_request(salesforce_sandbox, grant_type="client_credentials", **CLIENT)
    body = reply.json()
    assert reply.status_code == 200
    assert body["instance_url"] == salesforce_sandbox.url
    assert body["token_type"] == "Bearer"
    assert "refresh_token" not in body
    expected = hmac.new(
        b"sandbox-secret", (body["id"] + body["issued_at"]).encode(), hashlib.sha256
    )
    assert body["signature"] == base64.b64encode(expected.digest()).decode()
    assert connect(salesforce_sandbox, body["access_token"]).limits()["DailyApiRequests"]["Max"]


def test_wrong_secret_and_unknown_client_are_refused_with_salesforce_errors(salesforce_sandbox):
    wrong = token_request(
        salesforce_sandbox, grant_type="client_credentials", client_id="sandbox-client",
        client_secret="nope",
    )  # fmt: skip
    assert wrong.status_code == 400
    assert wrong.json() == {
        "error": "invalid_client",
        "error_description": "invalid client credentials",
    }
    unknown = token_request(
        salesforce_sandbox, grant_type="client_credentials", client_id="who", client_secret="x"
    )
    assert unknown.json()["error"] == "invalid_client_id"
    unsupported = token_request(salesforce_sandbox, grant_type="magic", **CLIENT)
    assert unsupported.json()["error"] == "unsupported_grant_type"


def test_jwt_bearer_with_the_demo_key_and_checks_on_the_claims(salesforce_sandbox):
    private_pem = salesforce_sandbox.app.jwt_private_path.read_bytes()
    reply = jwt_grant(salesforce_sandbox, assertion(salesforce_sandbox, private_pem))
    assert reply.status_code == 200, reply.text
    assert "refresh_token" not in reply.json()
    assert (
        connect(salesforce_sandbox, reply.json()["access_token"]).query(
            "SELECT COUNT() FROM Account"
        )["totalSize"]
        == 22
    )

    login_aud = assertion(salesforce_sandbox, private_pem, aud="https://login.salesforce.com")
    assert jwt_grant(salesforce_sandbox, login_aud).status_code == 200
    bad_audience = assertion(salesforce_sandbox, private_pem, aud="https://evil.example")
    assert jwt_grant(salesforce_sandbox, bad_audience).json() == {
        "error": "invalid_grant", "error_description": "audience is invalid"}  # fmt: skip
    stranger = assertion(salesforce_sandbox, private_pem, sub="nobody@example.com")
    assert jwt_grant(salesforce_sandbox, stranger).json()["error"] == "invalid_grant"
    expired = assertion(salesforce_sandbox, private_pem, exp=int(time.time()) - 60)
    assert jwt_grant(salesforce_sandbox, expired).json()["error"] == "invalid_grant"


def test_jwt_signed_by_another_key_is_refused_until_its_public_key_is_configured(
    salesforce_sandbox,
):
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    other_private = other.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )  # fmt: skip
    token = assertion(salesforce_sandbox, other_private)
    refused = jwt_grant(salesforce_sandbox, token)
    assert refused.status_code == 400
    assert refused.json() == {"error": "invalid_grant", "error_description": "invalid assertion"}
    public_pem = other.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    control(salesforce_sandbox, "settings", {"jwt_public_key": public_pem.decode()})
    try:
        assert jwt_grant(salesforce_sandbox, token).status_code == 200
    finally:
        demo_public = salesforce_sandbox.app.data_dir / "salesforce-jwt-public.pem"
        control(salesforce_sandbox, "settings", {"jwt_public_key": demo_public.read_text()})


def test_authorization_code_then_refresh_token(salesforce_sandbox):
    http = https_session(salesforce_sandbox)
    params = {"response_type": "code", "client_id": "sandbox-client", "state": "xyz",
              "redirect_uri": "http://127.0.0.1:9/callback"}  # fmt: skip
    consent = http.get(f"{salesforce_sandbox.url}/services/oauth2/authorize", params=params)
    assert consent.status_code == 200 and "Allow" in consent.text
    allowed = http.post(
        f"{salesforce_sandbox.url}/services/oauth2/authorize", data=params, allow_redirects=False
    )
    assert allowed.status_code == 302
    location = urlsplit(allowed.headers["Location"])
    query = parse_qs(location.query)
    assert location.path == "/callback" and query["state"] == ["xyz"]

    exchanged = token_request(
        salesforce_sandbox, grant_type="authorization_code", code=query["code"][0],
        redirect_uri=params["redirect_uri"], **CLIENT,
    )  # fmt: skip
    assert exchanged.status_code == 200, exchanged.text
    refresh_token = exchanged.json()["refresh_token"]
    reused = token_request(
        salesforce_sandbox, grant_type="authorization_code", code=query["code"][0],
        redirect_uri=params["redirect_uri"], **CLIENT,
    )  # fmt: skip
    assert reused.json()["error"] == "invalid_grant"

    refreshed = token_request(
        salesforce_sandbox, grant_type="refresh_token", refresh_token=refresh_token, **CLIENT
    )
    assert refreshed.status_code == 200
    assert connect(salesforce_sandbox, refreshed.json()["access_token"]).describe()["sobjects"]
    bogus = token_request(
        salesforce_sandbox, grant_type="refresh_token", refresh_token="x", **CLIENT
    )
    assert bogus.json() == {
        "error": "invalid_grant",
        "error_description": "expired access/refresh token",
    }


def test_control_endpoint_hands_out_a_working_refresh_token(salesforce_sandbox):
    refresh_token = control(salesforce_sandbox, "refresh_token")["refresh_token"]
    reply = token_request(
        salesforce_sandbox, grant_type="refresh_token", refresh_token=refresh_token,
        client_id="sandbox-client",
    )  # fmt: skip
    assert reply.status_code == 200, reply.text


def test_invalid_and_expired_sessions_answer_invalid_session_id(salesforce_sandbox):
    with pytest.raises(SalesforceExpiredSession) as bogus:
        connect(salesforce_sandbox, "00Dbogus!token").query("SELECT Id FROM Account")
    assert bogus.value.status == 401
    assert bogus.value.content[0]["errorCode"] == "INVALID_SESSION_ID"

    sf = connect(salesforce_sandbox)
    sf.query("SELECT Id FROM Account LIMIT 1")
    control(salesforce_sandbox, "expire_sessions")
    with pytest.raises(SalesforceExpiredSession) as expired:
        sf.query("SELECT Id FROM Account LIMIT 1")
    assert expired.value.content == [
        {"message": "Session expired or invalid", "errorCode": "INVALID_SESSION_ID"}
    ]
