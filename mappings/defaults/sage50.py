"""Sage Accounting (Sage 50 cloud) defaults: canonical → contact and sales invoice; customer
receipts → canonical Payment; stock items → canonical InventoryLevel. Field names are the
API's write names (`contact_id`, `main_address.city`, `invoice_lines[].ledger_account_id`)."""

from mappings.defaults.base import (
    GL_TO_LEDGER,
    IN,
    OUT,
    TERMS_TO_DAYS,
    DefaultMapping,
    constant,
    rule,
)

CONTACT = (
    rule("name", "name", "trim", required=True),
    constant("contact_type_ids", ["CUSTOMER"]),
    rule("currency_id", "currency", "upper"),
    rule("credit_limit", "credit_limit", ("round", {"places": 2})),
    rule("credit_days", "terms", ("lookup", {"table": TERMS_TO_DAYS}), "integer"),
    rule("main_address.address_line_1", "billing_address.lines[0]", "trim"),
    rule("main_address.address_line_2", "billing_address.lines[1]", "trim"),
    rule("main_address.city", "billing_address.city", "trim"),
    rule("main_address.region", "billing_address.state", "trim"),
    rule("main_address.postal_code", "billing_address.zip", "trim"),
    rule("main_address.country_id", "billing_address.country", "upper"),
    rule("main_contact_person.name", "contacts[0].name", ("default_when_empty", {"field": "name"})),
    rule("main_contact_person.email", "email",
         ("default_when_empty", {"field": "contacts[0].email"})),
    rule("main_contact_person.telephone", "phone"),
)  # fmt: skip

SALES_INVOICE = (
    rule("contact_id", "customer_ref", required=True),
    rule("date", "invoice_date", "date"),
    rule("due_date", "due_date", "date"),
    rule("reference", "po_number", ("default_when_empty", {"field": "crm_deal_id"})),
    rule("currency_id", "currency", "upper"),
    rule("notes", "notes", "trim"),
    rule("invoice_lines", "lines", required=True, rules=[
        rule("description", "description", ("default_when_empty", {"field": "sku"})),
        rule("ledger_account_id", "gl_account", ("lookup", {"table": GL_TO_LEDGER})),
        rule("quantity", "quantity", "number"),
        rule("unit_price", "unit_price", ("round", {"places": 2})),
    ]),
)  # fmt: skip

CUSTOMER_RECEIPT = (
    rule("amount", "total_amount", ("round", {"places": 2})),
    rule("payment_date", "date", "date"),
    rule("currency", "currency.id"),
    rule("reference", "reference"),
    rule("customer_ref", "contact.id"),
    rule("invoice_number", "allocated_artefacts[0].artefact.displayed_as"),
    rule("method", "payment_method.displayed_as"),
)

STOCK = (
    rule("sku", "item_code", "trim"),
    rule("on_hand", "quantity_in_stock", "number"),
)


def sage50_mappings() -> list[DefaultMapping]:
    return [
        DefaultMapping("Customer → Sage contact", OUT, "sage50", "Customer", "contacts",
                       CONTACT),
        DefaultMapping("Invoice → Sage sales invoice", OUT, "sage50", "Invoice",
                       "sales_invoices", SALES_INVOICE),
        DefaultMapping("Sage customer receipt → payment", IN, "sage50", "contact_payments",
                       "Payment", CUSTOMER_RECEIPT),
        DefaultMapping("Sage Accounting stock → inventory level", IN, "sage50", "stock_items",
                       "InventoryLevel", STOCK),
    ]  # fmt: skip
