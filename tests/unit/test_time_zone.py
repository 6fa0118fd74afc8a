"""One way to write a time on every page, with its zone, in the reader's own zone: set on
the Settings page, remembered for the next pages."""

from datetime import UTC, datetime

import pytest
from django.template import Context, Template
from django.urls import reverse
from django.utils import timezone

from clarity.models import UserPreference
from flows.models import SyncRun
from tests.factories import IntegrationPairFactory

pytestmark = pytest.mark.django_db
SUMMER_NOON_UTC = datetime(2025, 6, 3, 12, 5, tzinfo=UTC)


def shown(value) -> str:
    return Template("{% load moments %}{{ value|moment|default:'never' }}").render(
        Context({"value": value})
    )


def test_a_time_is_written_one_way_with_its_zone():
    assert shown(SUMMER_NOON_UTC) == "2025-06-03 12:05 UTC"
    assert shown(None) == "never"
    with timezone.override("America/New_York"):
        assert shown(SUMMER_NOON_UTC) == "2025-06-03 08:05 EDT"


def test_a_person_sets_their_zone_and_every_page_then_shows_it(client, users):
    pair = IntegrationPairFactory()
    run = SyncRun.objects.create(flow_config=pair.flows.first(), pair=pair, entity_key="box-1")
    SyncRun.objects.filter(pk=run.pk).update(created_at=SUMMER_NOON_UTC)
    client.force_login(users["operator"])
    assert "2025-06-03 12:05 UTC" in client.get(run.get_absolute_url()).content.decode()

    reply = client.post(reverse("time-zone"), {"time_zone": "Europe/Berlin"}, follow=True)

    assert "Times are shown in Europe/Berlin now." in reply.content.decode()
    assert UserPreference.objects.get(user=users["operator"]).time_zone == "Europe/Berlin"
    assert "2025-06-03 14:05 CEST" in client.get(run.get_absolute_url()).content.decode()
    client.logout()
    client.force_login(users["operator"])  # a new session reads the preference again
    assert "2025-06-03 14:05 CEST" in client.get(run.get_absolute_url()).content.decode()
    client.force_login(users["viewer"])  # someone else: the installation's zone
    assert "2025-06-03 12:05 UTC" in client.get(run.get_absolute_url()).content.decode()


def test_a_zone_not_in_the_list_is_refused(client, users):
    client.force_login(users["viewer"])

    reply = client.post(reverse("time-zone"), {"time_zone": "Mars/Olympus"}, follow=True)

    assert "Pick a time zone from the list." in reply.content.decode()
    assert not UserPreference.objects.exists()


def test_the_api_docs_describe_the_api_as_it_is(client, users):
    client.force_login(users["viewer"])

    schema = client.get(reverse("schema"), {"format": "json"}).json()

    description = schema["info"]["description"]
    assert "(later)" not in description
    for part in ("runs", "approvals", "mappings", "lookup tables", "Authorization: Token"):
        assert part in description
