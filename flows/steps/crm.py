"""Writing back to the CRM: the Sage number into a deal field, and a note a person reads.

Both are safe to repeat: a field set twice holds the same value, a Streak comment is
posted only when the box does not have it yet, and a Salesforce note is appended to the
opportunity's Description only when it is not there yet (the sandbox org, like many, has
no Task or Chatter object to post to). Streak's comments are read for that only when the
note may have been posted before: the step was tried before, or the Sage document was
made by an earlier try (found rather than created by this run).
"""

from collections.abc import Callable
from typing import Any

from flows.base import StepContext
from flows.steps import first_try

WRITE_BACK, NOTE = "write_back", "note"


def add_note(ctx: StepContext, message: str, posted_before: bool = True) -> None:
    """Add the note to the deal; `posted_before=False` says no earlier try can have added
    it, so Streak's comments need not be read first."""
    deal_key = ctx.run.entity_key
    if ctx.pair.crm.system == "streak":
        ctx.crm.add_comment(deal_key, message, check_existing=posted_before)
        return
    description = ctx.crm.get("Opportunity", deal_key).get("Description") or ""
    if message not in description:
        text = f"{description}\n\n{message}".strip()
        ctx.crm.update("Opportunity", deal_key, {"Description": text}, ctx.idempotency_key("note"))


def write_back(
    streak_field: str, salesforce_field: str, said: Callable[[StepContext], tuple[str, str]]
) -> Callable[[StepContext], dict[str, Any]]:
    """Step factory: `said(ctx)` gives the value for the deal field and the note that the
    next step (`post_note`) adds. Two steps, so a retry of the note never writes the field
    again and each step is about one write: a flaky CRM fails each one less often."""

    def step(ctx: StepContext) -> dict[str, Any]:
        value, message = said(ctx)
        deal_key = ctx.run.entity_key
        if ctx.pair.crm.system == "streak":
            ctx.crm.write_back(deal_key, {streak_field: value})
            field = streak_field
        else:
            key = ctx.idempotency_key(WRITE_BACK)
            ctx.crm.update("Opportunity", deal_key, {salesforce_field: value}, key)
            field = salesforce_field
        return {"field": field, "value": value, "note": message}

    return step


def post_note(document_step: str) -> Callable[[StepContext], dict[str, Any]]:
    """Step factory: add the note `write_back` worded; `document_step` is the step that
    made the Sage document (its output says `how`)."""

    def step(ctx: StepContext) -> dict[str, Any]:
        message = ctx.outputs[WRITE_BACK]["note"]
        made_now = ctx.outputs[document_step].get("how") == "created"
        add_note(ctx, message, posted_before=not (made_now and first_try(ctx, NOTE)))
        return {"note": message}

    return step
