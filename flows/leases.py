"""A worker's hold on a run: claimed with a lease, kept while the run goes on, checked before
anything is written, given back when the worker is asked to stop.

- `claim`: one conditional UPDATE, pending (or a retry that is due) → running, with a lease
  (`lease_until`, `lease_owner`, `attempt`). Only the oldest active run of a pair and entity
  key can be claimed, so events of one record are handled one at a time, in order.
- `kept`: while the run goes on, one keeper thread per process renews, with one UPDATE, the
  lease of every run in flight that no write extended in the last third of
  CLARITY_RUN_LEASE_SECONDS, so a step longer than the lease keeps its run. Only a worker
  that died lets the lease lapse; the sweeper then takes the run back.
- The time cap: a run still going CLARITY_RUN_MAX_SECONDS after it was taken is hung (on a
  run thread, django-q2's task timeout no longer kills it): its lease is no longer extended,
  so the sweeper hands it to another worker once it lapses.
- `owned` (fencing): the runner writes a step's result or the run's outcome in a transaction
  that first renews the lease on condition that it is still this worker's attempt (one
  UPDATE). A worker that stalled past its lease and lost the run to another gets LeaseLost
  and writes nothing.
- Stopping: `run_workers` makes a stop request before it forks its cluster, so every worker
  shares it. Once it is set, a worker takes no new run and gives its run back before the next
  step; a step still going CLARITY_WORKER_STOP_SECONDS later is abandoned: every run in
  flight in the process (it runs many, on threads: flows/inflight.py) is given back, and the
  worker process ends. A run given back is due at once, and rung for when
  this cluster no longer pulls from the queue.
"""

import logging
import multiprocessing
import os
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import cache
from multiprocessing.synchronize import Event
from typing import Any

from django.conf import settings
from django.db import DatabaseError, close_old_connections, connection, connections, transaction
from django.db.models import F, Q, QuerySet
from django.utils import timezone

from connectors import metering
from connectors.models import IntegrationPair
from flows.models import FlowConfig, SyncRun
from flows.queue import enqueue_at

logger = logging.getLogger(__name__)
Status = SyncRun.Status
LOOK_EVERY = 0.25  # seconds between the keeper's looks at the stop request
# A stopping worker rings for a run it gives back or will not take this long ahead: by then
# its cluster no longer pulls from the queue (else the ring could be lost in it), and the
# next cluster does.
NEXT_WORKER_AFTER = timedelta(seconds=2)
# The key of `SyncRun.progress` marking a run a business rule routed to the pair's other
# won-deal flow (flows/steps/rules.py): it starts even while that flow is switched off.
ROUTED = "routed"


def may_start() -> Q:
    """Runs whose flow is switched on, or that a rule routed to their flow."""
    return Q(flow_config__enabled=True) | Q(progress__has_key=ROUTED)


class LeaseLost(Exception):
    """Another worker took the run after this one's lease lapsed."""


def worker_name(pid: int | None = None) -> str:
    """A lease's owner: the worker process on this host (this one unless `pid` says)."""
    return f"{socket.gethostname()}:{pid or os.getpid()}"


def lease_end() -> datetime:
    return timezone.now() + timedelta(seconds=settings.CLARITY_RUN_LEASE_SECONDS)


def claim(run_id: int) -> bool:
    """Take the run if it is due, unclaimed, and the oldest active run of its key."""
    now = connection.ops.adapt_datetimefield_value(timezone.now())
    sql, routed = claim_statement(connection.alias)
    lease = connection.ops.adapt_datetimefield_value(lease_end())
    with connection.cursor() as cursor:
        cursor.execute(
            sql,
            [Status.RUNNING, lease, worker_name(), now, now, run_id, *SyncRun.CLAIMABLE,
             True, *routed, True, now, *SyncRun.ACTIVE],
        )  # fmt: skip
        return cursor.rowcount == 1


@cache
def claim_statement(alias: str) -> tuple[str, list[Any]]:
    """The claim's UPDATE, written out once per database (the ORM took longer to compile it,
    with its joins and subqueries, than the database to run it), and the parameters of its
    `may_start` test of the run's progress, which the ORM writes for the database."""
    database = connections[alias]
    quote = database.ops.quote_name
    run, config = quote(SyncRun._meta.db_table), quote(FlowConfig._meta.db_table)
    pair = quote(IntegrationPair._meta.db_table)
    routed_query = SyncRun.objects.filter(progress__has_key=ROUTED).query
    routed, routed_params = routed_query.where.as_sql(routed_query.get_compiler(alias), database)
    claimable = ", ".join(["%s"] * len(SyncRun.CLAIMABLE))
    active = ", ".join(["%s"] * len(SyncRun.ACTIVE))
    sql = (
        f"UPDATE {run} SET status = %s, attempt = attempt + 1, lease_until = %s, "
        f"lease_owner = %s, started_at = %s, updated_at = %s "
        f"WHERE {run}.id = %s AND {run}.status IN ({claimable}) "
        f"AND (EXISTS (SELECT 1 FROM {config} WHERE {config}.id = {run}.flow_config_id "
        f"AND {config}.enabled = %s) OR {routed}) "
        f"AND EXISTS (SELECT 1 FROM {pair} WHERE {pair}.id = {run}.pair_id "
        f"AND {pair}.enabled = %s) "
        f"AND ({run}.next_attempt_at IS NULL OR {run}.next_attempt_at <= %s) "
        f"AND NOT EXISTS (SELECT 1 FROM {run} older WHERE older.pair_id = {run}.pair_id "
        f"AND older.entity_key = {run}.entity_key AND older.id < {run}.id "
        f"AND older.status IN ({active}))"
    )
    return sql, list(routed_params)


def held(run: SyncRun) -> QuerySet[SyncRun]:
    """The run, if it is still the attempt this worker claimed."""
    return SyncRun.objects.filter(
        pk=run.pk, status=Status.RUNNING, lease_owner=run.lease_owner, attempt=run.attempt
    )


def renew(run: SyncRun) -> bool:
    """Extend the lease if the run is still this attempt's; False once it is not."""
    return fence(run)


def fence(run: SyncRun, **also: Any) -> bool:
    """Whether the run is still this attempt's, extending its lease if so (a run past the
    time cap keeps the lease it has) and writing `also` (run fields) in the same UPDATE."""
    held_run = _in_flight.get(run.pk)
    extend = held_run is None or not held_run.capped
    fenced = update_held(run, **({"lease_until": lease_end()} if extend else {}), **also)
    if fenced and extend and held_run is not None:
        held_run.renewed = time.monotonic()
    return fenced


def update_held(run: SyncRun, **fields: Any) -> bool:
    """Write the run's fields if it is still this attempt's: `held(run).update(**fields)`
    written out, for the hot path of every step, where the ORM took longer to compile the
    UPDATE than the database to run it. Values are adapted through their fields, as the ORM
    would. True if written."""
    meta, quote = SyncRun._meta, connection.ops.quote_name
    assignments, params = [], []
    for name, value in fields.items():
        column = meta.get_field(name)
        assignments.append(f"{quote(column.column)} = %s")
        params.append(column.get_db_prep_save(value, connection))
    setting = ", ".join(assignments) or f"{quote('lease_until')} = {quote('lease_until')}"
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {quote(meta.db_table)} SET {setting} "
            f"WHERE {quote('id')} = %s AND {quote('status')} = %s "
            f"AND {quote('lease_owner')} = %s AND {quote('attempt')} = %s",
            [*params, run.pk, Status.RUNNING, run.lease_owner, run.attempt],
        )
        return cursor.rowcount == 1


@contextmanager
def owned(run: SyncRun, **also: Any) -> Iterator[None]:
    """A transaction in which the run is still this attempt's, or LeaseLost and nothing
    written. The fencing UPDATE (which writes `also` too) comes first, so the run's row stays
    this worker's (locked, and its lease fresh) until the writes commit."""
    with transaction.atomic():
        if not fence(run, **also):
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


@dataclass
class Held:
    """A run this process holds: when it was taken (for the time cap) and when its lease was
    last extended (a fenced write extends it too, so a run of short steps needs no renewal)."""

    run: SyncRun
    since: float = field(default_factory=time.monotonic)
    renewed: float = field(default_factory=time.monotonic)
    capped: bool = False


# The runs this process holds, by id, kept by one keeper thread for all of them: a worker that
# must end mid-step gives them all back.
_in_flight: dict[int, Held] = {}
_in_flight_lock = threading.Lock()
_keeper: threading.Thread | None = None


@contextmanager
def kept(run: SyncRun) -> Iterator[None]:
    """Keep the run's lease (from the process's keeper thread) while the body runs."""
    global _keeper
    with _in_flight_lock:
        _in_flight[run.pk] = Held(run)
        if _keeper is None or not _keeper.is_alive():
            _keeper = threading.Thread(target=keep, name="lease keeper", daemon=True)
            _keeper.start()
    try:
        yield
    finally:
        with _in_flight_lock:
            _in_flight.pop(run.pk, None)


def runs_in_flight() -> int:
    with _in_flight_lock:
        return len(_in_flight)


def held_now() -> list[Held]:
    with _in_flight_lock:
        return list(_in_flight.values())


def keep() -> None:
    """The keeper: renew the leases of the runs in flight whose lease no write extended
    lately, except runs past CLARITY_RUN_MAX_SECONDS; abandon the steps still going
    CLARITY_WORKER_STOP_SECONDS after a stop request. Ends when the process holds no run."""
    global _keeper
    stop_seen: float | None = None
    try:
        while True:
            time.sleep(LOOK_EVERY)
            with _in_flight_lock:
                idle = not _in_flight
                if idle:
                    _keeper = None
            if idle:
                return
            now = time.monotonic()
            if stop_requested():
                stop_seen = stop_seen or now
                if now - stop_seen >= settings.CLARITY_WORKER_STOP_SECONDS:
                    abandon()
            renew_due(now)
    finally:
        connections.close_all()  # this thread's connection


def renew_due(now: float) -> None:
    """One UPDATE for every run due a renewal; a run past the time cap is left to lapse."""
    every = settings.CLARITY_RUN_LEASE_SECONDS / 3
    due = []
    for held_run in held_now():
        if now - held_run.since >= max_run_seconds():
            cap(held_run)
        elif now - held_run.renewed >= every:
            due.append(held_run)
    if not due:
        return
    try:
        this_attempt = Q()
        for held_run in due:
            this_attempt |= Q(pk=held_run.run.pk, attempt=held_run.run.attempt)
        SyncRun.objects.filter(this_attempt, status=Status.RUNNING).filter(
            lease_owner=worker_name()
        ).update(lease_until=lease_end())
        for held_run in due:
            held_run.renewed = now
    except DatabaseError:  # tried again at the next look
        logger.warning("Could not renew the leases of runs in flight", exc_info=True)
        close_old_connections()


def max_run_seconds() -> float:
    return settings.CLARITY_RUN_MAX_SECONDS


def cap(held_run: Held) -> None:
    """A run past the time cap is hung: its lease is no longer extended, so once it lapses
    the sweeper hands the run to another worker and this attempt's writes are fenced off."""
    if not held_run.capped:
        held_run.capped = True
        logger.warning(
            "Run %s has been running for over %s s (CLARITY_RUN_MAX_SECONDS): its lease is "
            "no longer renewed, so another worker takes it over once the lease lapses",
            held_run.run.pk,
            max_run_seconds(),
        )


def abandon() -> None:
    """Stop the worker mid-step, as a crash would, but with its runs free at once rather than
    when their leases lapse. Their steps are done again by the next worker: steps are
    idempotent. A run that finished meanwhile is no longer held and stays as it is."""
    runs = [held_run.run for held_run in held_now()]
    given = sum(give_back(run) for run in runs)
    metering.flush()
    logger.warning(
        "Worker stopping: runs were still in a step %s s after the stop request; %s of %s "
        "given back (the others had ended), and this worker process ends now",
        settings.CLARITY_WORKER_STOP_SECONDS,
        given,
        len(runs),
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
