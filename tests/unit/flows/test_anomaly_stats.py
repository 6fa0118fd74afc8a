"""The anomaly statistics (`flows.anomaly.stats`) on hand-made histories: what is held, what is
not, and the sentence a finance user reads for each."""

from datetime import datetime, timedelta
from decimal import Decimal

from flows.anomaly.stats import (
    AMOUNT,
    DUPLICATE,
    PRICE,
    QUANTITY,
    Deal,
    Limits,
    Line,
    Listed,
    findings,
    ratio_words,
    spread_of,
)

NOW = datetime(2025, 6, 2, 15, 0)
LIMITS = Limits()
PRICES = {"WIDGET-9": Listed(Decimal("40.00"), (Decimal("39.20"), Decimal("34.00"))),
          "GADGET-2": Listed(Decimal("250.00"))}  # fmt: skip


def deal(key: str, *lines: tuple[str, int, str], days_ago: float = 0, **fields) -> Deal:
    made = tuple(Line(sku, Decimal(quantity), Decimal(price)) for sku, quantity, price in lines)
    total = sum((line.quantity * line.unit_price for line in made), Decimal(0))
    values = {
        "key": key, "name": f"Deal {key}", "customer": "Acme", "currency": "USD",
        "total": total, "total_base": total, "lines": made,
        "won_at": NOW - timedelta(days=days_ago), "document": f"SO 000{key}",
    } | fields  # fmt: skip
    return Deal(**values)


def ordinary_history(count: int = 5) -> list[Deal]:
    """Acme's usual: 8 to 12 WIDGET-9 at 38.00 and one or two GADGET-2, weeks apart."""
    quantities = [10, 8, 12, 9, 11, 10, 9, 12]
    return [
        deal(
            f"H{n}",
            ("WIDGET-9", quantities[n % 8], "38.00"),
            ("GADGET-2", 1 + n % 2, "245.00"),
            days_ago=10 * (n + 1),
        )
        for n in range(count)
    ]


def checks(found) -> list[str]:
    return [finding.check for finding in found]


def test_an_ordinary_deal_of_a_customer_with_history_is_not_held():
    new = deal("N", ("WIDGET-9", 11, "38.00"), ("GADGET-2", 2, "245.00"))
    assert findings(new, ordinary_history(8), PRICES, LIMITS, "USD") == []


def test_a_unit_price_a_tenth_of_the_list_is_held_in_words_without_any_history():
    new = deal("N", ("WIDGET-9", 10, "4.00"))
    [found] = findings(new, [], PRICES, LIMITS, "USD", "Sage 100")
    assert found.check == PRICE and found.sku == "WIDGET-9"
    assert found.sentence == (
        "Unit price of WIDGET-9 is 4.00 USD; Sage 100 lists 40.00 USD (a tenth). "
        "Check the deal's line before it reaches Sage 100."
    )


def test_a_price_near_any_price_level_or_a_discount_is_not_held():
    for price in ("34.00", "30.00", "45.00", "14.00"):  # a level, discounts, a small markup
        assert findings(deal("N", ("WIDGET-9", 10, price)), [], PRICES, LIMITS, "USD") == []
    [found] = findings(deal("N", ("GADGET-2", 1, "2500.00")), [], PRICES, LIMITS, "USD")
    assert "Sage lists 250.00 USD (ten times)" in found.sentence


def test_a_deal_in_another_currency_is_priced_in_the_base_currency():
    euros = deal("N", ("WIDGET-9", 10, "3.70"), currency="EUR", rate=Decimal("1.08"))
    [found] = findings(euros, [], PRICES, LIMITS, "USD")
    assert found.sentence.startswith("Unit price of WIDGET-9 is 3.70 EUR (4.00 USD); Sage lists")
    fair = deal("N", ("WIDGET-9", 10, "36.00"), currency="EUR", rate=Decimal("1.08"))
    assert findings(fair, [], PRICES, LIMITS, "USD") == []


def test_too_little_history_holds_nothing_for_the_history_checks():
    huge = deal("N", ("WIDGET-9", 900, "38.00"))
    assert findings(huge, ordinary_history(4), PRICES, LIMITS, "USD") == []
    assert checks(findings(huge, ordinary_history(5), PRICES, LIMITS, "USD")) == [QUANTITY]


def test_a_quantity_far_from_what_the_customer_orders_of_the_item_is_held_in_words():
    fat_finger = deal("N", ("WIDGET-9", 100, "38.00"), ("GADGET-2", 1, "245.00"))
    [found] = findings(fat_finger, ordinary_history(8), PRICES, LIMITS, "USD")
    assert found.sentence == (
        "Quantity of WIDGET-9 is 100; Acme's 8 earlier orders of it were 8 to 12 (usually 10). "
        "Check the deal's line before it reaches Sage."
    )


def test_an_amount_far_above_the_customer_history_is_held_and_a_small_one_is_not():
    history = ordinary_history(6)
    big = deal("N", ("KIT-7", 30, "245.00"))  # an item it never bought: no quantity to judge
    [found] = findings(big, history, PRICES, LIMITS, "USD")
    assert found.check == AMOUNT
    assert found.sentence == (
        "Amount 7,350.00 USD is far above Acme's usual: its 6 earlier deals were 625.00 USD to "
        "870.00 USD (typically 747.50 USD). Check the deal before it reaches Sage."
    )
    small = deal("N", ("KIT-7", 1, "5.00"))
    assert findings(small, history, PRICES, LIMITS, "USD") == []


def test_the_amount_is_not_told_again_when_a_line_explains_it():
    explained = deal("N", ("WIDGET-9", 1000, "38.00"))
    assert checks(findings(explained, ordinary_history(8), PRICES, LIMITS, "USD")) == [QUANTITY]


def test_a_repeat_of_a_recent_order_is_held_naming_the_earlier_deal_and_its_document():
    earlier = deal("A", ("WIDGET-9", 10, "38.00"), days_ago=2, name="Acme - Q2 reorder")
    repeat = deal("B", ("WIDGET-9", 10, "38.00"))
    [found] = findings(repeat, [earlier], PRICES, LIMITS, "USD")
    assert found.check == DUPLICATE
    assert found.sentence == (
        "Looks like a second order for Acme: same total 380.00 USD and lines as deal "
        "“Acme - Q2 reorder” won 2 days ago (SO 000A)."
    )


def test_no_duplicate_for_the_same_deal_again_an_older_order_or_other_lines():
    earlier = deal("A", ("WIDGET-9", 10, "38.00"), days_ago=1)
    assert findings(deal("A", ("WIDGET-9", 10, "38.00")), [earlier], PRICES, LIMITS, "USD") == []
    older = deal("A", ("WIDGET-9", 10, "38.00"), days_ago=4)
    assert findings(deal("B", ("WIDGET-9", 10, "38.00")), [older], PRICES, LIMITS, "USD") == []
    other = deal("B", ("WIDGET-9", 11, "38.00"))
    assert findings(other, [earlier], PRICES, LIMITS, "USD") == []
    off = Limits(duplicate_days=0)
    assert findings(deal("B", ("WIDGET-9", 10, "38.00")), [earlier], PRICES, off, "USD") == []


def test_a_steady_customer_is_not_held_for_a_small_change():
    steady = [deal(f"H{n}", ("WIDGET-9", 10, "38.00"), days_ago=10 * n + 5) for n in range(8)]
    spread = spread_of([d.total_base for d in steady])
    assert spread is not None and spread.spread > 0  # the floor: never judged as steadier
    assert findings(deal("N", ("WIDGET-9", 15, "38.00")), steady, PRICES, LIMITS, "USD") == []
    assert checks(findings(deal("N", ("WIDGET-9", 100, "38.00")), steady, PRICES, LIMITS, "USD"))


def test_ratios_in_words():
    assert [ratio_words(Decimal(r)) for r in ("0.1", "10", "0.5", "0.27", "3.4", "100")] == [
        "a tenth", "ten times", "half", "27% of it", "3.4 times", "a hundred times",
    ]  # fmt: skip
