"""Prices → CRM: the ERP's items and what they sell for, on the CRM's products, so that a
salesperson adds a product to a deal at the price the ERP will charge.

Polled feed: the ERP's item and price changes (`PRICES`). A change names the item it is
about: the run re-reads the ERP's items and hands that one to the CRM (`load_items`: its
product made when the CRM lacks it, its list price set, nothing written that already holds
it). A change that names no item the ERP has, such as a price shared by several items,
re-prices every item, 200 a call; again only what differs is written.

Option `list_price_level`: which of the ERP's customer price levels is the list price; empty
for the item's standard unit price. The initial load reads the same option (`listed`).
"""

from typing import Any

from connectors.base import WebhookEvent
from connectors.errors import ValidationError
from connectors.registry import sent_about
from connectors.roles import ITEM_LIST, ITEM_RECORDS, PRICES
from flows.base import Flow, Step, StepContext, Watch
from flows.models import FlowConfig

NAME = "prices_to_crm"
PRICE_LEVEL = "list_price_level"
BATCH_SIZE = 200
SHOWN_REFUSALS = 3


def accepts(config: FlowConfig, event: WebhookEvent) -> bool:
    return sent_about(event.kind, PRICES) is not None


def listed(ctx: StepContext, items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The ERP's items at the list price the option names, in the pair's base currency when
    the ERP names none. A level the ERP does not price at stops the run, naming its levels."""
    level = str(ctx.option(PRICE_LEVEL) or "").strip()
    priced = []
    for item in items:
        levels = item.get("price_levels") or {}
        if level and level not in levels:
            known = ", ".join(sorted(levels)) or "none"
            raise ValidationError(
                f"{ctx.erp.label} has no price level “{level}” (its levels: {known}): set the "
                f"option {PRICE_LEVEL} of this flow to one of them, or empty for the standard "
                "price, then retry.",
                fields={PRICE_LEVEL: "no such price level"},
            )
        price = levels[level] if level else item.get("unit_price")
        currency = item.get("currency") or ctx.pair.base_currency
        priced.append(item | {"unit_price": price, "currency": currency})
    return priced


def price_words(ctx: StepContext) -> str:
    level = str(ctx.option(PRICE_LEVEL) or "").strip()
    return f"price level {level}" if level else "standard price"


def update_products(ctx: StepContext) -> dict[str, Any]:
    """The item the change names (every item when it names none the ERP has) on the CRM's
    products at its list price; a refusal fails the run with the CRM's reason."""
    named = ctx.run.entity_key.partition(":")[2]
    items = listed(ctx, ctx.erp.items_to_load())
    chosen = [item for item in items if item["sku"] == named] or items
    refused: list[str] = []
    for start in range(0, len(chosen), BATCH_SIZE):
        refused += ctx.crm.load_items(chosen[start : start + BATCH_SIZE])
    if refused:
        shown = "; ".join(refused[:SHOWN_REFUSALS])
        raise ValidationError(
            f"{ctx.crm.label} refused {len(refused)} product(s): {shown}. Fix them there (or "
            f"in {ctx.erp.label}), then retry.",
            fields={"products": shown},
        )
    if len(chosen) == 1:
        item = chosen[0]
        ctx.set_summary(
            f"{item['sku']}: {item['unit_price']} {item['currency']} ({price_words(ctx)}) on "
            f"its {ctx.crm.label} product."
        )
    else:
        ctx.set_summary(
            f"{len(chosen)} items at their {price_words(ctx)} on the {ctx.crm.label} "
            "products; only prices that differed were written."
        )
    return {"items": [item["sku"] for item in chosen], "price": price_words(ctx)}


prices_to_crm = Flow(
    name=NAME,
    label="Prices → CRM",
    description="The ERP's items and their list prices (the standard price, or the customer "
    "price level the option names) on the CRM's products as they change in the ERP.",
    steps=(Step("update_products", update_products, "Bring the item and its price to the CRM"),),
    needs_crm=frozenset({ITEM_RECORDS}),
    needs_erp=frozenset({ITEM_LIST}),
    trigger="poll",
    default_options={"poll_interval": 60, PRICE_LEVEL: ""},
    accepts=accepts,
    watches=(Watch("erp", PRICES),),
)
