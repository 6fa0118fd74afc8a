"""A worker's hold on a run (flows/leases.py) and retries rung for at their due time
(flows/queue.py): a retry waits in the queue until it falls due, not for the sweeper; a
worker that lost its run writes nothing; a lease is renewed while a step goes on; a stopping
worker gives its run back."""

import time
from datetime import timedelta

import pytest
from django.db.models import F
from django.utils import timezone
from django_q.brokers import get_broker
from django_q.models import OrmQ
from django_q.signing import SignedPackage

from connectors.errors import RateLimited, TransientError, ValidationError
from flows import leases
from flows.base import Flow, Step
from flows.models import RunStep, SyncRun
from flows.registry import FLOWS
from flows.runner import claim, execute_run
from flows.sweeper import sweep

pytestmark = pytest.mark.django_db
Status = SyncRun.Status


def queued_for(run: SyncRun) -> list[OrmQ]:
    return [row for row in OrmQ.objects.all() if row.task["args"] == (run.pk,)]


def two_steps(monkeypatch, second) -> None:
    """The test flow with a first step that passes and `second` after it."""
    flow = Flow(
        name="test_flow", label="Test flow", description="",
        steps=(Step("first", lambda ctx: {"customer": "C-1"}), Step("second", second)),
    )  # fmt: skip
    monkeypatch.setitem(FLOWS, "test_flow", flow)


# ---------------------------------------------------------------- retries on time


def test_a_rate_limited_run_is_queued_for_the_time_it_was_told_not_the_sweep(
    config, script, new_run
):
    script.errors = [RateLimited("429", retry_after=2, system="streak")]
    run = new_run()
    assert execute_run(run.pk) == "rate limited"
    run.refresh_from_db()
    [row] = queued_for(run)
    assert row.task["func"] == "flows.runner.execute_run"
    assert row.lock == run.next_attempt_at == run.rung_at
    assert timedelta(seconds=1.9) < run.next_attempt_at - timezone.now() <= timedelta(seconds=2)

    broker = get_broker()
    assert broker.queue_size() == 0  # no cluster pulls it before it is due
    assert sweep()["enqueued"] == 0  # nor does the sweeper ring it a second time
    two_seconds_later = timedelta(seconds=2.1)  # the run and its ring fall due
    OrmQ.objects.filter(pk=row.pk).update(lock=F("lock") - two_seconds_later)
    SyncRun.objects.filter(pk=run.pk).update(
        next_attempt_at=F("next_attempt_at") - two_seconds_later
    )
    [(_, payload)] = broker.dequeue()  # the next pull takes it
    assert SignedPackage.loads(payload)["args"] == (run.pk,)
    assert execute_run(run.pk) == "succeeded"


def test_a_transient_error_is_retried_at_its_backoff_time(config, script, new_run, settings):
    settings.CLARITY_RETRY_BASE_SECONDS = 10
    script.errors = [TransientError("Sage 100 bridge answered 503", system="sage100")]
    run = new_run()
    assert execute_run(run.pk) == "retry scheduled"
    run.refresh_from_db()
    [row] = queued_for(run)
    assert row.lock == run.next_attempt_at <= timezone.now() + timedelta(seconds=10)


def test_a_queued_retry_lost_on_the_way_is_rung_again_by_the_sweeper(config, script, new_run):
    script.errors = [RateLimited("429", retry_after=1, system="streak")]
    run = new_run()
    execute_run(run.pk)
    OrmQ.objects.all().delete()  # the queue row is lost
    later = timezone.now() + timedelta(minutes=6)
    SyncRun.objects.filter(pk=run.pk).update(
        next_attempt_at=F("next_attempt_at") - (later - timezone.now()),
        rung_at=F("rung_at") - (later - timezone.now()),
    )
    assert sweep()["enqueued"] == 1


# ---------------------------------------------------------------- fencing


def test_a_worker_whose_run_was_taken_over_does_not_record_its_step_or_the_outcome(
    config, new_run, monkeypatch
):
    def taken_over_meanwhile(ctx):
        # The lease lapsed during the step; the sweeper took the run back and another worker
        # claimed it.
        SyncRun.objects.filter(pk=ctx.run.pk).update(
            lease_owner="other-host:4242", attempt=F("attempt") + 1
        )
        return {"order": "0000123", "references": {"sage_order": "0000123"}}

    two_steps(monkeypatch, taken_over_meanwhile)
    run = new_run()
    assert execute_run(run.pk) == "lease lost"
    run.refresh_from_db()
    assert run.status == Status.RUNNING and run.lease_owner == "other-host:4242"
    assert run.finished_at is None and "sage_order" not in run.references
    # Neither step sent a write, so both results waited for the run's end, which was fenced
    # off: the worker that took the run over does both again.
    assert not run.steps.exists()


def test_a_worker_whose_run_was_taken_over_does_not_settle_its_failure(
    config, new_run, monkeypatch
):
    def fails_after_losing_it(ctx):
        SyncRun.objects.filter(pk=ctx.run.pk).update(
            status=Status.RETRY_SCHEDULED, lease_owner="", lease_until=None
        )  # taken back by the sweeper
        raise ValidationError("The item code WIDGET-999 is not on file.")

    two_steps(monkeypatch, fails_after_losing_it)
    run = new_run()
    assert execute_run(run.pk) == "lease lost"
    run.refresh_from_db()
    assert run.status == Status.RETRY_SCHEDULED and run.error_message == ""
    assert not run.steps.filter(status=RunStep.Status.FAILED).exists()


def test_renewing_extends_the_lease_only_while_the_run_is_this_attempts(new_run):
    run = new_run()
    assert claim(run.pk)
    run.refresh_from_db()
    SyncRun.objects.filter(pk=run.pk).update(lease_until=timezone.now())
    assert leases.renew(run)
    assert SyncRun.objects.get(pk=run.pk).lease_until > timezone.now() + timedelta(seconds=20)
    SyncRun.objects.filter(pk=run.pk).update(attempt=F("attempt") + 1)  # claimed again
    assert not leases.renew(run)


@pytest.mark.django_db(transaction=True)
def test_a_step_longer_than_the_lease_keeps_it_and_the_sweeper_leaves_the_run_alone(
    new_run, settings
):
    settings.CLARITY_RUN_LEASE_SECONDS = 0.6  # renewed every 0.2 s
    run = new_run()
    assert claim(run.pk)
    run.refresh_from_db()
    with leases.kept(run):
        time.sleep(1.5)  # a slow step: the lease it was claimed with lapsed long ago
        assert sweep()["recovered"] == 0
    run.refresh_from_db()
    assert run.status == Status.RUNNING and run.crashes == 0
    assert run.lease_until > timezone.now()

    time.sleep(0.7)  # no longer kept: the lease lapses and the sweeper takes the run back
    assert sweep()["recovered"] == 1


# ---------------------------------------------------------------- stopping


@pytest.fixture
def stop_request(monkeypatch):
    """A stop request as `run_workers` makes one; `request()` sets it."""
    monkeypatch.setattr(leases, "_stop_request", None)
    leases.prepare_stop_request()
    return leases.request_stop


def test_a_stopping_worker_gives_its_run_back_before_the_next_step(
    config, new_run, monkeypatch, stop_request
):
    def first(ctx):
        stop_request()  # SIGTERM to run_workers while this step runs
        return {"customer": "C-1"}

    calls = []
    flow = Flow(
        name="test_flow", label="Test flow", description="",
        steps=(Step("first", first), Step("second", lambda ctx: calls.append(1) or {})),
    )  # fmt: skip
    monkeypatch.setitem(FLOWS, "test_flow", flow)
    run = new_run()
    assert execute_run(run.pk) == "given back: the worker is stopping"
    run.refresh_from_db()
    assert not calls
    assert run.status == Status.RETRY_SCHEDULED and run.lease_owner == ""
    assert run.lease_until is None and run.next_attempt_at <= timezone.now()
    assert run.attempt - run.attempts_before_retry == 0  # not counted against the budget
    [row] = queued_for(run)
    assert row.lock > timezone.now()  # rung for the next worker, after this one stopped

    monkeypatch.setattr(leases, "_stop_request", None)  # the next worker
    assert execute_run(run.pk) == "succeeded"
    assert calls == [1]
    statuses = list(run.steps.filter(attempt=2).values_list("name", "status"))
    assert statuses == [("first", "skipped"), ("second", "succeeded")]


def test_a_stopping_worker_takes_no_new_run_and_rings_for_the_next_worker(
    config, script, new_run, stop_request
):
    run = new_run()
    stop_request()
    assert execute_run(run.pk) == "left for the next worker"
    run.refresh_from_db()
    assert run.status == Status.PENDING and run.attempt == 0
    [row] = queued_for(run)
    assert row.lock > timezone.now()  # after this cluster has stopped pulling
