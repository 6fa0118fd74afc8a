"""A pair's lookup tables and currency rates, read from the database for a mapping run.

`PairEnvironment` reads a pair's tables and rates once, when first asked, and keeps them for
the run: a mapping that converts no currency (a deal in the base currency) reads no rates.
A run makes one (`flows.steps.mapping_data.environment`) and never keeps it past the run;
what it reads comes through the run's `kept` (the configuration's generation,
connectors/configuration.py), so a user's edit is used by the very next run. The plain
`StaticEnvironment` and `LookupData` live in `mappings.environment`, which the engine imports
(never the models); they are re-exported here, where callers have always found them.
"""

from datetime import date
from decimal import Decimal
from typing import Any

from django.db.models import F, Q

from connectors.configuration import Kept, read_now
from connectors.models import IntegrationPair
from mappings.environment import LookupData, StaticEnvironment
from mappings.models import CurrencyRate, LookupEntry, LookupTable

__all__ = ["LookupData", "PairEnvironment", "StaticEnvironment", "current_rates", "load_table"]


class PairEnvironment(StaticEnvironment):
    """A pair's lookup tables (its own over global ones) and its latest rates as of a day."""

    def __init__(
        self, pair: IntegrationPair, on: date | None = None, kept: Kept = read_now
    ) -> None:
        super().__init__(base_currency=pair.base_currency)
        self.pair = pair
        self.on = on
        self.rates_read = False
        self.kept = kept

    def lookup(self, name: str) -> LookupData | None:
        if name not in self.lookups:
            self.lookups[name] = self.kept(
                ("lookup table", self.pair.pk, name), lambda: load_table(self.pair, name)
            )
        return self.lookups[name]

    def rate(self, source: str, target: str) -> Decimal | None:
        if not self.rates_read:
            rates = self.kept(
                ("rates", self.pair.pk, self.on), lambda: current_rates(self.pair, self.on)
            )
            self.rates = StaticEnvironment(rates=rates).rates
            self.rates_read = True
        return super().rate(source, target)


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
    """The pair's table called `name`, else the global one, with its rows: one query (the
    tables joined to their rows, the pair's first)."""
    tables = LookupTable.objects.filter(Q(pair=pair) | Q(pair__isnull=True), name=name)
    rows = list(
        tables.order_by(F("pair").desc(nulls_last=True), "entries__key").values_list(
            "pk", "on_miss", "default_value", "entries__key", "entries__value"
        )
    )
    if not rows:
        return None
    table_id, on_miss, default = rows[0][:3]

    def add_entry(key: str, value: str) -> None:
        LookupEntry.objects.get_or_create(table_id=table_id, key=key, defaults={"value": value})

    return LookupData(
        name=name,
        entries={key: value for pk, *_, key, value in rows if pk == table_id and key is not None},
        on_miss=on_miss,
        default=default,
        add_entry=add_entry,
    )
