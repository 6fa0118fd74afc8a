"""/healthz says the process lives; /readyz says whether this instance can do its work."""

from datetime import timedelta

import pytest
from django.utils import timezone

from clarity.health import record_worker_heartbeat
from clarity.models import WorkerHeartbeat

pytestmark = pytest.mark.django_db


def test_healthz_answers_without_login(client):
    response = client.get("/healthz")
    assert response.status_code == 200 and response.json() == {"status": "ok"}


def test_readyz_is_503_with_the_reason_when_no_worker_was_seen(client):
    response = client.get("/readyz")
    assert response.status_code == 503
    assert "no worker seen" in response.json()["reason"]
    assert "qcluster" in response.json()["reason"]


def test_readyz_is_200_after_a_heartbeat_and_503_once_it_is_stale(client):
    record_worker_heartbeat()
    assert client.get("/readyz").status_code == 200
    WorkerHeartbeat.objects.update(last_seen=timezone.now() - timedelta(minutes=5))
    assert client.get("/readyz").status_code == 503


def test_heartbeat_schedule_exists_after_migrate():
    from django_q.models import Schedule

    schedule = Schedule.objects.get(name="Worker heartbeat")
    assert schedule.func == "clarity.health.record_worker_heartbeat"
    assert schedule.minutes == 1 and schedule.repeats == -1
