"""Follow-up tasks: when money goes wrong on a deal (its approval rejected, its order put on
hold, its invoice overdue, its customer over the credit limit) the deal's owner gets a task
in the CRM, due in a few working days, saying whom to call and why.

Which events make tasks is the flow's option `task_events` (by default the rejection, the
hold and the overdue payment), how many working days the owner has is `task_due_days`. A
task is made once per event and deal: its key names the event and what it is about (not the
run), and the CRM looks for the key's mark on the deal's tasks before making one, so a retry
or a second poll of the same event adds nothing. Written against the roles.
"""

import logging
from datetime import date, timedelta
from decimal import Decimal

from django.utils import timezone

from connectors.errors import Unsupported
from connectors.records import OpenInvoice
from flows.base import StepContext
from flows.models import Approval
from flows.steps import MAP_DEAL
from flows.steps.notes import with_stop

logger = logging.getLogger(__name__)

APPROVAL_REJECTED = "approval_rejected"
ORDER_ON_HOLD = "order_on_hold"
PAYMENT_OVERDUE = "payment_overdue"
CREDIT_LIMIT_EXCEEDED = "credit_limit_exceeded"
EVENT_WORDS = {
    APPROVAL_REJECTED: "An approver rejects the deal",
    ORDER_ON_HOLD: "The order is put on hold",
    PAYMENT_OVERDUE: "A payment is overdue",
    CREDIT_LIMIT_EXCEEDED: "The customer is over the credit limit",
}
DEFAULT_EVENTS = [APPROVAL_REJECTED, ORDER_ON_HOLD, PAYMENT_OVERDUE]
DEFAULT_DUE_DAYS = 2
# The events each flow can raise: its settings offer those only (the won-deal flows check
# credit limits in `flows.steps.credit_check`).
FLOW_EVENTS = {
    "deal_won_to_sales_order": (APPROVAL_REJECTED, CREDIT_LIMIT_EXCEEDED),
    "deal_won_to_invoice": (APPROVAL_REJECTED, CREDIT_LIMIT_EXCEEDED),
    "order_status_to_crm": (ORDER_ON_HOLD,),
    "payments_to_crm": (PAYMENT_OVERDUE,),
}
TASK_OPTIONS = {"task_events": DEFAULT_EVENTS, "task_due_days": DEFAULT_DUE_DAYS}


def default_options(flow: str) -> dict[str, object]:
    """The task options a flow template declares: its events among the default ones."""
    events = [event for event in DEFAULT_EVENTS if event in FLOW_EVENTS[flow]]
    return {"task_events": events, "task_due_days": DEFAULT_DUE_DAYS}


def follow_up(
    ctx: StepContext,
    event_kind: str,
    subject: str,
    body: str,
    about: str,
    deal: str = "",
    due_in_days: int | None = None,
) -> str:
    """A task for the deal's owner (`deal`, else the run's record) about `event_kind`, when
    the flow's option asks for one; its key, or "" when none is made. `about` names what
    the event is about (the order, the approval) and keys the task with the event and deal.
    The body ends with the due day in words ("Due Thursday.")."""
    events = ctx.option("task_events")
    if event_kind not in (DEFAULT_EVENTS if events is None else events):
        return ""
    days = due_in_days if due_in_days is not None else ctx.option("task_due_days")
    due = working_days_after(timezone.localdate(), DEFAULT_DUE_DAYS if days is None else days)
    deal = deal or ctx.run.entity_key
    key = f"clarity-task-{ctx.pair.pk}-{event_kind}-{deal}-{about}"
    try:
        return ctx.crm.add_task(deal, subject, f"{body} Due {due_words(due)}.", due, key)
    except Unsupported:
        logger.info("Run %s: %s keeps no tasks; none made for %s", ctx.run.pk, ctx.crm.label,
                    event_kind)  # fmt: skip
        return ""


def rejection_task(ctx: StepContext, approval: Approval) -> str:
    """The approval step's rejection: call the customer about the deal that was stopped."""
    customer = ctx.outputs[MAP_DEAL]["document"].get("customer_name") or "the customer"
    erp = ctx.erp.label
    amount = f"{approval.amount:,.2f} {approval.currency}"
    subject = f"Call {customer}: the deal of {amount} was rejected before reaching {erp}"
    body = (
        f"{approval.decided_by or 'An approver'} rejected it, so no {erp} order was made. "
        f"Reason: {with_stop(approval.comment.strip())}"
    )
    return follow_up(ctx, APPROVAL_REJECTED, subject, body, about=f"approval-{approval.pk}")


def credit_task(ctx: StepContext, customer: str, over: Decimal, currency: str, reason: str) -> str:
    """The credit check's: the customer with this deal is `over` its credit limit. Once
    per deal."""
    subject = f"Call {customer}: {over:,.2f} {currency} over the credit limit with this deal"
    return follow_up(ctx, CREDIT_LIMIT_EXCEEDED, subject, reason, about="credit-limit")


def overdue_task(
    ctx: StepContext, invoice: OpenInvoice, currency: str, deal: str, paid: bool = True
) -> str:
    """An invoice still open past its due date (`paid`: after a payment, else found by the
    unpaid-invoice scan): call the customer about what is left. Once per invoice and deal, however
    many payments or scans find it open."""
    today = timezone.localdate()
    days = invoice.days_overdue(today)
    customer = invoice.customer_name or "the customer"
    erp = ctx.erp.label
    subject = (
        f"Call {customer}: invoice {invoice.number} is {days} day{'s' if days != 1 else ''} "
        f"overdue, {invoice.balance:,.2f} {currency} open in {erp}."
    )
    body = (
        f"It was due on {invoice.due_date:%A %Y-%m-%d}; a payment came in, but "
        f"{invoice.balance:,.2f} {currency} is still open. Ask when the rest will be paid."
        if paid
        else f"It was due on {invoice.due_date:%A %Y-%m-%d} and {invoice.balance:,.2f} "
        f"{currency} is still open. Ask when it will be paid."
    )
    about = f"invoice-{invoice.number}"
    return follow_up(ctx, PAYMENT_OVERDUE, subject, body, about=about, deal=deal)


def working_days_after(start: date, days: int) -> date:
    """`days` working days (Monday to Friday) after `start`; 0: `start` itself."""
    day = start
    for _ in range(max(int(days), 0)):
        day += timedelta(days=1)
        while day.weekday() >= 5:
            day += timedelta(days=1)
    return day


def due_words(due: date) -> str:
    """The due day as a person says it: today, tomorrow, a weekday, else the date."""
    days = (due - timezone.localdate()).days
    if days == 0:
        return "today"
    if days == 1:
        return "tomorrow"
    if 1 < days < 7:
        return f"{due:%A}"
    return f"{due:%A %Y-%m-%d}"
