"""Writing back to the CRM: the Sage number into a deal field, and a note a person reads.

Both are safe to repeat: a field set twice holds the same value, Streak's `add_comment`
skips a comment the box already has, and a Salesforce note is appended to the
opportunity's Description only when it is not there yet (the sandbox org, like many, has
no Task or Chatter object to post to).
"""

from collections.abc import Callable
from typing import Any

from flows.base import StepContext


def add_note(ctx: StepContext, message: str) -> None:
    deal_key = ctx.run.entity_key
    if ctx.pair.crm.system == "streak":
        ctx.crm.add_comment(deal_key, message)
        return
    description = ctx.crm.get("Opportunity", deal_key).get("Description") or ""
    if message not in description:
        text = f"{description}\n\n{message}".strip()
        ctx.crm.update("Opportunity", deal_key, {"Description": text}, ctx.idempotency_key("note"))


def write_back(
    streak_field: str, salesforce_field: str, said: Callable[[StepContext], tuple[str, str]]
) -> Callable[[StepContext], dict[str, Any]]:
    """Step factory: `said(ctx)` gives the value for the deal field and the note to add."""

    def step(ctx: StepContext) -> dict[str, Any]:
        value, message = said(ctx)
        deal_key = ctx.run.entity_key
        if ctx.pair.crm.system == "streak":
            ctx.crm.write_back(deal_key, {streak_field: value})
            field = streak_field
        else:
            key = ctx.idempotency_key("write_back")
            ctx.crm.update("Opportunity", deal_key, {salesforce_field: value}, key)
            field = salesforce_field
        add_note(ctx, message)
        return {"field": field, "value": value, "note": message}

    return step
