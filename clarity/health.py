"""Liveness and readiness, and the worker heartbeat readiness relies on.

Each django-q2 worker process beats from a thread, from the moment it starts (django-q2's
post_spawn signal) until it exits, every quarter of CLARITY_WORKER_STALE_SECONDS. /readyz
fails once no beat is newer than that (default 20 s), so within 20 s of the last worker
stopping. Under `manage.py run_workers` a worker dies with its cluster's sentinel, so a beat
also means the sentinel (and with it the schedules and the queue feed) still runs.
"""

import functools
import logging
import multiprocessing
import socket
import threading
import time
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, DatabaseError, close_old_connections, connections
from django.db.migrations.executor import MigrationExecutor
from django.http import HttpRequest, JsonResponse
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django_q.signals import post_spawn

from clarity.models import WorkerHeartbeat

logger = logging.getLogger(__name__)


def record_worker_heartbeat() -> None:
    WorkerHeartbeat.objects.update_or_create(
        host=socket.gethostname(), defaults={"last_seen": timezone.now()}
    )


def beat() -> None:
    """The heartbeat thread of a worker process: a database that does not answer one beat
    is tried again at the next."""
    while True:
        try:
            record_worker_heartbeat()
        except DatabaseError:
            logger.warning("Worker heartbeat not recorded", exc_info=True)
            close_old_connections()
        time.sleep(settings.CLARITY_WORKER_STALE_SECONDS / 4)


def _on_worker_spawn(sender: Any, proc_name: str, **kwargs: Any) -> None:
    """A cluster's worker process starts beating. django-q2 also sends the signal where it
    runs a task inline (sync mode), in a process that is no cluster's: no beat there."""
    if multiprocessing.parent_process() is not None:
        start_beating()


@functools.cache
def start_beating() -> None:
    """Once per process: a worker that runs a task inline is spawned again."""
    threading.Thread(target=beat, name="worker heartbeat", daemon=True).start()


def connect_worker_signals() -> None:
    post_spawn.connect(_on_worker_spawn, dispatch_uid="clarity.health.heartbeat")


def readiness_problem() -> str | None:
    """Why this instance cannot serve yet, or None when it can."""
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
            "start one with `manage.py run_workers`"
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
