"""How well the anomaly holds (`flows.anomaly.stats`) tell unusual won deals from ordinary ones,
on a generated year of deals: precision and recall of holding, overall and per kind of
injected anomaly (target: precision at least 0.9, recall at least 0.8 at the defaults).

The data set (seeded, so every run prints the same numbers): a price list of 300 items, each
with a standard price and three price levels; 150 customers, each with its own items, usual
quantities, steadiness and discounts, and 5 to 50 deals over the year. One deal in ten gets
an anomaly: a unit price typed ten or a hundred times too high or too low, a quantity with a
digit or two too many, a whole order ten to twenty times its size, or a second copy of the
customer's last order won within three days. Each deal is judged against the customer's
earlier ordinary deals, as the step judges it against completed runs; held anomalies never
join the history (they were sent back), ordinary deals always do. An anomaly of a customer
with too little history (`too_little_history`) can only be held by the price and duplicate
checks: that is most of what the amount and quantity checks miss.

`sweep_history_score` gives precision and recall at other history scores, which is how the
default was chosen. Standalone: `.venv/bin/python bench/anomaly.py`. No database needed.
"""

import json
import math
import random
import sys
from dataclasses import asdict, replace
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from flows.anomaly.stats import Deal, Limits, Line, Listed, findings  # noqa: E402

SEED = 21
ITEMS = 300
CUSTOMERS = 150
ANOMALY_SHARE = 0.1
KINDS = ("price_typo", "quantity_typo", "amount_outlier", "duplicate")
SWEEP = (3.0, 3.5, 4.0, 4.5, 5.0, 6.0)
CENT = Decimal("0.01")
YEAR_START = datetime(2025, 1, 1, 8, 0)
BASE = "USD"


def price_list(rng: random.Random) -> dict[str, Listed]:
    """Standard prices from 5 to 900, and levels: 2 % off, 85 %, cost plus 40 %."""
    listed = {}
    for number in range(ITEMS):
        standard = cents(math.exp(rng.uniform(math.log(5), math.log(900))))
        cost = standard * Decimal(str(rng.uniform(0.45, 0.7)))
        levels = (cents(standard * Decimal("0.98")), cents(standard * Decimal("0.85")),
                  cents(cost * Decimal("1.4")))  # fmt: skip
        listed[f"ITEM-{number:03d}"] = Listed(standard, levels)
    return listed


def cents(value: float | Decimal) -> Decimal:
    return Decimal(str(value)).quantize(CENT)


class Customer:
    """A buyer with habits: its items and their usual quantities, how much it varies, and
    the price it pays (a discount off the standard price, or the wholesale level)."""

    def __init__(self, rng: random.Random, number: int, prices: dict[str, Listed]) -> None:
        self.name = f"Customer {number}"
        line_value = math.exp(rng.uniform(math.log(100), math.log(5000)))
        self.items = {
            sku: max(1.0, line_value / float(prices[sku].standard) * rng.uniform(0.5, 2))
            for sku in rng.sample(sorted(prices), rng.randint(3, 10))
        }
        self.steadiness = rng.uniform(0.1, 0.45)
        self.discount = Decimal(str(rng.uniform(0, 0.15)))
        self.wholesale = rng.random() < 0.3
        self.deals = rng.randint(5, 50)

    def price(self, listed: Listed) -> Decimal:
        if self.wholesale:
            return listed.prices[1]
        return cents(listed.standard * (1 - self.discount))

    def lines(self, rng: random.Random, prices: dict[str, Listed]) -> tuple[Line, ...]:
        chosen = rng.sample(sorted(self.items), min(len(self.items), rng.randint(1, 4)))
        if rng.random() < 0.1:  # now and then something it never bought before
            chosen.append(rng.choice(sorted(prices)))
        lines = []
        for sku in dict.fromkeys(chosen):
            usual = self.items.get(sku, math.exp(rng.uniform(0, math.log(20))))
            quantity = max(1, round(usual * math.exp(rng.gauss(0, self.steadiness))))
            lines.append(Line(sku, Decimal(quantity), self.price(prices[sku])))
        return tuple(lines)


def deal_of(key: str, customer: Customer, lines: tuple[Line, ...], won_at: datetime) -> Deal:
    total = sum((line.quantity * line.unit_price for line in lines), Decimal(0))
    return Deal(key, f"Deal {key}", customer.name, BASE, total, total, lines, won_at,
                document=f"SO {key}")  # fmt: skip


def injected(rng: random.Random, kind: str, deal: Deal, last: Deal) -> Deal:
    """`deal` with an anomaly of `kind` (a duplicate copies `last`, the latest deal)."""
    lines = list(deal.lines)
    spot = rng.randrange(len(lines))
    line = lines[spot]
    if kind == "price_typo":
        factor = Decimal(rng.choice([10, 10, 10, 100]))
        price = line.unit_price * factor if rng.random() < 0.5 else cents(line.unit_price / factor)
        lines[spot] = replace(line, unit_price=price)
    elif kind == "quantity_typo":
        quantity = int(line.quantity)
        typo = rng.choice([quantity * 10, quantity * 10 + quantity % 10, quantity * 100])
        lines[spot] = replace(line, quantity=Decimal(typo))
    elif kind == "amount_outlier":
        factor = rng.uniform(10, 20)
        lines = [replace(each, quantity=Decimal(round(each.quantity * Decimal(factor))))
                 for each in lines]  # fmt: skip
    elif kind == "duplicate":
        won_at = last.won_at + timedelta(hours=rng.uniform(1, 71))
        return replace(last, key=deal.key, name=deal.name, won_at=won_at, document="")
    total = sum((each.quantity * each.unit_price for each in lines), Decimal(0))
    return replace(deal, lines=tuple(lines), total=total, total_base=total)


def data_set(rng: random.Random) -> tuple[dict[str, Listed], list[list[tuple[Deal, str]]]]:
    """The price list, and each customer's deals in the order they were won, each with the
    kind of anomaly injected ("" for an ordinary deal)."""
    prices = price_list(rng)
    customers = []
    for number in range(CUSTOMERS):
        customer = Customer(rng, number, prices)
        days = sorted(rng.uniform(0, 365) for _ in range(customer.deals))
        deals: list[tuple[Deal, str]] = []
        for index, day in enumerate(days):
            key = f"{number:03d}-{index:02d}"
            deal = deal_of(
                key, customer, customer.lines(rng, prices), YEAR_START + timedelta(days=day)
            )
            kind = ""
            ordinary = [earlier for earlier, was in deals if not was]
            if ordinary and rng.random() < ANOMALY_SHARE:
                kind = rng.choice(KINDS)
                deal = injected(rng, kind, deal, ordinary[-1])
            deals.append((deal, kind))
        customers.append(sorted(deals, key=lambda pair: pair[0].won_at))
    return prices, customers


Outcome = tuple[str, bool, int]  # kind injected ("" if none), held, earlier deals judged on


def judged(prices: dict[str, Listed], customers: list, limits: Limits) -> list[Outcome]:
    """Every deal judged against its customer's earlier ordinary deals."""
    outcomes = []
    for deals in customers:
        history: list[Deal] = []
        for deal, kind in deals:
            held = bool(findings(deal, history, prices, limits, BASE))
            outcomes.append((kind, held, len(history)))
            if not kind:
                history.append(deal)
    return outcomes


def scores(outcomes: list[Outcome]) -> tuple[float, float]:
    """Precision and recall of holding: of the deals held, how many had an anomaly; of the
    deals with an anomaly, how many were held."""
    held_right = sum(1 for kind, held, _ in outcomes if held and kind)
    held = sum(1 for _, was_held, _ in outcomes if was_held)
    anomalies = sum(1 for kind, _, _ in outcomes if kind)
    return round(held_right / held, 3) if held else 1.0, round(held_right / anomalies, 3)


def kind_scores(outcomes: list[Outcome], kind: str, limits: Limits) -> dict[str, Any]:
    """Recall for one kind, and how many of its deals came before the customer had enough
    history to be judged on it (only the price and duplicate checks can hold those)."""
    mine = [(held, earlier) for was, held, earlier in outcomes if was == kind]
    caught = sum(1 for held, _ in mine if held)
    return {
        "injected": len(mine),
        "held": caught,
        "recall": round(caught / len(mine), 3) if mine else None,
        "too_little_history": sum(1 for _, earlier in mine if earlier < limits.min_history),
    }


def main() -> None:
    prices, customers = data_set(random.Random(SEED))
    limits = Limits()
    outcomes = judged(prices, customers, limits)
    precision, recall = scores(outcomes)
    sweep = {}
    for score in SWEEP:
        tried = scores(judged(prices, customers, replace(limits, history_score=score)))
        sweep[str(score)] = dict(zip(("precision", "recall"), tried, strict=True))
    ordinary = [held for kind, held, _ in outcomes if not kind]
    result = {
        "bench": "anomaly",
        "precision": precision,
        "recall": recall,
        "per_kind": {kind: kind_scores(outcomes, kind, limits) for kind in KINDS},
        "deals": len(outcomes),
        "ordinary": len(ordinary),
        "ordinary_held": sum(ordinary),
        "limits": asdict(limits),
        "sweep_history_score": sweep,
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
