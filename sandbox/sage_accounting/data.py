"""Deterministic seed data: one US business (base currency USD, multi-currency on), its chart
of accounts, tax rates, currencies, customers and vendors, the shared product catalogue and a
few months of sales invoices, some paid or part paid.

Reference lists are built here as finished documents; contacts, products, invoices and
payments are request bodies that `reset()` posts through the same code as the API, so seeded
and created records have exactly the same shape.
"""

import random
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from sandbox.catalogue import PRODUCTS
from sandbox.sage_accounting.shapes import fixed_link, seed_id, timestamp

SEED_TIME = datetime(2026, 6, 1, 9, 0, tzinfo=UTC)  # when the books were set up
BASE_CURRENCY = "USD"

BUSINESS_ID = seed_id("business", "brightline")
BUSINESS: dict[str, Any] = {
    "id": BUSINESS_ID,
    "displayed_as": "Brightline Industrial Supply Inc.",
    "$path": f"/businesses/{BUSINESS_ID}",
    "name": "Brightline Industrial Supply Inc.",
    "address_line_1": "500 Market Street",
    "address_line_2": "Suite 300",
    "city": "Philadelphia",
    "region": "PA",
    "postal_code": "19106",
    "country": fixed_link("countries", "US", "United States (US)"),
    "telephone": "+1 215 555 0100",
    "website": "https://brightline-supply.example",
    "is_demo": False,
    "subscriptions": [{"id": "ACCOUNTING_PLUS", "displayed_as": "Accounting Plus"}],
    "created_at": timestamp(SEED_TIME),
    "updated_at": timestamp(SEED_TIME),
}
USER_ID = seed_id("user", "dana")
USER: dict[str, Any] = {
    "id": USER_ID,
    "displayed_as": "Dana Whitfield",
    "$path": "/user",
    "first_name": "Dana",
    "last_name": "Whitfield",
    "initials": "DW",
    "email": "dana.whitfield@brightline-supply.example",
    "locale": "en-US",
}
FINANCIAL_SETTINGS: dict[str, Any] = {
    "$path": "/financial_settings",
    "year_end_date": "2026-12-31",
    "accounts_start_date": "2026-01-01",
    "base_currency": fixed_link("currencies", "USD", "US Dollar (USD)"),
    "multi_currency_enabled": True,
    "use_live_exchange_rates": False,
    "accounting_type": "accrual",
    "tax_number": "23-4567890",
}

CURRENCIES = [("USD", "US Dollar", "$"), ("EUR", "Euro", "€"), ("GBP", "Pound Sterling", "£")]
EXCHANGE_RATES = {"EUR": Decimal("0.92"), "GBP": Decimal("0.79")}  # foreign units per 1 USD

CONTACT_TYPES = [("CUSTOMER", "Customer"), ("VENDOR", "Vendor")]
PAYMENT_METHODS = [
    ("BANK_TRANSFER", "Bank Transfer"), ("CHECK", "Check"), ("CASH", "Cash"),
    ("CREDIT_DEBIT", "Credit/Debit Card"),
]  # fmt: skip

# nominal code, name, ledger_account_type id, type name
LEDGER_ACCOUNTS = [
    (1000, "Business Checking", "BANK", "Bank"),
    (1010, "Euro Account", "BANK", "Bank"),
    (1100, "Accounts Receivable", "CURRENT_ASSETS", "Current Assets"),
    (1200, "Inventory", "CURRENT_ASSETS", "Current Assets"),
    (2100, "Accounts Payable", "CURRENT_LIABILITY", "Current Liability"),
    (2200, "Sales Tax Payable", "CURRENT_LIABILITY", "Current Liability"),
    (3000, "Owner's Equity", "EQUITY", "Equity"),
    (4000, "Sales - Products", "SALES", "Sales"),
    (4010, "Sales - Services", "SALES", "Sales"),
    (4020, "Sales - Kits", "SALES", "Sales"),
    (4900, "Other Income", "OTHER_INCOME", "Other Income"),
    (5000, "Cost of Goods Sold", "DIRECT_EXPENSES", "Direct Expenses"),
    (6100, "Rent", "OVERHEADS", "Overheads"),
    (6200, "Utilities", "OVERHEADS", "Overheads"),
]
SALES_LEDGER_BY_CATEGORY = {"widget": 4000, "gadget": 4000, "part": 4000, "service": 4010,
                            "kit": 4020}  # fmt: skip

# key, name, percentage, agency
TAX_RATES = [
    ("no_tax", "No Tax", Decimal("0"), None),
    ("exempt", "Exempt", Decimal("0"), None),
    ("ca", "CA Sales Tax", Decimal("7.25"), "California Department of Tax and Fee Administration"),
    ("ny", "NY Sales Tax", Decimal("8.875"), "New York State Department of Taxation and Finance"),
    ("tx", "TX Sales Tax", Decimal("6.25"), "Texas Comptroller of Public Accounts"),
    ("pa", "PA Sales Tax", Decimal("6"), "Pennsylvania Department of Revenue"),
]
TAX_RATE_BY_REGION = {"CA": "ca", "NY": "ny", "TX": "tx", "PA": "pa"}

# name, city, region, postal code, country, currency
CUSTOMERS = [
    ("Harbor Point Logistics", "Boston", "MA", "02110", "US", "USD"),
    ("Bluestem Manufacturing", "Wichita", "KS", "67202", "US", "USD"),
    ("Cascade Outdoor Gear", "Portland", "OR", "97204", "US", "USD"),
    ("Redwood Analytics", "Sacramento", "CA", "95814", "US", "USD"),
    ("Granite State Builders", "Manchester", "NH", "03101", "US", "USD"),
    ("Lakeshore Dental Group", "Chicago", "IL", "60601", "US", "USD"),
    ("Summit Ridge Hospitality", "Denver", "CO", "80202", "US", "USD"),
    ("Prairie Wind Energy", "Des Moines", "IA", "50309", "US", "USD"),
    ("Coastal Marine Services", "Savannah", "GA", "31401", "US", "USD"),
    ("Ironwood Fabrication", "Pittsburgh", "PA", "15222", "US", "USD"),
    ("Magnolia Home Health", "Jackson", "MS", "39201", "US", "USD"),
    ("Pinnacle Legal Partners", "New York", "NY", "10017", "US", "USD"),
    ("Silver Creek Farms", "Boise", "ID", "83702", "US", "USD"),
    ("Northstar Robotics", "Minneapolis", "MN", "55401", "US", "USD"),
    ("Beacon Hill Architects", "Boston", "MA", "02108", "US", "USD"),
    ("Desert Bloom Nurseries", "Phoenix", "AZ", "85004", "US", "USD"),
    ("Evergreen Property Management", "Seattle", "WA", "98101", "US", "USD"),
    ("Keystone Auto Parts", "Harrisburg", "PA", "17101", "US", "USD"),
    ("Riverbend Veterinary Clinic", "Memphis", "TN", "38103", "US", "USD"),
    ("Tidewater Construction", "Norfolk", "VA", "23510", "US", "USD"),
    ("Blue Ridge Coffee Roasters", "Asheville", "NC", "28801", "US", "USD"),
    ("Copperline Electric", "Tucson", "AZ", "85701", "US", "USD"),
    ("Frontier Freight Lines", "Omaha", "NE", "68102", "US", "USD"),
    ("Gulf Coast Seafood Co.", "Houston", "TX", "77002", "US", "USD"),
    ("Highland Craft Brewing", "Burlington", "VT", "05401", "US", "USD"),
    ("Lone Star Medical Supply", "Austin", "TX", "78701", "US", "USD"),
    ("Maple Leaf Bakery", "Madison", "WI", "53703", "US", "USD"),
    ("Oakmont Financial Advisors", "Charlotte", "NC", "28202", "US", "USD"),
    ("Palmetto Pool & Spa", "Charleston", "SC", "29401", "US", "USD"),
    ("Quarry Stone Works", "Indianapolis", "IN", "46204", "US", "USD"),
    ("Sierra Vista Schools Foundation", "Reno", "NV", "89501", "US", "USD"),
    ("Sunrise Senior Living Partners", "Tampa", "FL", "33602", "US", "USD"),
    ("Three Rivers Printing", "Columbus", "OH", "43215", "US", "USD"),
    ("Union Square Optics", "San Francisco", "CA", "94108", "US", "USD"),
    ("Valley Forge Engineering", "Philadelphia", "PA", "19103", "US", "USD"),
    ("Westbrook Hardware", "Hartford", "CT", "06103", "US", "USD"),
    ("Yellowstone Outfitters", "Bozeman", "MT", "59715", "US", "USD"),
    ("Zenith Software Labs", "Raleigh", "NC", "27601", "US", "USD"),
    ("Brightwater Technik GmbH", "München", "BY", "80331", "DE", "EUR"),
    ("Lumière Design SARL", "Lyon", "ARA", "69002", "FR", "EUR"),
    ("Thornbury Supplies Ltd", "Bristol", "England", "BS1 4DJ", "GB", "GBP"),
]
VENDORS = [
    ("Pacific Components Inc.", "San Jose", "CA", "95113", "US", "USD"),
    ("Midwest Metals Corp.", "Cleveland", "OH", "44113", "US", "USD"),
    ("Atlas Packaging Co.", "Dallas", "TX", "75201", "US", "USD"),
    ("Great Lakes Plastics", "Detroit", "MI", "48226", "US", "USD"),
    ("Carolina Office Supply", "Greensboro", "NC", "27401", "US", "USD"),
]
COUNTRY_NAMES = {"US": "United States", "DE": "Germany", "FR": "France", "GB": "United Kingdom"}
FIRST_NAMES = ["James", "Maria", "Robert", "Linda", "Michael", "Patricia", "David", "Jennifer",
               "Carlos", "Aisha", "Wei", "Priya", "Thomas", "Sarah", "Daniel", "Emily", "Kevin",
               "Grace", "Luis", "Hannah"]  # fmt: skip
LAST_NAMES = ["Anderson", "Brooks", "Chen", "Delgado", "Evans", "Fischer", "Garcia", "Hughes",
              "Iverson", "Johnson", "Kowalski", "Lambert", "Moreno", "Nguyen", "O'Brien",
              "Patel", "Reyes", "Sullivan", "Turner", "Walsh"]  # fmt: skip
STREETS = ["Main Street", "Oak Avenue", "Commerce Drive", "Harbor Road", "Elm Street",
           "Industrial Parkway", "Market Street", "Riverside Drive", "Park Avenue"]  # fmt: skip


def tax_rate_id(key: str) -> str:
    return seed_id("tax_rate", key)


def ledger_account_id(nominal_code: int) -> str:
    return seed_id("ledger_account", nominal_code)


def bank_account_id(nominal_code: int) -> str:
    return seed_id("bank_account", nominal_code)


def reference_documents() -> dict[str, list[dict[str, Any]]]:
    """The read-only lists, as finished documents per collection."""
    created = {"created_at": timestamp(SEED_TIME), "updated_at": timestamp(SEED_TIME)}
    simple = {
        "currencies": [
            {**fixed_link("currencies", code, f"{name} ({code})"), "code": code, "symbol": symbol}
            for code, name, symbol in CURRENCIES
        ],
        "contact_types": [fixed_link("contact_types", i, name) for i, name in CONTACT_TYPES],
        "payment_methods": [fixed_link("payment_methods", i, name) for i, name in PAYMENT_METHODS],
    }
    exchange_rates = [
        {
            **fixed_link("exchange_rates", code, f"{code} {rate}"),
            "currency": fixed_link("currencies", code, code),
            "base_currency": fixed_link("currencies", BASE_CURRENCY, BASE_CURRENCY),
            "rate": str(rate),
            "inverse_rate": str((1 / rate).quantize(Decimal("0.000001"))),
            **created,
        }
        for code, rate in EXCHANGE_RATES.items()
    ]
    tax_rates = [
        {
            **fixed_link("tax_rates", tax_rate_id(key), name),
            "name": name,
            "agency": agency,
            "percentage": str(percentage),
            "is_visible": True,
            "is_combined_rate": False,
            **created,
        }
        for key, name, percentage, agency in TAX_RATES
    ]
    ledger_accounts = [
        {
            **fixed_link("ledger_accounts", ledger_account_id(code), f"{name} ({code})"),
            "name": name,
            "display_name": name,
            "nominal_code": code,
            "ledger_account_type": fixed_link("ledger_account_types", type_id, type_name),
            "included_in_chart": True,
            "tax_rate": None,
            **created,
        }
        for code, name, type_id, type_name in LEDGER_ACCOUNTS
    ]
    bank_accounts = [
        {
            **fixed_link("bank_accounts", bank_account_id(code), name),
            "ledger_account": fixed_link("ledger_accounts", ledger_account_id(code), name),
            "bank_account_type": fixed_link("bank_account_types", "CHECKING", "Checking"),
            "currency": fixed_link("currencies", currency, currency),
            "balance": "0.00",
            **created,
        }
        for code, name, currency in [
            (1000, "Business Checking", "USD"),
            (1010, "Euro Account", "EUR"),
        ]
    ]
    return {
        **simple,
        "exchange_rates": exchange_rates,
        "tax_rates": tax_rates,
        "ledger_accounts": ledger_accounts,
        "bank_accounts": bank_accounts,
    }


@dataclass
class SeedRecord:
    """A request body to post at reset, with the id and creation time it gets."""

    collection: str
    record_id: str
    created_at: datetime
    body: dict[str, Any]
    payments: list[tuple[date, Decimal, str]] = field(default_factory=list)


def unique_reference(name: str, taken: set[str]) -> str:
    """A Sage-style account reference like HARBOR001, not yet in `taken`."""
    letters = "".join(ch for ch in name.upper() if ch.isalpha())[:6]
    number = 1
    while f"{letters}{number:03d}" in taken:
        number += 1
    taken.add(f"{letters}{number:03d}")
    return f"{letters}{number:03d}"


def contact_seeds() -> list[SeedRecord]:
    rng = random.Random(50)
    taken: set[str] = set()
    seeds = []
    rows = [(row, "CUSTOMER") for row in CUSTOMERS] + [(row, "VENDOR") for row in VENDORS]
    for index, ((name, city, region, postal, country, currency), kind) in enumerate(rows):
        first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
        domain = "".join(ch for ch in name.lower() if ch.isalnum())[:18] + ".example"
        tax_key = TAX_RATE_BY_REGION.get(region, "no_tax") if country == "US" else "exempt"
        body = {
            "name": name,
            "contact_type_ids": [kind],
            "reference": unique_reference(name, taken),
            "currency_id": currency,
            "credit_limit": rng.choice([5000, 10000, 25000, 50000]),
            "credit_days": rng.choice([15, 30, 30, 45]),
            "default_sales_tax_rate_id": tax_rate_id(tax_key),
            "main_address": {
                "address_line_1": f"{rng.randint(10, 9800)} {rng.choice(STREETS)}",
                "city": city,
                "region": region,
                "postal_code": postal,
                "country_id": country,
            },
            "main_contact_person": {
                "name": f"{first} {last}",
                "email": f"{first.lower()}.{last.lower().replace(chr(39), '')}@{domain}",
                "telephone": f"+1 {rng.randint(201, 989)} 555 {rng.randint(100, 9999):04d}",
            },
        }
        if kind == "CUSTOMER":
            body["default_sales_ledger_account_id"] = ledger_account_id(4000)
        created = SEED_TIME + timedelta(days=index // 4, hours=index % 4)
        seeds.append(SeedRecord("contacts", seed_id("contact", name), created, body))
    return seeds


def product_seeds() -> list[SeedRecord]:
    return [
        SeedRecord(
            "products",
            seed_id("product", product.code),
            SEED_TIME + timedelta(minutes=index),
            {
                "item_code": product.code,
                "description": product.name,
                "sales_ledger_account_id": ledger_account_id(
                    SALES_LEDGER_BY_CATEGORY.get(product.category, 4000)
                ),
                "purchase_ledger_account_id": ledger_account_id(5000),
                "sales_prices": [{"price_name": "Selling Price", "price": str(product.price)}],
                "cost_price": str((product.price * Decimal("0.55")).quantize(Decimal("0.01"))),
            },
        )
        for index, product in enumerate(PRODUCTS)
    ]


def invoice_seeds(contacts: list[SeedRecord]) -> list[SeedRecord]:
    """26 invoices from August to mid-November 2026; older ones are mostly paid."""
    rng = random.Random(77)
    customers = [c for c in contacts if c.body["contact_type_ids"] == ["CUSTOMER"]]
    tax_percent = {tax_rate_id(key): pct for key, _, pct, _ in TAX_RATES}
    seeds = []
    for number in range(26):
        customer = customers[(number * 7) % len(customers)]
        if number in (5, 17):  # two foreign-currency invoices
            customer = next(c for c in customers if c.body["currency_id"] == "EUR")
        if number == 11:
            customer = next(c for c in customers if c.body["currency_id"] == "GBP")
        invoice_date = date(2026, 8, 3) + timedelta(days=number * 4)
        tax_id = customer.body["default_sales_tax_rate_id"]
        lines = []
        for product in rng.sample(PRODUCTS, rng.randint(1, 4)):
            quantity = Decimal(rng.randint(1, 12)) if product.category != "service" else 1
            rate = EXCHANGE_RATES.get(customer.body["currency_id"], Decimal(1))
            price = (product.price * rate).quantize(Decimal("0.01"))
            net = quantity * price
            lines.append(
                {
                    "description": product.name,
                    "product_id": seed_id("product", product.code),
                    "ledger_account_id": ledger_account_id(
                        SALES_LEDGER_BY_CATEGORY[product.category]
                    ),
                    "quantity": str(quantity),
                    "unit_price": str(price),
                    "tax_rate_id": tax_id,
                    "tax_amount": str((net * tax_percent[tax_id] / 100).quantize(Decimal("0.01"))),
                }
            )
        body = {
            "contact_id": customer.record_id,
            "date": invoice_date.isoformat(),
            "reference": f"PO-{rng.randint(10000, 99999)}",
            "invoice_lines": lines,
        }
        seed = SeedRecord(
            "sales_invoices",
            seed_id("sales_invoice", number),
            datetime.combine(invoice_date, datetime.min.time(), UTC) + timedelta(hours=10),
            body,
        )
        total = sum(Decimal(x["quantity"]) * Decimal(x["unit_price"]) for x in lines) + sum(
            Decimal(x["tax_amount"]) for x in lines
        )
        method = rng.choice([m for m, _ in PAYMENT_METHODS])
        if number < 12 and number % 4 != 3:  # paid in full
            seed.payments.append((invoice_date + timedelta(days=20), total, method))
        elif number < 18 and number % 3 == 0:  # part paid
            seed.payments.append(
                (invoice_date + timedelta(days=14), (total / 2).quantize(Decimal("0.01")), method)
            )
        seeds.append(seed)
    return seeds
