"""Whether a won deal looks unusual, and why, in sentences a finance user reads.

Explainable statistics, nothing learnt: each check compares the deal with something a person
can look up, and says what it compared with.

- Price: a line's unit price against the ERP's price list for the item (its standard price
  and its price levels). Held when it is `price_factor` times above or below every listed
  price: a price typed ten times too high or too low, not a discount. Needs no history.
- Amount and quantity: against the customer's own earlier deals, on a log scale (money and
  quantities vary by factors, not by amounts): the distance from the median in units of the
  spread (1.4826 times the median absolute deviation, the robust stand-in for a standard
  deviation), never less than `MIN_SPREAD`, so a customer who always orders the same is not
  held for a small change. Held above `history_score`. Judged only with `min_history`
  earlier deals of the customer (and `MIN_ITEM_ORDERS` earlier orders of the item): too
  little history holds nothing.
- Duplicate: the same customer, currency, total and lines as an order of another deal won
  within `duplicate_days`.

Pure: no Django, no I/O. The step (`flows.anomaly.step`) gathers the history and the price
list; `bench/anomaly.py` runs these same functions on a generated data set with injected
anomalies and prints their precision and recall, which chose the defaults of `Limits`.
"""

import math
import statistics
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from clarity.formats import plain_number

PRICE, AMOUNT, QUANTITY, DUPLICATE = "price", "amount", "quantity", "duplicate"
MAD_TO_SIGMA = 1.4826  # the MAD of a normal distribution times this is its sigma
MIN_SPREAD = 0.25  # on the log scale: no customer is judged as steadier than ±28%
MIN_ITEM_ORDERS = 3  # earlier orders of an item before its quantity is judged
CHECK_LINE = "Check the deal's line before it reaches {erp}."
FRACTIONS = {2: "half", 3: "a third", 4: "a quarter", 5: "a fifth", 10: "a tenth",
             100: "a hundredth", 1000: "a thousandth"}  # fmt: skip
MULTIPLES = {2: "twice", 3: "three times", 4: "four times", 5: "five times", 10: "ten times",
             100: "a hundred times", 1000: "a thousand times"}  # fmt: skip
ORDINALS = {2: "second", 3: "third", 4: "fourth", 5: "fifth"}


@dataclass(frozen=True)
class Limits:
    """When a deal is held. The defaults are the flows' option defaults (bench/anomaly.py)."""

    min_history: int = 5
    history_score: float = 4.5
    price_factor: float = 3.0
    duplicate_days: int = 3


@dataclass(frozen=True)
class Line:
    sku: str
    quantity: Decimal
    unit_price: Decimal  # in the deal's currency


@dataclass(frozen=True)
class Deal:
    """A won deal as the checks read it: the mapped document and where it came from."""

    key: str  # the CRM record: a re-run of the same deal is no duplicate of it
    name: str  # the deal's name as people know it
    customer: str  # the customer's name
    currency: str
    total: Decimal  # in the deal's currency
    total_base: Decimal  # in the pair's base currency: history compares these
    lines: tuple[Line, ...]
    won_at: datetime
    rate: Decimal = Decimal(1)  # base units per unit of the deal's currency
    document: str = ""  # the ERP's document made for it: "SO 0000123"


@dataclass(frozen=True)
class Listed:
    """What the ERP lists an item at, in the base currency: its standard price and every
    price level's."""

    standard: Decimal
    prices: tuple[Decimal, ...] = ()


@dataclass(frozen=True)
class Finding:
    check: str
    sentence: str
    sku: str = ""


@dataclass(frozen=True)
class Spread:
    """Earlier values: on the log scale their median and robust spread (what a value is
    scored against); as they are, their range and median (what a sentence quotes)."""

    count: int
    median: float
    spread: float
    low: Decimal
    high: Decimal
    typical: Decimal

    def score(self, value: Decimal) -> float:
        """How many spreads `value` lies from the median (0 for a value of 0 or less)."""
        if value <= 0:
            return 0.0
        return abs(math.log(float(value)) - self.median) / self.spread


def spread_of(values: Sequence[Decimal]) -> Spread | None:
    """The spread of the positive `values`; None when there are none."""
    positive = [value for value in values if value > 0]
    if not positive:
        return None
    logs = [math.log(float(value)) for value in positive]
    median = statistics.median(logs)
    mad = statistics.median(abs(log - median) for log in logs)
    return Spread(
        count=len(positive),
        median=median,
        spread=max(MAD_TO_SIGMA * mad, MIN_SPREAD),
        low=min(positive),
        high=max(positive),
        typical=Decimal(statistics.median(positive)).quantize(Decimal("0.01")),
    )


# ---------------------------------------------------------------- the checks


def findings(
    deal: Deal,
    history: Sequence[Deal],
    prices: Mapping[str, Listed],
    limits: Limits,
    base: str,
    erp: str = "Sage",
) -> list[Finding]:
    """Everything unusual about `deal`, against the customer's earlier deals (`history`,
    other deals only) and the ERP's price list (`prices`, by item code in capitals). The
    amount is told only when no line explains it."""
    earlier = [other for other in history if other.key != deal.key]
    found = duplicate_findings(deal, earlier, limits)
    lines = price_findings(deal, prices, limits, base, erp)
    lines += quantity_findings(deal, earlier, limits, erp)
    found += lines
    if not lines:
        found += amount_findings(deal, earlier, limits, base, erp)
    return found


def price_findings(
    deal: Deal, prices: Mapping[str, Listed], limits: Limits, base: str, erp: str
) -> list[Finding]:
    found = []
    for line in deal.lines:
        listed = prices.get(line.sku.strip().upper())
        if listed is None or listed.standard <= 0 or line.unit_price <= 0:
            continue
        price = line.unit_price * deal.rate
        every = [listed.standard, *(p for p in listed.prices if p > 0)]
        if min(factor(price, listed_price) for listed_price in every) < limits.price_factor:
            continue
        shown = money(line.unit_price, deal.currency)
        if deal.currency != base:
            shown += f" ({money(price, base)})"
        found.append(
            Finding(
                PRICE,
                f"Unit price of {line.sku} is {shown}; {erp} lists "
                f"{money(listed.standard, base)} ({ratio_words(price / listed.standard)}). "
                + CHECK_LINE.format(erp=erp),
                line.sku,
            )
        )
    return found


def quantity_findings(
    deal: Deal, history: Sequence[Deal], limits: Limits, erp: str
) -> list[Finding]:
    if len(history) < limits.min_history:
        return []
    ordered: dict[str, list[Decimal]] = defaultdict(list)  # item code → earlier quantities
    for other in history:
        for other_line in other.lines:
            ordered[other_line.sku.strip().upper()].append(other_line.quantity)
    found = []
    for line in deal.lines:
        earlier = ordered.get(line.sku.strip().upper(), [])
        spread = spread_of(earlier) if len(earlier) >= MIN_ITEM_ORDERS else None
        if spread is None or spread.score(line.quantity) < limits.history_score:
            continue
        found.append(
            Finding(
                QUANTITY,
                f"Quantity of {line.sku} is {plain_number(line.quantity)}; {deal.customer}'s "
                f"{spread.count} earlier orders of it were {plain_number(spread.low)} to "
                f"{plain_number(spread.high)} (usually {plain_number(round(spread.typical))}). "
                + CHECK_LINE.format(erp=erp),
                line.sku,
            )
        )
    return found


def amount_findings(
    deal: Deal, history: Sequence[Deal], limits: Limits, base: str, erp: str
) -> list[Finding]:
    if len(history) < limits.min_history:
        return []
    spread = spread_of([other.total_base for other in history])
    if spread is None or deal.total_base <= spread.typical:
        return []  # a small order costs little to send; a price typo down is the price check's
    if spread.score(deal.total_base) < limits.history_score:
        return []
    shown = money(deal.total, deal.currency)
    if deal.currency != base:
        shown += f" ({money(deal.total_base, base)})"
    return [
        Finding(
            AMOUNT,
            f"Amount {shown} is far above {deal.customer}'s usual: its {spread.count} earlier "
            f"deals were {money(spread.low, base)} to {money(spread.high, base)} (typically "
            f"{money(spread.typical, base)}). Check the deal before it reaches {erp}.",
        )
    ]


def duplicate_findings(deal: Deal, history: Sequence[Deal], limits: Limits) -> list[Finding]:
    """The deal repeats an order of another deal of the customer won within the window."""
    if limits.duplicate_days <= 0:
        return []
    since = deal.won_at - timedelta(days=limits.duplicate_days)
    same = [
        other
        for other in history
        if since <= other.won_at <= deal.won_at and same_order(deal, other)
    ]
    if not same:
        return []
    latest = max(same, key=lambda other: other.won_at)
    ordinal = ORDINALS.get(len(same) + 1, f"{len(same) + 1}th")
    made = f" ({latest.document})" if latest.document else ""
    return [
        Finding(
            DUPLICATE,
            f"Looks like a {ordinal} order for {deal.customer}: same total "
            f"{money(deal.total, deal.currency)} and lines as deal “{latest.name}” won "
            f"{ago(deal.won_at - latest.won_at)}{made}.",
        )
    ]


def same_order(deal: Deal, other: Deal) -> bool:
    return (
        deal.currency == other.currency
        and deal.total == other.total
        and line_counts(deal.lines) == line_counts(other.lines)
    )


def line_counts(lines: Iterable[Line]) -> Counter:
    return Counter(
        (line.sku.strip().upper(), line.quantity.normalize(), line.unit_price.normalize())
        for line in lines
    )


# ---------------------------------------------------------------- in words


def factor(a: Decimal, b: Decimal) -> float:
    """How many times the larger of two positive amounts is the smaller."""
    return float(max(a, b) / min(a, b))


def ratio_words(ratio: Decimal) -> str:
    """0.1 → "a tenth", 10 → "ten times", 0.27 → "27% of it", 3.4 → "3.4 times"."""
    upward = ratio >= 1
    times = ratio if upward else 1 / ratio
    nearest = round(times)
    words = MULTIPLES if upward else FRACTIONS
    if nearest in words and abs(times - nearest) <= Decimal("0.05") * nearest:
        return words[nearest]
    if upward:
        return f"{times:.1f} times"
    return f"{ratio * 100:.0f}% of it"


def money(amount: Decimal, currency: str) -> str:
    return f"{amount:,.2f} {currency}".strip()


def ago(elapsed: timedelta) -> str:
    hours = int(elapsed.total_seconds() // 3600)
    if hours < 1:
        return "less than an hour ago"
    if hours < 24:
        return f"{hours} hour{'s' if hours != 1 else ''} ago"
    days = hours // 24
    return "yesterday" if days == 1 else f"{days} days ago"
