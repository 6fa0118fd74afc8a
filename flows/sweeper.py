"""The sweeper: a django-q2 schedule, the safety net that rings the doorbell again for any
run that needs it.

A run is rung for when it is stored and, for a retry, at its due time (flows/queue.py); a
worker keeps its run's lease while it works and gives the run back when it stops
(flows/leases.py). The sweeper catches what those miss: it takes back runs whose lease lapsed
(the worker died mid-run), marks a run dead after CLARITY_MAX_CRASHES such crashes, and rings
a run left waiting: pending a minute after it was stored, or due with no ring since (taken
back, or its pair resumed). Enqueueing a run twice is harmless (only one worker can claim
it) but not free: with a backlog longer than a tick, ringing every due run at every tick
would fill the queue with copies. So a run that was rung (`rung_at`; for a retry, its due
time) is rung again only if it is still waiting RERING_AFTER later, in case its queue row
was lost.
"""

from datetime import timedelta

from django.conf import settings
from django.db.models import F, Q
from django.utils import timezone

from flows.leases import may_start
from flows.models import RERING_AFTER, SyncRun
from flows.queue import enqueue

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
    stale, long_ago = now - timedelta(seconds=60), now - RERING_AFTER
    not_rung_lately = Q(rung_at__isnull=True) | Q(rung_at__lt=long_ago)
    due = (
        SyncRun.objects.filter(
            Q(status=Status.PENDING, created_at__lt=stale) & not_rung_lately
            | Q(status=Status.RETRY_SCHEDULED, next_attempt_at__lte=now)
            & (not_rung_lately | Q(rung_at__lt=F("next_attempt_at"))),
            pair__enabled=True,
        )
        .filter(may_start())
        .order_by("pk")
    )
    rung = list(due.only("pk")[:1000])
    SyncRun.objects.filter(pk__in=[run.pk for run in rung]).update(rung_at=now)
    for run in rung:
        enqueue(run)
    return {"dead": dead, "recovered": recovered, "enqueued": len(rung)}
