"""The audit log page: who changed what, credentials without values, actions, filters."""

from datetime import timedelta

import pytest
from auditlog.context import set_actor
from auditlog.models import LogEntry
from django.urls import reverse
from django.utils import timezone

from clarity.audit import record_action
from connectors.models import Connection
from tests.factories import IntegrationPairFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def pair():
    return IntegrationPairFactory(name="Acme pair", crm__name="Acme Streak")


def test_a_credential_change_shows_who_and_that_it_changed_never_the_value(client, users, pair):
    connection = Connection.objects.get(pk=pair.crm_id)
    with set_actor(users["admin"]):
        connection.set_secrets({"api_key": "brand-new-secret-key-42"})
        connection.save()
    client.force_login(users["viewer"])
    page = client.get(reverse("audit-log")).content.decode()
    assert "brand-new-secret-key-42" not in page
    assert "streak-key-for-tests" not in page
    assert "Credentials" in page and "changed (value never shown)" in page
    assert "admin" in page and "Acme Streak" in page


def test_a_configuration_change_shows_old_and_new_values(client, users, pair):
    with set_actor(users["admin"]):
        pair.base_currency = "EUR"
        pair.save()
    client.force_login(users["viewer"])
    page = client.get(reverse("audit-log")).content.decode()
    assert "USD" in page and "EUR" in page and "base_currency" in page


def test_recorded_actions_appear_with_their_detail(client, users, pair):
    config = pair.flows.first()
    record_action(users["operator"], config, "retried", "Retry from the failed step")
    client.force_login(users["viewer"])
    page = client.get(reverse("audit-log"), {"user": "operator"}).content.decode()
    assert "Retried" in page and "Retry from the failed step" in page


def test_filters_by_user_model_object_and_date(client, users, pair):
    with set_actor(users["admin"]):
        pair.base_currency = "EUR"
        pair.save()
    record_action(users["operator"], pair, "paused", "Paused from the pair page")
    old = record_action(users["operator"], pair, "resumed", "")
    LogEntry.objects.filter(pk=old.pk).update(timestamp=timezone.now() - timedelta(days=10))
    client.force_login(users["admin"])

    def shown(**params) -> set[int]:
        return {
            entry.pk for entry in client.get(reverse("audit-log"), params).context["object_list"]
        }

    operator_entries = shown(user="operator")
    assert len(operator_entries) == 2
    assert all(LogEntry.objects.get(pk=pk).actor == users["operator"] for pk in operator_entries)
    pair_type = LogEntry.objects.get(pk=old.pk).content_type_id
    assert all(
        LogEntry.objects.get(pk=pk).content_type_id == pair_type for pk in shown(model=pair_type)
    )
    assert shown(object="Acme Streak") and not shown(object="no such thing")
    since = (timezone.now() - timedelta(days=2)).date().isoformat()
    assert old.pk not in shown(since=since) and old.pk in shown(user="operator", until="2099-01-01")


def test_the_log_is_paginated(client, users, pair):
    for n in range(55):
        record_action(users["operator"], pair, "paused", f"pause {n}")
    client.force_login(users["viewer"])
    first = client.get(reverse("audit-log"), {"user": "operator"})
    assert len(first.context["object_list"]) == 50
    second = client.get(reverse("audit-log"), {"user": "operator", "page": 2})
    assert len(second.context["object_list"]) == 5
    assert "user=operator&amp;page=2" in first.content.decode()


def test_anonymous_visitors_are_sent_to_log_in(client):
    assert client.get(reverse("audit-log")).status_code == 302
