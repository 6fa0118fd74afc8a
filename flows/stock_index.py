"""Which open deal asks for which item, and the last quantity on hand read per item.

A stock change must reach the deals that hold the item without reading every deal: the
index keeps, per pair, each deal's items (as the CRM's `deals_changed` gives them) and is
brought up to date before each use from the deals changed since its newest stamp (the
first use reads every deal once). A deal moved to a closed stage comes back in that
listing and is kept as not open; a deleted one never does, so the stock flow forgets it when
writing to it finds it gone. The levels let a deal's summary name the other items it asks
for without asking the ERP again.
"""

from datetime import datetime
from decimal import Decimal

from django.db import models
from django.db.models import Max

from connectors.crm_role import CrmRole
from connectors.models import IntegrationPair
from connectors.records import DealStock


class DealItems(models.Model):
    """A deal's items as the index last read them, and the stock summary it shows."""

    pair = models.ForeignKey(IntegrationPair, on_delete=models.CASCADE, related_name="+")
    deal_key = models.CharField(max_length=255)
    changed = models.DateTimeField(help_text="The deal's change stamp when last read.")
    open = models.BooleanField(default=True)
    lines = models.JSONField(default=dict, help_text="Item code → quantity asked (text).")
    shown = models.TextField(blank=True, help_text="The stock summary last written.")

    class Meta:
        app_label = "flows"
        constraints = [
            models.UniqueConstraint(fields=["pair", "deal_key"], name="one_index_row_per_deal")
        ]

    def __str__(self) -> str:
        return f"{self.pair_id}/{self.deal_key}: {self.lines}"

    def quantities(self) -> dict[str, Decimal]:
        return {sku: Decimal(quantity) for sku, quantity in self.lines.items()}


class StockLevel(models.Model):
    """The quantity on hand the stock flow last read for an item."""

    pair = models.ForeignKey(IntegrationPair, on_delete=models.CASCADE, related_name="+")
    sku = models.CharField(max_length=100)
    on_hand = models.DecimalField(max_digits=18, decimal_places=4)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        app_label = "flows"
        constraints = [
            models.UniqueConstraint(fields=["pair", "sku"], name="one_stock_level_per_item")
        ]

    def __str__(self) -> str:
        return f"{self.pair_id}/{self.sku}: {self.on_hand}"


def refresh(pair: IntegrationPair, crm: CrmRole, closed_stages: set[str]) -> int:
    """Bring the pair's index up to date; how many deals were read."""
    newest: datetime | None = DealItems.objects.filter(pair=pair).aggregate(Max("changed"))[
        "changed__max"
    ]
    deals = crm.deals_changed(newest, closed_stages)
    for deal in deals:
        remember(pair, deal)
    return len(deals)


def remember(pair: IntegrationPair, deal: DealStock) -> None:
    DealItems.objects.update_or_create(
        pair=pair,
        deal_key=deal.key,
        defaults={
            "changed": deal.changed,
            "open": deal.open,
            "lines": {sku: str(quantity) for sku, quantity in deal.lines.items()},
            "shown": deal.shown,
        },
    )


def forget(deal: DealItems) -> None:
    """A deal the CRM no longer has (deleted): change listings never name it again."""
    deal.delete()


def open_deals_asking_for(pair: IntegrationPair, sku: str) -> list[DealItems]:
    """The open deals whose items include `sku` (any case), in a stable order."""
    return list(
        DealItems.objects.filter(pair=pair, open=True, lines__has_key=sku.upper()).order_by(
            "deal_key"
        )
    )


def set_level(pair: IntegrationPair, sku: str, on_hand: Decimal) -> None:
    StockLevel.objects.update_or_create(pair=pair, sku=sku.upper(), defaults={"on_hand": on_hand})


def levels(pair: IntegrationPair, skus: set[str]) -> dict[str, Decimal]:
    """The known quantities on hand of these items (upper case codes)."""
    rows = StockLevel.objects.filter(pair=pair, sku__in=skus)
    return {row.sku: row.on_hand for row in rows}
