"""Won deal → customer + sales order (any CRM → an ERP that takes sales orders).

Steps: re-read the deal; map it with the pair's mappings and validate (its lines must come
to its amount); the approval rule; the anomaly checks (`flows.anomaly`: a deal far from the
customer's history or Sage's prices, or a repeat of a recent order, waits for an approver);
find or create the customer; match the items; create the order, in the ERP's currency
(`flows.steps.money`); write its number back.

Never two orders for one deal: the deal's binding (`ExternalLink`, our database) is checked
first; the create then names the deal and the ERP answers with the order it already has for
it (Sage 100's bridge: in the same transaction as the write, open or in history) instead of
making a second one, so an order committed before a crash or a lost reply is found on the
retry without a read beforehand. The create also carries the run's idempotency key, which
the bridge answers with its first reply.
"""

from typing import Any

from connectors.roles import DEAL_STAGE, SALES_ORDERS, WON_DEALS
from flows.anomaly.step import ANOMALY_CHECKS, anomaly_checks
from flows.anomaly.step import DEFAULT_OPTIONS as ANOMALY_OPTIONS
from flows.base import Flow, Step, StepContext, Watch
from flows.publishing import publish
from flows.steps import (
    CUSTOMER,
    ITEMS,
    MAP_DEAL,
    WON_DEAL_DOCUMENT,
    after_won_deal,
    bind,
    linked_sage_id,
    write_key,
)
from flows.steps.approval import approval_rule
from flows.steps.credit_check import CREDIT_CHECK
from flows.steps.crm import post_note, write_back
from flows.steps.customer import find_or_create_customer
from flows.steps.deal import accepts_won_deal, read_deal
from flows.steps.invoice_after_order import DEFAULT_OPTIONS as INVOICE_OPTIONS
from flows.steps.invoice_after_order import INVOICE_AFTER_ORDER
from flows.steps.items import left_out, match_items
from flows.steps.mapping import map_deal, to_erp_with_warnings
from flows.steps.money import conversion_note, in_erp_currency
from flows.steps.purchasing import BUY_SHORT_LINES
from flows.steps.purchasing import DEFAULT_OPTIONS as PURCHASING_OPTIONS
from flows.steps.rules import RULES, apply_rules
from flows.steps.tasks import default_options as task_options

ENTITY = "sales_order"
FOUND = "found (made by an earlier attempt)"


def create_sales_order(ctx: StepContext) -> dict[str, Any]:
    document = ctx.outputs[MAP_DEAL]["document"]
    canonical = document | {
        "customer_ref": ctx.outputs[CUSTOMER]["customer_ref"],
        "lines": ctx.outputs[ITEMS]["lines"],
    }
    canonical, conversion = in_erp_currency(ctx, canonical, "sales order")
    linked = linked_sage_id(ctx, ENTITY, ctx.run.entity_key)
    warnings: list[dict[str, Any]] = []
    if linked:
        number, how = linked, FOUND
    else:
        values, warnings = to_erp_with_warnings(ctx, "SalesOrder", canonical, "sales order")
        order = ctx.erp.create_sales_order(
            values, document["crm_deal_id"], write_key(ctx, ENTITY, values)
        )
        number, how = order.number, FOUND if order.existed else "created"
        bind(ctx, ENTITY, ctx.run.entity_key, number)
    ctx.label_run(document=f"SO {number}")
    publish(
        ctx.pair,
        "order.created",
        {
            "crm_id": ctx.run.entity_key,
            "sales_order_no": number,
            "customer_ref": ctx.outputs[CUSTOMER]["customer_ref"],
            "total": canonical.get("total"),
            "currency": canonical.get("currency"),
        },
        number,
        ctx.kept,
    )
    return {
        "sales_order_no": number,
        "how": how,
        "total": canonical.get("total"),
        "currency": canonical.get("currency"),
        "conversion": conversion,
        "references": {"sage_order_no": number},
        **({"warnings": warnings} if warnings else {}),
    }


def order_note(ctx: StepContext) -> tuple[str, str]:
    order = ctx.outputs["sales_order"]
    document = ctx.outputs[MAP_DEAL]["document"]
    customer = ctx.outputs[CUSTOMER]
    total = order.get("total") or document.get("total")
    currency = order.get("currency") or document.get("currency")
    note = (
        f"{ctx.erp.label} sales order {order['sales_order_no']} created for {customer['name']} "
        f"({customer['customer_ref']}): {total} {currency}."
    )
    note += conversion_note(order.get("conversion") or {}) + left_out(ctx)
    return order["sales_order_no"], note


deal_won_to_sales_order = Flow(
    name="deal_won_to_sales_order",
    label="Won deal → Sage customer and sales order",
    description=(
        "When a deal reaches the trigger stage, find or create the customer in Sage, create "
        "the sales order with its lines, and write the order number back to the deal."
    ),
    steps=(
        Step("read_deal", read_deal, "Re-read the deal from the CRM"),
        after_won_deal(MAP_DEAL, map_deal("SalesOrder"), "Map and validate"),
        after_won_deal(RULES, apply_rules, "Business rules"),
        after_won_deal("approval", approval_rule, "Approval rule"),
        after_won_deal(ANOMALY_CHECKS, anomaly_checks, "Check for anything unusual"),
        after_won_deal(CUSTOMER, find_or_create_customer, "Find or create the customer"),
        CREDIT_CHECK,
        after_won_deal(ITEMS, match_items, "Match items"),
        after_won_deal("sales_order", create_sales_order, "Create the sales order"),
        after_won_deal("write_back", write_back(ENTITY, order_note), "Write the order number back"),
        after_won_deal("note", post_note("sales_order"), "Add a note to the deal"),
        BUY_SHORT_LINES,
        INVOICE_AFTER_ORDER,
    ),
    needs_crm=frozenset({WON_DEALS}),
    needs_erp=frozenset({SALES_ORDERS}),
    trigger="webhook",
    default_options={
        "trigger_stage": "",  # empty: the CRM's won stage (Streak "Closed-Won", …)
        "approval_threshold": 10000,
        "unknown_item_policy": "flag",  # flag, skip_line or create
        **ANOMALY_OPTIONS,
        **task_options("deal_won_to_sales_order"),
        **PURCHASING_OPTIONS,
        **INVOICE_OPTIONS,
    },
    accepts=accepts_won_deal,
    watches=(Watch("crm", DEAL_STAGE),),
    choice=WON_DEAL_DOCUMENT,
)
