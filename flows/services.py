"""What people do to runs: retry (from the failed step or from the start), cancel, and
start an initial load."""

from collections.abc import Iterable

from django.db import transaction
from django.utils import timezone

from clarity.audit import record_action
from connectors.errors import Ambiguous
from connectors.models import IntegrationPair
from flows.models import ExternalLink, FlowConfig, RunStep, SyncRun
from flows.queue import enqueue
from flows.steps import MAP_DEAL

Status = SyncRun.Status
FROM_FAILED_STEP = "failed_step"
FROM_START = "start"
INITIAL_LOAD = "initial_load"  # the flow's name


class RunActionRefused(Exception):
    """The run is in a state where this action makes no sense; the message says why."""


def retry_run(run: SyncRun, start_from: str = FROM_FAILED_STEP) -> SyncRun:
    """Run it again now, with a fresh budget of attempts.

    From the failed step, steps already done are skipped and their outputs reused; from the
    start, every step runs again (writes still carry the run's idempotency keys, so Sage
    recognises what it already has).
    """
    if start_from not in (FROM_FAILED_STEP, FROM_START):
        raise RunActionRefused(f"Retry from {start_from!r}? Use 'failed_step' or 'start'.")
    retryable = (*SyncRun.RETRYABLE, Status.RETRY_SCHEDULED)
    with transaction.atomic():
        fields = {
            "status": Status.PENDING,
            "next_attempt_at": None,
            "attempts_before_retry": run.attempt,
            "crashes": 0,
            "finished_at": None,
            "error_class": "",
            "error_message": "",
            "error_detail": "",
            "error_fields": {},
            "updated_at": timezone.now(),
        }
        if start_from == FROM_START:
            fields["fresh_from_attempt"] = run.attempt + 1
        updated = SyncRun.objects.filter(pk=run.pk, status__in=retryable).update(**fields)
        if not updated:
            raise RunActionRefused(
                f"Run {run.pk} is {run.get_status_display().lower()}: only failed, dead, "
                "cancelled or waiting runs can be retried."
            )
        run.refresh_from_db()
        record_action(None, run, "retried", f"Retry from {start_from.replace('_', ' ')}")
        enqueue(run)
    return run


def retry_runs(runs: Iterable[SyncRun], start_from: str = FROM_FAILED_STEP) -> tuple[int, int]:
    """Retry many; returns (retried, refused)."""
    retried = refused = 0
    for run in runs:
        try:
            retry_run(run, start_from)
            retried += 1
        except RunActionRefused:
            refused += 1
    return retried, refused


def cancel_run(run: SyncRun) -> SyncRun:
    """Stop a run that has not finished; a running attempt cannot be cut off."""
    cancellable = (Status.PENDING, Status.RETRY_SCHEDULED, Status.AWAITING_APPROVAL,
                   Status.FAILED)  # fmt: skip
    now = timezone.now()
    updated = SyncRun.objects.filter(pk=run.pk, status__in=cancellable).update(
        status=Status.CANCELLED, finished_at=now, next_attempt_at=None, updated_at=now
    )
    if not updated:
        raise RunActionRefused(
            f"Run {run.pk} is {run.get_status_display().lower()}: it cannot be cancelled now."
        )
    run.refresh_from_db()
    record_action(None, run, "cancelled")
    return run


def choose_customer(run: SyncRun, sage_id: str) -> SyncRun:
    """Answer a run that found several Sage customers for the deal's organization: bind the
    organization to the one a person chose, then retry the run (it books to that one)."""
    if sage_id not in Ambiguous.candidates_in(run.error_fields or {}):
        raise RunActionRefused(
            f"{sage_id!r} is not one of the customers run {run.pk} found; choose one it lists."
        )
    mapped = run.steps.filter(name=MAP_DEAL, status=RunStep.Status.SUCCEEDED).last()
    customer = (mapped.output if mapped else {}).get("customer") or {}
    crm_id = (customer.get("external_refs") or {}).get("crm") or ""
    if not crm_id:
        raise RunActionRefused(f"Run {run.pk} has no CRM organization to bind.")
    links = ExternalLink.objects.filter(pair=run.pair, entity="customer")
    taken = links.filter(sage_id=sage_id).exclude(crm_id=crm_id).first()
    if taken:
        raise RunActionRefused(
            f"Sage customer {sage_id} is bound to another CRM record ({taken.crm_id}) already."
        )
    with transaction.atomic():
        ExternalLink.objects.update_or_create(
            pair=run.pair, entity="customer", crm_id=crm_id, defaults={"sage_id": sage_id}
        )
        record_action(None, run, "customer chosen", f"{customer.get('name')} → {sage_id}")
        return retry_run(run)


def start_initial_load(pair: IntegrationPair) -> SyncRun:
    """Start a run of the pair's initial load (the page's button)."""
    config, _ = FlowConfig.objects.get_or_create(
        pair=pair, flow=INITIAL_LOAD, defaults={"trigger": FlowConfig.Trigger.MANUAL}
    )
    if not config.enabled:
        FlowConfig.objects.filter(pk=config.pk).update(enabled=True)
    stamp = timezone.now().strftime("%Y%m%dT%H%M%S%f")
    run = SyncRun.objects.create(flow_config=config, pair=pair, entity_key=f"initial_load:{stamp}")
    enqueue(run)
    return run
