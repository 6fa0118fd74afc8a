"""The approval rule: a deal worth more than the flow's threshold (in the pair's base
currency) waits for an approver; approved, it goes on; rejected, the reason goes to the CRM
and the run ends `rejected`. Approvers are emailed when a run starts waiting.

The decisions themselves are taken in `flows.approvals`."""

from decimal import Decimal
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.core.mail import send_mail
from django.db.models import Q
from django.urls import NoReverseMatch, reverse
from django.utils import timezone

from flows.base import AwaitApproval, Rejected, StepContext
from flows.models import Approval, SyncRun
from flows.steps import MAP_DEAL
from flows.steps.crm import add_note
from flows.steps.mapping import decimal

PERMISSION = "flows.decide_approval"


def approval_rule(ctx: StepContext) -> dict[str, Any]:
    document = ctx.outputs[MAP_DEAL]["document"]
    base_amount = decimal(document.get("total_base"))
    threshold = Decimal(str(ctx.option("approval_threshold")))
    base = ctx.pair.base_currency
    if base_amount <= threshold:
        return {"needed": False, "base_amount": str(base_amount), "threshold": str(threshold)}
    approval = Approval.objects.filter(run=ctx.run).select_related("decided_by").first()
    if approval and approval.status == Approval.Status.APPROVED:
        return {
            "needed": True,
            "approved_by": str(approval.decided_by or ""),
            "comment": approval.comment,
        }
    if approval and approval.status == Approval.Status.REJECTED:
        note = rejection_note(approval)
        add_note(ctx, note)
        raise Rejected(note)
    reason = f"{base_amount:,.2f} {base} is over the approval threshold of {threshold:,.2f} {base}."
    if approval is None:
        notify_approvers(ctx.run, reason)
    raise AwaitApproval(
        amount=decimal(document.get("total")),
        currency=document.get("currency") or base,
        base_amount=base_amount,
        reason=reason,
    )


def rejection_note(approval: Approval) -> str:
    """What the CRM is told; the same text on every attempt, so it is written once."""
    when = timezone.localtime(approval.decided_at).strftime("%Y-%m-%d")
    return (
        f"Sage order not created: rejected by {approval.decided_by or 'an approver'} on "
        f"{when}. Reason: {approval.comment}"
    )


def approvers():
    """Active users who may decide approvals and have an email address."""
    app_label, codename = PERMISSION.split(".")
    permission = Permission.objects.get(content_type__app_label=app_label, codename=codename)
    return (
        get_user_model()
        .objects.filter(is_active=True)
        .exclude(email="")
        .filter(
            Q(is_superuser=True)
            | Q(user_permissions=permission)
            | Q(groups__permissions=permission)
        )
        .distinct()
    )


def run_link(run: SyncRun) -> str:
    try:
        path = run.get_absolute_url()
    except NoReverseMatch:  # until the run pages are routed, link the API's view of the run
        path = reverse("api-run-detail", args=[run.pk])
    return f"{settings.CLARITY_PUBLIC_URL.rstrip('/')}{path}"


def notify_approvers(run: SyncRun, reason: str) -> int:
    """Email every approver that `run` waits for a decision; returns how many were told."""
    recipients = sorted(approvers().values_list("email", flat=True))
    if not recipients:
        return 0
    subject = f"Approval needed: {run.summary or run.entity_key}"
    body = (
        f"A won deal waits for your approval before Clarity Connect creates it in Sage.\n\n"
        f"Pair: {run.pair.name}\nDeal: {run.summary or run.entity_key}\nWhy: {reason}\n\n"
        f"Approve or reject it here: {run_link(run)}\n"
    )
    return send_mail(subject, body, None, recipients)
