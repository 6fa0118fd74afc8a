"""Won deal → Sage 100 customer + sales order (Streak or Salesforce → Sage 100).

Steps: re-read the deal; map it with the pair's mappings and validate; the approval rule;
find or create the customer; match the items; create the order; write its number back.

Never two orders for one deal: the deal's binding (`ExternalLink`, our database) is checked
first; the create then names the deal (`UDF_DEAL_ID`) and the bridge, in the same
transaction as the write, answers with the order Sage already has for it (open or in
history) instead of making a second one, so an order committed before a crash or a lost
reply is found on the retry without a read beforehand. Several orders for the deal stop
the run. The create also carries the run's idempotency key, which the bridge answers with
its first reply.
"""

from typing import Any

from connectors.errors import ValidationError
from flows.base import Flow, Step, StepContext
from flows.events import publish
from flows.models import ExternalLink
from flows.steps import CUSTOMER, MAP_DEAL, after_won_deal, write_key
from flows.steps.approval import approval_rule
from flows.steps.crm import post_note, write_back
from flows.steps.customer import find_or_create_customer
from flows.steps.deal import accepts_won_deal, read_deal
from flows.steps.items import forget_items, match_items
from flows.steps.mapping import apply, check, erp_schema, map_deal

ENTITY = "sales_order"
FOUND = "found (made by an earlier attempt)"


def create_sales_order(ctx: StepContext) -> dict[str, Any]:
    document = ctx.outputs[MAP_DEAL]["document"]
    link = ExternalLink.objects.filter(
        pair=ctx.pair, entity=ENTITY, crm_id=ctx.run.entity_key
    ).first()
    if link:
        number, how = link.sage_id, FOUND
    else:
        order = create_order(ctx, document)
        number, how = order["SalesOrderNo"], FOUND if order.get("existed") else "created"
    ExternalLink.objects.get_or_create(
        pair=ctx.pair, entity=ENTITY, crm_id=ctx.run.entity_key, defaults={"sage_id": number}
    )
    publish(
        ctx.pair,
        "order.created",
        {
            "crm_id": ctx.run.entity_key,
            "sales_order_no": number,
            "customer_ref": ctx.outputs[CUSTOMER]["customer_ref"],
            "total": document.get("total"),
            "currency": document.get("currency"),
        },
        number,
    )
    return {"sales_order_no": number, "how": how, "references": {"sage_order_no": number}}


def create_order(ctx: StepContext, document: dict[str, Any]) -> dict[str, Any]:
    """The order made now, or (`existed`) the one Sage has for the deal already."""
    canonical = document | {
        "customer_ref": ctx.outputs[CUSTOMER]["customer_ref"],
        "lines": ctx.outputs["items"]["lines"],
    }
    schema = erp_schema(ctx, "sales_order", "sales_order_line", "lines")
    made, spec = apply(
        ctx, "out", "sage100", "SalesOrder", "SO_SalesOrderHeader", canonical, schema
    )
    check(ctx, made, spec, "Sage 100 sales order", in_crm=False)
    values = {
        **made.output,
        "UDF_DEAL_ID": made.output.get("UDF_DEAL_ID") or document["crm_deal_id"],
    }
    try:
        return ctx.erp.create(ENTITY, values, write_key(ctx, ENTITY, values))
    except ValidationError as exc:
        if any(field.startswith("ItemCode") for field in exc.fields):
            forget_items(ctx.pair.erp)  # an item known before may be gone: check live again
        raise


def order_note(ctx: StepContext) -> tuple[str, str]:
    number = ctx.outputs["sales_order"]["sales_order_no"]
    document = ctx.outputs[MAP_DEAL]["document"]
    customer = ctx.outputs[CUSTOMER]
    note = (
        f"Sage 100 sales order {number} created for {customer['name']} "
        f"({customer['customer_ref']}): {document.get('total')} {document.get('currency')}."
    )
    skipped = ctx.outputs["items"]["skipped"]
    if skipped:
        note += f" Left out, not in Sage 100: {', '.join(skipped)}."
    return number, note


deal_won_to_sales_order = Flow(
    name="deal_won_to_sales_order",
    label="Won deal → Sage 100 customer and sales order",
    description=(
        "When a deal reaches the trigger stage, find or create the customer in Sage 100, "
        "create the sales order with its lines, and write the order number back to the deal."
    ),
    steps=(
        Step("read_deal", read_deal, "Re-read the deal from the CRM"),
        after_won_deal(MAP_DEAL, map_deal("SalesOrder"), "Map and validate"),
        after_won_deal("approval", approval_rule, "Approval rule"),
        after_won_deal(CUSTOMER, find_or_create_customer, "Find or create the customer"),
        after_won_deal("items", match_items, "Match items"),
        after_won_deal("sales_order", create_sales_order, "Create the sales order"),
        after_won_deal(
            "write_back",
            write_back("Sage Order No", "Sage_Order_No__c", order_note),
            "Write the order number back",
        ),
        after_won_deal("note", post_note("sales_order"), "Add a note to the deal"),
    ),
    combinations=frozenset({("streak", "sage100"), ("salesforce", "sage100")}),
    trigger="webhook",
    default_options={
        "trigger_stage": "",  # empty: Streak "Closed-Won", Salesforce "Closed Won"
        "approval_threshold": 10000,
        "unknown_item_policy": "flag",  # flag, skip_line or create
    },
    accepts=accepts_won_deal,
)
