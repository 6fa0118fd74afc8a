"""The run list's From/To range: applied to when runs were created, checked (From after
To is an error on the form), and kept in the pager and bulk-retry links."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from flows.models import SyncRun
from tests.factories import IntegrationPairFactory

pytestmark = pytest.mark.django_db
Status = SyncRun.Status


@pytest.fixture
def make_run():
    pair = IntegrationPairFactory(name="Acme Streak → Sage 100")
    config = pair.flows.get(flow="deal_won_to_sales_order")

    def make(status: str, key: str) -> SyncRun:
        return SyncRun.objects.create(flow_config=config, pair=pair, entity_key=key, status=status)

    return make


def test_runs_filter_by_a_time_range_kept_in_page_and_retry_links(client, users, make_run):
    now = timezone.now().replace(second=0, microsecond=0)
    for hours_ago, key in ((50, "old"), (26, "yesterday"), (1, "recent")):
        run = make_run(Status.FAILED, key)
        SyncRun.objects.filter(pk=run.pk).update(created_at=now - timedelta(hours=hours_ago))
    SyncRun.objects.bulk_create(
        SyncRun(flow_config=run.flow_config, pair=run.pair, entity_key=f"box-{n}")
        for n in range(50)
    )
    client.force_login(users["operator"])

    def picker(moment) -> str:
        return timezone.localtime(moment).strftime("%Y-%m-%dT%H:%M")

    def keys(**query) -> set[str]:
        return {run.entity_key for run in client.get(reverse("run-list"), query).context["page"]}

    day_ago, hour_ago = picker(now - timedelta(hours=24)), picker(now - timedelta(hours=1))
    assert keys(since=picker(now - timedelta(hours=30)), until=day_ago) == {"yesterday"}
    assert keys(until=hour_ago, status="failed") == {"old", "yesterday", "recent"}
    assert keys(since=day_ago, status="failed") == {"recent"}

    html = client.get(reverse("run-list"), {"since": day_ago}).content.decode()
    assert f"since={day_ago.replace(':', '%3A')}&amp;page=2" in html  # the pager keeps it
    assert f'name="next" value="/runs/?since={day_ago.replace(":", "%3A")}"' in html

    three_days_ago = picker(now - timedelta(days=3))
    reply = client.get(reverse("run-list"), {"since": day_ago, "until": three_days_ago})
    text = reply.content.decode()
    assert "“To” is before “From”" in text and "Correct the filter above" in text
    assert not reply.context["page"].object_list
