"""Inventory → CRM: quantities on hand in Sage shown where salespeople look.

Polled feed: the ERP's stock feed (Sage 100: IM_ItemWarehouse). A change of one warehouse
re-reads the item in every warehouse (the option `warehouses` limits which count; empty =
all) and totals the quantity on hand through the pair's mapping "… stock → inventory level".

- A CRM with product records (Salesforce): the mapping "… stock → <CRM product>" gives the
  product code (to find the products) and the fields written to each, unless it already
  holds them.
- A CRM without (Streak): what a salesperson wants to know is that a deal still in play asks
  for more than is in stock, before promising a delivery date; so each deal not in a closed
  stage (option `closed_stages`) that asks for more of the item than is on hand gets a note
  saying so. Deals that can be served get nothing, which keeps stock movements from flooding
  every deal with notes.
"""

from decimal import Decimal
from typing import Any

from clarity.formats import plain_number
from connectors.base import WebhookEvent
from connectors.registry import sent_about
from connectors.roles import STOCK
from flows.base import NOTHING_TO_DO, Flow, Step, StepContext, Watch
from flows.models import FlowConfig
from flows.publishing import publish
from flows.steps.mapping import map_record
from mappings.canonical import to_json

NAME = "inventory_to_crm"


def accepts(config: FlowConfig, event: WebhookEvent) -> bool:
    return sent_about(event.kind, STOCK) is not None


def read_stock(ctx: StepContext) -> dict[str, Any]:
    """The item's quantity on hand now, over the warehouses that count."""
    read = ctx.erp.read_stock(ctx.run.entity_key.partition(":")[2])
    counted = set(ctx.option("warehouses") or []) if read.warehouse_of else set()
    source = ctx.erp.names("InventoryLevel").mapping
    levels = [
        map_record(ctx, "in", source, "InventoryLevel", row)
        for row in read.rows
        if not counted or row[read.warehouse_of] in counted
    ]
    on_hand = sum((Decimal(level["on_hand"]) for level in levels), Decimal(0))
    stock = {
        "sku": read.sku,
        "on_hand": plain_number(on_hand),
        "warehouses": {
            level["warehouse"]: plain_number(level["on_hand"])
            for level in levels
            if level.get("warehouse")
        },
    }
    publish(ctx.pair, "inventory.changed", stock, f"run-{ctx.run.pk}")
    return stock


def tell_crm(ctx: StepContext) -> dict[str, Any]:
    stock = ctx.outputs["read_stock"]
    if ctx.crm.item_entity:
        return update_products(ctx, stock)
    return warn_short_deals(ctx, stock)


def update_products(ctx: StepContext, stock: dict[str, Any]) -> dict[str, Any]:
    level = {"sku": stock["sku"], "on_hand": Decimal(stock["on_hand"])}
    values = map_record(ctx, "out", "InventoryLevel", ctx.crm.item_entity, level)
    values.setdefault("ProductCode", stock["sku"])
    code = values["ProductCode"]
    updated = ctx.crm.update_item_stock(values, ctx.idempotency_key("products"))
    told = (
        f"{len(updated)} {ctx.crm.label} product(s) updated"
        if updated
        else f"no {ctx.crm.label} product needed a change"
    )
    ctx.set_summary(f"{code}: {stock['on_hand']} on hand; {told}.")
    values.pop("ProductCode")
    done = {"values": to_json(values), "updated": updated}
    return done if updated else done | {NOTHING_TO_DO: told}


def warn_short_deals(ctx: StepContext, stock: dict[str, Any]) -> dict[str, Any]:
    sku, on_hand = stock["sku"], Decimal(stock["on_hand"])
    closed = set(ctx.option("closed_stages") or [])
    warned = ctx.crm.warn_short_deals(sku, on_hand, closed, ctx.erp.label)
    ctx.set_summary(
        f"{sku}: {plain_number(on_hand)} on hand; {len(warned)} open deal(s) told short."
    )
    return {"warned": warned} if warned else {"warned": [], NOTHING_TO_DO: "no deal is short"}


inventory_to_crm = Flow(
    name=NAME,
    label="Inventory → CRM",
    description="Sage quantities on hand on the CRM's products, or, for a CRM without "
    "products, as stock alerts on the open deals that ask for more than is on hand.",
    steps=(
        Step("read_stock", read_stock, "Re-read the item's stock from Sage"),
        Step("tell_crm", tell_crm, "Write the quantity to the CRM"),
    ),
    trigger="poll",
    default_options={
        "poll_interval": 60,
        "warehouses": [],
        "closed_stages": ["Closed-Won", "Closed-Lost"],
    },
    accepts=accepts,
    watches=(Watch("erp", STOCK),),
)
