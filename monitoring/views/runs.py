"""Run history (filters, pages, bulk retry) and one run's detail (timeline, error, fix,
links, retry and cancel)."""

import json
from datetime import timedelta
from itertools import groupby
from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.core.paginator import Paginator
from django.db.models import Q, QuerySet, TextField
from django.db.models.functions import Cast
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from connectors.models import IntegrationPair
from flows.models import SyncRun
from flows.registry import FLOW_CHOICES, FLOWS
from flows.services import FROM_FAILED_STEP, FROM_START, RunActionRefused, cancel_run, retry_run
from flows.services import retry_runs as retry_many
from monitoring.views.diagnosis import fix_for, record_links

PAGE_SIZE = 50
PERIODS = {
    "1h": timedelta(hours=1),
    "24h": timedelta(hours=24),
    "7d": timedelta(days=7),
    "30d": timedelta(days=30),
}
# The browser's date-time picker; its value has no seconds and no zone (the site's zone).
MOMENT_INPUT = forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M")
VIEW_RUNS = "flows.view_syncrun"
RETRY_RUNS = "flows.retry_syncrun"


class RunFilterForm(forms.Form):
    """What the run list can be narrowed by; every field is optional."""

    q = forms.CharField(
        required=False,
        label="Search",
        widget=forms.TextInput(attrs={"placeholder": "CRM or Sage id, customer name"}),
    )
    pair = forms.ModelChoiceField(
        IntegrationPair.objects.only("name", "slug"),
        required=False,
        to_field_name="slug",
        empty_label="All pairs",
    )
    flow = forms.ChoiceField(choices=[("", "All flows"), *FLOW_CHOICES], required=False)
    status = forms.ChoiceField(
        choices=[("", "All statuses"), *SyncRun.Status.choices], required=False
    )
    period = forms.ChoiceField(
        choices=[
            ("", "Any time"),
            ("1h", "Last hour"),
            ("24h", "Last 24 hours"),
            ("7d", "Last 7 days"),
            ("30d", "Last 30 days"),
        ],
        required=False,
    )
    since = forms.DateTimeField(required=False, label="From", widget=MOMENT_INPUT)
    until = forms.DateTimeField(required=False, label="To", widget=MOMENT_INPUT)

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if data.get("since") and data.get("until") and data["since"] > data["until"]:
            self.add_error("until", "“To” is before “From”: pick a later time, or swap them.")
        return data

    def filter(self, runs: QuerySet[SyncRun]) -> QuerySet[SyncRun]:
        """The runs that match; none while the form has an error, so that no list is shown
        as if it were the one asked for."""
        if not self.is_bound:
            return runs
        if not self.is_valid():
            return runs.none()
        data = self.cleaned_data
        if data["pair"]:
            runs = runs.filter(pair=data["pair"])
        if data["flow"]:
            runs = runs.filter(flow_config__flow=data["flow"])
        if data["status"]:
            runs = runs.filter(status=data["status"])
        if data["period"]:
            runs = runs.filter(created_at__gte=timezone.now() - PERIODS[data["period"]])
        if data["since"]:
            runs = runs.filter(created_at__gte=data["since"])
        if data["until"]:  # to the end of the minute the picker shows
            end = data["until"].replace(second=0, microsecond=0) + timedelta(minutes=1)
            runs = runs.filter(created_at__lt=end)
        text = data["q"].strip()
        if text:
            matches = (
                Q(entity_key__icontains=text)
                | Q(summary__icontains=text)
                | Q(references_text__icontains=text)
            )
            if text.isdigit():
                matches |= Q(pk=int(text))
            runs = runs.annotate(references_text=Cast("references", TextField())).filter(matches)
        return runs


@login_required
@permission_required(VIEW_RUNS, raise_exception=True)
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


@login_required
@permission_required(RETRY_RUNS, raise_exception=True)
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


@login_required
@permission_required(VIEW_RUNS, raise_exception=True)
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


@login_required
@permission_required(RETRY_RUNS, raise_exception=True)
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


@login_required
@permission_required("flows.cancel_syncrun", raise_exception=True)
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
