"""Run history (filters, pages, bulk retry) and one run's detail (timeline, error, fix,
links, retry and cancel)."""

import json
from itertools import groupby
from typing import Any

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from clarity.permissions import needs, rule_required
from connectors.errors import Ambiguous
from flows.models import SyncRun
from flows.registry import FLOWS
from flows.services import FROM_FAILED_STEP, FROM_START, RunActionRefused, cancel_run, retry_run
from flows.services import choose_customer as choose_customer_for
from flows.services import retry_runs as retry_many
from monitoring.forms import RunFilterForm
from monitoring.views.diagnosis import fix_for, record_links

PAGE_SIZE = 50
VIEW_RUNS = needs("flows.view_syncrun")
RETRY_RUNS = needs("flows.retry_syncrun")


@rule_required(VIEW_RUNS)
def run_list(request: HttpRequest) -> HttpResponse:
    form = RunFilterForm(request.GET or None)
    runs = form.filter(SyncRun.objects.select_related("pair", "flow_config"))
    page = Paginator(runs, PAGE_SIZE).get_page(request.GET.get("page"))
    for run in page:
        run.flow_label = FLOWS[run.flow_config.flow].label if run.flow_config.flow in FLOWS else ""
    query = request.GET.copy()
    query.pop("page", None)
    context = {
        "form": form,
        "page": page,
        "query": query.urlencode(),
    }
    return render(request, "monitoring/run_list.html", context)


@rule_required(RETRY_RUNS)
@require_POST
def retry_selected(request: HttpRequest) -> HttpResponse:
    ids = [int(value) for value in request.POST.getlist("run") if value.isdigit()]
    if not ids:
        messages.warning(request, "Select the runs to retry first.")
    else:
        retried, refused = retry_many(SyncRun.objects.filter(pk__in=ids))
        report_retries(request, retried, refused)
    return redirect(request.POST.get("next") or "run-list")


def report_retries(request: HttpRequest, retried: int, refused: int) -> None:
    messages.success(request, f"{retried} run{'s' if retried != 1 else ''} queued again.")
    if refused:
        messages.warning(
            request, f"{refused} skipped: only failed, dead, cancelled or waiting runs retry."
        )


@rule_required(VIEW_RUNS)
def run_detail(request: HttpRequest, pk: int) -> HttpResponse:
    run = get_object_or_404(
        SyncRun.objects.select_related("pair__crm", "pair__erp", "flow_config", "event"), pk=pk
    )
    flow = FLOWS.get(run.flow_config.flow)
    labels = {step.name: step.label or step.name for step in flow.steps} if flow else {}
    attempts = [
        {"number": number, "steps": [step_view(step, labels) for step in steps]}
        for number, steps in groupby(run.steps.all(), key=lambda step: step.attempt)
    ]
    context = {
        "run": run,
        "flow_label": flow.label if flow else run.flow_config.flow,
        "attempts": list(reversed(attempts)),
        "fix": fix_for(run.error_class, run.error_message) if run.error_class else "",
        "links": record_links(run),
        "references": sorted((run.references or {}).items()),
        "candidates": list(Ambiguous.candidates_in(run.error_fields or {}).items()),
        "can_retry": run.status in (*SyncRun.RETRYABLE, SyncRun.Status.RETRY_SCHEDULED),
        "can_cancel": run.status
        in (
            SyncRun.Status.PENDING,
            SyncRun.Status.RETRY_SCHEDULED,
            SyncRun.Status.AWAITING_APPROVAL,
            SyncRun.Status.FAILED,
        ),
    }
    return render(request, "monitoring/run_detail.html", context)


def step_view(step: Any, labels: dict[str, str]) -> dict[str, Any]:
    return {
        "step": step,
        "label": labels.get(step.name, step.name),
        "input": pretty(step.input),
        "output": pretty(step.output),
    }


def pretty(data: Any) -> str:
    return json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False, default=str)


@rule_required(RETRY_RUNS)
@require_POST
def retry(request: HttpRequest, pk: int) -> HttpResponse:
    run = get_object_or_404(SyncRun, pk=pk)
    start_from = FROM_START if request.POST.get("from") == FROM_START else FROM_FAILED_STEP
    try:
        retry_run(run, start_from)
    except RunActionRefused as refused:
        messages.error(request, str(refused))
    else:
        run.refresh_from_db()
        where = "the start" if start_from == FROM_START else "the failed step"
        status = run.get_status_display().lower()
        messages.success(request, f"Run {run.pk} retried from {where}: now {status}.")
    return redirect(run)


@rule_required(RETRY_RUNS)
@require_POST
def choose_customer(request: HttpRequest, pk: int) -> HttpResponse:
    run = get_object_or_404(SyncRun, pk=pk)
    try:
        choose_customer_for(run, request.POST.get("sage_id", ""))
    except RunActionRefused as refused:
        messages.error(request, str(refused))
    else:
        run.refresh_from_db()
        status = run.get_status_display().lower()
        messages.success(request, f"Booked to {request.POST['sage_id']}; run {run.pk} is {status}.")
    return redirect(run)


@rule_required(needs("flows.cancel_syncrun"))
@require_POST
def cancel(request: HttpRequest, pk: int) -> HttpResponse:
    run = get_object_or_404(SyncRun, pk=pk)
    try:
        cancel_run(run)
    except RunActionRefused as refused:
        messages.error(request, str(refused))
    else:
        messages.success(request, f"Run {run.pk} cancelled.")
    return redirect(run)
