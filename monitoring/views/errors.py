"""The error queue: every run that is not done and needs time or a person — waiting to retry,
failed, dead — grouped by what went wrong and titled in the first run's own words. Each group
has its fix, a link to where it is made, the deals it holds, and buttons to retry (one or all)
and to resolve or dismiss with a note (audited). A closed run leaves the queue and counts as
neither failure nor success on the dashboard."""

from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.db import transaction
from django.db.models import Q, QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from clarity.audit import record_action
from clarity.permissions import needs, rule_required
from flows.models import RunStep, SyncRun
from flows.services import RunActionRefused, cancel_run, retry_run, retry_runs
from flows.steps import MAP_DEAL
from monitoring.models import Resolution
from monitoring.views.diagnosis import fix_for, fix_links, record_links, signature, signature_key
from monitoring.views.runs import RETRY_RUNS, VIEW_RUNS, report_retries

Status = SyncRun.Status
# Waiting for a retry or for a person. A retry attempt under way keeps its place (it still
# carries the last attempt's error), so the queue does not flicker while the system is down.
WAITING = Q(status__in=(Status.RETRY_SCHEDULED, Status.FAILED, Status.DEAD)) | (
    Q(status=Status.RUNNING) & ~Q(error_class="")
)
CLOSE_RUNS = needs(
    "flows.retry_syncrun", message="Resolving or dismissing errors needs the Operator role."
)
CLOSABLE = (Status.FAILED, Status.DEAD)  # and waiting to retry, which is cancelled first
RECENTLY_CLOSED = 10
ROWS_SHOWN = 100  # per group; the group's buttons still act on all of its runs


def unresolved(runs: QuerySet[SyncRun]) -> QuerySet[SyncRun]:
    """`runs` without those someone resolved or dismissed (and that did not change since)."""
    return runs.filter(~Resolution.standing())


def queue_runs() -> QuerySet[SyncRun]:
    """The runs in the error queue."""
    return unresolved(SyncRun.objects.filter(WAITING))


def error_groups() -> list[dict[str, Any]]:
    """Queued runs by signature, the biggest group first; each titled by its first run."""
    runs = queue_runs().select_related("pair__crm", "pair__erp", "flow_config")
    amounts = deal_amounts(runs)
    groups: dict[str, dict[str, Any]] = {}
    for run in runs.order_by("created_at", "pk"):
        text = signature(run)
        group = groups.get(text)
        if group is None:
            group = groups[text] = {
                "signature": text,
                "key": signature_key(text),
                "title": run.error_message or run.error_class,
                "error_class": run.error_class,
                "fix": fix_beside(run.error_message, fix_for(run.error_class, run.error_message)),
                "fix_links": fix_links(run),
                "runs": [],
                "pairs": set(),
            }
        run.waiting_for = waiting_for(run)
        run.next_try = next_try(run)
        run.amount = amounts.get(run.pk, "")
        run.crm_links = record_links(run, (run.pair.crm,))
        group["runs"].append(run)
        group["pairs"].add(run.pair.name)
    for group in groups.values():
        group["runs"].reverse()  # the newest first
        group["shown"] = group["runs"][:ROWS_SHOWN]
    return sorted(groups.values(), key=lambda group: -len(group["runs"]))


def fix_beside(title: str, fix: str) -> str:
    """The fix, unless the title already says it (an unknown item's message does)."""
    return "" if fix.rstrip(". ") in title else fix


def waiting_for(run: SyncRun) -> str:
    """What the run waits for, in words; the page adds the next try's time."""
    attempt = run.attempt - run.attempts_before_retry
    budget = settings.CLARITY_MAX_ATTEMPTS
    if run.status == Status.RUNNING:
        return f"Trying again now: attempt {attempt} of {budget}"
    if run.status == Status.DEAD:
        return f"Gave up after {attempt} attempt{'s' if attempt != 1 else ''}"
    if run.status == Status.FAILED:
        return "Stopped: fix the cause, then retry"
    if held := on_hold(run):
        return held
    if run.error_class == "RateLimited":
        return "Waiting as the system asked"
    return f"Attempt {attempt} of {budget} failed"


def on_hold(run: SyncRun) -> str:
    """Why a run waiting to retry will not be tried by itself, or "" when it will."""
    if not run.pair.enabled:
        if run.error_class == "AuthError":
            return "Paused until the connection is reconnected and the pair resumed"
        return "Paused with its pair: tried again once the pair is resumed"
    if not run.flow_config.enabled:
        return "Its flow is switched off: tried again once it is on"
    return ""


def next_try(run: SyncRun) -> datetime | None:
    """When the run is tried again by itself; None when it is not."""
    if run.status != Status.RETRY_SCHEDULED or on_hold(run):
        return None
    return run.next_attempt_at


def deal_amounts(runs: QuerySet[SyncRun]) -> dict[int, str]:
    """Each run's deal amount as it was mapped ("1,234.50 USD"), for runs that got so far."""
    mapped = RunStep.objects.filter(
        run__in=runs.values("pk"), name=MAP_DEAL, status=RunStep.Status.SUCCEEDED
    ).order_by("attempt")
    amounts = {}
    for run_id, output in mapped.values_list("run_id", "output"):
        document = (output or {}).get("document") or {}
        try:
            total = Decimal(str(document.get("total")))
        except InvalidOperation:
            continue
        amounts[run_id] = f"{total:,.2f} {document.get('currency') or ''}".strip()
    return amounts


@rule_required(VIEW_RUNS)
def error_queue(request: HttpRequest) -> HttpResponse:
    closed = Resolution.objects.select_related("run__pair", "by")[:RECENTLY_CLOSED]
    context = {
        "groups": error_groups(),
        "closed": closed,
        "can_retry": RETRY_RUNS.allows(request.user),
        "can_close": CLOSE_RUNS.allows(request.user),
    }
    return render(request, "monitoring/error_queue.html", context)


@rule_required(RETRY_RUNS)
@require_POST
def retry_group(request: HttpRequest, key: str) -> HttpResponse:
    group = next((group for group in error_groups() if group["key"] == key), None)
    if group is None:
        messages.warning(request, "That group is empty now: its runs were retried or fixed.")
    else:
        retried, refused = retry_runs(group["runs"])
        report_retries(request, retried, refused)
    return redirect("error-queue")


@rule_required(RETRY_RUNS)
@require_POST
def retry_one(request: HttpRequest, pk: int) -> HttpResponse:
    run = get_object_or_404(SyncRun, pk=pk)
    try:
        retry_run(run)
    except RunActionRefused as refused:
        messages.error(request, str(refused))
    else:
        run.refresh_from_db()
        messages.success(request, f"Run {run.pk} retried: now {run.get_status_display().lower()}.")
    return redirect("error-queue")


@rule_required(CLOSE_RUNS)
@require_POST
def close(request: HttpRequest) -> HttpResponse:
    """Resolve or dismiss the posted runs (one, or a whole group as the page showed it)."""
    kind, note = request.POST.get("kind", ""), request.POST.get("note", "").strip()
    ids = [int(value) for value in request.POST.getlist("run") if value.isdigit()]
    if kind not in Resolution.Kind.values:
        messages.error(request, "Choose Resolve or Dismiss.")
    elif not note:
        messages.error(request, "Write a note first: what was done, or why nothing needs doing.")
    elif not ids:
        messages.warning(request, "No run was chosen.")
    else:
        closed, refused = 0, []
        for run in SyncRun.objects.filter(pk__in=ids).select_related("flow_config"):
            try:
                close_run(run, kind, note, request.user)
                closed += 1
            except RunActionRefused as why:
                refused.append(str(why))
        report_closed(request, kind, closed, refused)
    return redirect("error-queue")


def close_run(run: SyncRun, kind: str, note: str, user: Any) -> Resolution:
    """Take the run out of the queue for good: a run still waiting to retry stops retrying
    (it is cancelled: the cause was dealt with by hand, another try could write twice)."""
    with transaction.atomic():
        if run.status == Status.RETRY_SCHEDULED:
            run = cancel_run(run)
        elif run.status not in CLOSABLE or not queue_runs().filter(pk=run.pk).exists():
            raise RunActionRefused(refusal(run))
        resolution = Resolution.objects.create(run=run, kind=kind, note=note, by=user)
        record_action(user, run, resolution.get_kind_display().lower(), note)
    return resolution


def refusal(run: SyncRun) -> str:
    if run.status == Status.RUNNING:
        return f"Run {run.pk} is being tried right now: wait for its outcome."
    if run.resolutions.exists() and run.status in CLOSABLE:
        return f"Run {run.pk} was closed already."
    return f"Run {run.pk} is {run.get_status_display().lower()}: it is not in the error queue."


def report_closed(request: HttpRequest, kind: str, closed: int, refused: list[str]) -> None:
    if closed:
        runs = f"{closed} run{'s' if closed != 1 else ''}"
        messages.success(request, f"{runs} {kind}: out of the error queue.")
    for why in refused:
        messages.warning(request, why)
