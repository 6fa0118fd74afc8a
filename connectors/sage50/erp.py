"""Sage Accounting (Sage 50 cloud) in the ERP role: customers are contacts of type CUSTOMER,
deals become sales invoices (each line with a ledger account and the customer's tax rate,
the deal's currency with Sage's exchange rate), and customer receipts flow back.

Sage Accounting has no conditional create: an invoice is looked up by the deal's reference
before it is made, and the create carries an `idempotency_id`, so a retried create after a
lost reply returns the first invoice.
"""

import re
from datetime import date
from decimal import Decimal
from typing import Any

from connectors.base import Record, WebhookEvent, parse_moment
from connectors.erp_role import ErpRole
from connectors.errors import Ambiguous, NotFound
from connectors.records import (
    ContactRecord,
    CustomerMatch,
    DocumentLine,
    DocumentMade,
    DocumentSeen,
    ItemRef,
    OpenInvoice,
    PaymentRead,
)
from connectors.roles import (
    CONTACTS,
    CREDIT,
    CUSTOMER_CONTACTS,
    CUSTOMER_LIST,
    CUSTOMER_SYNC,
    CUSTOMERS,
    INVOICES,
    PAYMENTS,
    STOCK,
    Change,
    EntityNames,
    Feed,
)
from connectors.sage50 import contacts, kept
from connectors.sage50.stock import SageAccountingStock
from connectors.values import ADDRESS_PARTS, money

CUSTOMER_TYPE = "CUSTOMER"
VOID = "VOID"  # an invoice voided in Sage: no longer a document of the deal


def contact_body(field: str, value: Any) -> dict[str, Any]:
    """The contact fields (nested objects merge in Sage) that carry one common field."""
    if field == "billing_address":
        lines = [*str(value.get("street") or "").split("\n"), ""]
        return {
            "main_address": {
                "address_line_1": lines[0] or None,
                "address_line_2": ", ".join(line for line in lines[1:] if line) or None,
                "city": value.get("city") or None,
                "region": value.get("state") or None,
                "postal_code": value.get("zip") or None,
                "country_id": value.get("country") or None,
            }
        }
    if field in ("phone", "email"):
        return {"main_contact_person": {"telephone" if field == "phone" else "email": value}}
    if field == "terms":
        days = re.search(r"\d+", str(value or ""))
        return {"credit_days": int(days.group()) if days else 0}
    return {field: value if value not in (None, "") else None}


def described(contact: Record) -> str:
    """A contact as a person tells it from a namesake: name, place, email and balance."""
    address = contact.get("main_address") or {}
    email = (contact.get("main_contact_person") or {}).get("email") or contact.get("email")
    parts = [contact.get("name") or "", address.get("city") or "", email or "no email"]
    if contact.get("balance") is not None:
        parts.append(f"balance {money(contact['balance']):,.2f}")
    return " · ".join(part for part in parts if part)


def invoice_made(invoice: Record, existed: bool) -> DocumentMade:
    number = invoice.get("invoice_number") or invoice["id"]
    return DocumentMade(invoice["id"], number, existed, invoice.get("total_amount"))


class SageAccountingErp(SageAccountingStock, ErpRole):
    capabilities = frozenset({INVOICES, CUSTOMER_SYNC, CUSTOMER_LIST, CREDIT, CUSTOMER_CONTACTS})
    feeds = {
        CONTACTS: (contacts.FEED,),
        PAYMENTS: (Feed("contact_payments", "sage50.contact_payment", record="contact_payment"),),
        CUSTOMERS: (Feed("contacts", "sage50.contact", record="customer"),),
        STOCK: (Feed("stock_items", "sage50.stock_item", record="stock"),),
    }
    entity_names = {
        "Customer": EntityNames("contacts", "contacts"),
        "Invoice": EntityNames("sales_invoices", "sales_invoices"),
        "Payment": EntityNames("contact_payments", "contact_payments"),
        "InventoryLevel": EntityNames("stock_items", "stock_items"),
    }
    multi_currency = True  # an invoice in the deal's currency, with Sage's exchange rate
    creates_items = True
    ledger_table = "GL account → Sage ledger account"
    short_label = "S50"
    writable_fields = frozenset({"name", "phone", "email", "billing_address", "credit_limit",
                                 "terms"})  # fmt: skip

    def change_of(self, entity: str, record: Record) -> Change:
        return Change(record["id"], record["updated_at"], parse_moment(record["updated_at"]))

    # ------------------------------------------------------------ customers

    def customer_ref(self, record: Record) -> str:
        return record["id"]

    def bound_customer(self, ref: str, customer: dict[str, Any]) -> CustomerMatch:
        """Read for its default tax rate, and kept a few minutes (`kept`): a customer's deals
        follow each other, and its tax rate seldom changes."""
        contact = kept.kept(self.kept_scope(), "contact", ref)
        if contact is kept.MISSING:
            contact = self.get("contacts", ref)
        return self.match(contact, "bound before")

    def match(self, contact: Record, how: str) -> CustomerMatch:
        """The customer as the flow takes it; the contact kept for the deals that follow."""
        kept.keep(self.kept_scope(), "contact", contact["id"], contact)
        tax_rate = (contact.get("default_sales_tax_rate") or {}).get("id") or ""
        return CustomerMatch(contact["id"], contact.get("name") or "", how, tax_rate)

    def find_or_create_customer(
        self, values: Record, customer: dict[str, Any], idempotency_key: str
    ) -> CustomerMatch:
        """By email, then name, among contacts of type CUSTOMER; else a new contact."""
        found = self.find_customer(values, customer)
        if found is not None:
            return found
        return self.match(self.create("contacts", values, idempotency_key), "created")

    def find_customer(self, values: Record, customer: dict[str, Any]) -> CustomerMatch | None:
        searches = [
            ("email", {"email": customer.get("email")}),
            ("name", {"name": customer["name"]}),
        ]
        for how, criteria in searches:
            if not all(criteria.values()):
                continue
            found = [
                record
                for record in self.search("contacts", **criteria)
                if CUSTOMER_TYPE in {kind["id"] for kind in record.get("contact_types") or []}
            ]
            if len(found) > 1:
                candidates = {record["id"]: described(record) for record in found}
                listed = ", ".join(f"{r.get('name')} ({r['id']})" for r in found)
                raise Ambiguous(
                    f"Sage has {len(found)} customers with the {how} “{criteria[how]}”: "
                    f"{listed}. Choose the one this organization buys as on the run's page "
                    "(or merge them in Sage), then retry.",
                    candidates=candidates,
                    system="sage50",
                )
            if found:
                return self.match(found[0], f"found by {how}")
        return None

    def read_customer(self, ref: str) -> Record:
        return self.get("contacts", ref)

    def customer_title(self, record: Record, ref: str) -> str:
        return f"Sage Accounting contact {record.get('name') or ref}"

    def customer_values(self, record: Record) -> dict[str, Any]:
        """Phone and email are the main contact person's, the terms its credit days."""
        address = record.get("main_address") or {}
        person = record.get("main_contact_person") or {}
        lines = [address.get("address_line_1") or "", address.get("address_line_2") or ""]
        days = record.get("credit_days")
        street = "\n".join(line for line in lines if line)
        parts = [street, address.get("city"), address.get("region"), address.get("postal_code"),
                 (address.get("country") or {}).get("id")]  # fmt: skip
        return {
            "name": record.get("name"),
            "phone": person.get("telephone"),
            "email": person.get("email") or record.get("email"),
            "billing_address": dict(zip(ADDRESS_PARTS, parts, strict=True)),
            "credit_limit": record.get("credit_limit"),
            "terms": f"{days} days" if days not in (None, "") else None,
            "balance": record.get("balance"),
            "account_number": record.get("reference"),
        }

    def update_customer(self, ref: str, values: dict[str, Any], idempotency_key: str) -> str:
        body: dict[str, Any] = {}
        for field, value in values.items():
            for name, part in contact_body(field, value).items():
                body[name] = {**body.get(name, {}), **part} if isinstance(part, dict) else part
        return self.update("contacts", ref, body, idempotency_key)["updated_at"]

    def customers_to_load(self) -> list[Record]:
        contacts = self.search("contacts", contact_type_id=CUSTOMER_TYPE)
        return sorted(contacts, key=lambda contact: contact["id"])

    # ------------------------------------------------------------ invoices

    def find_invoice(self, customer_ref: str, reference: str) -> DocumentMade | None:
        found = self.search("sales_invoices", contact_id=customer_ref, reference=reference)
        return invoice_made(found[0], True) if found else None

    def get_invoice(self, invoice_id: str) -> DocumentMade:
        return invoice_made(self.get("sales_invoices", invoice_id), True)

    def create_invoice(
        self,
        values: Record,
        lines: list[dict[str, Any]],
        tax_rate: str,
        rate_to_base: Decimal | None,
        idempotency_key: str,
    ) -> DocumentMade:
        """Sage's exchange_rate is units of the invoice currency per base unit."""
        values = dict(values)
        if rate_to_base:
            values["exchange_rate"] = str((Decimal(1) / rate_to_base).quantize(Decimal("0.000001")))
        for line, source in zip(values["invoice_lines"], lines, strict=True):
            if tax_rate:
                line.setdefault("tax_rate_id", tax_rate)
            if source.get("ledger_account_id"):
                line["ledger_account_id"] = source["ledger_account_id"]
            if source.get("item_id"):
                line["product_id"] = source["item_id"]
        return invoice_made(self.create("sales_invoices", values, idempotency_key), False)

    def documents_since(self, since: date) -> list[DocumentSeen]:
        """Sales invoices dated on or after `since`, read page by page through the API
        (`from_date`), less voided ones; the deal ID is the `reference` the flow wrote."""
        return [
            DocumentSeen(
                kind="invoice",
                number=invoice.get("invoice_number") or invoice["id"],
                deal_reference=str(invoice.get("reference") or "").strip(),
                customer_ref=(invoice.get("contact") or {}).get("id") or "",
                total=money(invoice.get("total_amount")),
                currency=(invoice.get("currency") or {}).get("id") or "",
                made_on=date.fromisoformat(str(invoice["date"])[:10]),
                status=(invoice.get("status") or {}).get("displayed_as") or "",
                net_total=money(invoice["net_amount"]) if invoice.get("net_amount") else None,
            )
            for invoice in self.search("sales_invoices", from_date=since.isoformat())
            if (invoice.get("status") or {}).get("id") != VOID
        ]

    def document_lines(self, kind: str, number: str) -> list[DocumentLine]:
        """The invoice's invoice_lines, found by its invoice number; a line's product read
        once for its item code (lines without a product left out)."""
        if kind != "invoice":
            raise self.unsupported(f"read the lines of a {kind}")
        found = self.search("sales_invoices", invoice_number=number)
        if not found:
            raise NotFound(f"Sage Accounting has no sales invoice {number}.", system="sage50")
        codes: dict[str, str] = {}
        lines = []
        for line in found[0].get("invoice_lines") or []:
            product = (line.get("product") or {}).get("id")
            if not product:
                continue
            if product not in codes:
                codes[product] = self.get("products", product).get("item_code") or product
            lines.append(
                DocumentLine(
                    codes[product],
                    Decimal(str(line.get("quantity") or 0)),
                    Decimal(str(line.get("unit_price") or 0)),
                )
            )
        return lines

    def find_item(self, code: str) -> ItemRef | None:
        """A product by its item code (any case); invoice lines name it by id."""
        product = self.product(code)
        return ItemRef(product.get("item_code") or code, product["id"]) if product else None

    def product(self, code: str) -> Record | None:
        """The product with this item code, kept per connection a few minutes (`kept`);
        an unknown code is asked again every time."""
        scope = self.kept_scope()
        product = kept.kept(scope, "product", code.casefold())
        if product is kept.MISSING:
            found = self.search("products", item_code=code)
            product = found[0] if found else None
            if product:
                kept.keep(scope, "product", code.casefold(), product)
        return product

    def kept_scope(self) -> tuple[Any, ...]:
        """Whose products and ledger accounts are kept: a saved connection's."""
        connection = self.connection
        return (connection.pk, str(connection.created_at)) if connection.pk else ()

    def create_item(
        self, code: str, description: str, unit_price: Decimal, gl_account: str, key: str
    ) -> ItemRef:
        """A product: sales to the line's GL account (else the first sales ledger), costs to
        the first direct-expenses ledger, the deal's price as its selling price."""
        sales = (gl_account and self.ledger_account(gl_account)) or self.first_ledger("SALES")
        body = {
            "item_code": code,
            "description": description or code,
            "sales_ledger_account_id": sales,
            "purchase_ledger_account_id": self.first_ledger("DIRECT_EXPENSES"),
            "sales_prices": [{"price_name": "Selling Price", "price": str(unit_price)}],
        }
        product = self.create("products", body, key)
        return ItemRef(product.get("item_code") or code, product["id"])

    def first_ledger(self, kind: str) -> str:
        found = self.search("ledger_accounts", ledger_account_type_id=kind)
        return min(found, key=lambda ledger: str(ledger.get("nominal_code")))["id"] if found else ""

    def ledger_account(self, nominal_code: str) -> str:
        """Kept per connection a few minutes, found or not (`kept`)."""
        scope = self.kept_scope()
        ledger = kept.kept(scope, "ledger", nominal_code)
        if ledger is kept.MISSING:
            found = self.search("ledger_accounts", nominal_code=nominal_code)
            ledger = found[0]["id"] if len(found) == 1 else ""
            kept.keep(scope, "ledger", nominal_code, ledger)
        return ledger

    def product_ledger_account(self, sku: str) -> str:
        if not sku:
            return ""
        product = self.product(sku)
        return ((product.get("sales_ledger_account") or {}).get("id") or "") if product else ""

    # ------------------------------------------------------------ what flows back

    def read_payment(self, key: str) -> PaymentRead:
        record = self.get("contact_payments", key)
        invoices = [item["artefact"]["id"] for item in record.get("allocated_artefacts") or []]
        return PaymentRead(record, invoices)

    @classmethod
    def is_customer_payment(cls, event: WebhookEvent) -> bool:
        return (event.payload.get("transaction_type") or {}).get("id") == "CUSTOMER_RECEIPT"

    def open_invoice(self, invoice: str) -> OpenInvoice | None:
        """The sales invoice's outstanding_amount and due_date, by its id (what a receipt's
        allocations name); None for a voided or deleted one."""
        try:
            record = self.get("sales_invoices", invoice)
        except NotFound:
            return None
        if (record.get("status") or {}).get("id") == VOID:
            return None
        return OpenInvoice(
            number=record.get("invoice_number") or record["id"],
            due_date=date.fromisoformat(str(record["due_date"])[:10]),
            balance=money(record.get("outstanding_amount")),
            currency=(record.get("currency") or {}).get("id") or "",
            customer_name=record.get("contact_name") or "",
        )

    def credit(self, ref: str) -> dict[str, Any]:
        """The contact's credit_limit and balance, and its invoices with an amount outstanding."""
        contact = self.get("contacts", ref)
        unpaid = [
            invoice
            for invoice in self.search("sales_invoices", contact_id=ref)
            if money(invoice.get("outstanding_amount")) > 0
        ]
        amount = sum((money(invoice["outstanding_amount"]) for invoice in unpaid), Decimal(0))
        limit, balance = money(contact.get("credit_limit")), money(contact.get("balance"))
        return {
            "name": contact.get("name") or contact.get("displayed_as") or ref,
            "currency": (contact.get("currency") or {}).get("id", ""),
            "credit_limit": str(limit),
            "balance": str(balance),
            "available": str(limit - balance),
            "outstanding_invoices": {"count": len(unpaid), "amount": str(amount)},
        }

    # ------------------------------------------------------------ contacts (contacts.py)

    def customer_contacts(self, ref: str) -> list[ContactRecord]:
        return contacts.customer_contacts(self, ref)

    def contact_customer(self, key: str) -> str:
        return contacts.contact_customer(self, key)

    def write_customer_contact(
        self, ref: str, contact: ContactRecord, fields: list[str], key: str
    ) -> tuple[ContactRecord, str]:
        return contacts.write_customer_contact(self, ref, contact, fields, key)
