"""Real clients of the Salesforce sandbox for tests: a TLS session that trusts the sandbox's
certificate, a client-credentials token, simple-salesforce in direct mode, the control API."""

import requests
from simple_salesforce import Salesforce

from sandbox.core.server import RunningSandbox

CLIENT = {"client_id": "sandbox-client", "client_secret": "sandbox-secret"}


def https_session(sandbox: RunningSandbox) -> requests.Session:
    """TLS verified against the sandbox's own certificate. trust_env is off because a
    REQUESTS_CA_BUNDLE in the environment would otherwise replace `verify`."""
    session = requests.Session()
    session.verify = str(sandbox.app.cert_path)
    session.trust_env = False
    return session


def client_credentials_token(sandbox: RunningSandbox) -> str:
    reply = https_session(sandbox).post(
        f"{sandbox.url}/services/oauth2/token",
        data={"grant_type": "client_credentials", **CLIENT},
        timeout=10,
    )
    assert reply.status_code == 200, reply.text
    return reply.json()["access_token"]


def connect(sandbox: RunningSandbox, session_id: str | None = None) -> Salesforce:
    """simple-salesforce in direct mode, as the connector uses it."""
    return Salesforce(
        instance_url=sandbox.url,
        session_id=session_id or client_credentials_token(sandbox),
        session=https_session(sandbox),
    )


def control(sandbox: RunningSandbox, path: str, payload: dict | None = None) -> dict:
    reply = https_session(sandbox).post(f"{sandbox.url}/_control/{path}", json=payload, timeout=10)
    assert reply.status_code == 200, reply.text
    return reply.json()
