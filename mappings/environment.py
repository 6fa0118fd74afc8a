"""What a mapping may consult besides the record, as plain objects: lookup tables, currency
rates and the base currency.

The engine never touches the database, so this module imports no models: `StaticEnvironment`
holds plain dicts (tests, the benchmark, previews of pasted JSON), and `mappings.lookups`
fills one from a pair's tables and rates.
"""

from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from mappings.issues import TransformIssue
from mappings.limits import shorten

ERROR, DEFAULT, PASS_THROUGH, CREATE = "error", "default", "pass_through", "create"


@dataclass
class LookupData:
    """A lookup table's rows and what to do with a key it does not have."""

    name: str
    entries: dict[str, str]
    on_miss: str = ERROR
    default: str = ""
    add_entry: Callable[[str, str], None] | None = None
    folded: dict[str, str] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self.folded = {key.strip().casefold(): value for key, value in self.entries.items()}

    def resolve(self, value: Any) -> Any:
        key = str(value).strip()
        found = self.entries.get(key)
        if found is None:
            found = self.folded.get(key.casefold())
        if found is not None:
            return found
        return self.miss(key)

    def miss(self, key: str) -> Any:
        shown = shorten(key)
        if self.on_miss == DEFAULT:
            raise TransformIssue(
                f"“{shown}” is not in lookup table “{self.name}”; used its default "
                f"“{self.default}”. Add a row for “{shown}” if that is wrong.",
                level="warning",
                code="lookup_default",
                value=self.default,
            )
        if self.on_miss == PASS_THROUGH:
            return key
        if self.on_miss == CREATE:
            self.entries[key] = key
            self.folded[key.casefold()] = key
            if self.add_entry:
                self.add_entry(key, key)
            raise TransformIssue(
                f"“{shown}” was not in lookup table “{self.name}”; added it (as itself) and passed "
                "it through. Check the new row.",
                level="warning",
                code="lookup_created",
                value=key,
            )
        raise TransformIssue(
            f"“{shown}” is not in lookup table “{self.name}”. Add a row for “{shown}” under Lookup "
            "tables, then retry.",
            code="lookup_miss",
        )


class Environment:
    base_currency: str = "USD"

    def lookup(self, name: str) -> LookupData | None:
        raise NotImplementedError

    def rate(self, source: str, target: str) -> Decimal | None:
        raise NotImplementedError


class StaticEnvironment(Environment):
    """Tables and rates given as dicts; rates as {("EUR", "USD"): Decimal("1.08")}."""

    def __init__(
        self,
        base_currency: str = "USD",
        lookups: dict[str, LookupData] | None = None,
        rates: dict[tuple[str, str], Decimal] | None = None,
    ) -> None:
        self.base_currency = base_currency.upper()
        self.lookups = lookups or {}
        self.rates = {(a.upper(), b.upper()): Decimal(r) for (a, b), r in (rates or {}).items()}

    def lookup(self, name: str) -> LookupData | None:
        return self.lookups.get(name)

    def rate(self, source: str, target: str) -> Decimal | None:
        if (source, target) in self.rates:
            return self.rates[source, target]
        inverse = self.rates.get((target, source))
        return None if inverse is None else Decimal(1) / inverse
