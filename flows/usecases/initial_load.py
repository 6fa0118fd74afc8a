"""Initial load: Sage customers (and items) into the CRM, in batches, with progress.

Started from a button (the pair's initial-load page). The run keeps
`SyncRun.progress = {"done", "total", "started", "customers_done", "items_done"}` up to date
after every batch, so the page shows a live progress bar and a retry (from the failed step)
continues after the last batch done instead of starting again.

Pairs: Sage 100 → Salesforce, Sage 100 → Streak, Sage 50 → Streak. Every write is
idempotent, so a batch repeated after a crash, or a second load, writes nothing twice:
- Salesforce: Sage 100 customers are upserted as Accounts by `ExternalID__c` =
  "S100-<div>-<no>", 200 a call through sObject Collections (`upsert_many`); items become
  Product2 records, looked up by `ProductCode` first (Product2 has no external ID field), the
  missing ones created 200 a call. Customers already bound to an account (`UDF_CRM_ID`) are
  left alone.
- Streak: Sage 100 customers, or Sage 50 contacts of type CUSTOMER (in id order), become
  organizations with their name, phone, address and a line of Sage's credit limit, terms and
  balance in `other` (as customer sync keeps it); a customer bound already is left alone,
  and the connector looks an organization up by name before creating it. Streak has no
  product records, so items are not loaded.

Each customer is bound to its CRM record (`ExternalLink`) for the won-deal and customer-sync
flows. There is no default mapping from Sage to the CRMs' customer records, so the few
fields loaded are mapped here (`account_of`, `organization_of`, `product_of`).
"""

from collections.abc import Callable
from typing import Any

from django.utils import timezone

from flows.base import Flow, Step, StepContext
from flows.models import ExternalLink, SyncRun
from flows.usecases.customer_sync_sage import LABEL_OF, sage_ref, sage_values
from flows.usecases.customer_sync_streak import IN_OTHER, one_line, sage_line

NAME = "initial_load"
BATCH_SIZE = 200  # Salesforce sObject Collections take 200 records a call
EXTERNAL_ID = "ExternalID__c"


def account_of(customer: dict[str, Any]) -> dict[str, Any]:
    lines = [customer.get(f"AddressLine{n}") or "" for n in (1, 2, 3)]
    return {
        EXTERNAL_ID: external_id(customer),
        "Name": customer["CustomerName"],
        "AccountNumber": customer["CustomerNo"],
        "Phone": customer.get("TelephoneNo") or None,
        "BillingStreet": "\n".join(line for line in lines if line) or None,
        "BillingCity": customer.get("City") or None,
        "BillingState": customer.get("State") or None,
        "BillingPostalCode": customer.get("ZipCode") or None,
        "BillingCountry": customer.get("CountryCode") or None,
    }


def organization_of(system: str, customer: dict[str, Any]) -> dict[str, Any]:
    values = sage_values(system, customer)
    address = one_line(values["billing_address"])
    return {
        "name": values["name"],
        "phoneNumbers": [values["phone"]] if values["phone"] else [],
        "addresses": [address] if address else [],
        "other": sage_line(LABEL_OF[system], values, list(IN_OTHER)),
    }


def product_of(item: dict[str, Any]) -> dict[str, Any]:
    return {
        "Name": item.get("ItemCodeDesc") or item["ItemCode"],
        "ProductCode": item["ItemCode"],
        "IsActive": True,
    }


def external_id(customer: dict[str, Any]) -> str:
    return f"S100-{customer['ARDivisionNo']}-{customer['CustomerNo']}"


# ---------------------------------------------------------------- what is loaded


def customers_to_load(ctx: StepContext) -> list[dict[str, Any]]:
    """Sage's customers in key order (stable across attempts); in Sage 100, less those bound
    to an account already."""
    if ctx.pair.erp.system == "sage50":
        contacts = ctx.erp.search("contacts", contact_type_id="CUSTOMER")
        return sorted(contacts, key=lambda contact: contact["id"])
    return [row for row in ctx.erp.stream("customer") if not (row.get("UDF_CRM_ID") or "").strip()]


def items_to_load(ctx: StepContext) -> list[dict[str, Any]]:
    if ctx.pair.crm.system != "salesforce":
        return []
    return list(ctx.erp.stream("item"))


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
    for offset in range(start, len(records), BATCH_SIZE):
        batch = records[offset : offset + BATCH_SIZE]
        failed += load(ctx, batch)
        set_progress(
            ctx.run,
            **{checkpoint: offset + len(batch)},
            done=int(ctx.run.progress.get("done") or 0) + len(batch),
        )
    return {"loaded": len(records) - start - failed, "resumed_at": start, "refused": failed}


def load_customers(ctx: StepContext) -> dict[str, Any]:
    loader = salesforce_accounts if ctx.pair.crm.system == "salesforce" else streak_organizations
    result = in_batches(ctx, customers_to_load(ctx), "customers_done", loader)
    return result | {"references": {"customers_loaded": ctx.run.progress["customers_done"]}}


def load_items(ctx: StepContext) -> dict[str, Any]:
    if ctx.pair.crm.system != "salesforce":
        return {"skipped": "Streak has no product records"}
    result = in_batches(ctx, items_to_load(ctx), "items_done", salesforce_products)
    return result | {"references": {"items_loaded": ctx.run.progress["items_done"]}}


def salesforce_accounts(ctx: StepContext, customers: list[dict[str, Any]]) -> int:
    """One upsert call for the batch; each account bound to its customer. Refused records
    are counted and named in the run's summary, not retried for ever."""
    results = ctx.crm.upsert_many("Account", EXTERNAL_ID, [account_of(c) for c in customers])
    refused = []
    for customer, result in zip(customers, results, strict=True):
        if result.success:
            bind(ctx, result.id, sage_ref("sage100", customer))
        else:
            refused.append(f"{sage_ref('sage100', customer)}: {result.error}")
    note_refused(ctx, refused)
    return len(refused)


def streak_organizations(ctx: StepContext, customers: list[dict[str, Any]]) -> int:
    """Each customer not bound yet becomes an organization (found by name, else created).
    A bound one is left alone, even if its organization was renamed since; one whose name
    finds an organization bound to another customer is named in the run's summary."""
    system = ctx.pair.erp.system
    bound = set(
        ExternalLink.objects.filter(pair=ctx.pair, entity="customer").values_list(
            "sage_id", flat=True
        )
    )
    refused = []
    for customer in customers:
        ref = sage_ref(system, customer)
        if ref in bound:
            continue
        values = organization_of(system, customer)
        organization = ctx.crm.create("Organization", values, ctx.idempotency_key(ref))
        if not bind(ctx, organization["key"], ref):
            refused.append(f"{ref}: “{values['name']}” is another customer's organization")
    note_refused(ctx, refused)
    return len(refused)


def salesforce_products(ctx: StepContext, items: list[dict[str, Any]]) -> int:
    codes = [item["ItemCode"] for item in items]
    listed = ", ".join("'" + code.replace("\\", "\\\\").replace("'", "\\'") + "'" for code in codes)
    soql = f"SELECT ProductCode FROM Product2 WHERE ProductCode IN ({listed})"
    present = {row["ProductCode"] for row in ctx.crm.query(soql)}
    missing = [product_of(item) for item in items if item["ItemCode"] not in present]
    results = ctx.crm.create_many("Product2", missing) if missing else []
    refused = [
        f"{p['ProductCode']}: {r.error}"
        for p, r in zip(missing, results, strict=True)
        if not r.success
    ]
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
    if ctx.pair.crm.system == "streak":
        summary = (
            f"{customers} customers loaded into Streak as organizations (found by name or "
            "created); Streak has no product records, so items are not loaded."
        )
    else:
        summary = f"{customers} customers and {items} items loaded into the CRM."
    if not SyncRun.objects.filter(pk=ctx.run.pk).exclude(summary="").exists():
        SyncRun.objects.filter(pk=ctx.run.pk).update(summary=summary)
    return {"summary": summary}


def start_initial_load(pair: Any) -> SyncRun:
    """Start a run of the pair's initial load (the page's button)."""
    from flows.models import FlowConfig
    from flows.runner import enqueue

    config, _ = FlowConfig.objects.get_or_create(
        pair=pair, flow=NAME, defaults={"trigger": FlowConfig.Trigger.MANUAL}
    )
    if not config.enabled:
        FlowConfig.objects.filter(pk=config.pk).update(enabled=True)
    stamp = timezone.now().strftime("%Y%m%dT%H%M%S%f")
    run = SyncRun.objects.create(flow_config=config, pair=pair, entity_key=f"initial_load:{stamp}")
    enqueue(run)
    return run


initial_load = Flow(
    name=NAME,
    label="Initial load",
    description="Sage customers (and, for Salesforce, Sage 100 items) into the CRM in batches "
    "of 200, started from a button, with a progress bar; resumable and safe to repeat.",
    steps=(
        Step("count", count, "Count the records to load"),
        Step("customers", load_customers, "Load customers into the CRM"),
        Step("items", load_items, "Load items into the CRM"),
        Step("summary", summarise, "Summarise"),
    ),
    combinations=frozenset(
        {("streak", "sage100"), ("streak", "sage50"), ("salesforce", "sage100")}
    ),
    trigger="manual",
)
