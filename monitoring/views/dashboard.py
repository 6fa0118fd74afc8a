"""The dashboard: a card per pair with its health and last day's numbers, and a chart of runs
per hour. The cards are a partial htmx polls; the chart reads a JSON endpoint."""

import math
from datetime import timedelta
from typing import Any

from django.db.models import Count, Max
from django.db.models.functions import TruncHour
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.utils import timezone

from clarity.permissions import HAS_ROLE, rule_required
from connectors.models import IntegrationPair
from flows.exactly_once import last_check
from flows.models import SyncRun
from monitoring.metrics import processing_seconds
from monitoring.views.approvals import success_rate, waiting_approvals
from monitoring.views.errors import queue_runs, unresolved

Status = SyncRun.Status
RANGES = {"24h": 24, "7d": 24 * 7}


@rule_required(HAS_ROLE)
def dashboard(request: HttpRequest) -> HttpResponse:
    context = {"cards": pair_cards(), "ranges": RANGES, "statuses": Status.choices}
    return render(request, "monitoring/dashboard.html", context)


@rule_required(HAS_ROLE)
def dashboard_cards(request: HttpRequest) -> HttpResponse:
    """The cards alone, polled every few seconds."""
    return render(request, "monitoring/_dashboard_cards.html", {"cards": pair_cards()})


@rule_required(HAS_ROLE)
def dashboard_chart(request: HttpRequest) -> JsonResponse:
    hours = RANGES.get(request.GET.get("range", "24h"), 24)
    return JsonResponse(runs_per_hour(hours))


def pair_cards() -> list[dict[str, Any]]:
    """Each pair with the numbers its card shows."""
    since = timezone.now() - timedelta(hours=24)
    pairs = IntegrationPair.objects.select_related("crm", "erp").defer(
        "crm__secrets", "erp__secrets"
    )
    counts: dict[int, dict[str, int]] = {}
    for row in (
        unresolved(SyncRun.objects.filter(created_at__gte=since))
        .values("pair_id", "status")
        .annotate(n=Count("id"))
    ):
        counts.setdefault(row["pair_id"], {})[row["status"]] = row["n"]
    last_success = dict(
        SyncRun.objects.filter(status=Status.SUCCEEDED)
        .values("pair_id")
        .annotate(last=Max("finished_at"))
        .values_list("pair_id", "last")
    )
    waiting = dict(
        waiting_approvals()
        .values("run__pair_id")
        .annotate(n=Count("id"))
        .values_list("run__pair_id", "n")
    )
    in_error_queue = dict(
        queue_runs().values("pair_id").annotate(n=Count("id")).values_list("pair_id", "n")
    )
    durations = processing_seconds(since)
    cards = []
    for pair in pairs:
        by_status = counts.get(pair.pk, {})
        cards.append(
            {
                "pair": pair,
                "runs": sum(by_status.values()),
                "by_status": [
                    (value, label, by_status[value])
                    for value, label in Status.choices
                    if by_status.get(value)
                ],
                "success_rate": success_rate(by_status),
                "p95_seconds": p95(durations.get(pair.pk, [])),
                "last_success": last_success.get(pair.pk),
                "pending_approvals": waiting.get(pair.pk, 0),
                "in_error_queue": in_error_queue.get(pair.pk, 0),
                "exactly_once": last_check(pair),  # the last report's outcome, no Sage call
            }
        )
    return cards


def p95(values: list[float]) -> float | None:
    """The nearest-rank 95th percentile."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(0, math.ceil(0.95 * len(ordered)) - 1)]


def runs_per_hour(hours: int) -> dict[str, Any]:
    """Runs created per hour by status over the last `hours`, ready for Chart.js."""
    now = timezone.localtime()
    first = now.replace(minute=0, second=0, microsecond=0) - timedelta(hours=hours - 1)
    buckets = [first + timedelta(hours=n) for n in range(hours)]
    index = {bucket: n for n, bucket in enumerate(buckets)}
    series: dict[str, list[int]] = {}
    rows = (
        unresolved(SyncRun.objects.filter(created_at__gte=first))
        .annotate(hour=TruncHour("created_at"))
        .values("hour", "status")
        .annotate(n=Count("id"))
    )
    for row in rows:
        position = index.get(timezone.localtime(row["hour"]))
        if position is not None:
            series.setdefault(row["status"], [0] * hours)[position] += row["n"]
    label_format = "%H:%M" if hours <= 24 else "%a %H:%M"
    return {
        "labels": [bucket.strftime(label_format) for bucket in buckets],
        "datasets": [
            {"status": value, "label": label, "data": series[value]}
            for value, label in Status.choices
            if value in series
        ],
    }
