"""Sage 100 conventions the seed data and the sandbox backend share: key formats, decimal-
hour times, sales tax and order totals."""

from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal

CENT = Decimal("0.01")

# Sales tax rate per tax schedule (percent). Customers outside these states are NONTAX.
TAX_RATES: dict[str, Decimal] = {
    "NONTAX": Decimal("0"), "CA": Decimal("7.25"), "NY": Decimal("4.0"),
    "TX": Decimal("6.25"), "WI": Decimal("5.0"), "IL": Decimal("6.25"), "MA": Decimal("6.25"),
    "WA": Decimal("6.5"), "GA": Decimal("4.0"), "PA": Decimal("6.0"), "OH": Decimal("5.75"),
    "MN": Decimal("6.875"), "CO": Decimal("2.9"), "NC": Decimal("4.75"), "FL": Decimal("6.0"),
}  # fmt: skip

SYSTEM_USER_KEY = "0000000001"  # the user the agent's BOI session logs on as
CLERK_USER_KEYS = ["0000000002", "0000000003", "0000000004"]


def to_money(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def decimal_hours(moment: datetime) -> str:
    """Sage's TimeCreated/TimeUpdated: hours as a decimal string, "14.2500" = 14:15."""
    hours = moment.hour + moment.minute / 60 + moment.second / 3600
    return f"{hours:.4f}"


def order_number(number: int) -> str:
    """Sales order and invoice numbers: 7 characters, zero-filled."""
    return f"{number:07d}"


def line_key(index: int) -> str:
    return f"{index:06d}"


def line_seq_no(index: int) -> str:
    return f"{index:014d}"


def line_extension(quantity: Decimal, unit_price: Decimal, discount_percent: Decimal) -> Decimal:
    return to_money(quantity * unit_price * (1 - discount_percent / 100))


def order_totals(lines: list[dict], tax_schedule: str) -> dict[str, Decimal]:
    """TaxableAmt, NonTaxableAmt and SalesTaxAmt of an order from its lines' ExtensionAmt
    and TaxClass ("TX" taxable, "NT" not) under the customer's tax schedule."""
    rate = TAX_RATES.get(tax_schedule, Decimal("0"))
    taxable = sum(
        (Decimal(str(line["ExtensionAmt"])) for line in lines if line["TaxClass"] == "TX"),
        Decimal("0"),
    )
    if rate == 0:
        taxable = Decimal("0")
    total = sum((Decimal(str(line["ExtensionAmt"])) for line in lines), Decimal("0"))
    return {
        "TaxableAmt": taxable,
        "NonTaxableAmt": total - taxable,
        "SalesTaxAmt": to_money(taxable * rate / 100),
    }


def order_total(header: dict) -> Decimal:
    """What the customer owes for an order: goods + tax + freight - discount."""
    parts = ("TaxableAmt", "NonTaxableAmt", "SalesTaxAmt", "FreightAmt")
    amount = sum((Decimal(str(header[name])) for name in parts), Decimal("0"))
    return amount - Decimal(str(header["DiscountAmt"]))
