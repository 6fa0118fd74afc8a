"""Run history (filters, pages, bulk retry, auto-refresh) and one run's detail (timeline,
error, fix, links, retry and cancel).

The list opens on what people come for: the runs of deals and the runs that failed or wait to
retry ("Deal runs and failures"); "All runs" adds the background flows (order status, stock,
payments, customer sync), and a link from elsewhere that names a filter (a pair's runs, the
dashboard's counts) shows all of them. A run is found by its Deal ID, deal name, customer or
the number of the document it made in Sage.
"""

import json
from datetime import timedelta
from itertools import groupby
from typing import Any

from django import forms
from django.contrib import messages
from django.core.paginator import Paginator
from django.db.models import Q, QuerySet
from django.http import HttpRequest, HttpResponse, QueryDict
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from clarity.permissions import needs, rule_required
from connectors.errors import Ambiguous
from connectors.roles import DEAL_STAGE
from flows.base import LABEL_SEPARATOR
from flows.models import SyncRun
from flows.registry import FLOWS
from flows.run_edits import (
    EditRefused,
    change_lines,
    edit_and_retry,
    editable_document,
    why_not_editable,
)
from flows.services import FROM_FAILED_STEP, FROM_START, RunActionRefused, cancel_run, retry_run
from flows.services import choose_customer as choose_customer_for
from flows.services import retry_runs as retry_many
from monitoring.forms import RunFilterForm
from monitoring.views.diagnosis import fix_for, record_links

PAGE_SIZE = 50
REFRESH_SECONDS = 10
VIEW_RUNS = needs("flows.view_syncrun")
RETRY_RUNS = needs("flows.retry_syncrun")
DEALS_AND_FAILURES, ALL_RUNS = "deals", "all"
# Runs that did not get done: they failed, gave up, or wait to try again.
FAILURES = (SyncRun.Status.FAILED, SyncRun.Status.DEAD, SyncRun.Status.RETRY_SCHEDULED)


class RunListForm(RunFilterForm):
    """The run filter, with what the list shows and whether it refreshes itself."""

    show = forms.ChoiceField(
        choices=[(DEALS_AND_FAILURES, "Deal runs and failures"), (ALL_RUNS, "All runs")],
        initial=DEALS_AND_FAILURES,
        required=False,
    )
    refresh = forms.BooleanField(required=False, label=f"Auto-refresh every {REFRESH_SECONDS} s")
    field_order = ["show", "q"]

    def __init__(self, data: QueryDict | None) -> None:
        if data is not None and "show" not in data:  # a link that names a filter wants it all
            data = data.copy()
            data["show"] = ALL_RUNS
        super().__init__(data)
        self.fields["q"].widget.attrs.update(
            placeholder="Deal ID, customer or Sage number", size=30
        )

    def filter(self, runs: QuerySet[SyncRun]) -> QuerySet[SyncRun]:
        runs = super().filter(runs)
        shown = self.cleaned_data.get("show") if self.is_bound else DEALS_AND_FAILURES
        if shown == DEALS_AND_FAILURES:
            runs = runs.filter(Q(flow_config__flow__in=deal_flows()) | Q(status__in=FAILURES))
        return runs

    def refreshes(self) -> bool:
        return self.is_bound and self.is_valid() and self.cleaned_data["refresh"]


def deal_flows() -> list[str]:
    """The flows a deal starts: those that watch deals' stages."""
    return [
        flow.name for flow in FLOWS.values() if any(w.topic == DEAL_STAGE for w in flow.watches)
    ]


@rule_required(VIEW_RUNS)
def run_list(request: HttpRequest) -> HttpResponse:
    form = RunListForm(request.GET or None)
    runs = form.filter(SyncRun.objects.select_related("pair", "flow_config", "approval"))
    page = Paginator(runs, PAGE_SIZE).get_page(request.GET.get("page"))
    for run in page:
        run.flow_label = FLOWS[run.flow_config.flow].label if run.flow_config.flow in FLOWS else ""
        run.took = took(run)
        run.label_head, _, run.label_rest = run.label.partition(LABEL_SEPARATOR)
    query = request.GET.copy()
    query.pop("page", None)
    context = {
        "form": form,
        "page": page,
        "query": query.urlencode(),
        "refresh_seconds": REFRESH_SECONDS if form.refreshes() else 0,
    }
    return render(request, "monitoring/run_list.html", context)


def took(run: SyncRun) -> str:
    """How long a finished run took from its creation, in words ("" while it is not done),
    without the wait for an approver's decision (as the dashboard's processing times)."""
    if run.finished_at is None:
        return ""
    approval = getattr(run, "approval", None)
    waited = timedelta(0)
    if approval is not None and approval.decided_at is not None:
        waited = approval.decided_at - approval.created_at
    return in_words(max((run.finished_at - run.created_at - waited).total_seconds(), 0.0))


def in_words(seconds: float) -> str:
    """A duration as people read it: 0.4 s, 12 s, 3 min 05 s, 2 h 10 min, 3 d 4 h."""
    if round(seconds, 1) < 10:
        return f"{seconds:.1f} s"
    whole = round(seconds)
    if whole < 60:
        return f"{whole} s"
    if whole < 3600:
        return f"{whole // 60} min {whole % 60:02d} s"
    if whole < 86400:
        return f"{whole // 3600} h {whole % 3600 // 60:02d} min"
    return f"{whole // 86400} d {whole % 86400 // 3600} h"


@rule_required(RETRY_RUNS)
@require_POST
def retry_selected(request: HttpRequest) -> HttpResponse:
    ids = [int(value) for value in request.POST.getlist("run") if value.isdigit()]
    if not ids:
        messages.warning(request, "Select the runs to retry first.")
    else:
        retried, refused = retry_many(SyncRun.objects.filter(pk__in=ids))
        report_retries(request, retried, refused)
    back_to = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(
        back_to, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        back_to = "run-list"  # only back to a page of ours, never to another site
    return redirect(back_to)


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
        "edits": [(edit, change_lines(edit)) for edit in run.edits.select_related("edited_by")],
        "can_edit": not why_not_editable(run),
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


@rule_required(RETRY_RUNS)
def edit_run(request: HttpRequest, pk: int) -> HttpResponse:
    """The failed run's mapped document as a form; saved, the edit is kept on the run and the
    run retried (a changed quantity or price waits for an approver first)."""
    run = get_object_or_404(SyncRun.objects.select_related("pair__erp", "flow_config"), pk=pk)
    try:
        editable = editable_document(run)
    except RunActionRefused as refused:
        messages.error(request, str(refused))
        return redirect(run)
    errors: dict[str, str] = {}
    posted: dict[str, str] = {}
    if request.method == "POST":
        posted = {name: value for name, value in request.POST.items() if is_document_field(name)}
        try:
            edit = edit_and_retry(run, request.user, posted, request.POST.get("note", ""))
        except EditRefused as refused:
            errors = refused.errors
        except RunActionRefused as refused:
            messages.error(request, str(refused))
            return redirect(run)
        else:
            run.refresh_from_db()
            waits = " It waits for an approver" if edit.needs_approval else ""
            status = run.get_status_display().lower()
            messages.success(request, f"Edit saved and run {run.pk} retried: now {status}.{waits}")
            return redirect(run)
    context = {
        "run": run,
        "editable": editable,
        "header": [row | {"value": posted.get(row["field"], row["value"]),
                          "error": errors.get(row["field"], "")} for row in editable.header],
        "lines": [{name: cell | {"value": posted.get(cell["field"], cell["value"]),
                                 "error": errors.get(cell["field"], "")}
                   for name, cell in line.items()} for line in editable.lines],
        "general_errors": [problem for field, problem in errors.items()
                           if field in ("changes", "note")],
        "note": request.POST.get("note", ""),
    }  # fmt: skip
    return render(request, "monitoring/_run_edit_page.html", context, status=400 if errors else 200)


def is_document_field(name: str) -> bool:
    """A posted name that is a document field (not the token or the note)."""
    return name not in ("csrfmiddlewaretoken", "note")
