"""Execute a claimed run's steps, and decide what happens after an error.

`execute_run` is the django-q2 task. In a cluster's worker process it hands the run to one of
the process's run threads (flows/inflight.py), so that many runs wait on their systems at
once; elsewhere it runs the run itself. `run_here` claims the run (flows/leases.py: a
conditional UPDATE with a lease), keeps the lease while the steps go on, and writes each
step's result and the run's outcome only while the run is still this worker's. A worker that
dies leaves the lease to lapse; the sweeper then takes the run back. A retry is rung for at
its due time.
"""

import functools
import logging
import time
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from clarity.logs import bind_log_context, logs_for_run
from clarity.prepared import Param, PreparedQuery
from connectors import budgets, metering
from connectors.errors import (
    AuthError,
    ConnectorError,
    RateLimited,
    TransientError,
)
from connectors.outbound import writes_sent
from connectors.services import record_outcome
from flows.backoff import backoff_seconds
from flows.base import AwaitApproval, Rejected, StepContext, StepOutputs
from flows.inflight import hand_over, in_worker_process
from flows.leases import (
    LeaseLost,
    claim,
    give_back,
    kept,
    pass_on,
    runs_in_flight,
    stop_requested,
    update_held,
)
from flows.models import Approval, RunStep, SyncRun
from flows.queue import enqueue_at, enqueue_id
from flows.redaction import redact, redact_text
from flows.registry import FLOWS
from flows.rows import EncodedJSON
from flows.step_records import StepRecords
from flows.steps.notes import tell_after_failure

logger = logging.getLogger(__name__)
Status = SyncRun.Status
RUN_TO_DO = PreparedQuery(
    lambda: SyncRun.objects.select_related("flow_config", "pair__crm", "pair__erp", "event").filter(
        pk=Param("pk")
    )
)


def execute_run(run_id: int) -> str:
    """The task: on a run thread of a worker process, or here in any other process."""
    if in_worker_process():
        return hand_over(run_id, run_here)
    return run_here(run_id)


def flushes_api_calls_when_idle(task: Callable[[int], str]) -> Callable[[int], str]:
    """The API calls runs counted are saved every few seconds while runs go on
    (connectors/metering.py) and when the last run in flight ends, not after every run."""

    @functools.wraps(task)
    def run(run_id: int) -> str:
        try:
            return task(run_id)
        finally:
            if not runs_in_flight():
                metering.flush()

    return run


@flushes_api_calls_when_idle
@logs_for_run
def run_here(run_id: int) -> str:
    """Claim, run the steps not yet done, record the outcome."""
    if stop_requested():
        return pass_on(run_id)
    if not claim(run_id):
        return "not claimed"
    run = RUN_TO_DO.first(pk=run_id)
    bind_log_context(pair=run.pair.slug)
    try:
        with kept(run), budgets.run_calls(run.budget_slot):
            return run_steps(run)
    except LeaseLost:
        logger.warning(
            "Run %s was taken over by another worker after attempt %s's lease lapsed; "
            "this attempt stops and writes nothing more",
            run.pk,
            run.attempt,
        )
        return "lease lost"


def run_steps(run: SyncRun) -> str:
    """Each step not yet done, its result written while the run is still this attempt's:
    at once after a step that sent a write, else with the next write (flows/step_records)."""
    flow = FLOWS[run.flow_config.flow]
    # The label, summary and document a step sets are written with its result (`unsaved`).
    done, begun = earlier_steps(run)
    ctx = StepContext(run=run, flow=flow, outputs=StepOutputs(done), unsaved={}, begun=begun)
    records = StepRecords(run)
    written: dict[str, Any] = dict(ctx.outputs.outputs)  # outputs as written: redacted, JSON
    progressed = False  # did this attempt get any step done?
    unanswered = run.error_class == TransientError.__name__  # how the last attempt ended
    for order, step in enumerate(flow.steps, start=1):
        if stop_requested():
            records.write()  # the next attempt starts after the steps done
            if not give_back(run):
                raise LeaseLost(f"run {run.pk} attempt {run.attempt}")
            return "given back: the worker is stopping"
        if step.name in ctx.outputs:
            records.add(
                order, step.name, RunStep.Status.SKIPPED, {}, ctx.outputs.outputs[step.name]
            )
            continue
        if step.slow:
            records.write()  # shown on the run's page while the step goes on
        ctx.outputs.start_step()
        budgets.step_started()
        started, writes = time.monotonic(), writes_sent()
        # The work whose outcome is the systems' health; the first step of an attempt after
        # one that got no answer is the step that got none, tried again.
        call, again = f"run {run.pk}: {step.name}", unanswered and not progressed
        try:
            output = step.run(ctx) or {}
        except Exception as exc:
            duration = time.monotonic() - started
            record_outcome((run.pair.crm, run.pair.erp), exc, call, again)
            step_input = input_of(ctx, order, written)
            records.add(
                order, step.name, RunStep.Status.FAILED, step_input, {}, exc, duration,
                **ctx.take_unsaved(),
            )  # fmt: skip
            with records.written():
                if progressed:
                    restart_attempt_budget(run)
                outcome = settle_failure(run, exc)
            tell_after_failure(ctx, exc)
            return outcome
        record_outcome(used_connections(ctx), call=call, again=again)
        references = {**run.references, **(output.get("references") or {})}
        also = {"references": references} if references != run.references else {}
        written[step.name] = records.add(
            order, step.name, RunStep.Status.SUCCEEDED, input_of(ctx, order, written), output,
            duration=time.monotonic() - started, **also, **ctx.take_unsaved(),
        )  # fmt: skip
        if writes_sent() != writes:
            records.write()
        run.references = references
        ctx.outputs[step.name] = output
        progressed = True
    finish_held(run, Status.SUCCEEDED, records, **NO_ERROR)  # an earlier error is history now
    return "succeeded"


def used_connections(ctx: StepContext) -> list[Any]:
    """The pair's connections this attempt has called: those whose connector it made (the
    context makes each on first use)."""
    return [getattr(ctx.pair, side) for side in ("crm", "erp") if side in vars(ctx)]


def input_of(ctx: StepContext, order: int, written: dict[str, Any]) -> EncodedJSON:
    """What a step worked from, for the run's page, redacted: the earlier outputs it read (as
    they were written, redacted once already, their JSON kept in `written`); the first step
    also the record the run is about and the event that started it."""
    parts: dict[str, EncodedJSON] = {}
    if order == 1:
        event = ctx.run.event
        parts["record"] = EncodedJSON.of(redact_text(ctx.run.entity_key))
        if event:
            parts["event"] = EncodedJSON.of(redact({"kind": event.kind, "payload": event.payload}))
    for name, output in ctx.outputs.read_by_step().items():
        if not isinstance(written.get(name), EncodedJSON):
            written[name] = EncodedJSON.of(written[name] if name in written else redact(output))
        parts[name] = written[name]
    return EncodedJSON.joined(parts)


def restart_attempt_budget(run: SyncRun) -> None:
    """The attempt budget counts attempts in a row that got no step done: a long run on a
    flaky system keeps going while it progresses, and a step that never passes still ends."""
    run.attempts_before_retry = run.attempt - 1
    SyncRun.objects.filter(pk=run.pk).update(attempts_before_retry=run.attempts_before_retry)


DONE = (RunStep.Status.SUCCEEDED, RunStep.Status.SKIPPED)  # a step a later attempt skips
STEPS_BEGUN = PreparedQuery(
    lambda: (
        RunStep.objects.filter(run_id=Param("run"))
        .order_by("attempt")
        .values_list("name", "status", "attempt", "output")
    )
)


def earlier_steps(run: SyncRun) -> tuple[dict[str, dict[str, Any]], frozenset[str]]:
    """What earlier attempts of the run recorded, in one query: the outputs of the steps
    done since the run last started afresh, and the names of every step begun (whatever
    came of it; `flows.steps.first_try` asks)."""
    done: dict[str, dict[str, Any]] = {}
    begun = set()
    for name, status, attempt, output in STEPS_BEGUN.all(run=run.pk):
        begun.add(name)
        if status in DONE and attempt >= run.fresh_from_attempt:
            done[name] = output
    return done, frozenset(begun)


def finish(run: SyncRun, status: str, **fields: Any) -> None:
    now = timezone.now()
    SyncRun.objects.filter(pk=run.pk).update(
        status=status, finished_at=now, lease_until=None, lease_owner="", updated_at=now,
        **fields,
    )  # fmt: skip
    wake_next_of_key(run)


def finish_held(run: SyncRun, status: str, records: StepRecords, **fields: Any) -> None:
    """`finish` in the fencing UPDATE itself, with the step results still kept: one
    transaction, written only if the run is still this attempt's, else LeaseLost and nothing
    written."""
    now = timezone.now()
    with transaction.atomic():
        finished = update_held(
            run, status=status, finished_at=now, lease_until=None, lease_owner="",
            updated_at=now, **records.take_fields(), **fields,
        )  # fmt: skip
        if not finished:
            raise LeaseLost(f"run {run.pk} attempt {run.attempt}")
        records.insert()
        wake_next_of_key(run)


def wake_next_of_key(run: SyncRun) -> None:
    """The next run of the same record may have been waiting on this one."""
    waiting = NEXT_OF_KEY.first(pair=run.pair_id, key=run.entity_key, run=run.pk)
    if waiting:
        enqueue_id(waiting)


NEXT_OF_KEY = PreparedQuery(
    lambda: (
        SyncRun.objects.filter(
            pair_id=Param("pair"), entity_key=Param("key"), status__in=SyncRun.CLAIMABLE
        )
        .exclude(pk=Param("run"))
        .order_by("pk")
        .values_list("pk", flat=True)[:1]
    )
)  # every run that ends asks it, nearly always to find none


NO_ERROR: dict[str, Any] = {
    "error_class": "", "error_message": "", "error_detail": "", "error_fields": {}
}  # fmt: skip


def error_fields(error: Exception) -> dict[str, Any]:
    fields: dict[str, Any] = {
        "error_class": type(error).__name__,
        "error_message": redact_text(str(error))[:2000],
        "error_detail": redact_text(getattr(error, "detail", "") or "")[:2000],
        "error_fields": redact(getattr(error, "fields", {}) or {}),
    }
    return fields


def settle_failure(run: SyncRun, error: Exception) -> str:
    """Decide by the error's class (shared/DESIGN.md §4) what happens to the run."""
    if isinstance(error, AwaitApproval):
        Approval.objects.get_or_create(
            run=run,
            defaults={
                "amount": error.amount,
                "currency": error.currency,
                "base_amount": error.base_amount,
                "base_currency": run.pair.base_currency,
                "reason": error.reason,
            },
        )
        park(run, Status.AWAITING_APPROVAL, error_message=error.reason)
        return "awaiting approval"
    if isinstance(error, Rejected):
        finish(run, Status.REJECTED, error_class="Rejected", error_message=str(error))
        return "rejected"
    if isinstance(error, RateLimited):
        # Waiting as told does not use up an attempt.
        SyncRun.objects.filter(pk=run.pk).update(attempt=F("attempt") - 1)
        retry_later(run, error, error.retry_after, budget_slot=error.reservation or {})
        return "rate limited"
    if isinstance(error, AuthError):
        pause_for_reauth(run, error)
        return "paused: needs re-authorisation"
    if isinstance(error, TransientError):
        if run.attempt - run.attempts_before_retry >= settings.CLARITY_MAX_ATTEMPTS:
            finish(run, Status.DEAD, **error_fields(error))
            return "dead"
        retry_later(run, error, backoff_seconds(run.attempt))
        return "retry scheduled"
    if isinstance(error, ConnectorError):
        finish(run, Status.FAILED, **error_fields(error))
        return "failed"
    logger.exception("Run %s failed with an unexpected error", run.pk, exc_info=error)
    finish(run, Status.FAILED, **error_fields(error))
    return "failed"


def park(run: SyncRun, status: str, **fields: Any) -> None:
    """Stop without finishing: the run keeps its key until someone acts on it."""
    SyncRun.objects.filter(pk=run.pk).update(
        status=status, lease_until=None, lease_owner="", updated_at=timezone.now(), **fields
    )


def retry_later(run: SyncRun, error: Exception, delay: float, **fields: Any) -> None:
    """Park the run until its retry is due and ring for it then. `rung_at` says the ring is
    in the queue from that time, so the sweeper leaves it alone unless it goes missing."""
    due = timezone.now() + timedelta(seconds=delay)
    park(
        run, Status.RETRY_SCHEDULED, next_attempt_at=due, rung_at=due, **error_fields(error),
        **fields,
    )  # fmt: skip
    enqueue_at(run, due)


def pause_for_reauth(run: SyncRun, error: AuthError) -> None:
    """Credentials refused: no retries are burnt; the pair waits for a reconnect."""
    with transaction.atomic():  # the connection was marked when the step failed
        type(run.pair).objects.filter(pk=run.pair_id).update(enabled=False)
        SyncRun.objects.filter(pk=run.pk).update(attempt=F("attempt") - 1)
        park(run, Status.RETRY_SCHEDULED, next_attempt_at=timezone.now(), **error_fields(error))
