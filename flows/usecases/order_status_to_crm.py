"""Order status → CRM: a Sage order's status told to the deal the order came from.

Polled feeds: the ERP's feeds of order changes (Sage 100: open orders in SO_SalesOrderHeader
and closed ones in SO_SalesOrderHistoryHeader, where Sage moves an order when it is completed
or deleted); both give the entity key `sales_order:<number>`, so the changes of one order
are handled one at a time, in order.

Which orders: those bound to a deal by an `ExternalLink` (entity `sales_order`, recorded by
the won-deal flow) or naming the deal they came from. `accepts` drops every other order, so
orders keyed into Sage by hand start no run; their events stay listed as `ignored`.

The status comes from the pair's mapping "… order → order status" (new, open, on hold,
completed, deleted), and an open back order is told as one. The deal gets the fields of the
mapping "… order status → <CRM>" (the order number; for Streak also the invoice number once
invoiced), a note, and, when the option `status_stages` names a stage for the status (e.g.
`{"deleted": "Closed Lost"}`), the deal moves to that stage.

Only a change of status is told: the status last told is in the previous run's references,
and a new order counts as told (the won-deal flow said so when it created it). A status we
wrote ourselves (a run of this pair whose references mark `status_written` for the order,
newer than this flow's last sight of another status: the deal's stage put it on hold) is
not told back either: no note, no stage, no "call the customer" task, only remembered.
"""

from typing import Any

from connectors.base import WebhookEvent
from connectors.registry import sent_about
from connectors.roles import ORDER_STATUS, SALES_ORDERS, WON_DEALS
from flows.base import Flow, Step, StepContext, Watch
from flows.models import ExternalLink, FlowConfig, SyncRun
from flows.steps.deal_links import SALES_ORDER, deal_of_order, tell_deal
from flows.steps.mapping import map_record
from flows.steps.tasks import ORDER_ON_HOLD, default_options, follow_up
from mappings.canonical import to_json

NAME = "order_status_to_crm"
STATUS_WRITTEN = "status_written"  # a run's reference: the order status it wrote to the ERP
STATUS_LABELS = {
    "new": "new",
    "open": "open",
    "on_hold": "on hold",
    "back_order": "on back order",
    "completed": "completed (shipped and invoiced)",
    "deleted": "cancelled (deleted in {erp})",
    "quote": "a quote",
}


def order_no_of(ctx: StepContext) -> str:
    return ctx.run.entity_key.removeprefix(f"{SALES_ORDER}:")


def accepts(config: FlowConfig, event: WebhookEvent) -> bool:
    """An order change, of an order that came from a deal we know."""
    erp = sent_about(event.kind, ORDER_STATUS)
    if erp is None:
        return False
    if erp.order_deal_reference(event):
        return True
    order_no = event.entity_key.removeprefix(f"{SALES_ORDER}:")
    return ExternalLink.objects.filter(
        pair=config.pair, entity=SALES_ORDER, sage_id=order_no
    ).exists()


def read_order(ctx: StepContext) -> dict[str, Any]:
    """The order as Sage has it now (open, else in history), its status in CRM words."""
    order_no = order_no_of(ctx)
    read = ctx.erp.read_order(order_no)
    source = ctx.erp.names("OrderStatus").mapping
    order = map_record(ctx, "in", source, "OrderStatus", read.record)
    status = order["status"]
    if read.back_order and status in ("new", "open"):
        status = "back_order"
    if status == "completed" and not order.get("invoice_number"):
        order["invoice_number"] = ctx.erp.invoice_of_order(order_no)
    return {
        "order": to_json(order),
        "status": status,
        "changed": read.changed.strftime("%Y-%m-%d %H:%M"),
        "deal_id": read.deal_reference,
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


def written_by_us(ctx: StepContext, status: str) -> SyncRun | None:
    """Our own run that wrote `status` to the order after this flow last saw the order in
    another status (or ever, before it first looked): the status is that write's echo."""
    order_no = order_no_of(ctx)
    seen = (
        SyncRun.objects.filter(
            flow_config=ctx.config, entity_key=ctx.run.entity_key, status=SyncRun.Status.SUCCEEDED
        )
        .exclude(pk=ctx.run.pk)
        .exclude(references__status=status)
        .filter(references__has_key="status")
        .order_by("-pk")
        .values_list("pk", flat=True)
        .first()
    )
    writes = SyncRun.objects.filter(
        pair=ctx.pair,
        status=SyncRun.Status.SUCCEEDED,
        references__sage_order_no=order_no,
        **{f"references__{STATUS_WRITTEN}": status},
    )
    return writes.filter(pk__gt=seen or 0).order_by("-pk").first()


def tell_crm(ctx: StepContext) -> dict[str, Any]:
    """The order's fields, stage and a note on the deal, when its status changed."""
    deal = ctx.outputs["find_deal"]["deal"]
    if not deal:
        return {"skipped": "no deal"}
    read = ctx.outputs["read_order"]
    order, status, order_no = read["order"], read["status"], order_no_of(ctx)
    erp = ctx.erp.label
    label = STATUS_LABELS.get(status, status).format(erp=erp)
    references = {"status": status, "deal": deal}
    if status == last_told_status(ctx):
        ctx.set_summary(f"Sales order {order_no} is still {label}: nothing to tell.")
        return {"skipped": "status unchanged", "references": references}
    if (ours := written_by_us(ctx, status)) is not None:
        ctx.set_summary(
            f"Sales order {order_no} is {label}: we set it (run {ours.pk}), nothing to tell."
        )
        return {"skipped": "our own status write", "run": ours.pk, "references": references}
    fields = map_record(ctx, "out", "OrderStatus", ctx.crm.deal_entity, order)
    stage = (ctx.option("status_stages") or {}).get(status, "")
    if fields or stage:
        ctx.crm.write_deal(deal, fields, ctx.idempotency_key("tell_crm"), stage)
    invoiced = f", invoice {order['invoice_number']}" if order.get("invoice_number") else ""
    message = f"{erp} order {order_no} is {label}{invoiced} (as of {read['changed']})."
    tell_deal(ctx, deal, message)
    if status == "on_hold":
        follow_up(
            ctx, ORDER_ON_HOLD, f"Call the customer: order {order_no} is on hold in {erp}",
            f"{message} Find out with the customer what releases it.", about=order_no,
            deal=deal,
        )  # fmt: skip
    ctx.set_summary(f"Sales order {order_no} is {label}.")
    return {"fields": fields, "stage": stage, "note": message, "references": references}


order_status_to_crm = Flow(
    name=NAME,
    label="Order status → CRM",
    description="Sage order status changes shown on the deal the order came from.",
    steps=(
        Step("read_order", read_order, "Re-read the order from Sage"),
        Step("find_deal", find_deal, "Find the deal it came from"),
        Step("tell_crm", tell_crm, "Write the status to the deal"),
    ),
    needs_crm=frozenset({WON_DEALS}),
    needs_erp=frozenset({SALES_ORDERS}),
    trigger="poll",
    default_options={"poll_interval": 60, "status_stages": {}, **default_options(NAME)},
    accepts=accepts,
    watches=(Watch("erp", ORDER_STATUS),),
)
