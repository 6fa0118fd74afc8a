"""The two roles a connector plays in a pair: the CRM and the ERP (shared/DESIGN.md §4).

Flows are written once against these roles, in canonical terms; what differs per system
(entity names, queries, note formats, which field holds the document number, how a customer
is searched) lives in the system's package, behind these methods. A capability a system
lacks is not written at all: the role's default raises `Unsupported`, and the connector
leaves the capability out of `capabilities`, so the flows that need it are not offered.

The roles themselves are `CrmRole` (connectors/crm_role.py) and `ErpRole`
(connectors/erp_role.py); here is what both share: topics, capabilities, feeds. Every
connector of a role passes the same contract tests (`tests/contract/`).
"""

import hashlib
from dataclasses import dataclass
from datetime import datetime
from typing import ClassVar

from connectors.base import Record
from connectors.errors import Unsupported

# Topics: what a change feed or a pushed event is about, whatever the system calls it.
DEAL_STAGE = "deal_stage"  # a deal moved to another stage
ACCOUNTS = "accounts"  # a CRM organization or account changed
CUSTOMERS = "customers"  # a Sage customer changed
ORDER_STATUS = "order_status"  # a Sage sales order changed
STOCK = "stock"  # a quantity on hand changed
PAYMENTS = "payments"  # a customer paid
PRICES = "prices"  # an item, or a price it sells at, changed
CONTACTS = "contacts"  # a person of a CRM organization, or of a Sage customer, changed

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
PURCHASE_ORDERS = "purchase_orders"  # buy a sales order's short lines from their vendor
ORDER_STATUS_WRITE = "order_status_write"  # hold, reopen or cancel a sales order
CUSTOMER_CONTACTS = "customer_contacts"  # read and write the people of a customer
ORDER_INVOICES = "order_invoices"  # invoice a sales order it took

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
    PURCHASE_ORDERS: "take purchase orders",
    ORDER_STATUS_WRITE: "change a sales order's status",
    CUSTOMER_CONTACTS: "read and write the contacts of a customer",
    ORDER_INVOICES: "invoice its sales orders",
}
TOPIC_WORDS = {
    DEAL_STAGE: "deal stage changes",
    ACCOUNTS: "account changes",
    CUSTOMERS: "customer changes",
    ORDER_STATUS: "sales order changes",
    STOCK: "stock changes",
    PAYMENTS: "payments",
    PRICES: "item and price changes",
    CONTACTS: "contact changes",
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
