"""The approval queue: what waits (deal, customer, lines, amounts, age) with approve and
reject in one click, and a Decided tab with who decided and when."""

from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from clarity.permissions import needs, rule_required
from flows.approvals import DECIDE, DecisionRefused, approve, reject
from flows.models import Approval, RunStep
from flows.steps import MAP_DEAL

DECIDED_SHOWN = 100


@rule_required(needs("flows.view_approval"))
def approval_list(request: HttpRequest) -> HttpResponse:
    tab = "decided" if request.GET.get("tab") == "decided" else "pending"
    approvals = Approval.objects.select_related("run__pair", "decided_by")
    if tab == "pending":
        rows = [with_deal(a) for a in approvals.filter(status=Approval.Status.PENDING)]
    else:
        rows = [
            {"approval": approval}
            for approval in approvals.exclude(status=Approval.Status.PENDING).order_by(
                "-decided_at"
            )[:DECIDED_SHOWN]
        ]
    context = {
        "tab": tab,
        "rows": rows,
        "pending_count": Approval.objects.filter(status=Approval.Status.PENDING).count(),
        "can_decide": DECIDE.allows(request.user),
    }
    return render(request, "monitoring/approval_list.html", context)


def with_deal(approval: Approval) -> dict[str, Any]:
    """The approval with the customer and lines the run mapped from the deal."""
    mapped = (
        RunStep.objects.filter(run_id=approval.run_id, name=MAP_DEAL, status="succeeded")
        .order_by("-attempt")
        .values_list("output", flat=True)
        .first()
    ) or {}
    document = mapped.get("document") or {}
    return {
        "approval": approval,
        "customer": (mapped.get("customer") or {}).get("name") or document.get("customer_name"),
        "lines": document.get("lines") or [],
    }


@rule_required(DECIDE)
@require_POST
def decide(request: HttpRequest, pk: int) -> HttpResponse:
    """Approve or reject; refused with 403 for anyone who is not an approver or admin."""
    approval = get_object_or_404(Approval.objects.select_related("run"), pk=pk)
    comment = request.POST.get("comment", "")
    try:
        if request.POST.get("decision") == "reject":
            reject(approval, request.user, comment)
            messages.success(request, f"Rejected: {approval.run.summary or approval.run}.")
        else:
            approve(approval, request.user, comment)
            approval.run.refresh_from_db()
            messages.success(
                request,
                f"Approved: {approval.run.summary or approval.run}. "
                f"The run is now {approval.run.get_status_display().lower()}.",
            )
    except DecisionRefused as refused:
        messages.error(request, str(refused))
    return redirect("approval-list")
