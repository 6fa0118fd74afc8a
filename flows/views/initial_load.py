"""The pair's initial-load page: a Start button (admins) and a live progress bar.

The bar is a partial that htmx re-fetches every second while the run is active; it reads
`SyncRun.progress`, which the run updates after every batch.
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
from flows.models import SyncRun
from flows.registry import FLOWS
from flows.services import INITIAL_LOAD, start_initial_load

SUPPORTED = "it loads Sage 100 into Streak or Salesforce, and Sage Accounting into Streak"


def latest_load(pair: IntegrationPair) -> SyncRun | None:
    return SyncRun.objects.filter(pair=pair, flow_config__flow=INITIAL_LOAD).order_by("-pk").first()


def progress_of(run: SyncRun | None) -> dict[str, Any]:
    """Done, total, percent, records a second and seconds left, from the run's progress."""
    if run is None:
        return {}
    progress = run.progress or {}
    done, total = int(progress.get("done") or 0), int(progress.get("total") or 0)
    figures: dict[str, Any] = {"done": done, "total": total, "counted": "total" in progress}
    figures["percent"] = int(done * 100 / total) if total else (100 if figures["counted"] else 0)
    if progress.get("started"):
        end = run.finished_at if run.status not in SyncRun.ACTIVE and run.finished_at else None
        elapsed = (end or timezone.now()) - datetime.fromisoformat(progress["started"])
        seconds = max(elapsed.total_seconds(), 0.001)
        figures["rate"] = round(done / seconds, 1)
        figures["seconds_left"] = int((total - done) / (done / seconds)) if done else None
    return figures


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
