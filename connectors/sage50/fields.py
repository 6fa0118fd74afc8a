"""Fields of the Sage Accounting entities: the documented ones, and those read off a record.

The API has no describe endpoint, so `STATIC_FIELDS` lists what Sage's reference documents
for each entity (write names such as `contact_id`, required flags, the read-only totals);
`live_fields` turns the keys of a real record into fields so anything else shows up too.
Fields of list items are named `list[].field` (e.g. `invoice_lines[].quantity`), nested
objects `object.field` (e.g. `main_address.city`).
"""

import re
from typing import Any

from connectors.base import FieldInfo

DATETIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d")
DATE = re.compile(r"^\d{4}-\d\d-\d\d$")
LINK_KEYS = {"id", "displayed_as", "$path"}
DECIMAL_TEXT = re.compile(r"^-?\d+\.\d+$")  # Sage sends money and rates as decimal text


def label_for(name: str) -> str:
    words = re.sub(r"[\[\]._]+", " ", name).strip()
    return words[:1].upper() + words[1:]


def field(
    name: str, type_: str = "string", required: bool = False, choices: tuple[str, ...] = ()
) -> FieldInfo:
    return FieldInfo(name, label_for(name), type_, required=required, choices=choices)


def _common(*fields: FieldInfo) -> tuple[FieldInfo, ...]:
    return (
        field("id"),
        field("displayed_as"),
        *fields,
        field("created_at", "datetime"),
        field("updated_at", "datetime"),
    )


STATIC_FIELDS: dict[str, tuple[FieldInfo, ...]] = {
    "contacts": _common(
        field("name", required=True),
        field("contact_type_ids", "choice", True, ("CUSTOMER", "VENDOR")),
        field("reference"),
        field("tax_number"),
        field("notes"),
        field("currency_id", "reference"),
        field("credit_limit", "number"),
        field("credit_days", "integer"),
        field("default_sales_ledger_account_id", "reference"),
        field("default_sales_tax_rate_id", "reference"),
        *(
            field(f"main_address.{name}")
            for name in ("address_line_1", "address_line_2", "city", "region", "postal_code")
        ),
        field("main_address.country_id", "reference"),
        *(
            field(f"main_contact_person.{name}")
            for name in ("name", "email", "telephone", "mobile")
        ),
        field("balance", "number"),
    ),
    "products": _common(
        field("item_code"),
        field("description", required=True),
        field("sales_ledger_account_id", "reference", True),
        field("purchase_ledger_account_id", "reference", True),
        field("sales_prices[].price_name"),
        field("sales_prices[].price", "number"),
        field("cost_price", "number"),
        field("active", "boolean"),
        field("notes"),
    ),
    "stock_items": _common(
        field("item_code"),
        field("description"),
        field("quantity_in_stock", "number"),
        field("reorder_level", "number"),
        field("reorder_quantity", "number"),
        field("location"),
        field("barcode"),
        field("active", "boolean"),
    ),
    "contact_persons": _common(
        field("name", required=True),
        field("job_title"),
        field("telephone"),
        field("mobile"),
        field("email"),
        field("is_main_contact", "boolean"),
        field("address_id", "reference"),
        field("contact_person_types[].id"),
    ),
    "ledger_accounts": _common(
        field("nominal_code", "integer"),
        field("name"),
        field("display_name"),
        field("ledger_account_type", "reference"),
        field("tax_rate", "reference"),
        field("included_in_chart", "boolean"),
    ),
    "tax_rates": _common(
        field("name"),
        field("percentage", "number"),
        field("agency"),
        field("is_visible", "boolean"),
    ),
    "currencies": (field("id"), field("displayed_as")),
    "financial_settings": (
        field("base_currency", "reference"),
        field("multi_currency_enabled", "boolean"),
        field("use_live_exchange_rates", "boolean"),
        field("accounts_start_date", "date"),
        field("year_end_date", "date"),
    ),
    "sales_invoices": _common(
        field("contact_id", "reference", True),
        field("date", "date", True),
        field("due_date", "date"),
        field("reference"),
        field("currency_id", "reference"),
        field("exchange_rate", "number"),
        field("notes"),
        field("invoice_lines[].description", required=True),
        field("invoice_lines[].ledger_account_id", "reference", True),
        field("invoice_lines[].quantity", "number", True),
        field("invoice_lines[].unit_price", "number", True),
        field("invoice_lines[].product_id", "reference"),
        field("invoice_lines[].tax_rate_id", "reference"),
        field("invoice_lines[].tax_amount", "number"),  # required unless the rate is zero
        field("invoice_lines[].discount_amount", "number"),
        field("invoice_number"),
        field("status", "reference"),
        *(
            field(name, "number")
            for name in (
                "net_amount",
                "tax_amount",
                "total_amount",
                "total_paid",
                "outstanding_amount",
            )
        ),
    ),
    "contact_payments": _common(
        field(
            "transaction_type_id",
            "choice",
            True,
            ("CUSTOMER_RECEIPT", "CUSTOMER_REFUND", "VENDOR_PAYMENT", "VENDOR_REFUND"),
        ),
        field("contact_id", "reference", True),
        field("bank_account_id", "reference", True),
        field("payment_method_id", "reference"),
        field("date", "date", True),
        field("total_amount", "number", True),
        field("currency_id", "reference"),
        field("exchange_rate", "number"),
        field("reference"),
        field("allocated_artefacts[].artefact_id", "reference"),
        field("allocated_artefacts[].amount", "number"),
    ),
}


def type_of(value: Any) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, dict):
        return "reference"
    if isinstance(value, list):
        return "list"
    if isinstance(value, str):
        if DATETIME.match(value):
            return "datetime"
        if DATE.match(value):
            return "date"
        if DECIMAL_TEXT.match(value):
            return "number"
    return "string"


def is_link(value: Any) -> bool:
    """Sage's reference to another record: `{id, displayed_as, $path}` and nothing more."""
    return isinstance(value, dict) and "id" in value and set(value) <= LINK_KEYS


def live_fields(record: dict[str, Any], prefix: str = "") -> list[FieldInfo]:
    """Fields named by a record's keys: links as references, objects and the first item of
    lists flattened one level at a time; Sage's `$` keys left out."""
    fields: list[FieldInfo] = []
    for key, value in record.items():
        if key.startswith("$"):
            continue
        name = f"{prefix}{key}"
        if isinstance(value, dict) and not is_link(value):
            fields.extend(live_fields(value, f"{name}."))
        elif isinstance(value, list) and value and isinstance(value[0], dict):
            if is_link(value[0]):
                fields.append(field(name, "list"))
            else:
                fields.extend(live_fields(value[0], f"{name}[]."))
        else:
            fields.append(field(name, type_of(value)))
    return fields
