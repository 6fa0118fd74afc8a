"""A pair's lookup tables and currency rates, read from the database for a mapping run.

`PairEnvironment` reads a pair's tables and rates once and keeps them for the run. The plain
`StaticEnvironment` and `LookupData` live in `mappings.environment`, which the engine imports
(never the models); they are re-exported here, where callers have always found them.
"""

from datetime import date
from decimal import Decimal
from typing import Any

from django.db.models import Q

from connectors.models import IntegrationPair
from mappings.environment import LookupData, StaticEnvironment
from mappings.models import CurrencyRate, LookupEntry, LookupTable

__all__ = ["LookupData", "PairEnvironment", "StaticEnvironment", "current_rates", "load_table"]


class PairEnvironment(StaticEnvironment):
    """A pair's lookup tables (its own over global ones) and its latest rates as of a day."""

    def __init__(self, pair: IntegrationPair, on: date | None = None) -> None:
        super().__init__(base_currency=pair.base_currency, rates=current_rates(pair, on))
        self.pair = pair

    def lookup(self, name: str) -> LookupData | None:
        if name not in self.lookups:
            self.lookups[name] = load_table(self.pair, name)
        return self.lookups[name]


def current_rates(pair: IntegrationPair, on: date | None = None) -> dict[tuple[str, str], Any]:
    rows = CurrencyRate.objects.filter(Q(pair=pair) | Q(pair__isnull=True))
    if on:
        rows = rows.filter(as_of__lte=on)
    chosen: dict[tuple[str, str], tuple[bool, date, Decimal]] = {}
    for row in rows:
        key = (row.from_currency, row.to_currency)
        rank = (row.pair_id is not None, row.as_of, row.rate)
        if key not in chosen or rank[:2] > chosen[key][:2]:
            chosen[key] = rank
    return {key: rank[2] for key, rank in chosen.items()}


def load_table(pair: IntegrationPair, name: str) -> LookupData | None:
    tables = LookupTable.objects.filter(name=name, pair=pair) or LookupTable.objects.filter(
        name=name, pair__isnull=True
    )
    table = tables.first()
    if table is None:
        return None

    def add_entry(key: str, value: str) -> None:
        LookupEntry.objects.get_or_create(table=table, key=key, defaults={"value": value})

    return LookupData(
        name=table.name,
        entries=dict(table.entries.values_list("key", "value")),
        on_miss=table.on_miss,
        default=table.default_value,
        add_entry=add_entry,
    )
