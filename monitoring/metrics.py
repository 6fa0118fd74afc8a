"""/metrics in the Prometheus text format, from a handful of aggregate queries.

For a signed-in user with a role, or a scraper sending `Authorization: Bearer
<CLARITY_METRICS_TOKEN>`; anyone else gets 401 (the numbers name pairs and flows). Counts are
gauges of the database's present state (runs by status move as runs move); step durations are a
histogram over the last CLARITY_METRICS_WINDOW_MINUTES (default 60), and so is each pair's
processing time (event to success) without the time a run waited for an approver. API calls
per system and outcome are counters summed over every process (`connectors.metering`).
"""

import hmac
from collections.abc import Iterable
from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import Count, Min, Q, Sum
from django.db.models.functions import Coalesce
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django_q.models import OrmQ

from clarity.permissions import HAS_ROLE
from clarity.two_factor import missing_second_factor
from connectors import metering
from connectors.models import ApiCallCount, IntegrationPair
from flows.models import RunStep, SyncRun
from monitoring.views.approvals import waiting_approvals

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
BUCKETS_SECONDS = (0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60)


def escape(value: object) -> str:
    return str(value).replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def sample(name: str, value: float, **labels: object) -> str:
    """One line; whole numbers in full, since `:g` would round a large counter."""
    number = str(value) if isinstance(value, int) else f"{value:g}"
    if not labels:
        return f"{name} {number}"
    text = ",".join(f'{key}="{escape(label)}"' for key, label in labels.items())
    return f"{name}{{{text}}} {number}"


def family(name: str, kind: str, help_text: str, samples: Iterable[str]) -> list[str]:
    return [f"# HELP {name} {help_text}", f"# TYPE {name} {kind}", *samples]


def runs_by_status() -> list[str]:
    rows = SyncRun.objects.values("pair__slug", "flow_config__flow", "status").annotate(
        count=Count("pk")
    )
    return family(
        "clarity_runs", "gauge", "Runs in the database by pair, flow and status.",
        (sample("clarity_runs", row["count"], pair=row["pair__slug"],
                flow=row["flow_config__flow"], status=row["status"])
         for row in rows.order_by("pair__slug", "flow_config__flow", "status")),
    )  # fmt: skip


def step_durations(window: timedelta) -> list[str]:
    """A histogram per step name, with cumulative buckets, from one grouped query."""
    buckets = {
        f"le_{index}": Count("pk", filter=Q(duration_ms__lte=int(bound * 1000)))
        for index, bound in enumerate(BUCKETS_SECONDS)
    }
    rows = (
        RunStep.objects.filter(started_at__gte=timezone.now() - window)
        .exclude(status=RunStep.Status.SKIPPED)
        .values("name")
        .annotate(count=Count("pk"), total_ms=Sum("duration_ms"), **buckets)
        .order_by("name")
    )
    name = "clarity_step_duration_seconds"
    samples = []
    for row in rows:
        for index, bound in enumerate(BUCKETS_SECONDS):
            samples.append(sample(f"{name}_bucket", row[f"le_{index}"], step=row["name"],
                                  le=f"{bound:g}"))  # fmt: skip
        samples.append(sample(f"{name}_bucket", row["count"], step=row["name"], le="+Inf"))
        samples.append(sample(f"{name}_sum", (row["total_ms"] or 0) / 1000, step=row["name"]))
        samples.append(sample(f"{name}_count", row["count"], step=row["name"]))
    minutes = int(window.total_seconds() // 60)
    return family(name, "histogram", f"Step durations over the last {minutes} minutes.", samples)


def processing_seconds(since: datetime) -> dict[int, list[float]]:
    """Seconds from receiving the event (or creating the run) to success, per pair, for runs
    that succeeded since `since`, without the wait from asking an approver to the decision:
    a deal that waited a day for a decision says nothing about how fast the integration is."""
    seconds: dict[int, list[float]] = {}
    succeeded = SyncRun.objects.filter(
        status=SyncRun.Status.SUCCEEDED, finished_at__gte=since
    ).values_list(
        "pair_id", "created_at", "event__received_at", "finished_at",
        "approval__created_at", "approval__decided_at",
    )  # fmt: skip
    for pair_id, created, received, finished, asked, decided in succeeded:
        waited = (decided - asked) if asked and decided else timedelta(0)
        took = (finished - (received or created) - waited).total_seconds()
        seconds.setdefault(pair_id, []).append(max(took, 0.0))
    return seconds


def run_processing(window: timedelta) -> list[str]:
    """A histogram per pair of `processing_seconds` over the window."""
    name = "clarity_run_processing_seconds"
    slugs = dict(IntegrationPair.objects.values_list("pk", "slug"))
    samples = []
    for pair_id, values in sorted(processing_seconds(timezone.now() - window).items()):
        pair = slugs[pair_id]
        for bound in BUCKETS_SECONDS:
            count = sum(1 for value in values if value <= bound)
            samples.append(sample(f"{name}_bucket", count, pair=pair, le=f"{bound:g}"))
        samples.append(sample(f"{name}_bucket", len(values), pair=pair, le="+Inf"))
        samples.append(sample(f"{name}_sum", round(sum(values), 3), pair=pair))
        samples.append(sample(f"{name}_count", len(values), pair=pair))
    minutes = int(window.total_seconds() // 60)
    help_text = (
        f"Event to success per run over the last {minutes} minutes, without the wait for an "
        "approver's decision."
    )
    return family(name, "histogram", help_text, samples)


def queue_and_lag() -> list[str]:
    # An approved run is pending again from its decision, not from the deal's win.
    oldest = SyncRun.objects.filter(status=SyncRun.Status.PENDING).aggregate(
        oldest=Min(Coalesce("approval__decided_at", "created_at"))
    )["oldest"]
    lag = (timezone.now() - oldest).total_seconds() if oldest else 0
    due_tasks = OrmQ.objects.filter(lock__lte=timezone.now())
    return [
        # A retry waits in the queue until it is due (flows/queue.py); only due tasks count.
        *family("clarity_queue_depth", "gauge", "Tasks due in the django-q2 queue, not taken.",
                [sample("clarity_queue_depth", due_tasks.count())]),
        *family("clarity_inbox_lag_seconds", "gauge", "Age of the oldest pending run.",
                [sample("clarity_inbox_lag_seconds", round(lag, 3))]),
    ]  # fmt: skip


def approvals_pending() -> list[str]:
    rows = (
        waiting_approvals()
        .values("run__pair__slug")
        .annotate(count=Count("pk"))
        .order_by("run__pair__slug")
    )
    return family(
        "clarity_approvals_pending", "gauge", "Approvals waiting for a decision, by pair.",
        (sample("clarity_approvals_pending", row["count"], pair=row["run__pair__slug"])
         for row in rows),
    )  # fmt: skip


def api_calls() -> list[str]:
    """Calls to each system by outcome; this process's latest calls are saved first."""
    metering.flush()
    return family(
        "clarity_api_calls_total", "counter",
        "Calls made to each outside system, by outcome (ok, client_error, server_error, "
        "rate_limited, network_error).",
        (sample("clarity_api_calls_total", row.calls, system=row.system, outcome=row.outcome)
         for row in ApiCallCount.objects.all()),
    )  # fmt: skip


def render_metrics() -> str:
    window = timedelta(minutes=getattr(settings, "CLARITY_METRICS_WINDOW_MINUTES", 60))
    lines = [*runs_by_status(), *step_durations(window), *run_processing(window),
             *queue_and_lag(), *approvals_pending(), *api_calls()]  # fmt: skip
    return "\n".join(lines) + "\n"


def scraper_token_given(request: HttpRequest) -> bool:
    token = settings.CLARITY_METRICS_TOKEN
    given = request.headers.get("Authorization", "").removeprefix("Bearer ").strip()
    return bool(token) and hmac.compare_digest(given.encode(), token.encode())


@never_cache
def metrics(request: HttpRequest) -> HttpResponse:
    user = request.user
    if user.is_authenticated and not scraper_token_given(request):
        if not HAS_ROLE.allows(user, "GET") or missing_second_factor(user):
            return HttpResponse(
                "Your account may not read the metrics: it needs a role (and, where asked, "
                "its second factor).\n",
                status=403,
                content_type="text/plain; charset=utf-8",
            )
    elif not scraper_token_given(request):
        response = HttpResponse(
            "Sign in, or send Authorization: Bearer <CLARITY_METRICS_TOKEN> (a setting of this "
            "server) to read the metrics.\n",
            status=401,
            content_type="text/plain; charset=utf-8",
        )
        response["WWW-Authenticate"] = 'Bearer realm="metrics"'
        return response
    return HttpResponse(render_metrics(), content_type=CONTENT_TYPE)
