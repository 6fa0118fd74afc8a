"""Steps the won-deal flows share: read the deal, map it, the approval rule, the customer,
item matching and the write-back to the CRM.

Every step after `read_deal` is wrapped by `after_won_deal`: when the re-read deal is no
longer in the trigger stage, or the business rules skipped or routed it, the run goes on to
its end writing nothing, so it succeeds with the summary `read_deal` or the rules gave it.
A field a rule set is in the document the later steps send. Both are read from the rules
step's recorded output, not from memory, so they hold on an attempt that resumes after an
approval or a crash.
"""

import functools
import hashlib
import json
from collections.abc import Callable
from typing import Any

from django.db import connection, connections

from connectors.crm_role import CrmRole
from flows.base import Step, StepContext
from flows.models import ExternalLink, SyncRun

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
        with connection.cursor() as cursor:
            cursor.execute(
                earlier_run_statement(connection.alias), [run.pair_id, run.entity_key, run.pk]
            )
            ctx.per_attempt["first_run_of_record"] = cursor.fetchone() is None
    return ctx.per_attempt["first_run_of_record"]


@functools.cache
def earlier_run_statement(alias: str) -> str:
    """`first_run_of_record`'s look, written out once per database: the ORM took longer to
    build and compile it than the database to answer."""
    runs = connections[alias].ops.quote_name(SyncRun._meta.db_table)
    return f"SELECT 1 FROM {runs} WHERE pair_id = %s AND entity_key = %s AND id < %s LIMIT 1"


def linked_sage_id(ctx: StepContext, entity: str, crm_id: str) -> str:
    """The Sage record the pair binds the CRM record `crm_id` to as `entity` (customer,
    sales_order, invoice), "" when none."""
    with connection.cursor() as cursor:
        cursor.execute(link_statement(connection.alias), [ctx.pair.pk, entity, crm_id])
        found = cursor.fetchone()
    return found[0] if found else ""


@functools.cache
def link_statement(alias: str) -> str:
    """`linked_sage_id`'s look, written out once per database: most steps of a won deal ask
    it, and the ORM took longer to build and compile it than the database to answer."""
    links = connections[alias].ops.quote_name(ExternalLink._meta.db_table)
    return f"SELECT sage_id FROM {links} WHERE pair_id = %s AND entity = %s AND crm_id = %s"


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
