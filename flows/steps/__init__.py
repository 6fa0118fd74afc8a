"""Steps the won-deal flows share: read the deal, map it, the approval rule, the customer,
item matching and the write-back to the CRM.

Every step after `read_deal` is wrapped by `after_won_deal`: when the re-read deal is no
longer in the trigger stage, or the business rules skipped or routed it, the run goes on to
its end writing nothing, so it succeeds with the summary `read_deal` or the rules gave it.
A field a rule set is in the document the later steps send. Both are read from the rules
step's recorded output, not from memory, so they hold on an attempt that resumes after an
approval or a crash.
"""

import hashlib
import json
from collections.abc import Callable
from typing import Any

from clarity.prepared import Param, PreparedQuery
from connectors.crm_role import CrmRole
from flows.base import Step, StepContext
from flows.models import ExternalLink, SyncRun
from flows.rows import insert_row_if_new

READ_DEAL, MAP_DEAL, CUSTOMER, ITEMS = "read_deal", "map_deal", "customer", "items"
RULES = "rules"  # the business rules step (flows/steps/rules.py)
WON_DEAL_DOCUMENT = "won_deal_document"  # the flows' `choice`: an order or an invoice


def trigger_stage(options: dict[str, Any], crm: type[CrmRole] | CrmRole) -> str:
    """The `trigger_stage` option, or the CRM's own won stage when it is left empty."""
    return options.get("trigger_stage") or crm.won_stage


def write_key(ctx: StepContext, step: str, payload: Any) -> str:
    """The run's idempotency key for `step`, plus a digest of what is sent: a retry sending
    the same is recognised by Sage; one sending different data (after a mapping was fixed)
    is not refused as a reused key, and our lookup by external reference guards it."""
    digest = hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode())
    return f"{ctx.idempotency_key(step)}-{digest.hexdigest()[:12]}"


def first_try(ctx: StepContext, step: str) -> bool:
    """Whether `step` runs for the first time for this record: the first attempt of the
    record's first run, the step never started before. Only then may a write skip the
    look-up for what an earlier try (crashed, or its reply lost) might have written."""
    run = ctx.run
    if run.attempt > 1 or not first_run_of_record(ctx):
        return False
    if ctx.begun is None:
        return not run.steps.filter(name=step).exists()
    return step not in ctx.begun


def first_run_of_record(ctx: StepContext) -> bool:
    """No earlier run of the record: asked once an attempt, however many steps ask."""
    if "first_run_of_record" not in ctx.per_attempt:
        run = ctx.run
        earlier = EARLIER_RUN.first(pair=run.pair_id, key=run.entity_key, run=run.pk)
        ctx.per_attempt["first_run_of_record"] = earlier is None
    return ctx.per_attempt["first_run_of_record"]


EARLIER_RUN = PreparedQuery(
    lambda: SyncRun.objects.filter(
        pair_id=Param("pair"), entity_key=Param("key"), pk__lt=Param("run")
    ).values_list("pk", flat=True)[:1]
)


def linked_sage_id(ctx: StepContext, entity: str, crm_id: str) -> str:
    """The Sage record the pair binds the CRM record `crm_id` to as `entity` (customer,
    sales_order, invoice), "" when none."""
    return LINKED.first(pair=ctx.pair.pk, entity=entity, crm=crm_id) or ""


def bind(ctx: StepContext, entity: str, crm_id: str, sage_id: str) -> None:
    """Bind the CRM record `crm_id` to the Sage record `sage_id` as `entity`, unless it is
    bound already (to that record, or to the one an earlier attempt bound it to)."""
    insert_row_if_new(
        ExternalLink, ("pair", "entity", "crm_id"),
        pair_id=ctx.pair.pk, entity=entity, crm_id=crm_id, sage_id=sage_id,
    )  # fmt: skip


LINKED = PreparedQuery(
    lambda: ExternalLink.objects.filter(
        pair_id=Param("pair"), entity=Param("entity"), crm_id=Param("crm")
    ).values_list("sage_id", flat=True)
)  # most steps of a won deal ask it


def deal_is_won(ctx: StepContext) -> bool:
    return bool(ctx.outputs[READ_DEAL].get("won"))


def after_won_deal(name: str, run: Callable[[StepContext], dict[str, Any]], label: str) -> Step:
    """A step that does nothing when the deal left the trigger stage before the run."""

    def guarded(ctx: StepContext) -> dict[str, Any]:
        if not deal_is_won(ctx):
            return {"skipped": "the deal is not in the trigger stage"}
        ruled = ctx.outputs.get(RULES, {})
        if ruled.get("skipped"):
            return {"skipped": ruled["skipped"]}
        if ruled.get("document"):  # a rule set a field: send the document it set it in
            ctx.outputs[MAP_DEAL]["document"] = ruled["document"]
        return run(ctx)

    return Step(name, guarded, label)
