"""Deal stage → order status: a deal moved to a stage the status table names puts the Sage
sales order it became on hold, opens it again or cancels it (the reverse of
`order_status_to_crm`, in its words: "on_hold", "open", "deleted").

Trigger: the CRM's stage-change webhook (or its catch-up poll), for deals bound to a sales
order (`ExternalLink` entity `sales_order`, made by the won-deal flow); `accepts` drops every
other deal, and every event while the status table (`stage_statuses`, stage name → status)
is empty. The run re-reads the deal (the event is a hint), reads the order's status now
through the pair's order status mapping, and writes only a change: an order already in the
status, or no longer open (completed, deleted), is told on the deal and left as it is.
Cancelling is done the way the ERP does it (Sage 100: the order is deleted and kept in
history as deleted).

No ping-pong with `order_status_to_crm`, which moves deals by its own table
(`status_stages`): our status write comes back from the ERP's order feed, and that flow may
then move the deal to the stage its table gives the new status. That stage change reaches
this flow with the order already in the status the stage asks for (nothing to write), or,
when the two tables disagree, with the deal in exactly the stage `order_status_to_crm`'s
table gives the order's present status: that is its echo, not a person's move, and it is
left alone. Either way nothing goes back to the ERP, so the exchange stops after one round.
The run's references mark the status it wrote (`status_written`), so `order_status_to_crm`
tells neither a note nor a follow-up task ("call the customer: order on hold") for it.
"""

from typing import Any

from connectors.base import WebhookEvent
from connectors.registry import sent_about
from connectors.roles import DEAL_STAGE, ORDER_STATUS_WRITE, WON_DEALS
from flows.base import Flow, Step, StepContext, Watch
from flows.models import ExternalLink, FlowConfig
from flows.steps import trigger_stage
from flows.steps.deal import deal_name
from flows.steps.deal_links import SALES_ORDER
from flows.steps.mapping import map_record
from flows.usecases.order_status_to_crm import NAME as ORDER_STATUS_TO_CRM
from flows.usecases.order_status_to_crm import STATUS_LABELS, STATUS_WRITTEN

NAME = "deal_stage_to_order_status"
OPTION = "stage_statuses"
SETTABLE = ("on_hold", "open", "deleted")  # what a stage can ask of an open order
CLOSED = ("completed", "deleted")  # statuses of an order no longer open
DONE_WORDS = {"on_hold": "put on hold", "open": "opened again", "deleted": "cancelled"}


def accepts(config: FlowConfig, event: WebhookEvent) -> bool:
    """A stage change of a deal bound to a sales order, while the status table names any
    stage at all."""
    crm = sent_about(event.kind, DEAL_STAGE)
    if crm is None or crm.stage_hint(event) is None or not config.options.get(OPTION):
        return False
    return ExternalLink.objects.filter(
        pair=config.pair_id, entity=SALES_ORDER, crm_id=event.entity_key
    ).exists()


def read_stage(ctx: StepContext) -> dict[str, Any]:
    """The deal's stage now, and the sales order it is bound to."""
    trigger = trigger_stage(ctx.config.options, ctx.crm)
    read = ctx.crm.read_deal(ctx.run.entity_key, trigger)
    link = ExternalLink.objects.filter(
        pair=ctx.pair, entity=SALES_ORDER, crm_id=ctx.run.entity_key
    ).first()
    order_no = link.sage_id if link else ""
    ctx.label_run(deal_name(read.record), document=f"SO {order_no}" if order_no else "")
    return {"stage": read.stage, "order_no": order_no}


def order_status_now(ctx: StepContext, order_no: str) -> str:
    """The order's status in the words of the pair's order status mapping."""
    record = ctx.erp.read_order(order_no).record
    source = ctx.erp.names("OrderStatus").mapping
    return str(map_record(ctx, "in", source, "OrderStatus", record)["status"])


def stages_by_status(ctx: StepContext) -> dict[str, str]:
    """`order_status_to_crm`'s table (status → stage), where that flow is on."""
    config = FlowConfig.objects.filter(pair=ctx.pair, flow=ORDER_STATUS_TO_CRM, enabled=True)
    options = config.values_list("options", flat=True).first() or {}
    return options.get("status_stages") or {}


def set_status(ctx: StepContext) -> dict[str, Any]:
    """The status the deal's stage asks for, written to the order when it differs."""
    read = ctx.outputs["read_stage"]
    stage, order_no, erp = read["stage"], read["order_no"], ctx.erp.label
    wanted = (ctx.option(OPTION) or {}).get(stage, "")
    if not order_no:
        ctx.set_summary("The deal is bound to no sales order: nothing was written.")
        return {"skipped": "no sales order"}
    if wanted not in SETTABLE:
        ctx.set_summary(f"Stage {stage} changes no order status: nothing was written.")
        return {"skipped": "stage not in the status table", "stage": stage}
    status = order_status_now(ctx, order_no)
    said = STATUS_LABELS.get(status, status).format(erp=erp)
    if status == wanted:
        ctx.set_summary(f"Sales order {order_no} is {said} already: nothing was written.")
        return {"skipped": "already in that status", "status": status}
    if stages_by_status(ctx).get(status) == stage:
        ctx.set_summary(
            f"The deal is in {stage} because sales order {order_no} is {said}: nothing written."
        )
        return {"skipped": "the stage follows the order's status", "status": status}
    if status in CLOSED:
        note = (
            f"The deal moved to {stage}, but {erp} order {order_no} is {said}: it can no "
            f"longer be {DONE_WORDS[wanted]}. Change it in {erp} if it must be."
        )
        ctx.crm.add_note(ctx.run.entity_key, note, ctx.idempotency_key("note"))
        ctx.set_summary(f"Sales order {order_no} is {said}: it was left as it is.")
        return {"left": "order no longer open", "status": status, "note": note}
    ctx.erp.set_order_status(order_no, wanted, ctx.idempotency_key("set_status"))
    note = f"{erp} order {order_no} {DONE_WORDS[wanted]}: the deal moved to {stage}."
    ctx.crm.add_note(ctx.run.entity_key, note, ctx.idempotency_key("note"))
    ctx.set_summary(f"Sales order {order_no} {DONE_WORDS[wanted]} (deal moved to {stage}).")
    return {
        "before": status,
        "status": wanted,
        "note": note,
        "references": {"sage_order_no": order_no, "status": wanted, STATUS_WRITTEN: wanted},
    }


deal_stage_to_order_status = Flow(
    name=NAME,
    label="Deal stage → Sage order status",
    description=(
        "A deal moved to a stage named in the status table puts its Sage sales order on "
        "hold, opens it again or cancels it."
    ),
    steps=(
        Step("read_stage", read_stage, "Re-read the deal's stage from the CRM"),
        Step("set_status", set_status, "Set the order's status in Sage"),
    ),
    needs_crm=frozenset({WON_DEALS}),
    needs_erp=frozenset({ORDER_STATUS_WRITE}),
    trigger="webhook",
    default_options={OPTION: {}},
    accepts=accepts,
    watches=(Watch("crm", DEAL_STAGE),),
)
