"""Salesforce is asked for a token with no transaction open: while the token endpoint
answers, every other writer of the product (webhooks, runs) goes on writing. Workers
renewing at once still ask once: the others wait for the token the first one stores."""

import threading
import time

import pytest
from django.db import connection

from connectors.models import Connection
from connectors.salesforce.client import RENEWING, TOKEN_SECRET
from connectors.salesforce.connector import SalesforceConnector
from connectors.salesforce.oauth import TOKEN_PATH
from tests.integration.sandbox.salesforce_client import control
from tests.integration.write_lock import watch_writes

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(connection.vendor != "sqlite", reason="SQLite's one write lock"),
]


def asks_for_a_token(path: str) -> bool:
    return path == TOKEN_PATH


def test_the_database_takes_writes_while_salesforce_renews_the_token(
    monkeypatch, connector, salesforce_sandbox
):
    seen = watch_writes(monkeypatch, salesforce_sandbox.app, asks_for_a_token)
    first = connector.sample("Account", 1)[0]  # the first token
    control(salesforce_sandbox, "expire_sessions")
    assert connector.get("Account", first["Id"])["Id"] == first["Id"]  # renewed after a 401

    assert len(seen) == 2, f"{len(seen)} token requests, not the first and one renewal"
    assert all(seen), f"the database was locked during {seen.count(False)} token requests"
    stored = Connection.objects.get(pk=connector.connection.pk).secrets
    assert RENEWING not in stored, "the renewal's claim was left on the connection"


def test_a_worker_renewing_meanwhile_waits_for_the_token_instead_of_asking(
    monkeypatch, connector, salesforce_sandbox
):
    app, dispatch = salesforce_sandbox.app, salesforce_sandbox.app.dispatch
    other = SalesforceConnector(Connection.objects.get(pk=connector.connection.pk))
    found: list[int] = []

    def other_worker() -> None:
        try:
            found.extend(row["Id"] for row in other.sample("Account", 1))
        finally:
            connection.close()

    def answering(request):
        if asks_for_a_token(request.path) and not found:
            worker = threading.Thread(target=other_worker)
            worker.start()  # it asks for a token while this request is being answered
            time.sleep(0.5)
            answering.worker = worker
        return dispatch(request)

    monkeypatch.setattr(app, "dispatch", answering)
    assert connector.sample("Account", 1)
    answering.worker.join(timeout=30)

    assert found, "the other worker got no answer"
    assert other.client.oauth.http.calls == 0, "the other worker asked for a token too"
    token = Connection.objects.get(pk=connector.connection.pk).secrets[TOKEN_SECRET]
    assert other.client.connection.secrets[TOKEN_SECRET] == token
