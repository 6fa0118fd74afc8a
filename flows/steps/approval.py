"""The approval rule: a deal worth more than the flow's threshold (in the pair's base
currency) waits for an approver; approved, it goes on; rejected, the reason goes to the CRM
and the run ends `rejected`. Approvers are emailed when a run starts waiting.

An operator's edit of a quantity or unit price (flows/edits.py) is held the same way, with
kind "edit": the approver sees the change and the amount it comes to, so a decision on the
edit covers the threshold too.

A decision binds what was decided: the approval keeps a fingerprint of the amount and the
lines, and a run whose deal no longer matches it (retried from the start after the deal was
edited) waits for a new decision.

`hold` is the waiting itself, shared with the anomaly checks (`flows.anomaly.step`): a run
has one approval, whose `kind` says what it was asked for. A decision on a deal held as
unusual covers the threshold too (the approver saw its amount), and so does one on a deal a
business rule held (flows/steps/rules.py), so a deal is not asked about twice; one taken on
the threshold or a rule alone does not cover what looks unusual, so such a run is asked
again.

The decisions themselves are taken in `flows.approvals`."""

import hashlib
import json
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.db.models import Q
from django.urls import NoReverseMatch, reverse
from django.utils import timezone

from clarity.outbox import Kind, queue_mail
from flows.base import AwaitApproval, Rejected, StepContext
from flows.models import Approval, SyncRun
from flows.steps import MAP_DEAL
from flows.steps.crm import add_note
from flows.steps.money import decimal
from flows.steps.notes import AWAITING_APPROVAL, tell_deal
from flows.steps.tasks import rejection_task

PERMISSION = "flows.decide_approval"
MAX_NAMES = 5  # approvers named in the deal's note
REASON_LENGTH = Approval._meta.get_field("reason").max_length
EDIT = Approval.Kind.EDIT  # asked for an operator's edit of an amount
# Besides its own kind, what a decision covers: the approver saw the deal's amount.
ALSO_COVERS = {
    Approval.Kind.ANOMALY: set(Approval.Kind),
    Approval.Kind.RULE: {Approval.Kind.THRESHOLD},
}


def approval_rule(ctx: StepContext) -> dict[str, Any]:
    document = ctx.outputs[MAP_DEAL]["document"]
    edit = ctx.outputs[MAP_DEAL].get("edit") or {}
    if edit.get("needs_approval"):  # an operator changed a quantity or price (flows/edits.py)
        return hold(ctx, asked_for(ctx, document, edit["reason"]), EDIT)
    base_amount = decimal(document.get("total_base"))
    threshold = Decimal(str(ctx.option("approval_threshold")))
    base = ctx.pair.base_currency
    if base_amount <= threshold:
        return {"needed": False, "base_amount": str(base_amount), "threshold": str(threshold)}
    reason = f"{base_amount:,.2f} {base} is over the approval threshold of {threshold:,.2f} {base}."
    return hold(ctx, asked_for(ctx, document, reason), Approval.Kind.THRESHOLD)


def asked_for(ctx: StepContext, document: dict[str, Any], reason: str) -> AwaitApproval:
    """What the run waits for: a decision on the deal's amount, for `reason`."""
    base = ctx.pair.base_currency
    return AwaitApproval(
        amount=decimal(document.get("total")),
        currency=document.get("currency") or base,
        base_amount=decimal(document.get("total_base")),
        reason=reason,
    )


def hold(
    ctx: StepContext, asked: AwaitApproval, kind: str, findings: Sequence[str] = ()
) -> dict[str, Any]:
    """The step's output once an approver approved the deal as it is now (for `kind`);
    until then the run waits (`asked` is raised), and a rejection ends it."""
    fingerprint = fingerprint_of(ctx.outputs[MAP_DEAL]["document"])
    approval = Approval.objects.filter(run=ctx.run).select_related("decided_by").first()
    if approval and approval.fingerprint and approval.fingerprint != fingerprint:
        ask_again(ctx.run, approval, asked, fingerprint, kind, findings)  # the deal changed
        tell_deal(ctx, AWAITING_APPROVAL, waiting_note(ctx, asked.reason), asked.reason)
        raise asked
    if approval and approval.status == Approval.Status.REJECTED:
        note = rejection_note(approval)
        add_note(ctx, note)
        rejection_task(ctx, approval)
        raise Rejected(note)
    covered = approval is not None and covers(approval.kind, kind)
    if covered and approval.status == Approval.Status.APPROVED:
        return {
            "needed": True,
            "approved_by": str(approval.decided_by or ""),
            "comment": approval.comment,
            "fingerprint": fingerprint,
        }
    if approval is None:
        Approval.objects.create(
            run=ctx.run, kind=kind, findings=list(findings), amount=asked.amount,
            currency=asked.currency, base_amount=asked.base_amount,
            base_currency=ctx.pair.base_currency, reason=short(asked.reason),
            fingerprint=fingerprint,
        )  # fmt: skip
        notify_approvers(ctx.run, asked.reason)
    elif not covered:  # decided, or waiting, on the threshold alone: ask about this too
        Approval.objects.filter(pk=approval.pk).update(
            status=Approval.Status.PENDING, kind=kind, findings=list(findings),
            reason=short(asked.reason), decided_by=None, decided_at=None, comment="",
        )  # fmt: skip
        notify_approvers(ctx.run, asked.reason)
    tell_deal(ctx, AWAITING_APPROVAL, waiting_note(ctx, asked.reason), asked.reason)
    raise asked


def covers(decided: str, asked: str) -> bool:
    """Whether a decision of kind `decided` answers what the run now asks (`asked`)."""
    return decided == asked or asked in ALSO_COVERS.get(decided, set())


def short(reason: str) -> str:
    """The reason as the approval keeps it (255 characters; the findings keep it whole)."""
    return reason if len(reason) <= REASON_LENGTH else f"{reason[: REASON_LENGTH - 1]}…"


def fingerprint_of(document: dict[str, Any]) -> str:
    """What an approver approves: the amount, its currency and base amount, and the lines
    (item, quantity, price). A decision binds to exactly these."""
    lines = [
        [str(line.get("sku") or ""), str(decimal(line.get("quantity")).normalize()),
         str(decimal(line.get("unit_price")).normalize())]
        for line in document.get("lines") or []
    ]  # fmt: skip
    approved = {
        "total": str(decimal(document.get("total")).normalize()),
        "currency": str(document.get("currency") or "").upper(),
        "total_base": str(decimal(document.get("total_base")).normalize()),
        "lines": lines,
    }
    return hashlib.sha256(json.dumps(approved, sort_keys=True).encode()).hexdigest()


def ask_again(
    run: SyncRun,
    approval: Approval,
    asked: AwaitApproval,
    fingerprint: str,
    kind: str = Approval.Kind.THRESHOLD,
    findings: Sequence[str] = (),
) -> None:
    """The amount or lines differ from what was decided: the decision no longer binds, and
    the approvers are asked again (the earlier decision stays in the audit log)."""
    decided = approval.get_status_display().lower()
    before = f"{approval.amount:,.2f} {approval.currency}"
    asked.reason = f"{asked.reason} The deal changed since it was {decided} at {before}."
    Approval.objects.filter(pk=approval.pk).update(
        status=Approval.Status.PENDING, kind=kind, findings=list(findings),
        amount=asked.amount, currency=asked.currency, base_amount=asked.base_amount,
        reason=short(asked.reason), fingerprint=fingerprint, decided_by=None,
        decided_at=None, comment="",
    )  # fmt: skip
    notify_approvers(run, asked.reason)


def waiting_note(ctx: StepContext, reason: str) -> str:
    """What the CRM is told while the deal waits: the amount, the threshold, who decides."""
    names = sorted(user.get_full_name() or user.get_username() for user in deciders())
    if not names:
        who = "Nobody can approve it yet: ask your Clarity admin."
    elif len(names) > MAX_NAMES:
        who = f"Approvers: {', '.join(names[:MAX_NAMES])} and {len(names) - MAX_NAMES} more."
    else:
        who = f"Approvers: {', '.join(names)}."
    erp = ctx.erp.label
    return f"Waiting for approval before Clarity passes this deal to {erp}: {reason} {who}"


def rejection_note(approval: Approval) -> str:
    """What the CRM is told; the same text on every attempt, so it is written once."""
    when = timezone.localtime(approval.decided_at).strftime("%Y-%m-%d")
    return (
        f"Sage order not created: rejected by {approval.decided_by or 'an approver'} on "
        f"{when}. Reason: {approval.comment}"
    )


def deciders():
    """Active users who may decide approvals."""
    app_label, codename = PERMISSION.split(".")
    permission = Permission.objects.get(content_type__app_label=app_label, codename=codename)
    return (
        get_user_model()
        .objects.filter(is_active=True)
        .filter(
            Q(is_superuser=True)
            | Q(user_permissions=permission)
            | Q(groups__permissions=permission)
        )
        .distinct()
    )


def approvers():
    """Those of the deciders who have an email address."""
    return deciders().exclude(email="")


def run_link(run: SyncRun) -> str:
    try:
        path = run.get_absolute_url()
    except NoReverseMatch:  # until the run pages are routed, link the API's view of the run
        path = reverse("api-run-detail", args=[run.pk])
    return f"{settings.CLARITY_PUBLIC_URL.rstrip('/')}{path}"


def notify_approvers(run: SyncRun, reason: str) -> int:
    """Email every approver that `run` waits for a decision; returns how many were told.

    The email is queued in the outbox, whose worker sends and retries it: a mail server that
    is down or not set up never keeps the run from waiting for its approval."""
    recipients = sorted(approvers().values_list("email", flat=True))
    if not recipients:
        return 0
    subject = f"Approval needed: {run.summary or run.entity_key}"
    body = (
        f"A won deal waits for your approval before Clarity Connect creates it in Sage.\n\n"
        f"Pair: {run.pair.name}\nDeal: {run.summary or run.entity_key}\nWhy: {reason}\n\n"
        f"Approve or reject it here: {run_link(run)}\n"
    )
    queue_mail(Kind.APPROVAL, subject, body, recipients)
    return len(recipients)
