"""The audit log tells a change of a flow's options key by key, in words, not as JSON."""

import pytest
from auditlog.context import set_actor
from django.urls import reverse

from flows.models import FlowConfig
from monitoring.views.audit import key_changes
from tests.factories import IntegrationPairFactory

pytestmark = pytest.mark.django_db


def test_each_changed_option_is_its_own_line_with_old_and_new(client, users):
    pair = IntegrationPairFactory(name="Acme pair")
    config = FlowConfig.objects.get(pair=pair, flow="customer_sync")
    config.options = {"poll_interval": 60, "owners": {"phone": "crm", "email": "crm"}}
    config.save()
    with set_actor(users["admin"]):
        config.options = {"poll_interval": 120, "owners": {"phone": "sage", "email": "crm"},
                          "warehouses": ["000", "001"]}  # fmt: skip
        config.save()
    client.force_login(users["viewer"])

    page = client.get(reverse("audit-log"), {"user": "admin"}).content.decode()

    assert "Options · poll interval</strong>:" in page
    assert '<span class="muted">60</span> → 120' in page
    assert '<span class="muted">crm</span> → sage' in page
    assert "Options · owners · phone" in page and "Options · owners · email" not in page
    assert '<span class="muted">(default)</span> → 000, 001' in page
    assert "{" not in page.split("audit-table")[1]


def test_values_that_are_not_objects_are_left_whole():
    assert key_changes("USD", "EUR") is None
    assert key_changes('{"a": [1, 2]}', '{"a": [1, 2]}') == []
    assert key_changes("None", '{"enabled": true}') == [("enabled", "(default)", "yes")]
