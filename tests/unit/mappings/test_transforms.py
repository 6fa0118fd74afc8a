"""Each transform as an admin would use it, plus property tests of the promises they make."""

from datetime import date, timedelta
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mappings.issues import TransformIssue
from mappings.lookups import LookupData, StaticEnvironment
from mappings.transforms import TRANSFORMS, catalogue
from mappings.transforms.addresses import parse_address, phone, to_country_code
from mappings.transforms.dates import to_date
from mappings.transforms.lines import format_line, parse_lines
from mappings.transforms.logic import conditional, default_when_empty, lookup, map_value
from mappings.transforms.numbers import convert_currency, number, round_money, round_number
from mappings.transforms.text import concat, regex_extract, split, trim, truncate

EUR_USD = StaticEnvironment("USD", rates={("EUR", "USD"): Decimal("1.08")})


def test_every_transform_describes_itself_for_the_designer():
    described = {entry["name"]: entry for entry in catalogue()}
    assert set(described) == set(TRANSFORMS)
    for entry in described.values():
        assert entry["label"] and entry["description"]
        assert all(param["name"] != "env" for param in entry["params"])
    assert described["truncate"]["params"][0]["source"] == "target_length"


def test_text_transforms():
    assert trim("  Harbor   Point ", True) == "Harbor Point"
    assert TRANSFORMS["upper"].func("net 30") == "NET 30"
    assert TRANSFORMS["lower"].func("AP@X.COM") == "ap@x.com"
    assert concat("Maria", ["Gonzalez", None, ""]) == "Maria Gonzalez"
    assert split("00-HARBORPO", "-", -1) == "HARBORPO"
    assert split("a, b ,c") == ["a", "b", "c"]
    assert split("nodash", "-", 3) is None


def test_truncate_warns_and_says_what_was_kept():
    assert truncate("short", 10) == "short"
    with pytest.raises(TransformIssue) as raised:
        truncate("Harbor Point Logistics International", 12)
    assert raised.value.level == "warning"
    assert raised.value.value == "Harbor Point"
    assert "cut to 12" in raised.value.message


def test_regex_extract_and_its_no_match_choices():
    prepared = TRANSFORMS["regex_extract"].prepare({"pattern": r"PO[- ]?(\d+)"})["pattern"]
    assert regex_extract("Customer PO-4400 attached", prepared) == "4400"
    assert regex_extract("no po", prepared, "", "empty") is None
    with pytest.raises(TransformIssue, match="does not match"):
        regex_extract("no po", prepared)


@pytest.mark.parametrize(
    ("raw", "output", "expected"),
    [
        (1735725600000, "iso", "2025-01-01"),  # Streak milliseconds
        ("1735725600000", "sage", "20250101"),
        ("20250630", "iso", "2025-06-30"),  # Sage YYYYMMDD
        ("2025-06-30T14:15:00Z", "iso", "2025-06-30"),
        ("12/31/2025", "sage", "20251231"),
        ("31.12.2025", "iso", "2025-12-31"),
        ("Jan 5, 2025", "iso", "2025-01-05"),
        (date(2025, 1, 1), "ms", 1735689600000),
    ],
)
def test_dates_in_any_common_format(raw, output, expected):
    assert to_date(raw, "auto", output) == expected


def test_an_unreadable_date_says_which_value_and_what_to_do():
    with pytest.raises(TransformIssue, match=r"“next Tuesday” is not a date.*YYYY-MM-DD"):
        to_date("next Tuesday")


def test_numbers_and_rounding():
    assert number("$ 1,234.50") == Decimal("1234.50")
    assert number("1.234,50", None, True) == Decimal("1234.50")
    assert round_number("2.345", 2) == Decimal("2.35")
    assert round_number("2.345", 2, "half_even") == Decimal("2.34")
    assert round_money("1500.4", "JPY") == Decimal("1500")
    with pytest.raises(TransformIssue, match="“twelve” is not a number"):
        number("twelve")


def test_currency_conversion_uses_the_rate_or_flags_review():
    assert convert_currency("100.00", "eur", None, EUR_USD) == Decimal("108.00")
    assert convert_currency("100", "USD", None, EUR_USD) == Decimal("100.00")
    inverse = StaticEnvironment("EUR", rates={("EUR", "USD"): Decimal("1.25")})
    assert convert_currency("100", "USD", None, inverse) == Decimal("80.00")
    with pytest.raises(TransformIssue) as raised:
        convert_currency("100", "GBP", None, EUR_USD)
    assert raised.value.code == "no_rate" and "held for review" in raised.value.message


def test_addresses_us_and_eu_from_the_streak_seed():
    us = parse_address("1450 Embarcadero Rd, Suite 200, Oakland, CA 94607, USA")
    assert us == {"lines": ["1450 Embarcadero Rd", "Suite 200"], "city": "Oakland",
                  "state": "CA", "zip": "94607", "country": "US"}  # fmt: skip
    de = parse_address("Hansaring 62, 50670 Köln, Germany")
    assert (de["lines"], de["city"], de["zip"], de["country"]) == (
        ["Hansaring 62"], "Köln", "50670", "DE")  # fmt: skip
    nl = parse_address("Stationsplein 9, 3511 ED Utrecht, Netherlands")
    assert (nl["city"], nl["zip"], nl["country"]) == ("Utrecht", "3511 ED", "NL")
    uk = parse_address("1 High St, Bristol BS1 4DJ, UK")
    assert (uk["city"], uk["zip"], uk["country"]) == ("Bristol", "BS1 4DJ", "GB")
    with pytest.raises(TransformIssue) as raised:
        parse_address("somewhere")
    assert raised.value.level == "warning"


def test_phone_numbers_become_e164_with_a_default_region():
    assert phone("+1 510-555-0142") == "+15105550142"
    assert phone("(206) 555-0142") == "+12065550142"
    assert phone("0221 5550 3310", "DE") == "+4922155503310"
    with pytest.raises(TransformIssue) as raised:
        phone("call me")
    assert raised.value.level == "warning" and raised.value.value == "call me"
    assert to_country_code("Germany") == "DE"


def test_line_items_text_and_structured():
    text = "WIDGET-100 x 5 @ 120.00\n  gadget-201 X2 @ $1,250.5 \n\nKIT-300 \u00d7 1 @ 99"
    parsed = parse_lines(text)
    assert [(line["sku"], line["quantity"], line["unit_price"]) for line in parsed] == [
        ("WIDGET-100", 5, Decimal("120.00")),
        ("gadget-201", 2, Decimal("1250.5")),
        ("KIT-300", 1, Decimal("99")),
    ]
    assert parsed[1]["amount"] == Decimal("2501.0")
    salesforce = {"records": [{"ProductCode": "WIDGET-100", "Quantity": 3.0, "UnitPrice": 12.5}]}
    (line,) = parse_lines(salesforce, "ProductCode", "Quantity", "UnitPrice")
    assert (line["sku"], line["amount"]) == ("WIDGET-100", Decimal("37.50"))
    with pytest.raises(TransformIssue, match="line 2 “five widgets please”"):
        parse_lines("WIDGET-100 x 5 @ 1\nfive widgets please")


def test_lookup_tables_on_miss():
    def env(on_miss, added=None):
        table = LookupData("Terms", {"Net 30": "01"}, on_miss, "05", add_entry=added)
        return StaticEnvironment(lookups={"Terms": table})

    assert lookup("net 30", "Terms", env("error")) == "01"
    with pytest.raises(TransformIssue) as raised:
        lookup("Net 45", "Terms", env("error"))
    assert raised.value.level == "error" and "Add a row for “Net 45”" in raised.value.message
    with pytest.raises(TransformIssue) as raised:
        lookup("Net 45", "Terms", env("default"))
    assert (raised.value.level, raised.value.value) == ("warning", "05")
    assert lookup("Net 45", "Terms", env("pass_through")) == "Net 45"
    added = []
    with pytest.raises(TransformIssue) as raised:
        lookup("Net 45", "Terms", env("create", lambda k, v: added.append((k, v))))
    assert raised.value.value == "Net 45" and added == [("Net 45", "Net 45")]
    with pytest.raises(TransformIssue, match="no lookup table “Nope”"):
        lookup("x", "Nope", env("error"))


def test_status_mapping_conditional_and_default():
    mapping = TRANSFORMS["map_value"].prepare({"mapping": {"C": "completed"}})["mapping"]
    assert map_value("c", mapping) == "completed"
    assert map_value("Q", mapping, "other") == "other"
    with pytest.raises(TransformIssue, match="“Q” is not in this rule's mapping"):
        map_value("Q", mapping)
    assert conditional("x", "EUR", "equals", "eur", "foreign", "domestic") == "foreign"
    assert conditional("12000", None, "greater_than", "10000", "large") == "large"
    assert conditional("500", None, "greater_than", "10000", "large") == "500"
    assert conditional(None, "", "is_empty", None, "none given") == "none given"
    assert default_when_empty("", "fallback field", "fixed") == "fallback field"
    assert default_when_empty(None, None, "fixed") == "fixed"


# ---------------------------------------------------------------- properties


@given(st.text(), st.integers(min_value=1, max_value=300))
def test_truncate_never_exceeds_the_length(text, length):
    try:
        result = truncate(text, length)
    except TransformIssue as issue:
        result = issue.value
    assert len(result) <= length
    assert text.startswith(result)


@given(st.dates(min_value=date(1971, 1, 1), max_value=date(2999, 12, 31)),
       st.sampled_from(["iso", "sage", "ms"]))  # fmt: skip
def test_date_format_then_parse_round_trips(day, output):
    written = to_date(day, "auto", output)
    assert to_date(written, "auto", "date") == day


@given(
    st.decimals(min_value=0, max_value=10**9, places=2, allow_nan=False),
    st.sampled_from(["USD", "EUR", "GBP", "CAD", "", None]),
)
def test_conversion_never_drops_the_currency(amount, currency):
    """Either the amount comes out in the base currency, or an issue says why not; an
    amount without a currency is never taken to be in the base currency."""
    try:
        converted = convert_currency(amount, currency, None, EUR_USD)
    except TransformIssue as issue:
        assert currency not in ("USD", "EUR")
        assert issue.code == ("no_currency" if not currency else "no_rate")
        return
    rate = {"USD": 1, "EUR": Decimal("1.08")}[currency]
    assert converted == (amount * rate).quantize(Decimal("0.01"))


skus = st.from_regex(r"[A-Za-z][A-Za-z0-9\-]{0,20}", fullmatch=True)
quantities = st.integers(min_value=1, max_value=100_000)
prices = st.decimals(min_value=0, max_value=10**7, places=2, allow_nan=False)


@given(st.lists(st.tuples(skus, quantities, prices), min_size=1, max_size=8))
def test_line_parsing_round_trips_with_formatting(lines):
    text = "\n".join(format_line(*line) for line in lines)
    parsed = parse_lines(text)
    assert [(p["sku"], p["quantity"], p["unit_price"]) for p in parsed] == lines


@given(st.dates(min_value=date(2000, 1, 1), max_value=date(2100, 1, 1)))
def test_streak_milliseconds_are_midnight_utc(day):
    ms = to_date(day, "auto", "ms")
    assert to_date(ms + 1000, "auto", "date") == day
    assert to_date(ms - 1000, "auto", "date") == day - timedelta(days=1)


def test_whole_numbers_text_and_country_codes():
    assert TRANSFORMS["integer"].func("12.0") == 12
    assert TRANSFORMS["text"].func(Decimal("5"), 2) == "5.00"
    assert TRANSFORMS["text"].func(date(2025, 1, 2)) == "2025-01-02"
    assert to_country_code("netherlands") == "NL"
    with pytest.raises(TransformIssue) as raised:
        to_country_code("Atlantis")
    assert raised.value.level == "warning"
