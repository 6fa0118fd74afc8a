"""What the salesperson reads on the deal while its run waits or after it stopped: a note when
the run waits for an approval (the approval step), waits out a system that does not answer,
waits for a reconnect, or fails (the runner's failure path, `tell_after_failure`). Written
against the roles: systems are named by their labels.

One note per state, not per attempt: the states told are kept on the run
(`SyncRun.progress["told"]`, state → a digest of what was said about), so an outage's tenth
attempt adds nothing, while a failure for another reason is news again. A note the CRM does
not take is logged and tried again the next time the run is in that state; telling never
changes what happens to the run.
"""

import hashlib
import logging
from datetime import datetime, timedelta

from django.conf import settings
from django.utils import timezone

from connectors.errors import AuthError, ConnectorError, RateLimited, TransientError
from connectors.registry import SYSTEMS
from flows.base import Flow, StepContext
from flows.models import SyncRun
from flows.redaction import redact_text
from flows.steps import READ_DEAL

logger = logging.getLogger(__name__)

AWAITING_APPROVAL, OUTAGE, PAUSED, FAILED = "awaiting_approval", "outage", "paused", "failed"
TOLD = "told"  # the key of `SyncRun.progress` that keeps the states told
# A system that failed this many attempts of a run in a row is out, not merely flaky.
OUTAGE_AFTER_ATTEMPTS = 2


def tell_deal(ctx: StepContext, state: str, message: str, about: str = "") -> bool:
    """Add `message` to the run's deal unless the deal was told of `state` about the same
    thing (`about`, else the message) already. True when the note was added now."""
    run = ctx.run
    if not about_a_deal(ctx.flow):
        return False  # nobody on the CRM side waits for the run
    told = dict(run.progress.get(TOLD) or {})
    digest = hashlib.sha256((about or message).encode()).hexdigest()[:16]
    if told.get(state) == digest:
        return False
    try:
        ctx.crm.add_note(run.entity_key, message, ctx.idempotency_key(f"note-{state}"))
    except ConnectorError as exc:
        logger.warning("Run %s could not tell the deal it is %s: %s", run.pk, state, exc)
        return False
    run.progress = {**run.progress, TOLD: {**told, state: digest}}
    SyncRun.objects.filter(pk=run.pk).update(progress=run.progress)
    return True


def about_a_deal(flow: Flow) -> bool:
    """Whether the flow's runs are each about one deal: it starts by reading the deal."""
    return bool(flow.steps) and flow.steps[0].name == READ_DEAL


def tell_after_failure(ctx: StepContext, error: Exception) -> None:
    """The runner's failure path, once the run's outcome is written: tell the deal what the
    run now waits for, or why it stopped. Never raises: the run is settled already."""
    try:
        status = SyncRun.objects.filter(pk=ctx.run.pk).values_list("status", flat=True).first()
        said = failure_note(ctx, error, status or "")
        if said:
            tell_deal(ctx, *said)
    except Exception:
        logger.exception("Run %s could not tell the deal about its failure", ctx.run.pk)


def failure_note(ctx: StepContext, error: Exception, status: str) -> tuple[str, str, str] | None:
    """(state, note, what it is about) for a run left in `status` by `error`, or None when
    the deal has nothing to hear (a rate limit, a blip, the CRM itself out of reach)."""
    run, crm_system = ctx.run, ctx.pair.crm.system
    system = getattr(error, "system", "")
    label = SYSTEMS[system].label if system in SYSTEMS else ""
    if status in (SyncRun.Status.FAILED, SyncRun.Status.DEAD):
        reason = redact_text(str(error).strip()) if isinstance(error, ConnectorError) else ""
        if not reason:
            reason = f"the run stopped on an unexpected error ({type(error).__name__})"
        elif status == SyncRun.Status.DEAD:
            reason = f"{label or 'A system'} did not answer: {reason.rstrip('.')}"
            reason += f". Clarity gave up after {run.attempt - run.attempts_before_retry} tries"
        note = (
            f"Clarity could not complete this deal in {ctx.erp.label}. Ask your Clarity "
            f"admin: {with_stop(reason)} (Clarity run {run.pk})"
        )
        return FAILED, note, reason
    if not label or system == crm_system or status != SyncRun.Status.RETRY_SCHEDULED:
        return None
    if isinstance(error, AuthError):
        note = (
            f"Clarity is paused: {label} refused its sign-in. Ask your Clarity admin to "
            f"reconnect {label}; this deal goes on by itself afterwards."
        )
        return PAUSED, note, system
    outage = isinstance(error, TransientError) and not isinstance(error, RateLimited)
    if outage and run.attempt - run.attempts_before_retry >= OUTAGE_AFTER_ATTEMPTS:
        until = timezone.localtime(retries_end(run))
        note = (
            f"{label} is unreachable; Clarity will retry until "
            f"{until:%Y-%m-%d %H:%M} {until.tzname()} at the latest. If {label} is still "
            "out of reach then, your Clarity admin finds this deal in the error queue."
        )
        return OUTAGE, note, system
    return None


def retries_end(run: SyncRun) -> datetime:
    """The latest the run's last retry can start: every wait left at its longest (the
    ceilings of `flows.backoff`'s full jitter)."""
    base, cap = settings.CLARITY_RETRY_BASE_SECONDS, settings.CLARITY_RETRY_CAP_SECONDS
    last_attempt = run.attempts_before_retry + settings.CLARITY_MAX_ATTEMPTS
    attempts = range(run.attempt, last_attempt)
    waits = (min(cap, base * 2 ** max(0, attempt - 1)) for attempt in attempts)
    return timezone.now() + timedelta(seconds=sum(waits))


def with_stop(sentence: str) -> str:
    return sentence if sentence.endswith((".", "!", "?")) else f"{sentence}."
