"""Order status → CRM: a Sage 100 order's status told to the deal the order came from.

Polled feeds: open orders (SO_SalesOrderHeader) and closed ones (SO_SalesOrderHistoryHeader,
where Sage moves an order when it is completed or deleted); both give the entity key
`sales_order:<SalesOrderNo>`, so the changes of one order are handled one at a time, in order.

Which orders: those bound to a deal by an `ExternalLink` (entity `sales_order`, recorded by
the won-deal flow) or carrying `UDF_DEAL_ID`. `accepts` drops every other order, so orders
keyed into Sage by hand start no run; their events stay listed as `ignored`.

The status comes from the pair's mapping "Sage 100 order → order status" (N new, O open, H on
hold, C completed, X deleted), and an open order of type B is a back order. The deal gets the
fields of the mapping "Sage 100 order status → <CRM>" (the order number; for Streak also the
invoice number once invoiced), a comment (Streak) or a note in the opportunity's Description
(Salesforce: the org has no Task object), and, when the option `status_stages` names a stage
for the status (e.g. `{"deleted": "Closed Lost"}`), the deal moves to that stage.

Only a change of status is told: the status last told is in the previous run's references,
and a new order counts as told (the won-deal flow said so when it created it). The CRM record's
stamp after our write is kept as the link's `last_synced_version`, so a poller of the CRM
drops our own write instead of starting a flow from it.
"""

import re
from typing import Any

from django.db import IntegrityError, transaction

from connectors.base import WebhookEvent
from connectors.errors import NotFound, ValidationError
from flows.base import Flow, Step, StepContext
from flows.models import ExternalLink, FlowConfig, SyncRun
from flows.polling import Watch, watch
from flows.steps.mapping import active_mapping
from mappings.canonical import to_json
from mappings.engine import compiled_version
from mappings.lookups import PairEnvironment

NAME = "order_status_to_crm"
KIND = "sage100.sales_order"
SALES_ORDER = "sales_order"
DEAL_ENTITY = {"streak": "Box", "salesforce": "Opportunity"}
STATUS_LABELS = {
    "new": "new",
    "open": "open",
    "on_hold": "on hold",
    "back_order": "on back order",
    "completed": "completed (shipped and invoiced)",
    "deleted": "cancelled (deleted in Sage 100)",
    "quote": "a quote",
}
SALESFORCE_ID = re.compile(r"^006[0-9A-Za-z]{12}(?:[0-9A-Za-z]{3})?$")


# ---------------------------------------------------------------- shared with the other
# flows that tell a CRM deal what happened in Sage


def map_record(
    ctx: StepContext, direction: str, system: str, source: str, target: str, record: dict
) -> dict[str, Any]:
    """`record` through the pair's active mapping from `source` to `target`."""
    version = active_mapping(ctx, direction, system, source, target)
    result = compiled_version(version).apply(record, PairEnvironment(ctx.pair))
    if result.errors:
        problems = "; ".join(f"{issue.field}: {issue.message}" for issue in result.errors)
        raise ValidationError(
            f"The mapping “{version.mapping.name}” cannot map this record: {problems}",
            fields={issue.field: issue.message for issue in result.errors},
        )
    return result.output


def deal_of_order(ctx: StepContext, order_no: str, deal_id: str) -> str:
    """The CRM deal an order came from: its link, else the deal its UDF_DEAL_ID names
    (bound by a new link for next time); "" when neither knows one."""
    link = ExternalLink.objects.filter(pair=ctx.pair, entity=SALES_ORDER, sage_id=order_no).first()
    if link:
        return link.crm_id
    deal = deal_by_id(ctx, deal_id) if deal_id else ""
    if deal:
        try:
            with transaction.atomic():
                ExternalLink.objects.create(
                    pair=ctx.pair, entity=SALES_ORDER, crm_id=deal, sage_id=order_no
                )
        except IntegrityError:  # the deal is bound to another order already: leave that
            pass
    return deal


def deal_by_id(ctx: StepContext, deal_id: str) -> str:
    """The deal whose ID the won-deal flow wrote to UDF_DEAL_ID (Streak's "Deal ID" field;
    Salesforce's ExternalID__c, or the opportunity Id when it had none)."""
    if ctx.pair.crm.system == "streak":
        found = ctx.crm.search("Box", **{"Deal ID": deal_id})
        return found[0]["key"] if found else ""
    found = ctx.crm.search("Opportunity", ExternalID__c=deal_id)
    if found:
        return found[0]["Id"]
    if SALESFORCE_ID.match(deal_id):
        try:
            return ctx.crm.get("Opportunity", deal_id)["Id"]
        except NotFound:
            return ""
    return ""


def note_on_deal(ctx: StepContext, deal: str, message: str) -> None:
    """A comment on the Streak box, or a line in the opportunity's Description; either only
    once, so a retried run adds nothing."""
    if ctx.pair.crm.system == "streak":
        ctx.crm.add_comment(deal, message)
        return
    description = ctx.crm.get("Opportunity", deal).get("Description") or ""
    if message not in description:
        text = f"{description}\n\n{message}".strip()
        ctx.crm.update("Opportunity", deal, {"Description": text}, ctx.idempotency_key("note"))


def remember_our_write(ctx: StepContext, deal: str) -> None:
    """Keep the deal's stamp after our write on its links, so pollers drop the echo."""
    entity = DEAL_ENTITY[ctx.pair.crm.system]
    record = ctx.crm.get(entity, deal)
    stamp = record.get("lastUpdatedTimestamp") or record.get("SystemModstamp") or ""
    ExternalLink.objects.filter(pair=ctx.pair, crm_id=deal).update(last_synced_version=str(stamp))


# ---------------------------------------------------------------- the flow


def order_no_of(ctx: StepContext) -> str:
    return ctx.run.entity_key.removeprefix(f"{SALES_ORDER}:")


def accepts(config: FlowConfig, event: WebhookEvent) -> bool:
    """An order change, of an order that came from a deal we know."""
    if event.kind != KIND:
        return False
    order_no = event.payload.get("SalesOrderNo", "")
    return (
        bool(event.payload.get("UDF_DEAL_ID"))
        or ExternalLink.objects.filter(
            pair=config.pair, entity=SALES_ORDER, sage_id=order_no
        ).exists()
    )


def read_order(ctx: StepContext) -> dict[str, Any]:
    """The order as Sage has it now (open, else in history), its status in CRM words."""
    order_no = order_no_of(ctx)
    row = ctx.erp.get(SALES_ORDER, order_no)
    order = map_record(ctx, "in", "sage100", "SO_SalesOrderHeader", "OrderStatus", row)
    status = order["status"]
    if row.get("OrderType") == "B" and status in ("new", "open"):
        status = "back_order"
    if status == "completed" and not order.get("invoice_number"):
        invoices = ctx.erp.search("invoice_history", SalesOrderNo=order_no)
        order["invoice_number"] = invoices[0]["InvoiceNo"] if invoices else ""
    return {
        "order": to_json(order),
        "status": status,
        "changed": ctx.erp.updated_at(row).strftime("%Y-%m-%d %H:%M"),
        "deal_id": row.get("UDF_DEAL_ID") or "",
    }


def find_deal(ctx: StepContext) -> dict[str, Any]:
    order_no = order_no_of(ctx)
    deal = deal_of_order(ctx, order_no, ctx.outputs["read_order"]["deal_id"])
    if not deal:
        ctx.set_summary(f"Sales order {order_no} came from no deal we know: nothing written.")
    return {"deal": deal}


def last_told_status(ctx: StepContext) -> str:
    earlier = (
        SyncRun.objects.filter(
            flow_config=ctx.config, entity_key=ctx.run.entity_key, status=SyncRun.Status.SUCCEEDED
        )
        .exclude(pk=ctx.run.pk)
        .order_by("-pk")
        .values_list("references", flat=True)
    )
    return next((refs["status"] for refs in earlier if refs.get("status")), "new")


def tell_crm(ctx: StepContext) -> dict[str, Any]:
    """The order's fields, stage and a note on the deal, when its status changed."""
    deal = ctx.outputs["find_deal"]["deal"]
    if not deal:
        return {"skipped": "no deal"}
    read = ctx.outputs["read_order"]
    order, status, order_no = read["order"], read["status"], order_no_of(ctx)
    label = STATUS_LABELS.get(status, status)
    references = {"status": status, "deal": deal}
    if status == last_told_status(ctx):
        ctx.set_summary(f"Sales order {order_no} is still {label}: nothing to tell.")
        return {"skipped": "status unchanged", "references": references}
    crm = ctx.pair.crm.system
    fields = map_record(ctx, "out", crm, "OrderStatus", DEAL_ENTITY[crm], order)
    stage = (ctx.option("status_stages") or {}).get(status, "")
    if crm == "streak":
        ctx.crm.write_back(deal, fields, stage)
    elif fields or stage:
        values = {**fields, **({"StageName": stage} if stage else {})}
        ctx.crm.update("Opportunity", deal, values, ctx.idempotency_key("tell_crm"))
    invoiced = f", invoice {order['invoice_number']}" if order.get("invoice_number") else ""
    message = f"Sage 100 order {order_no} is {label}{invoiced} (as of {read['changed']})."
    note_on_deal(ctx, deal, message)
    remember_our_write(ctx, deal)
    ctx.set_summary(f"Sales order {order_no} is {label}.")
    return {"fields": fields, "stage": stage, "note": message, "references": references}


order_status_to_crm = Flow(
    name=NAME,
    label="Order status → CRM",
    description="Sage 100 order status changes shown on the deal the order came from.",
    steps=(
        Step("read_order", read_order, "Re-read the order from Sage 100"),
        Step("find_deal", find_deal, "Find the deal it came from"),
        Step("tell_crm", tell_crm, "Write the status to the deal"),
    ),
    combinations=frozenset({("streak", "sage100"), ("salesforce", "sage100")}),
    trigger="poll",
    default_options={"poll_interval": 60, "status_stages": {}},
    accepts=accepts,
)

watch(
    NAME,
    Watch("erp", "sage100", SALES_ORDER, KIND, record=SALES_ORDER),
    Watch("erp", "sage100", "sales_order_history", KIND, record=SALES_ORDER),
)
