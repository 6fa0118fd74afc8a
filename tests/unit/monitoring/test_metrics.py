"""/metrics: Prometheus text that parses and agrees with the database."""

from datetime import timedelta

import pytest
from django.utils import timezone
from django_q.models import OrmQ

from flows.models import Approval, FlowConfig, RunStep, SyncRun
from tests.factories import IntegrationPairFactory
from tests.prometheus import parse, scrape

pytestmark = pytest.mark.django_db

Status = SyncRun.Status


@pytest.fixture
def pair():
    return IntegrationPairFactory(name="Acme Streak to Sage")


def make_run(pair, status: str, **fields) -> SyncRun:
    config = FlowConfig.objects.get(pair=pair, flow="deal_won_to_sales_order")
    return SyncRun.objects.create(
        flow_config=config, pair=pair, entity_key="box", status=status, **fields
    )


def test_metrics_parse_and_match_the_database(client, pair):
    for status in (Status.SUCCEEDED, Status.SUCCEEDED, Status.FAILED, Status.PENDING):
        make_run(pair, status)
    SyncRun.objects.filter(status=Status.PENDING).update(
        created_at=timezone.now() - timedelta(seconds=90)
    )
    run = make_run(pair, Status.AWAITING_APPROVAL)
    Approval.objects.create(run=run, amount=20000, currency="USD", base_amount=20000,
                            base_currency="USD", reason="Over")  # fmt: skip
    now = timezone.now()
    for duration_ms in (40, 300, 2000):
        RunStep.objects.create(
            run=run, attempt=1, order=1, name="create_order", status="succeeded",
            duration_ms=duration_ms, started_at=now,
        )  # fmt: skip
    queued = OrmQ.objects.count()
    # A retry due in a minute waits in the queue too, but is not part of its depth.
    OrmQ.objects.create(key="clarity", payload="-", lock=now + timedelta(minutes=1))

    response = scrape(client)
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain; version=0.0.4")
    samples = parse(response.content.decode())

    def runs(status: str) -> float:
        labels = {("pair", pair.slug), ("flow", "deal_won_to_sales_order"), ("status", status)}
        return samples.get(("clarity_runs", frozenset(labels)), 0)

    assert runs("succeeded") == 2 and runs("failed") == 1 and runs("pending") == 1
    assert runs("awaiting_approval") == 1 and runs("dead") == 0
    step = ("step", "create_order")
    histogram = "clarity_step_duration_seconds"
    assert samples[(f"{histogram}_count", frozenset({step}))] == 3
    assert samples[(f"{histogram}_sum", frozenset({step}))] == pytest.approx(2.34)
    assert samples[(f"{histogram}_bucket", frozenset({step, ("le", "0.05")}))] == 1
    assert samples[(f"{histogram}_bucket", frozenset({step, ("le", "0.5")}))] == 2
    assert samples[(f"{histogram}_bucket", frozenset({step, ("le", "+Inf")}))] == 3
    assert samples[("clarity_queue_depth", frozenset())] == queued
    assert 89 <= samples[("clarity_inbox_lag_seconds", frozenset())] < 150
    assert samples[("clarity_approvals_pending", frozenset({("pair", pair.slug)}))] == 1


def test_an_empty_database_still_gives_valid_metrics(client):
    samples = parse(scrape(client).content.decode())
    assert samples[("clarity_inbox_lag_seconds", frozenset())] == 0


def test_a_metrics_token_is_required_when_configured(client, settings):
    settings.CLARITY_METRICS_TOKEN = "scrape-me"
    assert client.get("/metrics").status_code == 401
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer wrong").status_code == 401
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer scrape-me").status_code == 200
