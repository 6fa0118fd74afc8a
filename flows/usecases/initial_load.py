"""Initial load: Sage customers (and items) into the CRM, in batches, with progress.

Started from a button (the pair's initial-load page, `flows.services.start_initial_load`).
The run keeps `SyncRun.progress = {"done", "total", "started", "customers_done",
"items_done"}` up to date after every batch (the CRM's `load_batch`: 200 records a call to
Salesforce, one at a time to Streak), so the page shows a live progress bar and a retry
(from the failed step) continues after the last batch done instead of starting again.

Every write is idempotent, so a batch repeated after a crash, or a second load, writes
nothing twice (how, is the CRM's business: Salesforce upserts Accounts by an external ID
made from the Sage key, Streak looks an organization up by name before creating it). Sage
customers already bound to a CRM record are left alone. Items go only to a CRM that keeps
product records, and only from an ERP that lists its items, with their list prices (the
standard price, or the customer price level the option `list_price_level` names, as the
flow `prices_to_crm` keeps them afterwards); a product the CRM has already is updated, not
made twice.

Each customer is bound to its CRM record (`ExternalLink`) for the won-deal and customer-sync
flows.
"""

from collections.abc import Callable
from typing import Any

from django.utils import timezone

from connectors.roles import ACCOUNT_LOAD, CUSTOMER_LIST, ITEM_LIST, ITEM_RECORDS
from flows.base import Flow, Step, StepContext
from flows.models import ExternalLink, SyncRun
from flows.usecases.prices_to_crm import PRICE_LEVEL, listed

NAME = "initial_load"


def loads_items(ctx: StepContext) -> bool:
    return ITEM_RECORDS in ctx.crm.capabilities and ITEM_LIST in ctx.erp.capabilities


def customers_to_load(ctx: StepContext) -> list[dict[str, Any]]:
    """Sage's customers in key order (stable across attempts), as common values with the
    key the binding keeps (`ref`) and the id the CRM may store (`source_id`)."""
    customers = []
    for record in ctx.erp.customers_to_load():
        ref = ctx.erp.customer_ref(record)
        values = ctx.erp.customer_values(record)
        customers.append(values | {"ref": ref, "source_id": f"{ctx.erp.short_label}-{ref}"})
    return customers


def items_to_load(ctx: StepContext) -> list[dict[str, Any]]:
    """The ERP's items at the list price the option `list_price_level` names."""
    return listed(ctx, ctx.erp.items_to_load()) if loads_items(ctx) else []


def set_progress(run: SyncRun, **values: Any) -> None:
    run.progress = {**run.progress, **values}
    SyncRun.objects.filter(pk=run.pk).update(progress=run.progress)


# ---------------------------------------------------------------- steps


def count(ctx: StepContext) -> dict[str, Any]:
    customers, items = len(customers_to_load(ctx)), len(items_to_load(ctx))
    ctx.run.progress = {}
    set_progress(
        ctx.run, done=0, total=customers + items, started=timezone.now().isoformat(),
        customers_done=0, items_done=0,
    )  # fmt: skip
    return {"customers": customers, "items": items}


def in_batches(
    ctx: StepContext,
    records: list[dict[str, Any]],
    checkpoint: str,
    load: Callable[[StepContext, list[dict[str, Any]]], int],
) -> dict[str, Any]:
    """Load `records` a batch at a time from the run's checkpoint, moving it after each."""
    start = int(ctx.run.progress.get(checkpoint) or 0)
    failed = 0
    size = ctx.crm.load_batch
    for offset in range(start, len(records), size):
        batch = records[offset : offset + size]
        failed += load(ctx, batch)
        set_progress(
            ctx.run,
            **{checkpoint: offset + len(batch)},
            done=int(ctx.run.progress.get("done") or 0) + len(batch),
        )
    return {"loaded": len(records) - start - failed, "resumed_at": start, "refused": failed}


def load_customers(ctx: StepContext) -> dict[str, Any]:
    result = in_batches(ctx, customers_to_load(ctx), "customers_done", load_accounts)
    return result | {"references": {"customers_loaded": ctx.run.progress["customers_done"]}}


def load_items(ctx: StepContext) -> dict[str, Any]:
    if ITEM_RECORDS not in ctx.crm.capabilities:
        return {"skipped": f"{ctx.crm.label} has no product records to load items into"}
    if ITEM_LIST not in ctx.erp.capabilities:
        return {"skipped": f"{ctx.erp.label} lists no items to load"}
    result = in_batches(ctx, items_to_load(ctx), "items_done", load_products)
    return result | {"references": {"items_loaded": ctx.run.progress["items_done"]}}


def load_accounts(ctx: StepContext, customers: list[dict[str, Any]]) -> int:
    """The batch's customers not bound yet, loaded and each bound to its CRM record. A
    bound one is left alone, even if its CRM record was renamed since. Refusals are counted
    and named in the run's summary, not retried for ever."""
    bound = set(
        ExternalLink.objects.filter(pair=ctx.pair, entity="customer").values_list(
            "sage_id", flat=True
        )
    )
    fresh = [customer for customer in customers if customer["ref"] not in bound]
    results = ctx.crm.load_accounts(fresh, ctx.erp.label, ctx.idempotency_key("customers"))
    refused = []
    for customer, result in zip(fresh, results, strict=True):
        if result.error:
            refused.append(f"{customer['ref']}: {result.error}")
        elif not bind(ctx, result.crm_id, customer["ref"]):
            whose = f"another customer's {ctx.crm.account_entity.lower()}"
            refused.append(f"{customer['ref']}: “{customer['name']}” is {whose}")
    note_refused(ctx, refused)
    return len(refused)


def load_products(ctx: StepContext, items: list[dict[str, Any]]) -> int:
    refused = ctx.crm.load_items(items)
    note_refused(ctx, refused)
    return len(refused)


def bind(ctx: StepContext, crm_id: str, ref: str) -> bool:
    """The customer's binding, for the won-deal and customer-sync flows; an existing binding
    of either record is kept. Whether the two are bound to each other now."""
    links = ExternalLink.objects.filter(pair=ctx.pair, entity="customer")
    if links.filter(sage_id=ref, crm_id=crm_id).exists():
        return True
    if links.filter(sage_id=ref).exists() or links.filter(crm_id=crm_id).exists():
        return False
    ExternalLink.objects.create(pair=ctx.pair, entity="customer", crm_id=crm_id, sage_id=ref)
    return True


def note_refused(ctx: StepContext, refused: list[str]) -> None:
    if refused:
        shown = "; ".join(refused[:3])
        summary = f"{len(refused)} record(s) not loaded, e.g. {shown}"[:255]
        SyncRun.objects.filter(pk=ctx.run.pk).update(summary=summary)


def summarise(ctx: StepContext) -> dict[str, Any]:
    progress = ctx.run.progress
    customers, items = progress.get("customers_done", 0), progress.get("items_done", 0)
    crm = ctx.crm.label
    if ITEM_RECORDS not in ctx.crm.capabilities:
        summary = (
            f"{customers} customers loaded into {crm} as {ctx.crm.account_entity.lower()}s "
            f"(found by name or created); {crm} has no product records, so items are not "
            "loaded."
        )
    else:
        summary = f"{customers} customers and {items} items loaded into the CRM."
    if not SyncRun.objects.filter(pk=ctx.run.pk).exclude(summary="").exists():
        SyncRun.objects.filter(pk=ctx.run.pk).update(summary=summary)
    return {"summary": summary}


initial_load = Flow(
    name=NAME,
    label="Initial load",
    description="Sage customers (and, for Salesforce, Sage 100 items with their list prices) "
    "into the CRM in batches, started from a button, with a progress bar; resumable "
    "and safe to repeat.",
    steps=(
        Step("count", count, "Count the records to load"),
        Step("customers", load_customers, "Load customers into the CRM", slow=True),
        Step("items", load_items, "Load items into the CRM", slow=True),
        Step("summary", summarise, "Summarise"),
    ),
    needs_crm=frozenset({ACCOUNT_LOAD}),
    needs_erp=frozenset({CUSTOMER_LIST}),
    trigger="manual",
    default_options={PRICE_LEVEL: ""},
)
