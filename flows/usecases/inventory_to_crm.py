"""Inventory → CRM: Sage 100 quantities on hand shown where salespeople look.

Polled feed: IM_ItemWarehouse. A change of one warehouse re-reads the item in every
warehouse (the option `warehouses` limits which count; empty = all) and totals the quantity
on hand through the pair's mapping "Sage 100 stock → inventory level".

- Salesforce: the mapping "Sage 100 stock → Salesforce product" gives `ProductCode` (to find
  the products) and `Quantity_On_Hand__c` (written to each, unless it already holds it).
- Streak has no product records. What a salesperson wants to know is that a deal still in
  play asks for more than is in stock, before promising a delivery date; so each box not in
  a closed stage (option `closed_stages`) whose Products field asks for more of the item
  than is on hand gets a comment saying so. Boxes that can be served get nothing, which keeps
  stock movements from flooding every deal with comments.
"""

from decimal import Decimal
from typing import Any

from connectors.base import WebhookEvent
from flows.base import Flow, Step, StepContext
from flows.events import publish
from flows.models import FlowConfig
from flows.polling import Watch, watch
from flows.usecases.order_status_to_crm import map_record
from mappings.canonical import to_json
from mappings.transforms.lines import parse_line

NAME = "inventory_to_crm"
KIND = "sage100.stock"


def accepts(config: FlowConfig, event: WebhookEvent) -> bool:
    return event.kind == KIND


def read_stock(ctx: StepContext) -> dict[str, Any]:
    """The item's quantity on hand now, over the warehouses that count."""
    item_code = ctx.erp.parse_key("stock", ctx.run.entity_key.removeprefix("stock:"))["ItemCode"]
    counted = set(ctx.option("warehouses") or [])
    rows = ctx.erp.search("stock", ItemCode=item_code)
    levels = [
        map_record(ctx, "in", "sage100", "IM_ItemWarehouse", "InventoryLevel", row)
        for row in rows
        if not counted or row["WarehouseCode"] in counted
    ]
    on_hand = sum((Decimal(level["on_hand"]) for level in levels), Decimal(0))
    stock = {
        "sku": item_code,
        "on_hand": plain(on_hand),
        "warehouses": {level["warehouse"]: plain(level["on_hand"]) for level in levels},
    }
    publish(ctx.pair, "inventory.changed", stock, f"run-{ctx.run.pk}")
    return stock


def plain(quantity: Decimal) -> str:
    """A quantity as people write it: 700, 2.5 (not 700.0 or 7E+2)."""
    return format(Decimal(quantity).normalize(), "f")


def tell_crm(ctx: StepContext) -> dict[str, Any]:
    stock = ctx.outputs["read_stock"]
    if ctx.pair.crm.system == "salesforce":
        return update_products(ctx, stock)
    return warn_short_boxes(ctx, stock)


def update_products(ctx: StepContext, stock: dict[str, Any]) -> dict[str, Any]:
    level = {"sku": stock["sku"], "on_hand": Decimal(stock["on_hand"])}
    values = map_record(ctx, "out", "salesforce", "InventoryLevel", "Product2", level)
    code = values.pop("ProductCode", stock["sku"])
    updated = []
    for product in ctx.crm.search("Product2", ProductCode=code):
        if any(product.get(name) != value for name, value in values.items()):
            key = ctx.idempotency_key(f"product-{product['Id']}")
            ctx.crm.update("Product2", product["Id"], values, key)
            updated.append(product["Id"])
    told = (
        f"{len(updated)} Salesforce product(s) updated"
        if updated
        else "no Salesforce product needed a change"
    )
    ctx.set_summary(f"{code}: {stock['on_hand']} on hand; {told}.")
    return {"values": to_json(values), "updated": updated}


def warn_short_boxes(ctx: StepContext, stock: dict[str, Any]) -> dict[str, Any]:
    sku, on_hand = stock["sku"], Decimal(stock["on_hand"])
    closed = set(ctx.option("closed_stages") or [])
    warned = []
    for box in ctx.crm.boxes():
        if box.get("stageName") in closed:
            continue
        wanted = quantity_asked(box.get("fieldsByName", {}).get("Products"), sku)
        if wanted > on_hand:
            message = (
                f"Stock alert: this deal asks for {plain(wanted)} of {sku}, but Sage 100 has "
                f"{plain(on_hand)} on hand ({plain(wanted - on_hand)} short)."
            )
            ctx.crm.add_comment(box["key"], message)
            warned.append(box["key"])
    ctx.set_summary(f"{sku}: {plain(on_hand)} on hand; {len(warned)} open deal(s) told short.")
    return {"warned": warned}


def quantity_asked(products: Any, sku: str) -> Decimal:
    """How many of `sku` a box's Products text ("SKU x qty @ price" lines) asks for."""
    total = Decimal(0)
    for text in str(products or "").splitlines():
        line = parse_line(text)
        if line and line["sku"].upper() == sku.upper():
            total += line["quantity"]
    return total


inventory_to_crm = Flow(
    name=NAME,
    label="Inventory → CRM",
    description="Sage 100 quantities on hand on Salesforce products, or as stock alerts on "
    "the Streak deals that ask for more than is on hand.",
    steps=(
        Step("read_stock", read_stock, "Re-read the item's stock from Sage 100"),
        Step("tell_crm", tell_crm, "Write the quantity to the CRM"),
    ),
    combinations=frozenset({("streak", "sage100"), ("salesforce", "sage100")}),
    trigger="poll",
    default_options={
        "poll_interval": 60,
        "warehouses": [],
        "closed_stages": ["Closed-Won", "Closed-Lost"],
    },
    accepts=accepts,
)

watch(NAME, Watch("erp", "sage100", "stock", KIND))
