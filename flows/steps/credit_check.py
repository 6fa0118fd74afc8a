"""Credit check: once a won deal's customer is known in the ERP, its balance plus this deal
is set against its credit limit. Over the limit, the deal gets a note saying by how much and
the owner a follow-up task (event `credit_limit_exceeded`); the run goes on, since the
approval rule decides what is held.

The check is made when the flow's `task_events` has `credit_limit_exceeded` (ticked on the
Flows page), so a won deal costs no credit reads otherwise. A credit limit of zero is no
limit (as in Sage), and an ERP that tells no credit (`CREDIT`) is not asked. The deal is
counted in the ERP's currency: converted at the deal's rate when the ERP keeps one currency.
Written against the roles.
"""

from decimal import Decimal
from typing import Any

from connectors.roles import CREDIT
from flows.base import Step, StepContext
from flows.steps import CUSTOMER, MAP_DEAL, after_won_deal, first_try
from flows.steps.money import deal_rate, decimal
from flows.steps.tasks import CREDIT_LIMIT_EXCEEDED, credit_task

STEP = "credit_check"
WITHIN = "within_limit"  # the output's key when the deal keeps to the limit (or none is set)


def credit_check(ctx: StepContext) -> dict[str, Any]:
    """Note and task when the customer's balance plus this deal is over its credit limit."""
    erp = ctx.erp
    if CREDIT_LIMIT_EXCEEDED not in (ctx.option("task_events") or []):
        return {WITHIN: "the credit check is off (task event not ticked)"}
    if CREDIT not in erp.capabilities:
        return {WITHIN: f"{erp.label} tells no credit limit"}
    customer = ctx.outputs[CUSTOMER]
    credit = erp.credit(customer["customer_ref"])
    limit, balance = Decimal(credit["credit_limit"]), Decimal(credit["balance"])
    if limit <= 0:
        return {WITHIN: f"{customer['name']} has no credit limit in {erp.label}"}
    total = deal_total(ctx)
    currency = credit.get("currency") or ctx.pair.base_currency
    over = balance + total - limit
    figures = {"credit_limit": str(limit), "balance": str(balance), "deal": str(total)}
    if over <= 0:
        return {WITHIN: f"{over.copy_abs():,.2f} {currency} to spare", **figures}
    note = (
        f"Credit limit exceeded: {customer['name']} owes {balance:,.2f} {currency} in "
        f"{erp.label}; with this deal's {total:,.2f} {currency} that is {over:,.2f} {currency} "
        f"over its credit limit of {limit:,.2f} {currency}. The deal goes on; ask for a "
        f"payment or raise the limit in {erp.label}."
    )
    ctx.crm.add_note(ctx.run.entity_key, note, ctx.idempotency_key(STEP), not first_try(ctx, STEP))
    task = credit_task(ctx, customer["name"], over, currency, note)
    return {"exceeded_by": str(over), **figures, "note": note, "task": task}


def deal_total(ctx: StepContext) -> Decimal:
    """The deal's total in the ERP's currency (converted at the deal's rate when the ERP
    keeps one currency and the deal is in another)."""
    document = ctx.outputs[MAP_DEAL]["document"]
    total = decimal(document.get("total"))
    rate = None if ctx.erp.multi_currency else deal_rate(ctx, document.get("currency") or "")
    return total if rate is None else (total * rate).quantize(Decimal("0.01"))


CREDIT_CHECK: Step = after_won_deal(STEP, credit_check, "Check the customer's credit limit")
