"""The product catalogue every sandbox shares, so CRM deals and Sage items agree on codes.

`PRODUCTS` (94 codes) is known to the CRMs and to both Sage systems. Sage 100 also holds
`SAGE100_ONLY_PRODUCTS` (parts no CRM sells). `CODES_UNKNOWN_TO_SAGE` are codes a few CRM
deals use on purpose, to demonstrate the "unknown item" error path; `SAGE100_INACTIVE_CODES`
are known to Sage 100 but inactive there (another error path).
"""

import random
from dataclasses import dataclass
from decimal import Decimal


@dataclass(frozen=True)
class Product:
    code: str
    name: str
    price: Decimal  # USD, list price
    category: str  # widget, gadget, service, kit, part


WIDGET_KINDS = ["Bracket", "Hinge", "Flange", "Coupler", "Mount", "Clamp", "Spacer", "Bushing"]
WIDGET_FINISHES = ["Steel", "Aluminium", "Brass", "Stainless", "Zinc-Plated", "Nylon"]
GADGET_KINDS = [
    "Sensor", "Controller", "Timer", "Relay", "Meter", "Thermostat", "Gateway", "Display",
]  # fmt: skip
GADGET_SERIES = ["Pro", "Lite", "Max", "Mini", "Plus", "XL"]
KIT_KINDS = [
    "Starter Kit", "Install Kit", "Repair Kit", "Upgrade Kit", "Maintenance Kit", "Mounting Kit",
]  # fmt: skip
KIT_SIZES = ["Small", "Medium", "Large", "Contractor"]
PART_NAMES = [
    "Replacement Gasket", "O-Ring Set", "Drive Belt", "Fuse 10A", "Power Cord 2m",
    "Circuit Board Rev C", "Bearing 608ZZ", "Hex Bolt Pack", "Cable Gland M20", "Filter Cartridge",
    "Battery Pack 12V", "Fan Assembly", "Control Knob", "Rubber Foot Set", "Display Bezel",
]  # fmt: skip


def _price(rng: random.Random, low: int, high: int) -> Decimal:
    """A list price like 42.50 or 199.99: whole dollars plus a shop-style cents ending."""
    return Decimal(rng.randint(low, high)) + Decimal(rng.choice(["0.00", "0.50", "0.95", "0.99"]))


def _build_products() -> list[Product]:
    rng = random.Random(100)
    products = [
        Product(
            f"WIDGET-{number}",
            f"{rng.choice(WIDGET_FINISHES)} {rng.choice(WIDGET_KINDS)} {number}",
            _price(rng, 5, 90),
            "widget",
        )
        for number in range(100, 141)
    ]
    products += [
        Product(
            f"GADGET-{number}",
            f"{rng.choice(GADGET_KINDS)} {rng.choice(GADGET_SERIES)} {number}",
            _price(rng, 60, 900),
            "gadget",
        )
        for number in range(200, 230)
    ]
    products += [
        Product("SERV-HOUR", "Service Hour", Decimal("125.00"), "service"),
        Product("SERV-INSTALL", "On-site Installation", Decimal("450.00"), "service"),
        Product("SERV-SUPPORT", "Annual Support Plan", Decimal("1200.00"), "service"),
    ]
    products += [
        Product(
            f"KIT-{number}",
            f"{rng.choice(KIT_KINDS)} {rng.choice(KIT_SIZES)} {number}",
            _price(rng, 150, 2400),
            "kit",
        )
        for number in range(300, 320)
    ]
    return products


PRODUCTS: list[Product] = _build_products()

SAGE100_ONLY_PRODUCTS: list[Product] = [
    Product(f"PART-{900 + index}", name, _price(random.Random(900 + index), 5, 60), "part")
    for index, name in enumerate(PART_NAMES)
]

# Items Sage 100 holds but has marked inactive: an order with them is refused.
SAGE100_INACTIVE_CODES: tuple[str, ...] = ("WIDGET-140", "GADGET-229", "PART-914")

CODES_UNKNOWN_TO_SAGE: tuple[str, ...] = ("WIDGET-999", "GADGET-998")

PRODUCTS_BY_CODE: dict[str, Product] = {p.code: p for p in PRODUCTS + SAGE100_ONLY_PRODUCTS}
