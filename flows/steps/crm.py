"""Writing back to the CRM: the Sage number into a deal field, and a note a person reads.

Both are safe to repeat: a field set twice holds the same value, and a note is added only
when the deal does not have it yet. A CRM that takes both in one request
(`CrmRole.notes_with_writes`: Salesforce's Composite) gets them from the write-back step,
and the note step has nothing left to do. Looking for the note costs a read, so it is skipped when
no earlier try can have added it: the step never ran before, and the Sage document was made
by this run (not found, made by an earlier try).
"""

from collections.abc import Callable
from typing import Any

from flows.base import StepContext
from flows.steps import first_try

WRITE_BACK, NOTE = "write_back", "note"
NOTED = "noted"  # the write-back step added the note too (`CrmRole.notes_with_writes`)


def add_note(ctx: StepContext, message: str, posted_before: bool = True) -> None:
    """Add the note to the deal; `posted_before=False` says no earlier try can have added
    it, so the CRM need not be asked first."""
    ctx.crm.add_note(ctx.run.entity_key, message, ctx.idempotency_key(NOTE), posted_before)


def write_back(
    document: str, said: Callable[[StepContext], tuple[str, str]]
) -> Callable[[StepContext], dict[str, Any]]:
    """Step factory: `said(ctx)` gives the `document`'s number for the deal field the CRM
    keeps it in (`CrmRole.document_fields`) and the note that the next step (`post_note`)
    adds. Two steps, so a retry of the note never writes the field again and each step is
    about one write: a flaky CRM fails each one less often."""

    def step(ctx: StepContext) -> dict[str, Any]:
        value, message = said(ctx)
        field, crm, key = ctx.crm.document_fields[document], ctx.crm, ctx.run.entity_key
        if crm.notes_with_writes:
            posted_before = not first_try(ctx, WRITE_BACK)
            crm.write_deal_noted(key, {field: value}, message, ctx.idempotency_key(WRITE_BACK),
                                 posted_before)  # fmt: skip
            return {"field": field, "value": value, "note": message, NOTED: True}
        crm.write_deal(key, {field: value}, ctx.idempotency_key(WRITE_BACK))
        return {"field": field, "value": value, "note": message}

    return step


def post_note(document_step: str) -> Callable[[StepContext], dict[str, Any]]:
    """Step factory: add the note `write_back` worded; `document_step` is the step that
    made the Sage document (its output says `how`)."""

    def step(ctx: StepContext) -> dict[str, Any]:
        message = ctx.outputs[WRITE_BACK]["note"]
        if ctx.outputs[WRITE_BACK].get(NOTED):
            return {"note": message, "how": "added with the write-back"}
        made_now = ctx.outputs[document_step].get("how") == "created"
        add_note(ctx, message, posted_before=not (made_now and first_try(ctx, NOTE)))
        return {"note": message}

    return step
