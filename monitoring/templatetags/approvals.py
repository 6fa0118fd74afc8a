"""Approvals in templates: amounts as money, and the approval step of a run read as what
happened (asked, approved by whom, rejected and why) rather than as an error."""

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django import template
from django.core.exceptions import ObjectDoesNotExist
from django.utils.timesince import timesince

from flows.models import Approval, RunStep, SyncRun
from monitoring.views import approvals

register = template.Library()

# The won-deal flows' steps that wait for an approver: the threshold rule and the anomaly
# checks (flows.anomaly.step).
APPROVAL_STEPS = ("approval", "anomaly_checks")
ASKED, REJECTED = "AwaitApproval: ", "Rejected: "
MINUTE = timedelta(minutes=1)


@dataclass(frozen=True)
class ApprovalStep:
    state: str  # the badge's class suffix (run-…)
    badge: str
    text: str
    outcome: str = ""  # the step's class suffix (step-…) when not `state`

    @property
    def step_class(self) -> str:
        return self.outcome or self.state


@register.filter
def money(value: Any, currency: str = "") -> str:
    """{{ amount|money:currency }} → 1,234.50 USD."""
    return approvals.money(value, currency)


@register.simple_tag
def approval_step(step: RunStep, run: SyncRun) -> ApprovalStep | None:
    """How the run page shows an approval step; None for any other step, and for an
    approval step that failed for another reason (that is a real error)."""
    if step.name not in APPROVAL_STEPS or step.status == RunStep.Status.SKIPPED:
        return None
    output = step.output or {}
    if step.status == RunStep.Status.SUCCEEDED:
        if output.get("approved_by") is not None:
            comment = f" — {output['comment']}" if output.get("comment") else ""
            text = f"Approved by {output['approved_by']}{comment}"
            return ApprovalStep("approved", "Approved", text, "succeeded")
        if output.get("needed") is False:
            base = run.pair.base_currency
            amount = approvals.money(output.get("base_amount"), base)
            threshold = approvals.money(output.get("threshold"), base)
            text = f"{amount} is within the threshold of {threshold}."
            return ApprovalStep("succeeded", "Not needed", text)
        return None
    approval = approval_of(run)
    if step.error.startswith(ASKED):
        asked = step.error.removeprefix(ASKED)
        if approval is None or approval.status == Approval.Status.PENDING:
            return ApprovalStep("awaiting_approval", "Awaiting approval", asked)
        return ApprovalStep("waited", "Waited for approval", f"{asked} {decided_after(approval)}")
    if step.error.startswith(REJECTED):
        return ApprovalStep("rejected", "Rejected", rejection(approval, step.error))
    return None


def decided_after(approval: Approval) -> str:
    if not approval.decided_at or approval.decided_at - approval.created_at < MINUTE:
        return "Decided within a minute."
    return f"Decided after {timesince(approval.created_at, approval.decided_at)}."


@register.simple_tag
def rejection_of(run: SyncRun) -> str:
    """Why a rejected run ended, as its approval says: Rejected by anna — reason."""
    return rejection(approval_of(run), run.error_message)


def rejection(approval: Approval | None, fallback: str) -> str:
    if approval is None or approval.status != Approval.Status.REJECTED:
        return fallback.removeprefix(REJECTED)
    return f"Rejected by {approval.decided_by or 'an approver'} — {approval.comment}"


def approval_of(run: SyncRun) -> Approval | None:
    """The run's approval (Django keeps it on the run after the first look)."""
    try:
        return run.approval
    except ObjectDoesNotExist:
        return None
