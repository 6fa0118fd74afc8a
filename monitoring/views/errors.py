"""The error queue: failed and dead runs grouped by what went wrong, each group with its fix
and one button to retry all of it (after an outage, a hundred runs are one click)."""

from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from clarity.permissions import rule_required
from flows.models import SyncRun
from flows.services import retry_runs
from monitoring.views.diagnosis import fix_for, signature, signature_key
from monitoring.views.runs import RETRY_RUNS, VIEW_RUNS, report_retries

IN_QUEUE = (SyncRun.Status.FAILED, SyncRun.Status.DEAD)


def error_groups() -> list[dict[str, Any]]:
    """Failed and dead runs by signature, the biggest group first."""
    groups: dict[str, dict[str, Any]] = {}
    runs = SyncRun.objects.filter(status__in=IN_QUEUE).select_related("pair", "flow_config")
    for run in runs.order_by("-updated_at"):
        text = signature(run)
        group = groups.setdefault(
            text,
            {
                "signature": text,
                "key": signature_key(text),
                "fix": fix_for(run.error_class, run.error_message),
                "example": run,
                "runs": [],
                "pairs": set(),
            },
        )
        group["runs"].append(run)
        group["pairs"].add(run.pair.name)
    return sorted(groups.values(), key=lambda group: -len(group["runs"]))


@rule_required(VIEW_RUNS)
def error_queue(request: HttpRequest) -> HttpResponse:
    return render(request, "monitoring/error_queue.html", {"groups": error_groups()})


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
