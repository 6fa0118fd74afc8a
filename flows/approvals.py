"""Deciding an approval, and telling approvers that one waits.

Approve and reject only record the decision and put the run back in the queue: the run's
approval step then reads the decision, so what happens next (going on to create the order,
or writing the reason to the CRM and ending `rejected`) is a step with the runner's retries
and its own record, not a side effect of a button.
"""

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.utils import timezone

from clarity.permissions import needs
from flows.models import Approval, SyncRun
from flows.queue import enqueue
from flows.steps.approval import PERMISSION

# Who may decide: the approval queue's page, the API's approve and reject, and `decide` itself.
DECIDE = needs(PERMISSION, message="Only approvers and admins can approve or reject.")


class DecisionRefused(Exception):
    """The approval cannot take this decision; the message says why."""


def approve(approval: Approval, user, comment: str = "") -> Approval:
    """Record the approval and let the run go on to create the Sage record."""
    return decide(approval, user, Approval.Status.APPROVED, comment)


def reject(approval: Approval, user, comment: str) -> Approval:
    """Record the rejection; the run writes `comment` to the CRM and ends `rejected`."""
    if not comment.strip():
        raise DecisionRefused("Say why the order is rejected: the reason goes to the CRM.")
    return decide(approval, user, Approval.Status.REJECTED, comment)


def decide(approval: Approval, user, status: str, comment: str) -> Approval:
    if not DECIDE.allows(user):
        raise PermissionDenied(DECIDE.message)
    now = timezone.now()
    with transaction.atomic():
        decided = Approval.objects.filter(pk=approval.pk, status=Approval.Status.PENDING).update(
            status=status, decided_by=user, decided_at=now, comment=comment.strip()
        )
        if not decided:
            raise DecisionRefused(already_decided(approval))
        run = SyncRun.objects.get(pk=approval.run_id)
        SyncRun.objects.filter(pk=run.pk, status=SyncRun.Status.AWAITING_APPROVAL).update(
            status=SyncRun.Status.PENDING, next_attempt_at=None, updated_at=now
        )
        enqueue(run)  # the queue row commits with the decision
    approval.refresh_from_db()
    return approval


def already_decided(approval: Approval) -> str:
    current = Approval.objects.select_related("decided_by").get(pk=approval.pk)
    when = timezone.localtime(current.decided_at).strftime("%Y-%m-%d %H:%M")
    return (
        f"This order was already {current.get_status_display().lower()} by "
        f"{current.decided_by or 'someone'} on {when}; a decision cannot be changed."
    )
