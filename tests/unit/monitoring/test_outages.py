"""A system that does not answer, as people are told of it: the banner on the dashboard and
the pair's page (with the deals waiting to retry), and the outage rule's alerts, once the
outage lasted a minute and again when the system is back."""

from datetime import timedelta

import pytest
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from connectors.models import Connection
from flows.models import FlowConfig, SyncRun
from monitoring.alerts.evaluation import evaluate
from monitoring.models import AlertChannel, AlertDelivery, AlertIncident, AlertRule
from tests.factories import IntegrationPairFactory

# The outbox's worker task runs at once, in this process: email alerts land in mail.outbox.
pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("runs_inline")]
Status = SyncRun.Status


@pytest.fixture
def pair():
    return IntegrationPairFactory(name="Acme Streak → Sage 100", erp__name="ABC Distribution")


def run_of(pair, flow: str, key: str, status: str = Status.RETRY_SCHEDULED) -> SyncRun:
    return SyncRun.objects.create(
        flow_config=FlowConfig.objects.get(pair=pair, flow=flow), pair=pair, entity_key=key,
        status=status, attempt=2, error_class="TransientError",
        error_message="The Sage 100 bridge did not answer (503)",
    )  # fmt: skip


def out(connection: Connection, minutes: float, error: str = "bridge answered 503") -> None:
    since = timezone.now() - timedelta(minutes=minutes)
    Connection.objects.filter(pk=connection.pk).update(
        status=Connection.Status.FAILING, unreachable_since=since, last_error=error,
        failing_call="deal_won_to_sales_order.sales_order",
    )  # fmt: skip


def back(connection: Connection) -> None:
    Connection.objects.filter(pk=connection.pk).update(
        status=Connection.Status.OK, unreachable_since=None, failing_call="", last_error="",
        last_success_at=timezone.now(),
    )  # fmt: skip


def banners(client, url: str) -> list[str]:
    html = client.get(url).content.decode()
    return [
        part.split("</div>")[0]
        for part in html.split('class="flash flash-error outage-banner"')[1:]
    ]


def test_the_dashboard_says_which_system_is_out_since_when_and_how_many_deals_wait(
    client, users, pair
):
    for key in ("box-1", "box-2"):
        run_of(pair, "deal_won_to_sales_order", key)
    run_of(pair, "deal_won_to_sales_order", "box-2", status=Status.PENDING)  # behind box-2's run
    run_of(pair, "order_status_to_crm", "order:0000217")
    run_of(pair, "deal_won_to_sales_order", "box-3", status=Status.FAILED)  # not waiting
    out(pair.erp, minutes=3)
    since = timezone.localtime(Connection.objects.get(pk=pair.erp.pk).unreachable_since)
    client.force_login(users["viewer"])

    [banner] = banners(client, reverse("dashboard"))
    assert "Sage 100 (ABC Distribution) unreachable since <time" in banner
    assert f">{since:%H:%M} {since.tzname()}</time>" in banner
    assert f'<a href="{reverse("error-queue")}" data-outage-waiting>' in banner
    assert "2 deals and 1 other run waiting to retry</a>" in banner
    assert "Last error: bridge answered 503" in banner
    assert banners(client, reverse("dashboard-cards")) == [banner]  # what the page polls


def test_the_pair_page_shows_its_own_systems_and_runs_only(client, users, pair):
    other = IntegrationPairFactory(name="Another pair", erp=pair.erp)
    run_of(pair, "deal_won_to_sales_order", "box-1")
    run_of(other, "deal_won_to_sales_order", "box-9")
    unrelated = IntegrationPairFactory(name="Unrelated")
    out(pair.erp, minutes=1)
    client.force_login(users["viewer"])

    [banner] = banners(client, reverse("pair-detail", args=[pair.slug]))
    assert "1 deal waiting to retry" in banner
    assert banners(client, reverse("pair-detail", args=[unrelated.slug])) == []
    [everywhere] = banners(client, reverse("dashboard"))
    assert "2 deals waiting to retry" in everywhere


def test_no_banner_once_the_system_answers_again(client, users, pair):
    out(pair.erp, minutes=3)
    back(pair.erp)
    client.force_login(users["viewer"])
    assert banners(client, reverse("dashboard")) == []


@pytest.fixture
def rule() -> AlertRule:
    channel = AlertChannel.objects.create(
        name="Ops mailbox", kind="email", settings={"recipients": ["ops@example.com"]}
    )
    rule = AlertRule.objects.create(
        name="Systems out", kind=AlertRule.Kind.OUTAGE, throttle_minutes=30,
        created_at=timezone.now() - timedelta(hours=1),
    )  # fmt: skip
    rule.channels.add(channel)
    return rule


def test_an_outage_alerts_once_after_a_minute_and_its_end_at_once_despite_the_throttle(rule, pair):
    run_of(pair, "deal_won_to_sales_order", "box-1")
    out(pair.erp, minutes=0.2)
    evaluate()
    assert not AlertIncident.objects.exists()  # a blip is not news

    out(pair.erp, minutes=2)
    evaluate()
    evaluate()
    [outage] = AlertIncident.objects.all()
    assert outage.subject.startswith("Sage 100 (ABC Distribution) unreachable since ")
    assert outage.subject.endswith(" — 1 deal waiting to retry")
    assert "Last error: bridge answered 503" in outage.body
    assert outage.url == reverse("error-queue")
    [sent] = mail.outbox
    assert sent.subject.endswith(outage.subject)

    back(pair.erp)
    evaluate()
    evaluate()
    returned = AlertIncident.objects.exclude(pk=outage.pk).get()
    assert returned.subject == "Sage 100 (ABC Distribution) answers again after 2 min unreachable"
    assert [message.subject.split("] ")[1] for message in mail.outbox] == [
        outage.subject, returned.subject
    ]  # fmt: skip
    outage.refresh_from_db()
    assert outage.resolved_at is not None


def test_a_relapse_within_the_throttle_window_is_held_for_the_digest(rule, pair):
    out(pair.erp, minutes=2)
    evaluate()
    back(pair.erp)
    evaluate()
    out(pair.erp, minutes=1.5)  # out again
    evaluate()

    assert AlertIncident.objects.filter(key__startswith="outage:").count() == 2
    assert AlertDelivery.objects.count() == 2  # the first outage and its end; the relapse waits
    held = AlertIncident.objects.filter(notified_at__isnull=True).get()
    assert held.key.startswith("outage:") and held.resolved_at is None
