"""A worker's hold on a run: claimed with a lease, kept while the run goes on, checked before
anything is written, given back when the worker is asked to stop.

- `claim`: one conditional UPDATE, pending (or a retry that is due) → running, with a lease
  (`lease_until`, `lease_owner`, `attempt`). Only the oldest active run of a pair and entity
  key can be claimed, so events of one record are handled one at a time, in order.
- `kept`: while the run goes on, a thread renews the lease every third of
  CLARITY_RUN_LEASE_SECONDS, so a step longer than the lease keeps its run. Only a worker
  that died lets the lease lapse; the sweeper then takes the run back.
- `owned` (fencing): the runner writes a step's result or the run's outcome in a transaction
  that first renews the lease on condition that it is still this worker's attempt. A worker
  that stalled past its lease and lost the run to another gets LeaseLost and writes nothing.
- Stopping: `run_workers` makes a stop request before it forks its cluster, so every worker
  shares it. Once it is set, a worker takes no new run and gives its run back before the next
  step; a step still going CLARITY_WORKER_STOP_SECONDS later is abandoned, the run given
  back, and the worker process ends. A run given back is due at once, and rung for when
  this cluster no longer pulls from the queue.
"""

import contextvars
import logging
import multiprocessing
import os
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from multiprocessing.synchronize import Event

from django.conf import settings
from django.db import DatabaseError, close_old_connections, connections, transaction
from django.db.models import Exists, F, OuterRef, Q, QuerySet
from django.utils import timezone

from flows.models import SyncRun
from flows.queue import enqueue_at

logger = logging.getLogger(__name__)
Status = SyncRun.Status
LOOK_EVERY = 0.25  # seconds between the keeper's looks at the stop request
# A stopping worker rings for a run it gives back or will not take this long ahead: by then
# its cluster no longer pulls from the queue (else the ring could be lost in it), and the
# next cluster does.
NEXT_WORKER_AFTER = timedelta(seconds=2)


class LeaseLost(Exception):
    """Another worker took the run after this one's lease lapsed."""


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def lease_end() -> datetime:
    return timezone.now() + timedelta(seconds=settings.CLARITY_RUN_LEASE_SECONDS)


def claim(run_id: int) -> bool:
    """Take the run if it is due, unclaimed, and the oldest active run of its key."""
    now = timezone.now()
    older_active = SyncRun.objects.filter(
        pair=OuterRef("pair"),
        entity_key=OuterRef("entity_key"),
        pk__lt=OuterRef("pk"),
        status__in=SyncRun.ACTIVE,
    )
    claimed = (
        SyncRun.objects.filter(pk=run_id, status__in=SyncRun.CLAIMABLE)
        .filter(pair__enabled=True, flow_config__enabled=True)
        .filter(Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now))
        .filter(~Exists(older_active))
        .update(
            status=Status.RUNNING,
            attempt=F("attempt") + 1,
            lease_until=lease_end(),
            lease_owner=worker_name(),
            started_at=now,
            updated_at=now,
        )
    )
    return claimed == 1


def held(run: SyncRun) -> QuerySet[SyncRun]:
    """The run, if it is still the attempt this worker claimed."""
    return SyncRun.objects.filter(
        pk=run.pk, status=Status.RUNNING, lease_owner=run.lease_owner, attempt=run.attempt
    )


def renew(run: SyncRun) -> bool:
    """Extend the lease if the run is still this attempt's; False once it is not."""
    return held(run).update(lease_until=lease_end()) == 1


@contextmanager
def owned(run: SyncRun) -> Iterator[None]:
    """A transaction in which the run is still this attempt's, or LeaseLost and nothing
    written. The renewing UPDATE comes first, so the run's row stays this worker's (locked,
    and its lease fresh) until the writes commit."""
    with transaction.atomic():
        if not renew(run):
            raise LeaseLost(f"run {run.pk} attempt {run.attempt}")
        yield


def give_back(run: SyncRun) -> bool:
    """Hand the run to the next worker: due now and rung for, this attempt not counted
    against the budget. False if the run was no longer this worker's."""
    now = timezone.now()
    with transaction.atomic():
        given = held(run).update(
            status=Status.RETRY_SCHEDULED,
            next_attempt_at=now,
            rung_at=now + NEXT_WORKER_AFTER,
            lease_until=None,
            lease_owner="",
            attempts_before_retry=F("attempts_before_retry") + 1,
            updated_at=now,
        )
        if given:
            enqueue_at(run, now + NEXT_WORKER_AFTER)
    return given == 1


def pass_on(run_id: int) -> str:
    """A stopping worker takes no new run: it rings for the next worker instead."""
    waiting = SyncRun.objects.filter(pk=run_id, status__in=SyncRun.CLAIMABLE).first()
    if waiting:
        enqueue_at(waiting, timezone.now() + NEXT_WORKER_AFTER)
    return "left for the next worker"


@contextmanager
def kept(run: SyncRun) -> Iterator[None]:
    """Keep the run's lease from a thread while the body runs."""
    done = threading.Event()
    context = contextvars.copy_context()  # the thread logs with the run's id
    keeper = threading.Thread(
        target=context.run, args=(keep, run, done), name=f"lease of run {run.pk}", daemon=True
    )
    keeper.start()
    try:
        yield
    finally:
        done.set()


def keep(run: SyncRun, done: threading.Event) -> None:
    """The keeper: renew the lease until the run ends; abandon a step that outlives a stop
    request by CLARITY_WORKER_STOP_SECONDS."""
    every = settings.CLARITY_RUN_LEASE_SECONDS / 3
    renew_at = time.monotonic() + every
    stop_seen: float | None = None
    try:
        while not done.wait(LOOK_EVERY):
            now = time.monotonic()
            if stop_requested():
                stop_seen = stop_seen or now
                if now - stop_seen >= settings.CLARITY_WORKER_STOP_SECONDS:
                    abandon(run)
            if now >= renew_at:
                if not renew_or_assume(run):
                    return  # finished, given back or taken over: nothing left to keep
                renew_at = now + every
    finally:
        connections.close_all()  # this thread's connection


def renew_or_assume(run: SyncRun) -> bool:
    """Renew; a database that is briefly unreachable is tried again at the next renewal."""
    try:
        return renew(run)
    except DatabaseError:
        logger.warning("Could not renew the lease of run %s", run.pk, exc_info=True)
        close_old_connections()
        return True


def abandon(run: SyncRun) -> None:
    """Stop the worker mid-step, as a crash would, but with the run free at once rather than
    when its lease lapses. The step is done again by the next worker: steps are idempotent."""
    given = give_back(run)
    logger.warning(
        "Worker stopping: run %s was still in a step %s s after the stop request; %s, and "
        "this worker process ends now",
        run.pk,
        settings.CLARITY_WORKER_STOP_SECONDS,
        "it is given back" if given else "it was no longer this worker's",
    )
    os._exit(0)


# The stop request of a cluster started by `run_workers`, shared with every worker it forks.
_stop_request: Event | None = None


def prepare_stop_request() -> None:
    """Made by `run_workers` before its cluster forks; without it no stop is ever requested."""
    global _stop_request
    _stop_request = multiprocessing.get_context("fork").Event()


def request_stop() -> None:
    if _stop_request is None:
        raise RuntimeError("prepare_stop_request() first, before the workers are forked")
    _stop_request.set()


def stop_requested() -> bool:
    return _stop_request is not None and _stop_request.is_set()
