"""Liveness and readiness, and the worker heartbeat readiness relies on.

A worker writes its heartbeat when it starts (django-q2's post_spawn signal) and then once a
minute from a django-q2 schedule, which proves the scheduler, the broker and a worker all
run. The scheduler ticks every 30 s, so heartbeats land at most about 90 s apart; /readyz
allows CLARITY_WORKER_STALE_SECONDS (default 120).
"""

import socket
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connections
from django.db.migrations.executor import MigrationExecutor
from django.http import HttpRequest, JsonResponse
from django.utils import timezone
from django.views.decorators.cache import never_cache

HEARTBEAT_TASK = "clarity.health.record_worker_heartbeat"


def record_worker_heartbeat() -> None:
    from clarity.models import WorkerHeartbeat

    WorkerHeartbeat.objects.update_or_create(
        host=socket.gethostname(), defaults={"last_seen": timezone.now()}
    )


def _on_worker_spawn(sender: Any, proc_name: str, **kwargs: Any) -> None:
    record_worker_heartbeat()


def connect_worker_signals() -> None:
    from django_q.signals import post_spawn

    post_spawn.connect(_on_worker_spawn, dispatch_uid="clarity.health.heartbeat")


def readiness_problem() -> str | None:
    """Why this instance cannot serve yet, or None when it can."""
    from clarity.models import WorkerHeartbeat

    try:
        connections[DEFAULT_DB_ALIAS].ensure_connection()
    except Exception as exc:
        return f"database unreachable: {exc.__class__.__name__}"
    executor = MigrationExecutor(connections[DEFAULT_DB_ALIAS])
    pending = executor.migration_plan(executor.loader.graph.leaf_nodes())
    if pending:
        return f"{len(pending)} migrations not applied: run `manage.py migrate`"
    since = timezone.now() - timedelta(seconds=settings.CLARITY_WORKER_STALE_SECONDS)
    if not WorkerHeartbeat.objects.filter(last_seen__gte=since).exists():
        return (
            f"no worker seen in the last {settings.CLARITY_WORKER_STALE_SECONDS} s: "
            "start one with `manage.py qcluster`"
        )
    return None


@never_cache
def healthz(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"status": "ok"})


@never_cache
def readyz(request: HttpRequest) -> JsonResponse:
    problem = readiness_problem()
    if problem:
        return JsonResponse({"status": "unavailable", "reason": problem}, status=503)
    return JsonResponse({"status": "ready"})
