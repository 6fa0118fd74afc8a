"""Order lines: "SKU x qty @ price" text (Streak's Products field) or structured lines
(Salesforce OpportunityLineItems), both made into canonical line dicts. A structured line's
other fields stay under `custom` (e.g. `custom.Product2.Family`) for the line's rules."""

from decimal import Decimal
from typing import Any

from clarity.formats import parse_product_line
from mappings.issues import TransformIssue
from mappings.limits import shorten
from mappings.transforms.base import Param, register
from mappings.transforms.numbers import to_decimal

HOW_TO_WRITE = (
    "Write one line per product as “SKU x quantity @ price”, e.g. WIDGET-100 x 5 @ 120.00"
)
BAD_LINES_SHOWN = 5
KEY = {"max_length": 200}


def format_line(sku: str, quantity: Decimal | int, unit_price: Decimal) -> str:
    """The text form Streak deals use; `parse_line` reads it back."""
    return f"{sku} x {quantity} @ {Decimal(unit_price):.2f}"


def parse_line(text: str) -> dict[str, Any] | None:
    parsed = parse_product_line(text)
    if parsed is None:
        return None
    sku, quantity, unit_price = parsed
    return {
        "sku": sku,
        "description": "",
        "quantity": quantity,
        "unit_price": unit_price,
        "amount": quantity * unit_price,
    }


def structured_line(item: dict[str, Any], keys: dict[str, str]) -> dict[str, Any]:
    quantity = item.get(keys["quantity"])
    unit_price = item.get(keys["unit_price"])
    amount = item.get(keys["amount"])
    line = {
        "sku": item.get(keys["sku"]),
        "description": item.get(keys["description"]) or "",
        "quantity": None if quantity is None else to_decimal(quantity),
        "unit_price": None if unit_price is None else to_decimal(unit_price),
        "amount": None if amount is None else to_decimal(amount),
    }
    if line["amount"] is None and None not in (line["quantity"], line["unit_price"]):
        line["amount"] = line["quantity"] * line["unit_price"]
    used = set(keys.values()) | {"attributes"}
    line["custom"] = {key: value for key, value in item.items() if key not in used}
    return line


@register(
    "parse_lines",
    "Parse order lines",
    "Turn “SKU x qty @ price” text lines, or a list of line records, into order lines.",
    Param("sku_key", "string", default="sku", help="Key of the SKU in structured lines.", **KEY),
    Param("quantity_key", "string", default="quantity", help="Key of the quantity.", **KEY),
    Param("price_key", "string", default="unit_price", help="Key of the unit price.", **KEY),
    Param(
        "description_key", "string", default="description", help="Key of the description.", **KEY
    ),
    Param("amount_key", "string", default="amount", help="Key of the line total.", **KEY),
)
def parse_lines(
    value: Any,
    sku_key: str = "sku",
    quantity_key: str = "quantity",
    price_key: str = "unit_price",
    description_key: str = "description",
    amount_key: str = "amount",
) -> Any:
    if value is None or value == "":
        return []
    if isinstance(value, dict) and isinstance(value.get("records"), list):
        value = value["records"]  # a Salesforce child relationship
    if isinstance(value, list):
        keys = {"sku": sku_key, "quantity": quantity_key, "unit_price": price_key,
                "description": description_key, "amount": amount_key}  # fmt: skip
        try:
            return [
                structured_line(item, keys) if isinstance(item, dict) else parse_line(str(item))
                for item in value
            ]
        except ValueError as exc:
            raise TransformIssue(f"A line has a bad number: {exc}.") from None
    lines, bad = [], []
    for number, text in enumerate(str(value).splitlines(), start=1):
        if not text.strip():
            continue
        line = parse_line(text)
        if line is None:
            bad.append(f"line {number} “{shorten(text.strip(), 40)}”")
        else:
            lines.append(line)
    if bad:
        more = len(bad) - BAD_LINES_SHOWN
        listed = ", ".join(bad[:BAD_LINES_SHOWN]) + (f" and {more} more" if more > 0 else "")
        raise TransformIssue(f"Could not read {listed}. {HOW_TO_WRITE}.")
    return lines
