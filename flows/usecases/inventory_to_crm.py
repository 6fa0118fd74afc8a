"""Inventory → CRM: quantities on hand in Sage shown where salespeople look.

Polled feed: the ERP's stock feed (Sage 100: IM_ItemWarehouse). A change of one warehouse
re-reads the item in every warehouse (the option `warehouses` limits which count; empty =
all) and totals the quantity on hand through the pair's mapping "… stock → inventory level".

- A CRM with product records: the mapping "… stock → <CRM product>" gives the product code
  (to find the products) and the fields written to each, unless it already holds them.
- A CRM whose deals have a stock field: each open deal (not in a closed stage, option
  `closed_stages`) that asks for the item gets a summary per item in its stock field
  ("WIDGET-01: 40 on hand, 12 on this deal · GADGET-2: 3 on hand, 8 on this deal (short 5)"),
  and a deal that asks for more than is on hand a note saying so (once per state: the same
  note is not added twice). Which open deal asks for which item comes from the stock index
  (flows.stock_index), kept current from the deals changed since it last looked, so a stock
  change reads and writes only the deals holding the item. A CRM may do both.
"""

from decimal import Decimal
from typing import Any

from clarity.formats import plain_number
from connectors.base import WebhookEvent
from connectors.errors import NotFound, Unsupported
from connectors.records import StockRead
from connectors.registry import sent_about
from connectors.roles import STOCK
from flows import stock_index
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
    stock = level_of(ctx, ctx.erp.read_stock(ctx.run.entity_key.partition(":")[2]))
    publish(ctx.pair, "inventory.changed", stock, f"run-{ctx.run.pk}", ctx.kept)
    return stock


def level_of(ctx: StepContext, read: StockRead) -> dict[str, Any]:
    """An item's stock as read from the ERP, totalled through the pair's mapping: its code,
    quantity on hand, and that quantity per warehouse."""
    counted = set(ctx.option("warehouses") or []) if read.warehouse_of else set()
    source = ctx.erp.names("InventoryLevel").mapping
    levels = [
        map_record(ctx, "in", source, "InventoryLevel", row)
        for row in read.rows
        if not counted or row[read.warehouse_of] in counted
    ]
    on_hand = sum((Decimal(level["on_hand"]) for level in levels), Decimal(0))
    return {
        "sku": read.sku,
        "on_hand": plain_number(on_hand),
        "warehouses": {
            level["warehouse"]: plain_number(level["on_hand"])
            for level in levels
            if level.get("warehouse")
        },
    }


def tell_crm(ctx: StepContext) -> dict[str, Any]:
    """Products (a CRM that keeps them) and the open deals holding the item (a CRM whose
    deals have the stock field): each says what it did in the run's summary."""
    stock = ctx.outputs["read_stock"]
    done: dict[str, Any] = {}
    told = []
    if ctx.crm.item_entity:
        done["products"], said = update_products(ctx, stock)
        told.append(said)
    if ctx.crm.stock_field and ctx.crm.shows_stock():
        done["deals"], said = tell_deals(ctx, stock)
        told.append(said)
    elif ctx.crm.stock_field:
        told.append(f"{ctx.crm.label} deals have no {ctx.crm.stock_field} field: add it to "
                    "show stock on deals")  # fmt: skip
    ctx.set_summary(f"{stock['sku']}: {stock['on_hand']} on hand; {'; '.join(told)}.")
    if not any(part.get("changed") for part in done.values()):
        done[NOTHING_TO_DO] = "; ".join(told)
    return done


def update_products(ctx: StepContext, stock: dict[str, Any]) -> tuple[dict[str, Any], str]:
    level = {"sku": stock["sku"], "on_hand": Decimal(stock["on_hand"])}
    values = map_record(ctx, "out", "InventoryLevel", ctx.crm.item_entity, level)
    values.setdefault("ProductCode", stock["sku"])
    updated = ctx.crm.update_item_stock(values, ctx.idempotency_key("products"))
    told = (
        f"{len(updated)} {ctx.crm.label} product(s) updated"
        if updated
        else f"no {ctx.crm.label} product needed a change"
    )
    values.pop("ProductCode")
    return {"values": to_json(values), "updated": updated, "changed": bool(updated)}, told


def tell_deals(ctx: StepContext, stock: dict[str, Any]) -> tuple[dict[str, Any], str]:
    """The stock summary on each open deal holding the item (when it changed), and a stock
    alert on those it leaves short."""
    sku, on_hand = stock["sku"].upper(), Decimal(stock["on_hand"])
    stock_index.set_level(ctx.pair, sku, on_hand)
    read = stock_index.refresh(ctx.pair, ctx.crm, set(ctx.option("closed_stages") or []))
    deals = stock_index.open_deals_asking_for(ctx.pair, sku)
    known = known_levels(ctx, {item for deal in deals for item in deal.lines})
    written, warned, gone = [], [], []
    for deal in deals:
        try:
            wrote, short = tell_deal(ctx, deal, sku, on_hand, known)
        except NotFound:  # deleted in the CRM: a change listing never says so
            stock_index.forget(deal)
            gone.append(deal.deal_key)
            continue
        written += [deal.deal_key] if wrote else []
        warned += [deal.deal_key] if short else []
    held = len(deals) - len(gone)
    told = f"{held} open deal(s) hold it, {len(written)} updated, {len(warned)} short"
    told += f", {len(gone)} deleted deal(s) forgotten" if gone else ""
    done = {"deals": [deal.deal_key for deal in deals if deal.deal_key not in gone],
            "updated": written, "warned": warned, "forgotten": gone, "deals_read": read,
            "changed": bool(written or warned)}  # fmt: skip
    return done, told


def tell_deal(
    ctx: StepContext,
    deal: stock_index.DealItems,
    sku: str,
    on_hand: Decimal,
    known: dict[str, Decimal | None],
) -> tuple[bool, bool]:
    """The deal's summary written when it changed, and the alert when it is short; whether
    each was done."""
    asked = deal.quantities()
    summary = stock_summary(asked, known)
    wrote = summary != deal.shown
    if wrote:
        ctx.crm.write_deal(deal.deal_key, {ctx.crm.stock_field: summary},
                           ctx.idempotency_key(f"stock-{deal.deal_key}"))  # fmt: skip
        deal.shown = summary
        deal.save(update_fields=["shown"])
    short = asked[sku] > on_hand
    if short:
        ctx.crm.add_note(deal.deal_key, short_alert(sku, asked[sku], on_hand, ctx.erp.label),
                         ctx.idempotency_key(f"alert-{deal.deal_key}"))  # fmt: skip
    return wrote, short


def known_levels(ctx: StepContext, skus: set[str]) -> dict[str, Decimal | None]:
    """The quantity on hand of each item: as last read, else read from the ERP now (and
    kept); None for one it does not have or cannot read by its code."""
    known: dict[str, Decimal | None] = dict(stock_index.levels(ctx.pair, skus))
    for sku in sorted(skus - set(known)):
        try:
            read = ctx.erp.item_stock(sku)
        except (NotFound, Unsupported):
            read = None
        if read is None or read.sku.upper() != sku or not read.rows:
            known[sku] = None  # another item's rows are never taken for this one's
            continue
        on_hand = Decimal(level_of(ctx, read)["on_hand"])
        stock_index.set_level(ctx.pair, sku, on_hand)
        known[sku] = on_hand
    return known


def stock_summary(asked: dict[str, Decimal], known: dict[str, Decimal | None]) -> str:
    """Per item the deal asks for, in words a salesperson reads: "WIDGET-01: 40 on hand, 12
    on this deal · GADGET-2: 3 on hand, 8 on this deal (short 5)"."""
    parts = []
    for sku, quantity in sorted(asked.items()):
        on_hand = known.get(sku)
        if on_hand is None:
            parts.append(f"{sku}: on hand not known yet, {plain_number(quantity)} on this deal")
            continue
        part = f"{sku}: {plain_number(on_hand)} on hand, {plain_number(quantity)} on this deal"
        if quantity > on_hand:
            part += f" (short {plain_number(quantity - on_hand)})"
        parts.append(part)
    return " · ".join(parts)


def short_alert(sku: str, asked: Decimal, on_hand: Decimal, erp_label: str) -> str:
    return (
        f"Stock alert: this deal asks for {plain_number(asked)} of {sku}, but {erp_label} has "
        f"{plain_number(on_hand)} on hand ({plain_number(asked - on_hand)} short)."
    )


inventory_to_crm = Flow(
    name=NAME,
    label="Inventory → CRM",
    description="Sage quantities on hand on the CRM's products, and as a stock summary on "
    "each open deal holding the item, with a stock alert on those that ask for more than is "
    "on hand.",
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
