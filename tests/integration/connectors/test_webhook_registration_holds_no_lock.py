"""Registering a pair's webhook asks the CRM with no transaction open: while the CRM lists,
deletes and creates webhooks, every other writer of the product (other webhooks, runs)
goes on writing."""

import pytest
from django.db import connection

from connectors.models import IntegrationPair
from connectors.services import register_pair_webhook
from tests import won_deals as shared
from tests.factories import IntegrationPairFactory
from tests.integration.write_lock import watch_writes

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(connection.vendor != "sqlite", reason="SQLite's one write lock"),
]


def test_the_database_takes_writes_while_streak_registers_the_webhook(
    monkeypatch, settings, streak_sandbox
):
    settings.CLARITY_PUBLIC_URL = "https://clarity.example.com"
    pair = IntegrationPairFactory(name="Acme deals", crm=shared.streak_connection(streak_sandbox))
    register_pair_webhook(pair)  # a first registration: the second replaces it
    app = streak_sandbox.app
    seen = watch_writes(monkeypatch, app, app.is_api)

    registered, removed = register_pair_webhook(pair)

    assert seen, "the registration asked Streak nothing"
    assert all(seen), f"the database was locked during {seen.count(False)} of the CRM's calls"
    assert registered and removed == len(registered)
    stored = IntegrationPair.objects.get(pk=pair.pk)
    token = registered[0]["targetUrl"].split("?")[0].rstrip("/").rpartition("/")[2]
    assert stored.webhook_token_matches(token), "the registered URL's token was not saved"
