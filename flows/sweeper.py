"""The sweeper: a django-q2 schedule that rings the doorbell again for any run that needs it.

It enqueues runs whose retry is due, takes back runs whose lease expired (the worker died
mid-run) and marks a run dead after CLARITY_MAX_CRASHES such crashes. Enqueueing a run twice
is harmless: only one worker can claim it.
"""

from datetime import timedelta

from django.conf import settings
from django.db.models import F, Q
from django.utils import timezone

from flows.models import SyncRun
from flows.runner import enqueue

Status = SyncRun.Status


def sweep() -> dict[str, int]:
    now = timezone.now()
    expired = SyncRun.objects.filter(status=Status.RUNNING, lease_until__lt=now)
    dead = expired.filter(crashes__gte=settings.CLARITY_MAX_CRASHES - 1).update(
        status=Status.DEAD,
        crashes=F("crashes") + 1,
        finished_at=now,
        lease_until=None,
        error_class="WorkerCrashed",
        error_message=(
            f"The worker stopped mid-run {settings.CLARITY_MAX_CRASHES} times "
            "(killed, out of memory or timed out). Look at the last step, then retry."
        ),
        updated_at=now,
    )
    recovered = expired.update(
        status=Status.RETRY_SCHEDULED,
        crashes=F("crashes") + 1,
        next_attempt_at=now,
        lease_until=None,
        updated_at=now,
    )
    # A new pending run was enqueued with its event; only one left lying a minute needs help.
    stale = now - timedelta(seconds=60)
    due = SyncRun.objects.filter(
        Q(status=Status.PENDING, created_at__lt=stale)
        | Q(status=Status.RETRY_SCHEDULED, next_attempt_at__lte=now),
        pair__enabled=True,
        flow_config__enabled=True,
    ).order_by("pk")
    enqueued = 0
    for run in due.only("pk")[:1000]:
        enqueue(run)
        enqueued += 1
    return {"dead": dead, "recovered": recovered, "enqueued": enqueued}


def ensure_sweeper_schedule() -> None:
    from django_q.models import Schedule

    Schedule.objects.update_or_create(
        name="Run sweeper",
        defaults={
            "func": "flows.sweeper.sweep",
            "schedule_type": Schedule.MINUTES,
            "minutes": max(1, settings.CLARITY_SWEEP_SECONDS // 60),
            "repeats": -1,
        },
    )
