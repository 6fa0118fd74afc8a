"""/healthz says the process lives; /readyz says whether this instance can do its work."""

import threading
from datetime import timedelta

import pytest
from django.utils import timezone
from django_q.models import Schedule
from django_q.signals import post_spawn

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
    assert "run_workers" in response.json()["reason"]


def test_readyz_is_200_after_a_heartbeat_and_503_once_it_is_stale(client):
    record_worker_heartbeat()
    assert client.get("/readyz").status_code == 200
    WorkerHeartbeat.objects.update(last_seen=timezone.now() - timedelta(minutes=5))
    assert client.get("/readyz").status_code == 503


def test_a_worker_process_starts_beating_when_it_spawns(monkeypatch):
    """Each worker of a cluster beats from a thread of its own (tests/reliability/
    test_workers.py shows the beats keep /readyz at 200 under a real cluster, and stop with
    it); a process that runs a task inline (django-q2's sync mode) is no worker."""
    started = threading.Event()
    monkeypatch.setattr("clarity.health.start_beating", started.set)
    post_spawn.send(sender="django_q", proc_name="MainProcess")  # a task run inline
    assert not started.is_set()

    monkeypatch.setattr("multiprocessing.parent_process", lambda: "the cluster's sentinel")
    post_spawn.send(sender="django_q", proc_name="Process-1")
    assert started.is_set()
    assert not Schedule.objects.filter(name="Worker heartbeat").exists()  # no longer a task
