"""A Sage 100 outage as ops staff live it, with real workers (`manage.py run_workers`): won
deals keep arriving while Sage's bridge answers 503; within a minute the dashboard and the
pair's page say which system is out since when and how many deals wait, an outage alert is
raised, each deal's owner is told once on the Streak box; when Sage answers again the deals
go through, the connection is OK and the banner is gone, and the return is alerted too."""

from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from connectors.models import Connection
from connectors.services import connector_for
from flows.models import SyncRun
from monitoring.alerts.evaluation import evaluate
from monitoring.models import AlertChannel, AlertIncident, AlertRule
from tests import won_deals as shared
from tests.reliability.conftest import GOOD_DEALS, start_cluster, wait_for  # noqa: F401

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

DEALS = 3
WITHIN = 60_000  # ms: the banner and the count of waiting deals show within a minute
# Retries every second or so, and enough of them that no run gives up during the outage.
WORKERS = {"CLARITY_RETRY_BASE_SECONDS": "1", "CLARITY_RETRY_CAP_SECONDS": "2",
           "CLARITY_MAX_ATTEMPTS": "100"}  # fmt: skip


def told_unreachable(streak, key: str) -> list[str]:
    return [
        comment["message"]
        for comment in streak.search("Comment", box_key=key)
        if "is unreachable" in comment["message"]
    ]


def test_a_sage_outage_shows_on_the_dashboard_alerts_and_clears_when_sage_is_back(
    page: Page, live_server, users, login, screenshot, client, start_cluster,  # noqa: F811
    streak_sandbox, sage100_sandbox, sage100_pair, sage,
):  # fmt: skip
    pair, token = sage100_pair
    Connection.objects.filter(pk=pair.erp_id).update(name="ABC Distribution")
    channel = AlertChannel.objects.create(
        name="Ops mailbox", kind="email", settings={"recipients": ["ops@example.com"]}
    )
    rule = AlertRule.objects.create(name="Systems out", kind=AlertRule.Kind.OUTAGE)
    rule.channels.add(channel)
    shared.set_faults(sage100_sandbox, outage=True)
    start_cluster(**WORKERS)
    boxes = []
    for number in range(DEALS):
        box = shared.won_clone(streak_sandbox, GOOD_DEALS[number], f"OUT-{number:03d}")
        assert shared.deliver_streak(client, pair, token, box).status_code == 200
        boxes.append(box["key"])

    login("operator")
    banner = page.locator(".outage-banner")
    expect(banner).to_contain_text("Sage 100 (ABC Distribution) unreachable since", timeout=WITHIN)
    expect(banner).to_contain_text(f"{DEALS} deals waiting to retry", timeout=WITHIN)
    screenshot("outage_dashboard.png")
    page.goto(f"{live_server.url}{pair.get_absolute_url()}")
    expect(banner).to_contain_text(f"{DEALS} deals waiting to retry")
    screenshot("outage_pair.png")
    banner.get_by_role("link", name=f"{DEALS} deals waiting to retry").click()
    page.wait_for_url(f"{live_server.url}/errors/")

    erp = Connection.objects.get(pk=pair.erp_id)
    assert erp.status == Connection.Status.FAILING and erp.unreachable_since is not None
    evaluate(timezone.now() + timedelta(minutes=2))  # the outage has lasted a minute by then
    [outage] = AlertIncident.objects.filter(rule=rule, key__startswith="outage:")
    assert outage.subject.startswith("Sage 100 (ABC Distribution) unreachable since ")
    assert outage.notified_at is not None
    streak = connector_for(pair.crm)
    assert wait_for(lambda: all(told_unreachable(streak, key) for key in boxes), 30)
    assert not any(shared.orders_for(sage, f"OUT-{number:03d}") for number in range(DEALS))

    shared.set_faults(sage100_sandbox)
    statuses = SyncRun.objects.filter(pair=pair).values_list("status", flat=True)
    assert wait_for(lambda: set(statuses.all()) == {SyncRun.Status.SUCCEEDED}, 60, sweeping=True)
    erp.refresh_from_db()
    assert (erp.status, erp.unreachable_since) == (Connection.Status.OK, None)
    page.goto(f"{live_server.url}/dashboard/")
    expect(page.locator(".pair-card")).to_be_visible()
    expect(banner).to_have_count(0)
    evaluate(timezone.now() + timedelta(minutes=3))
    back = AlertIncident.objects.get(rule=rule, key__startswith="back:")
    assert back.subject.startswith("Sage 100 (ABC Distribution) answers again after ")
    assert back.notified_at is not None
    for key in boxes:
        assert len(told_unreachable(streak, key)) == 1, key  # once, however many attempts
    for number in range(DEALS):
        assert len(shared.orders_for(sage, f"OUT-{number:03d}")) == 1
