"""Sage is asked to refresh a token with no transaction open: while the token endpoint
answers, every other writer of the product (webhooks, runs) goes on writing. The refresh
token rotates, so workers refreshing at once still spend it once: the others wait for the
pair the first one saves."""

import threading
import time
from datetime import UTC, datetime

import pytest
import requests
from django.db import connection

from connectors.errors import AuthError
from connectors.models import Connection
from connectors.sage50.connector import SageAccountingConnector
from connectors.sage50.oauth import REFRESHING
from sandbox.sage_accounting.shapes import seed_id
from tests.integration.write_lock import watch_writes

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(connection.vendor != "sqlite", reason="SQLite's one write lock"),
]

HARBOR_POINT = seed_id("contact", "Harbor Point Logistics")
TOKEN_PATH = "/oauth/token"


def expired(sage50: Connection) -> Connection:
    """The connection with its access token past its end: the next call refreshes first."""
    sage50.secrets = {**sage50.secrets, "access_token_expires_at": datetime.now(UTC).isoformat()}
    sage50.save(update_fields=["secrets"])
    return Connection.objects.get(pk=sage50.pk)


def asks_for_a_token(path: str) -> bool:
    return path == TOKEN_PATH


def test_the_database_takes_writes_while_sage_refreshes_the_token(
    monkeypatch, sage50, sage_accounting_sandbox
):
    before = dict(sage50.secrets)
    sage = SageAccountingConnector(expired(sage50))
    seen = watch_writes(monkeypatch, sage_accounting_sandbox.app, asks_for_a_token)

    assert sage.get("contacts", HARBOR_POINT)["id"] == HARBOR_POINT

    assert seen == [True], f"token requests, and whether the database took writes: {seen}"
    stored = Connection.objects.get(pk=sage50.pk).secrets
    assert stored["refresh_token"] != before["refresh_token"]  # rotated and saved
    assert REFRESHING not in stored, "the refresh's claim was left on the connection"


def test_a_worker_refreshing_meanwhile_waits_for_the_new_pair_instead_of_spending_the_old(
    monkeypatch, sage50, sage_accounting_sandbox
):
    first, second = (SageAccountingConnector(expired(sage50)) for _ in range(2))
    app, dispatch = sage_accounting_sandbox.app, sage_accounting_sandbox.app.dispatch
    asked: list[str] = []
    found: list[dict] = []

    def second_worker() -> None:
        try:
            found.append(second.get("contacts", HARBOR_POINT))
        finally:
            connection.close()

    def answering(request):
        if asks_for_a_token(request.path):
            asked.append(request.form.get("refresh_token", ""))
            if len(asked) == 1:
                answering.worker = threading.Thread(target=second_worker)
                answering.worker.start()  # it needs a token while this one is being made
                time.sleep(0.5)
        return dispatch(request)

    monkeypatch.setattr(app, "dispatch", answering)
    assert first.get("contacts", HARBOR_POINT)["id"] == HARBOR_POINT
    answering.worker.join(timeout=30)

    assert found and found[0]["id"] == HARBOR_POINT, "the second worker got no answer"
    assert len(asked) == 1, "the refresh token was spent twice"
    stored = Connection.objects.get(pk=sage50.pk)
    assert stored.status != Connection.Status.NEEDS_REAUTH
    assert second.client.tokens.connection.secrets["access_token"] == stored.secrets["access_token"]


def test_a_refused_refresh_leaves_no_claim_and_asks_for_a_reconnect(
    sage50, sage_accounting_sandbox
):
    spent = requests.post(  # someone else rotated the refresh token away
        f"{sage_accounting_sandbox.url}{TOKEN_PATH}",
        data={
            "grant_type": "refresh_token",
            "refresh_token": sage50.secrets["refresh_token"],
            "client_id": "sandbox-client",
            "client_secret": "sandbox-secret",
        },
        timeout=5,
    )
    assert spent.status_code == 200
    with pytest.raises(AuthError, match="press Connect to Sage"):
        SageAccountingConnector(expired(sage50)).get("contacts", HARBOR_POINT)
    stored = Connection.objects.get(pk=sage50.pk)
    assert stored.status == Connection.Status.NEEDS_REAUTH
    assert REFRESHING not in stored.secrets
