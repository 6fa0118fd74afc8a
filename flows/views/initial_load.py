"""The pair's initial-load page: a Start button (admins) and a live progress bar.

The bar is a partial that htmx re-fetches every second while the run is active; it reads
`SyncRun.progress`, which the run updates after every record (every call of 200, for a CRM
that takes them together), and says which record it is on and how long it has taken.
"""

from datetime import datetime
from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.utils import timezone
from django.views.generic import TemplateView

from clarity.permissions import RuleRequiredMixin, needs
from connectors.models import IntegrationPair
from flows.models import RunStep, SyncRun
from flows.registry import FLOWS
from flows.services import INITIAL_LOAD, start_initial_load

SUPPORTED = "it loads Sage 100 into Streak or Salesforce, and Sage Accounting into Streak"


def latest_load(pair: IntegrationPair) -> SyncRun | None:
    return SyncRun.objects.filter(pair=pair, flow_config__flow=INITIAL_LOAD).order_by("-pk").first()


def progress_of(run: SyncRun | None) -> dict[str, Any]:
    """Done, total, percent, what it is doing now (record N of M), time taken, records a
    second and time left, from the run's progress, which moves after every record (every
    call, for a CRM that takes 200 a call)."""
    if run is None:
        return {}
    progress = run.progress or {}
    done, total = int(progress.get("done") or 0), int(progress.get("total") or 0)
    figures: dict[str, Any] = {"done": done, "total": total, "counted": "total" in progress}
    figures["percent"] = int(done * 100 / total) if total else (100 if figures["counted"] else 0)
    figures["doing"] = doing(run, progress)
    active = run.status in SyncRun.ACTIVE
    started = datetime.fromisoformat(progress["started"]) if progress.get("started") else None
    started = started or run.started_at
    if started:
        end = run.finished_at if not active and run.finished_at else timezone.now()
        seconds = max((end - started).total_seconds(), 0.001)
        figures["elapsed"] = in_words(seconds)
        figures["rate"] = round(done / seconds, 1) if figures["counted"] else None
        if active and done and total > done:
            figures["time_left"] = in_words((total - done) / (done / seconds))
    return figures


def doing(run: SyncRun, progress: dict[str, Any]) -> str:
    """What the load is at, in words: counting, the customer or item it is on, or done."""
    if run.status not in SyncRun.ACTIVE:
        return ""
    count = run.steps.filter(name="count", status=RunStep.Status.SUCCEEDED).last()
    if "total" not in progress or count is None:
        return "Counting the records in Sage…"
    customers = int(count.output.get("customers") or 0)
    customers_done = int(progress.get("customers_done") or 0)
    if customers_done < customers:
        return f"Loading customer {customers_done + 1} of {customers}"
    items = int(progress.get("total") or 0) - customers
    items_done = int(progress.get("items_done") or 0)
    if items and items_done < items:
        return f"Loading item {items_done + 1} of {items}"
    return "Finishing…"


def in_words(seconds: float) -> str:
    """A duration as people say it: 8 s, 2 min 05 s, 1 h 04 min."""
    whole = int(seconds)
    if whole < 60:
        return f"{whole} s"
    if whole < 3600:
        return f"{whole // 60} min {whole % 60:02d} s"
    return f"{whole // 3600} h {whole % 3600 // 60:02d} min"


class InitialLoadView(RuleRequiredMixin, TemplateView):
    permission = needs("flows.view_syncrun")
    template_name = "flows/initial_load.html"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        pair = get_object_or_404(IntegrationPair.objects.select_related("crm", "erp"),
                                 slug=self.kwargs["slug"])  # fmt: skip
        run = latest_load(pair)
        return super().get_context_data(
            pair=pair,
            run=run,
            figures=progress_of(run),
            active=bool(run and run.status in SyncRun.ACTIVE),
            supported=FLOWS[INITIAL_LOAD].works_for(pair.crm.system, pair.erp.system),
            supported_pairs=SUPPORTED,
            flow=FLOWS[INITIAL_LOAD],
            **kwargs,
        )


class InitialLoadProgressView(InitialLoadView):
    """The progress card alone, for htmx polling."""

    template_name = "flows/_initial_load_progress.html"


class InitialLoadStartView(RuleRequiredMixin):
    permission = needs("flows.add_syncrun")

    def post(self, request: HttpRequest, slug: str) -> HttpResponse:
        pair = get_object_or_404(IntegrationPair.objects.select_related("crm", "erp"), slug=slug)
        page = reverse("initial-load", args=[pair.slug])
        run = latest_load(pair)
        if not FLOWS[INITIAL_LOAD].works_for(pair.crm.system, pair.erp.system):
            messages.error(request, f"The initial load does not work for this pair: {SUPPORTED}.")
        elif run and run.status in SyncRun.ACTIVE:
            messages.error(request, "An initial load of this pair is already under way.")
        else:
            start_initial_load(pair)
            messages.success(request, f"Initial load of {pair.name} started.")
        return HttpResponseRedirect(page)
