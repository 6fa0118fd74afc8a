"""`POST /hooks/<pair>/<token>/`: stored before acknowledged, never twice, never lost."""

import json
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from django.db import connection

from flows.base import Flow, Step
from flows.models import FlowConfig, InboundEvent, SyncRun
from flows.queue_rows import enqueue
from flows.registry import FLOWS
from tests.factories import IntegrationPairFactory

pytestmark = pytest.mark.django_db

FIXTURES = Path(__file__).parents[2] / "integration/connectors/fixtures/streak"
STAGE_CHANGE = (FIXTURES / "box_change_stage.json").read_bytes()


@pytest.fixture
def pair(monkeypatch):
    flow = Flow(
        name="test_won",
        label="Test",
        description="Wants every stage change.",
        steps=(Step("noop", lambda ctx: {}),),
        accepts=lambda config, event: event.kind == "BOX_CHANGE_STAGE",
    )
    monkeypatch.setitem(FLOWS, flow.name, flow)
    queued = []
    monkeypatch.setattr("flows.intake.enqueue", queued.append)
    pair = IntegrationPairFactory()
    pair.token = pair.rotate_webhook_token()
    pair.save()
    pair.queued = queued
    FlowConfig.objects.update_or_create(pair=pair, flow="test_won", defaults={"enabled": True})[0]
    return pair


def hook(pair, token=None, event="BOX_CHANGE_STAGE") -> str:
    return f"/hooks/{pair.slug}/{token or pair.token}/?event={event}"


def test_a_delivery_is_stored_and_starts_a_run(client, pair):
    response = client.post(hook(pair), STAGE_CHANGE, content_type="application/json")
    assert response.status_code == 200
    event = InboundEvent.objects.get()
    assert event.status == "accepted" and event.kind == "BOX_CHANGE_STAGE"
    run = SyncRun.objects.get()
    assert run.event == event and run.status == "pending"
    assert run.entity_key == event.entity_key
    assert pair.queued == [run.pk]


def test_a_redelivery_answers_200_and_creates_nothing(client, pair):
    for _ in range(5):
        response = client.post(hook(pair), STAGE_CHANGE, content_type="application/json")
        assert response.status_code == 200
    assert InboundEvent.objects.count() == 1 and SyncRun.objects.count() == 1


@pytest.mark.django_db(transaction=True)  # the view's own transaction, not a test's savepoint
def test_event_run_and_queue_row_commit_together_before_the_200(client, pair, monkeypatch):
    monkeypatch.setattr("flows.intake.enqueue", enqueue)  # the real queue row this time
    log: list[tuple[str, bool]] = []

    def record(execute, sql, params, many, context):
        log.append((sql, connection.in_atomic_block))
        return execute(sql, params, many, context)

    commit = connection.commit
    monkeypatch.setattr(connection, "commit", lambda: (log.append(("COMMIT", False)), commit()))
    with connection.execute_wrapper(record):
        response = client.post(hook(pair), STAGE_CHANGE, content_type="application/json")
    assert response.status_code == 200
    tables = ('"flows_inboundevent"', '"flows_syncrun"', '"django_q_ormq"')
    inserts = [
        next(i for i, (sql, _) in enumerate(log) if sql.startswith(f"INSERT INTO {table}"))
        for table in tables
    ]
    assert all(log[i][1] for i in inserts)  # each inside the transaction
    first, last = min(inserts), max(inserts)
    assert ("COMMIT", False) not in log[first:last]
    assert ("COMMIT", False) in log[last:]


def test_a_batch_stores_its_new_events_and_skips_the_ones_stored_before(client, pair):
    client.post(hook(pair), STAGE_CHANGE, content_type="application/json")
    [box] = json.loads(STAGE_CHANGE)
    later = box | {"lastUpdatedTimestamp": box["lastUpdatedTimestamp"] + 1}
    batch = json.dumps([box, later, later])
    response = client.post(hook(pair), batch, content_type="application/json")
    assert response.status_code == 200
    assert InboundEvent.objects.count() == 2 and SyncRun.objects.count() == 2
    assert len(pair.queued) == 2


@pytest.mark.parametrize("wrong", ["token", "pair", "path"])
def test_wrong_token_unknown_pair_or_path_is_404_without_detail(client, pair, wrong):
    url = {
        "token": hook(pair, token="nope"),
        "pair": f"/hooks/other/{pair.token}/",
        "path": f"/hooks/{pair.slug}/{pair.token}",  # no trailing slash: no redirect either
    }[wrong]
    response = client.post(url, STAGE_CHANGE, content_type="application/json")
    assert response.status_code == 404
    assert response.content == b"Not found"
    assert not InboundEvent.objects.exists()


def test_a_body_over_one_mebibyte_is_413_and_kept_as_invalid_without_it(client, pair):
    body = b"[" + b" " * (1024 * 1024) + b"]"
    response = client.post(hook(pair), body, content_type="application/json")
    assert response.status_code == 413
    kept = InboundEvent.objects.get()
    assert (kept.status, kept.raw_body) == ("invalid", "")
    assert kept.error == "Body over 1048576 bytes. The body is not kept."
    assert not SyncRun.objects.exists()


def test_an_unreadable_body_is_400_with_the_reason_and_kept_without_a_run(client, pair):
    response = client.post(hook(pair), b'{"not": "a list"}', content_type="application/json")
    assert response.status_code == 400
    assert "expected a JSON array" in response.content.decode()
    kept = InboundEvent.objects.get()
    assert kept.status == "invalid" and kept.raw_body == '{"not": "a list"}'
    assert not SyncRun.objects.exists()


def test_an_event_no_flow_wants_is_kept_as_ignored(client, pair):
    FlowConfig.objects.update(enabled=False)
    response = client.post(hook(pair), STAGE_CHANGE, content_type="application/json")
    assert response.status_code == 200
    assert InboundEvent.objects.get().status == "ignored"
    assert not SyncRun.objects.exists()


def test_the_short_way_through_the_middleware_keeps_host_checks_and_security_headers(client, pair):
    reply = client.post(hook(pair), STAGE_CHANGE, content_type="application/json")
    assert reply.headers["X-Content-Type-Options"] == "nosniff"
    assert "Set-Cookie" not in reply.headers
    elsewhere = client.post(
        hook(pair), STAGE_CHANGE, content_type="application/json", HTTP_HOST="evil.example"
    )
    assert elsewhere.status_code == 400
    assert InboundEvent.objects.count() == 1


def test_get_is_not_allowed(client, pair):
    assert client.get(hook(pair)).status_code == 405


def test_unreadable_deliveries_are_all_kept_without_a_key_and_readable_ones_still_deduplicated(
    client, pair
):
    for body in (b"not json", b"not json", b"[]"):
        response = client.post(hook(pair), body, content_type="application/json")
        assert response.status_code == 400
    for _ in range(2):
        client.post(hook(pair), STAGE_CHANGE, content_type="application/json")
    kept = InboundEvent.objects.filter(status="invalid")
    assert kept.count() == 3 and set(kept.values_list("dedupe_key", flat=True)) == {""}
    assert InboundEvent.objects.exclude(status="invalid").count() == 1
    assert SyncRun.objects.count() == 1


def test_a_switched_off_flow_and_a_new_token_count_from_the_next_delivery(client, pair):
    [box] = json.loads(STAGE_CHANGE)
    first, second = (
        json.dumps([box | {"lastUpdatedTimestamp": box["lastUpdatedTimestamp"] + n}])
        for n in (1, 2)
    )
    assert client.post(hook(pair), first, content_type="application/json").status_code == 200
    FlowConfig.objects.update(enabled=False)
    old_token, new_token = pair.token, pair.rotate_webhook_token()
    pair.save()
    stale = client.post(hook(pair, old_token), second, content_type="application/json")
    assert stale.status_code == 404
    fresh = client.post(hook(pair, new_token), second, content_type="application/json")
    assert fresh.status_code == 200
    assert list(InboundEvent.objects.order_by("pk").values_list("status", flat=True)) == [
        "accepted",
        "ignored",
    ]
    assert SyncRun.objects.count() == 1


def test_deliveries_are_taken_in_without_reading_the_crms_credentials(client, pair, settings):
    """Keys that no longer decrypt the CRM's secrets stop its runs, not its deliveries."""
    settings.CLARITY_ENCRYPTION_KEYS = [Fernet.generate_key().decode()]
    response = client.post(hook(pair), STAGE_CHANGE, content_type="application/json")
    assert response.status_code == 200
    assert SyncRun.objects.get().event == InboundEvent.objects.get()
