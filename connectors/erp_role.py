"""The ERP role (connectors/roles.py has what both roles share): customers, sales orders and
invoices, items, purchasing, and what flows back (order status, payments, stock, credit)."""

from datetime import date
from decimal import Decimal
from typing import Any, ClassVar

from connectors.base import Record, WebhookEvent
from connectors.records import (
    ContactRecord,
    CustomerMatch,
    DocumentLine,
    DocumentMade,
    DocumentSeen,
    ItemRef,
    OpenInvoice,
    OrderRead,
    PaymentRead,
    Person,
    Shortfall,
    StockRead,
)
from connectors.roles import (
    EntityNames,
    Role,
)


class ErpRole(Role):
    """An ERP: customers, sales orders or invoices, items, and the feeds back."""

    entity_names: ClassVar[dict[str, EntityNames]] = {}  # canonical entity → names
    multi_currency: ClassVar[bool] = False  # documents in any currency (else in the base)
    creates_items: ClassVar[bool] = False  # the `create` unknown-item policy works
    item_table: ClassVar[str] = ""  # the lookup table of CRM product codes → its items
    ledger_table: ClassVar[str] = ""  # the lookup table of GL account codes → its ledgers
    short_label: ClassVar[str] = ""  # prefixes external ids ("S100-00-ACME")

    def names(self, canonical: str) -> EntityNames:
        try:
            return self.entity_names[canonical]
        except KeyError:
            raise self.unsupported(f"keep {canonical} records") from None

    # ---- customers

    def customer_ref(self, record: Record) -> str:
        """The key a binding keeps for the customer record."""
        raise self.unsupported("keep customers")

    def bound_customer(self, ref: str, customer: dict[str, Any]) -> CustomerMatch:
        """The customer bound to the deal's organization before (read only if needed)."""
        raise self.unsupported("keep customers")

    def find_or_create_customer(
        self, values: Record, customer: dict[str, Any], idempotency_key: str
    ) -> CustomerMatch:
        """The customer Sage has for `values` (mapped) or `customer` (canonical), by
        external reference, email, then name; else one created now."""
        raise self.unsupported("create customers")

    def find_customer(self, values: Record, customer: dict[str, Any]) -> CustomerMatch | None:
        """The customer `find_or_create_customer` would take, read only (None: it would make
        one); Ambiguous when several match. A dry-run's answer to "which customer?"."""
        raise self.unsupported("search customers")

    def read_customer(self, ref: str) -> Record:
        raise self.unsupported("read customers")

    def customer_title(self, record: Record, ref: str) -> str:
        """The customer as a run's summary names it ("Sage 100 customer 01-ACME")."""
        return f"{self.label} customer {ref}"

    def customer_values(self, record: Record) -> dict[str, Any]:
        """The customer's values in customer sync's common fields."""
        raise self.unsupported("read customer values")

    writable_fields: ClassVar[frozenset[str]] = frozenset()

    def update_customer(self, ref: str, values: dict[str, Any], idempotency_key: str) -> str:
        """Write common fields to the customer; the change stamp the write left."""
        raise self.unsupported("update customers")

    def customers_to_load(self) -> list[Record]:
        """Every customer for an initial load, in a stable order, less those already
        bound to a CRM record in Sage itself."""
        raise self.unsupported("list customers")

    def items_to_load(self) -> list[dict[str, Any]]:
        """Every item as `sku` and `name`."""
        raise self.unsupported("list items")

    # ---- documents

    def find_item(self, code: str) -> ItemRef | None:
        """The item with this code, or None when Sage has none (asked live)."""
        raise self.unsupported("look items up")

    def create_item(
        self, code: str, description: str, unit_price: Decimal, gl_account: str, key: str
    ) -> ItemRef:
        """Make the item a deal sells (the `create` unknown-item policy); its sales ledger
        from the line's GL account code where Sage has it. Safe to repeat with `key`."""
        raise self.unsupported("create items")

    def create_sales_order(
        self, values: Record, deal_reference: str, idempotency_key: str
    ) -> DocumentMade:
        """Create the order, or return the one Sage has for the deal already."""
        raise self.unsupported("create sales orders")

    def documents_since(self, since: date) -> list[DocumentSeen]:
        """Every sales order or invoice Sage dates on or after `since`, each once, with the
        deal reference read where the create wrote it (the exactly-once report)."""
        raise self.unsupported("list its documents")

    def order_seen(self, number: str) -> DocumentSeen:
        """One sales order as `documents_since` lists it (customer, total, date), open or
        closed: what a deal made from it shows."""
        raise self.unsupported("read a sales order's total")

    def document_lines(self, kind: str, number: str) -> list[DocumentLine]:
        """The item lines of a document `documents_since` listed (`kind` and `number` as it
        gave them), comment lines left out: what reconciliation compares with the deal's."""
        raise self.unsupported("read document lines")

    def find_invoice(self, customer_ref: str, reference: str) -> DocumentMade | None:
        raise self.unsupported("find invoices")

    def get_invoice(self, invoice_id: str) -> DocumentMade:
        raise self.unsupported("read invoices")

    def create_invoice(
        self,
        values: Record,
        lines: list[dict[str, Any]],
        tax_rate: str,
        rate_to_base: Decimal | None,
        idempotency_key: str,
    ) -> DocumentMade:
        """Create the invoice: `lines` are the canonical lines (with their item and ledger),
        `rate_to_base` base units per unit of its currency (None: base currency)."""
        raise self.unsupported("create invoices")

    def invoice_order(self, number: str, idempotency_key: str) -> DocumentMade:
        """Invoice the sales order `number` (its customer, deal and lines); the invoice
        already made from it is returned instead (`existed`)."""
        raise self.unsupported("invoice sales orders")

    def ledger_account(self, nominal_code: str) -> str:
        """The ledger account with this nominal code, when exactly one has it."""
        raise self.unsupported("look ledger accounts up")

    def product_ledger_account(self, sku: str) -> str:
        """The sales ledger account of the product, or ""."""
        raise self.unsupported("look ledger accounts up")

    # ---- what flows back

    @classmethod
    def order_deal_reference(cls, event: WebhookEvent) -> str:
        """The deal ID a polled order change carries, "" when none."""
        return ""

    def read_order(self, number: str) -> OrderRead:
        raise self.unsupported("read sales orders")

    def invoice_of_order(self, number: str) -> str:
        """The number of the invoice that completed the order, or ""."""
        raise self.unsupported("read invoices")

    def order_of_invoice(self, invoice_number: str) -> str:
        """The number of the sales order an invoice invoiced, or "" (none, or the ERP
        invoices without orders)."""
        return ""

    def read_payment(self, key: str) -> PaymentRead:
        raise self.unsupported("read payments")

    @classmethod
    def is_customer_payment(cls, event: WebhookEvent) -> bool:
        """Whether a polled payment is a customer's (not a supplier's)."""
        return True

    def open_invoice(self, invoice: str) -> OpenInvoice | None:
        """The invoice a payment names (as `PaymentRead.invoices` does) with its open
        balance and due date now; None when Sage keeps no open item for it."""
        raise self.unsupported("tell an invoice's open balance")

    def read_stock(self, key: str) -> StockRead:
        raise self.unsupported("read stock")

    def item_stock(self, sku: str) -> StockRead:
        """The item's stock by its code (the stock summary's other items), where `read_stock`
        takes another key than the code."""
        return self.read_stock(sku)

    def warehouses(self) -> dict[str, str]:
        """The warehouses stock is kept in, code → name, for the stock flow's settings;
        none for an ERP that keeps no warehouses."""
        return {}

    # ---- contacts (contact sync)

    def customer_contacts(self, ref: str) -> list[ContactRecord]:
        """The people Sage keeps for the customer."""
        raise self.unsupported("read customer contacts")

    def contact_customer(self, key: str) -> str:
        """The ref of the customer a contact key belongs to."""
        raise self.unsupported("read customer contacts")

    def write_customer_contact(
        self, ref: str, contact: ContactRecord, fields: list[str], key: str
    ) -> tuple[ContactRecord, str]:
        """Create the customer's contact (no `contact.key`) or set its `fields`, safe to
        repeat with `key`; the contact as written and the change stamp it left."""
        raise self.unsupported("write customer contacts")

    # ---- purchasing and order status

    def shortfalls(self, order_number: str) -> list[Shortfall]:
        """The order's items asking for more than their warehouse has available besides
        the other open orders, each with its primary vendor."""
        raise self.unsupported("tell what an order is short of")

    def create_purchase_order(
        self, vendor: str, lines: list[Shortfall], order_number: str, idempotency_key: str
    ) -> DocumentMade:
        """A purchase order to `vendor` for each line's shortfall, naming the sales order;
        the one made for this order and vendor before is returned instead (`existed`)."""
        raise self.unsupported("create purchase orders")

    def set_order_status(self, number: str, status: str, idempotency_key: str) -> None:
        """Put the open sales order in `status`, in the words of the order status mapping:
        "open", "on_hold", or "deleted" (cancelled the way the ERP cancels an order)."""
        raise self.unsupported("change a sales order's status")

    def salespeople(self) -> list[Person]:
        """The salespeople an order can name, keyed as the order mapping writes them."""
        raise self.unsupported("list its salespeople")

    def credit(self, ref: str) -> dict[str, Any]:
        """Credit limit, balance, what is still open and what is left, as text amounts."""
        raise self.unsupported("tell credit")
