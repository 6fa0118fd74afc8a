"""The two roles a connector plays in a pair: the CRM and the ERP (shared/DESIGN.md §4).

Flows are written once against these roles, in canonical terms; what differs per system
(entity names, queries, note formats, which field holds the document number, how a customer
is searched) lives in the system's package, behind these methods. A capability a system
lacks is not written at all: the role's default raises `Unsupported`, and the connector
leaves the capability out of `capabilities`, so the flows that need it are not offered.

Every connector of a role passes the same contract tests (`tests/contract/`).
"""

import hashlib
import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any, ClassVar

from connectors.base import Record, WebhookEvent
from connectors.errors import Unsupported
from connectors.records import (
    AccountWrite,
    CustomerMatch,
    DealRead,
    DocumentLine,
    DocumentMade,
    DocumentSeen,
    ItemRef,
    LoadResult,
    OpenInvoice,
    OrderRead,
    PaymentRead,
    StageHint,
    StockRead,
    Stream,
    StreamBatch,
)

# Topics: what a change feed or a pushed event is about, whatever the system calls it.
DEAL_STAGE = "deal_stage"  # a deal moved to another stage
ACCOUNTS = "accounts"  # a CRM organization or account changed
CUSTOMERS = "customers"  # a Sage customer changed
ORDER_STATUS = "order_status"  # a Sage sales order changed
STOCK = "stock"  # a quantity on hand changed
PAYMENTS = "payments"  # a customer paid
PRICES = "prices"  # an item, or a price it sells at, changed

# Capabilities a flow may need (`Flow.needs`); each connector lists those it has.
WON_DEALS = "won_deals"  # read a won deal, write its order number back, add notes
INVOICE_FIELD = "invoice_field"  # a deal field holds the Sage invoice number
ACCOUNT_SYNC = "account_sync"  # read and write an organization's or account's values
ACCOUNT_LOAD = "account_load"  # create organizations or accounts in bulk (initial load)
ITEM_RECORDS = "item_records"  # the CRM keeps product records (stock, initial load)
SALES_ORDERS = "sales_orders"
INVOICES = "invoices"
CUSTOMER_SYNC = "customer_sync"  # read, write and poll customers
CUSTOMER_LIST = "customer_list"  # list every customer (initial load)
ITEM_LIST = "item_list"
CREDIT = "credit"

# What a system lacking a capability cannot do, and what a missing feed is about, in words
# for the pages that say why a flow is not offered.
CAPABILITY_WORDS = {
    WON_DEALS: "read won deals and write their Sage number back",
    INVOICE_FIELD: "keep the Sage invoice number on a deal",
    ACCOUNT_SYNC: "read and write organizations or accounts",
    ACCOUNT_LOAD: "load organizations or accounts in bulk",
    ITEM_RECORDS: "keep product records",
    SALES_ORDERS: "take sales orders",
    INVOICES: "take sales invoices",
    CUSTOMER_SYNC: "read and write customers",
    CUSTOMER_LIST: "list its customers",
    ITEM_LIST: "list its items",
    CREDIT: "tell a customer's credit",
}
TOPIC_WORDS = {
    DEAL_STAGE: "deal stage changes",
    ACCOUNTS: "account changes",
    CUSTOMERS: "customer changes",
    ORDER_STATUS: "sales order changes",
    STOCK: "stock changes",
    PAYMENTS: "payments",
    PRICES: "item and price changes",
}


@dataclass(frozen=True)
class Feed:
    """One change feed a polling flow reads for a topic: an entity of the connector, and
    the event kind its changes are stored under."""

    entity: str
    kind: str
    record: str = ""  # entity key prefix; feeds about one record (open/history) share it
    bare_key: bool = False  # no prefix: the key as the system's webhooks name the record
    # Found by comparing snapshots (a system without change times): its first read announces
    # every record, so a poll starting out keeps that read as its snapshot and runs nothing.
    snapshot: bool = False


@dataclass(frozen=True)
class Change:
    """One record of a change feed: its key, its change stamp as the system writes it, and
    the same stamp as an aware time for the cursor."""

    key: str
    stamp: str
    moment: datetime


@dataclass(frozen=True)
class EntityNames:
    """A canonical entity as one system names it: in the pair's mappings (Sage 100 names
    tables there), and to the connector (schema, reads, writes), with its lines if any."""

    mapping: str
    entity: str
    lines: str = ""  # the connector entity of its lines
    lines_field: str = ""  # where the mapping puts the lines


def task_mark(idempotency_key: str) -> str:
    """The mark a follow-up task carries in its text so a retry or a second poll finds it
    (`CrmRole.add_task`): short, and the same for the same key on every try."""
    return f"[Clarity ref {hashlib.sha256(idempotency_key.encode()).hexdigest()[:10]}]"


class Role:
    """What both roles share: which capabilities the system has and the feeds it offers."""

    label: ClassVar[str] = ""
    capabilities: ClassVar[frozenset[str]] = frozenset()
    feeds: ClassVar[dict[str, tuple[Feed, ...]]] = {}  # topic → feeds
    event_kinds: ClassVar[dict[str, str]] = {}  # pushed event kind → topic

    def unsupported(self, what: str) -> Unsupported:
        return Unsupported(f"{self.label} cannot {what}.", system=getattr(self, "system", ""))

    def change_of(self, entity: str, record: Record) -> Change:
        """The record's key and change stamp, as a change feed of `entity` reads them."""
        raise self.unsupported(f"read changes of {entity}")


class CrmRole(Role):
    """A CRM: deals with their account, contact and lines; notes; accounts; feeds."""

    won_stage: ClassVar[str] = ""  # the stage a deal is won in, unless the flow says
    deal_entity: ClassVar[str] = ""  # the deal's entity in the pair's mappings
    account_entity: ClassVar[str] = ""
    note_entity: ClassVar[str] = ""  # a mapping target that words notes ("" for none)
    item_entity: ClassVar[str] = ""  # product records, "" when the CRM keeps none
    document_fields: ClassVar[dict[str, str]] = {}  # Sage document kind → deal field
    # Customer sync: the account fields Sage-owned values go to unless the option
    # `crm_fields` names others; empty when the CRM keeps them its own way.
    account_fields: ClassVar[dict[str, str]] = {}
    # Records a bulk load (the initial load) hands over per call: 1 where each is its own
    # request anyway, so that the load's progress moves record by record.
    load_batch: ClassVar[int] = 1

    @classmethod
    def stage_hint(cls, event: WebhookEvent) -> StageHint | None:
        """What the event says of its deal's stage; None when it is not about one. A class
        method: the webhook intake asks it without building a connector."""
        return None

    @classmethod
    def account_version(cls, event: WebhookEvent, crm_owned: list[str]) -> str:
        """The delivered account's version, compared with the one our last write left:
        equal, the event is our own write coming back."""
        return ""

    def read_deal(self, key: str, trigger_stage: str, fields: Iterable[str] = ()) -> DealRead:
        """The deal now, with its account, first contact and lines, and every field the
        mappings read (`fields`: source paths); `won` when it is in `trigger_stage`."""
        raise self.unsupported("read deals")

    def deal_stages(self) -> list[str]:
        """The names of the stages a deal can be in, in the CRM's order, for the pickers of
        the flows' settings (trigger stage, stages an order status moves a deal to)."""
        raise self.unsupported("list deal stages")

    def describe_source(self, path: str) -> str:
        """A mapping source path in words a CRM user recognises ("the box field …")."""
        return path

    def write_deal(
        self, key: str, values: dict[str, Any], idempotency_key: str, stage: str = ""
    ) -> None:
        """Set deal fields (by the CRM's field names) and, when given, the stage."""
        raise self.unsupported("write to deals")

    def add_note(
        self, key: str, message: str, idempotency_key: str, posted_before: bool = True
    ) -> None:
        """Add a note a person reads to the deal, once: a note it has already is not added
        again. `posted_before=False`: no earlier try can have added it, skip the check."""
        raise self.unsupported("add notes to deals")

    def add_task(
        self, deal_key: str, subject: str, body: str, due: date, idempotency_key: str
    ) -> str:
        """A follow-up task on the deal for its owner (else the connection's default), due
        on `due`; its key. Once per `idempotency_key`: the key is marked in the task's
        text, and a deal that has a task with the mark already gets no second one."""
        raise self.unsupported("add tasks to deals")

    def find_deal(self, reference: str) -> str:
        """The key of the deal whose ID is `reference` (as the won-deal flows wrote it on
        the Sage document), or ""."""
        raise self.unsupported("find deals")

    def deal_version(self, key: str) -> str:
        """The deal's change stamp now, kept so a poller drops our own write."""
        return ""

    # ---- push streams (run_subscribers)

    def streams(self) -> list[Stream]:
        """The push streams this connection is set up for; none by default."""
        return []

    def subscribe(
        self, topic: str, position: str, stopping: threading.Event
    ) -> Iterator[StreamBatch]:
        """The stream's batches after `position` ("" for the newest), until `stopping` is
        set (returning within a second or so). Reconnects on its own after transient
        failures; raises StreamPositionLost when the position is refused, AuthError when
        the credentials are."""
        raise self.unsupported("push changes")

    # ---- accounts (customer sync, initial load)

    def read_account(self, key: str) -> Record:
        raise self.unsupported("read accounts")

    def account_title(self, record: Record) -> str:
        """The account as a run's summary names it ("Account Acme")."""
        return f"{self.account_entity} {record.get('name') or record.get('Name') or ''}"

    def lacking(self, fields: list[str]) -> str:
        """Says which fields an account of this CRM cannot hold."""
        return f"the {self.label} {self.account_entity} has no {', '.join(fields)}"

    def account_values(self, record: Record, options: dict[str, Any]) -> dict[str, Any]:
        """The account's values in customer sync's common fields (name, phone, email,
        billing_address, credit_limit, terms, balance), those it has."""
        raise self.unsupported("read account values")

    def account_version_before(self, record: Record, crm_owned: list[str]) -> str:
        """A version to record before writing to the account ("" when the write's own
        stamp, read after it, serves)."""
        return ""

    def write_account(
        self,
        record: Record,
        values: dict[str, Any],
        erp_label: str,
        options: dict[str, Any],
        idempotency_key: str,
    ) -> AccountWrite:
        """Write Sage's values (common fields that differ) to the account."""
        raise self.unsupported("write accounts")

    def load_accounts(
        self, customers: list[dict[str, Any]], erp_label: str, idempotency_key: str
    ) -> list[LoadResult]:
        """Create (or find) one account per customer (common fields plus `ref`, `number`
        and `source_id`), in order, safe to repeat."""
        raise self.unsupported("load accounts")

    def load_items(self, items: list[dict[str, Any]]) -> list[str]:
        """Create the product records the CRM lacks (`sku`, `name`); the refusals."""
        raise self.unsupported("keep product records")

    # ---- stock

    def update_item_stock(self, values: dict[str, Any], idempotency_key: str) -> list[str]:
        """Write a product's mapped stock fields to the CRM's products; the ids changed."""
        raise self.unsupported("keep product records")

    def warn_short_deals(
        self, sku: str, on_hand: Decimal, closed_stages: set[str], erp_label: str
    ) -> list[str]:
        """Tell each open deal that asks for more of `sku` than is on hand; their keys."""
        raise self.unsupported("warn deals of short stock")


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

    def warehouses(self) -> dict[str, str]:
        """The warehouses stock is kept in, code → name, for the stock flow's settings;
        none for an ERP that keeps no warehouses."""
        return {}

    def credit(self, ref: str) -> dict[str, Any]:
        """Credit limit, balance, what is still open and what is left, as text amounts."""
        raise self.unsupported("tell credit")
