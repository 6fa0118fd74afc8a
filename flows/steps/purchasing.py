"""Back-to-back purchase orders: once a won deal's sales order is in the ERP, the lines it is
short of (more ordered than the warehouse has available) are bought from each item's
primary vendor, one purchase order per vendor for the shortfall, naming the sales order.

Only when the pair's option `back_to_back_purchase_orders` is on (off by default), and only
for an ERP that takes purchase orders (`PURCHASE_ORDERS`). Each purchase order is bound to
the deal and vendor (`ExternalLink` entity "purchase_order", crm_id "<deal>|<vendor>"), and
the create names the sales order and vendor, so a retry, or a run after a lost reply, finds
the one made before instead of buying twice. A line whose item has no primary vendor is not
bought: the note says so and what to do. Written against the roles.
"""

from collections import defaultdict
from decimal import Decimal
from typing import Any

from connectors.records import Shortfall
from connectors.roles import PURCHASE_ORDERS
from flows.base import Step, StepContext
from flows.models import ExternalLink
from flows.steps import after_won_deal, first_try

OPTION = "back_to_back_purchase_orders"
DEFAULT_OPTIONS = {OPTION: False}
ENTITY, STEP, ORDER_STEP = "purchase_order", "purchase_orders", "sales_order"
# Why nothing was bought. Not `flows.base.NOTHING_TO_DO`: the run made the sales order, and a
# polled run ending in that is dropped from the runs list.
NONE_BOUGHT = "none_bought"
TIMES = "\N{MULTIPLICATION SIGN}"  # between a quantity and its item


def plain(number: Decimal) -> str:
    """A quantity as people write it: 8, 2.5 (no trailing zeros)."""
    return f"{number.normalize():f}"


def link_key(deal: str, vendor: str) -> str:
    return f"{deal}|{vendor}"


def buy_short_lines(ctx: StepContext) -> dict[str, Any]:
    """One purchase order per primary vendor for what the sales order is short of, and a
    note on the deal naming each one (and the lines no vendor supplies)."""
    if not ctx.option(OPTION):
        return {NONE_BOUGHT: "back-to-back purchase orders are off"}
    erp = ctx.erp
    if PURCHASE_ORDERS not in erp.capabilities:
        return {NONE_BOUGHT: f"{erp.label} takes no purchase orders"}
    order_no = ctx.outputs[ORDER_STEP]["sales_order_no"]
    by_vendor: dict[str, list[Shortfall]] = defaultdict(list)
    for line in erp.shortfalls(order_no):
        by_vendor[line.vendor].append(line)
    unsupplied = by_vendor.pop("", [])
    made, said = [], []
    for vendor, lines in by_vendor.items():
        number, how = purchase_order(ctx, vendor, lines, order_no)
        name = lines[0].vendor_name or vendor
        what = ", ".join(f"{plain(line.short)} {TIMES} {line.sku}" for line in lines)
        said.append(f"PO {number} to {name} for {what} (short).")
        made.append({"number": number, "vendor": vendor, "how": how, "lines": len(lines)})
    said += [
        f"{line.sku} is short by {plain(line.short)} in warehouse {line.warehouse}, but has no "
        f"primary vendor in {erp.label}: no purchase order was made. Set the item's primary "
        "vendor in Sage and order it by hand."
        for line in unsupplied
    ]
    if not said:
        return {NONE_BOUGHT: f"sales order {order_no} is short of nothing"}
    note = f"Back-to-back purchasing for sales order {order_no}: " + " ".join(said)
    new = all(entry["how"] == "created" for entry in made)
    ctx.crm.add_note(
        ctx.run.entity_key, note, ctx.idempotency_key(STEP), not (new and first_try(ctx, STEP))
    )
    numbers = [entry["number"] for entry in made]
    references = {"sage_purchase_orders": ", ".join(numbers)} if numbers else {}
    return {"purchase_orders": made, "note": note, "references": references}


def purchase_order(
    ctx: StepContext, vendor: str, lines: list[Shortfall], order_no: str
) -> tuple[str, str]:
    """The vendor's purchase order for this deal: bound before, else made (or found) now."""
    crm_id = link_key(ctx.run.entity_key, vendor)
    link = ExternalLink.objects.filter(pair=ctx.pair, entity=ENTITY, crm_id=crm_id).first()
    if link:
        return link.sage_id, "bound before"
    made = ctx.erp.create_purchase_order(
        vendor, lines, order_no, ctx.idempotency_key(f"{STEP}-{vendor}")
    )
    ExternalLink.objects.get_or_create(
        pair=ctx.pair, entity=ENTITY, crm_id=crm_id, defaults={"sage_id": made.number}
    )
    return made.number, "found (made by an earlier attempt)" if made.existed else "created"


BUY_SHORT_LINES: Step = after_won_deal(STEP, buy_short_lines, "Order what is short from vendors")
