"""Order keyed in Sage → CRM deal: a sales order someone keys into Sage for a customer bound
to a CRM organization or account becomes a deal on it, so the pipeline shows every sale.

Polled feed: the ERP's order changes (the order-status feed), entity key
`sales_order:<number>`; the changes of one order are handled one at a time. Off by default.

Which orders: those bound to no deal. An order the won-deal flow made is bound already
(`ExternalLink` entity `sales_order`) or names its deal, and `accepts` drops it; so does
every change of an order this flow has made a deal for, since the deal is bound to the order
the moment it is made. A bound deal later moved to won makes no second order: the won-deal
flow finds the binding and uses the order it names. A cancelled order makes nothing (its run
is forgotten after the poll); an order of a customer bound to no CRM record makes nothing
either, and its run stays listed saying how to bind the customer, then replay. A flow switched
on sees the orders changed in the hour before (the polls' first look back), not older ones.

The deal: named "SO <number> · <customer>", the order's total before tax as its amount (what
a deal's amount is), its lines where the CRM keeps them on the deal (so winning it passes the
won-deal flow's checks), its date as the close date, the order number in the CRM's Sage
order field, at the stage the option `deal_stage` names (empty: the first stage). The CRM role
looks for a deal naming the order number before it makes one, so a retry after a lost reply
makes no second deal.
"""

from datetime import date
from decimal import Decimal
from typing import Any

from django.db import IntegrityError, transaction

from connectors.base import WebhookEvent
from connectors.registry import sent_about
from connectors.roles import ORDER_STATUS, SALES_ORDERS, WON_DEALS
from flows.base import NOTHING_TO_DO, Flow, Step, StepContext, Watch
from flows.models import ExternalLink, FlowConfig
from flows.steps.customer import ENTITY as CUSTOMER
from flows.steps.deal_links import SALES_ORDER

NAME = "sage_order_to_deal"
SKIPPED_STATUSES = ("deleted",)  # a cancelled order is no sale to show
NOT_MADE = "not_made"  # no deal made, for a reason a person can fix


def order_no_of(key: str) -> str:
    return key.removeprefix(f"{SALES_ORDER}:")


def order_bound(pair: Any, order_no: str) -> bool:
    return ExternalLink.objects.filter(pair=pair, entity=SALES_ORDER, sage_id=order_no).exists()


def accepts(config: FlowConfig, event: WebhookEvent) -> bool:
    """An order change, of an order no deal is bound to or named on it."""
    erp = sent_about(event.kind, ORDER_STATUS)
    if erp is None or erp.order_deal_reference(event):
        return False
    return not order_bound(config.pair, order_no_of(event.entity_key))


def read_order(ctx: StepContext) -> dict[str, Any]:
    """The order as the ERP has it now, and the CRM record its customer is bound to; why
    nothing is to be made, when that is so."""
    order_no = order_no_of(ctx.run.entity_key)
    seen = ctx.erp.order_seen(order_no)
    order = {
        "number": order_no,
        "customer_ref": seen.customer_ref,
        "amount": str(seen.net_total if seen.net_total is not None else seen.total),
        "made_on": seen.made_on.isoformat(),
        "status": seen.status,
        "currency": seen.currency or ctx.pair.base_currency,
    }
    ctx.label_run(f"SO {order_no}", document=f"SO {order_no}")
    link = ExternalLink.objects.filter(
        pair=ctx.pair, entity=CUSTOMER, sage_id=seen.customer_ref
    ).first()
    why = ""
    if order_bound(ctx.pair, order_no) or seen.deal_reference:
        why = f"Sales order {order_no} came from a deal already: no deal made."
    elif seen.status in SKIPPED_STATUSES:
        why = f"Sales order {order_no} is {seen.status}: no deal made."
    if why:  # nothing anyone need do: the run is forgotten after the poll
        ctx.set_summary(why)
        return {"order": order, NOTHING_TO_DO: why}
    if link is None:  # kept on the runs list: a person can bind the customer and replay
        why = (
            f"Sales order {order_no} is for customer {seen.customer_ref}, which is bound to "
            f"no {ctx.crm.label} record: no deal made. Bind the customer on the Bindings "
            "page (or let Customer sync make its record), then replay this run."
        )
        ctx.set_summary(why)
        return {"order": order, NOT_MADE: why}
    return {"order": order, "account": link.crm_id}


def create_deal(ctx: StepContext) -> dict[str, Any]:
    """The deal on the customer's CRM record, bound to the order at once."""
    read = ctx.outputs["read_order"]
    for reason in (NOTHING_TO_DO, NOT_MADE):
        if read.get(reason):
            return {reason: read[reason]}
    order, account = read["order"], read["account"]
    record = ctx.crm.read_account(account)
    customer = str(record.get("name") or record.get("Name") or order["customer_ref"])
    number = order["number"]
    values = {
        "name": f"SO {number} · {customer}",
        "amount": Decimal(order["amount"]),
        "close_date": date.fromisoformat(order["made_on"]),
        "currency": order["currency"],
        "order_number": number,
        "stage": ctx.option("deal_stage") or "",
        "reference": f"SO-{number}",
        "lines": [line._asdict() for line in ctx.erp.document_lines(SALES_ORDER, number)],
    }
    deal = ctx.crm.create_deal(account, values, ctx.idempotency_key("create_deal"))
    bind(ctx, deal, number)
    ctx.label_run(values["name"], customer, document=f"SO {number}")
    ctx.set_summary(f"{ctx.crm.label} deal made for sales order {number}: {values['amount']}.")
    return {
        "deal": deal,
        "name": values["name"],
        "amount": str(values["amount"]),
        "stage": values["stage"],
        "references": {"deal": deal, "sage_order_no": number},
    }


def bind(ctx: StepContext, deal: str, order_no: str) -> None:
    """Bind the deal to the order; a binding a retry made already is kept as it is."""
    try:
        with transaction.atomic():
            ExternalLink.objects.get_or_create(
                pair=ctx.pair, entity=SALES_ORDER, crm_id=deal, defaults={"sage_id": order_no}
            )
    except IntegrityError:  # another run bound the order meanwhile: that binding stands
        pass


sage_order_to_deal = Flow(
    name=NAME,
    label="Order keyed in Sage → CRM deal",
    description=(
        "A sales order keyed into Sage for a customer bound to a CRM organization or account "
        "becomes a deal on it, bound to the order, so moving it to won makes no second order."
    ),
    steps=(
        Step("read_order", read_order, "Read the order from Sage"),
        Step("create_deal", create_deal, "Make the deal in the CRM"),
    ),
    needs_crm=frozenset({WON_DEALS}),
    needs_erp=frozenset({SALES_ORDERS}),
    trigger="poll",
    default_options={"poll_interval": 60, "deal_stage": ""},
    accepts=accepts,
    watches=(Watch("erp", ORDER_STATUS),),
)
