"""The reconciliation page of a pair: every won deal since a day beside its Sage document, the
differences filtered by kind and text, exported as CSV, and repaired one row at a time
(flows/reconciliation.py, flows/reconciliation_repairs.py). Viewers see; operators repair."""

import csv
from urllib.parse import urlencode

from django import forms
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse

from clarity.permissions import rule_required
from connectors.errors import ConnectorError
from connectors.models import IntegrationPair
from flows.reconciliation import PROBLEMS, Difference, reconcile
from flows.reconciliation_repairs import RECONCILIATION, RepairRefused, repair
from mappings.lookup_csv import export_cell
from monitoring.views.exactly_once import SinceForm

CSV_COLUMNS = ("problem", "crm_id", "deal", "sage_id", "expected", "found", "currency",
               "reviewed")  # fmt: skip


class ReconciliationForm(SinceForm):
    problem = forms.ChoiceField(
        label="Problem", required=False, choices=[("", "Every problem"), *PROBLEMS.items()]
    )
    q = forms.CharField(label="Search", required=False, help_text="Deal, ID or Sage number")


def matching(differences: list[Difference], problem: str, search: str) -> list[Difference]:
    search = search.strip().lower()
    return [
        difference
        for difference in differences
        if (not problem or difference.problem == problem)
        and (
            not search
            or search in f"{difference.crm_id} {difference.label} {difference.sage_id}".lower()
        )
    ]


@rule_required(RECONCILIATION)
def reconciliation_page(request: HttpRequest, slug: str) -> HttpResponse:
    pair = get_object_or_404(IntegrationPair.objects.select_related("crm", "erp"), slug=slug)
    if request.method == "POST":
        return repair_row(request, pair)
    form = ReconciliationForm(request.GET or None)
    since = form.since_or_default()
    if not request.GET.get("since") and since is not None:
        form = ReconciliationForm(initial={"since": since, **request.GET.dict()})
    context = {
        "pair": pair, "form": form, "result": None, "rows": [], "error": "",
        "can_repair": RECONCILIATION.allows(request.user),
        "query": urlencode({k: v for k, v in request.GET.items() if k != "format"}),
    }  # fmt: skip
    if since is not None:
        try:
            result = reconcile(pair, since)
        except ConnectorError as exc:
            context["error"] = f"{pair.erp.name} could not be listed: {exc} Try again later."
        else:
            problem = request.GET.get("problem", "")
            rows = matching(result.differences, problem if problem in PROBLEMS else "",
                            request.GET.get("q", ""))  # fmt: skip
            if request.GET.get("format") == "csv":
                return as_csv(pair, rows)
            context.update(result=result, rows=rows, since=since)
    return render(request, "monitoring/reconciliation.html", context)


def as_csv(pair: IntegrationPair, rows: list[Difference]) -> HttpResponse:
    """The filtered rows, each cell safe to open in a spreadsheet (no formula runs)."""
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="reconciliation-{pair.slug}.csv"'
    writer = csv.writer(response)
    writer.writerow(CSV_COLUMNS)
    for row in rows:
        values = (row.problem, row.crm_id, row.label, row.sage_id, row.expected, row.found,
                  row.currency, row.reviewed)  # fmt: skip
        writer.writerow([export_cell(str(value)) for value in values])
    return response


def repair_row(request: HttpRequest, pair: IntegrationPair) -> HttpResponse:
    """One row's repair, then back to the page as it was filtered."""
    form = SinceForm(request.POST)
    since = form.since_or_default()
    back = reverse("pair-reconciliation", args=[pair.slug])
    query = request.POST.get("query", "")
    if since is None:
        messages.error(request, "Give the first day as a date (YYYY-MM-DD), then repair.")
        return redirect(f"{back}?{query}")
    try:
        done = repair(
            pair, since, request.POST.get("crm_id", ""), request.POST.get("action", ""),
            request.user, note=request.POST.get("note", ""),
            sage_id=request.POST.get("sage_id", ""),
        )  # fmt: skip
    except RepairRefused as refused:
        messages.error(request, str(refused))
    else:
        messages.success(request, done)
    return redirect(f"{back}?{query}")
