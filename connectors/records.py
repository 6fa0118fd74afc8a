"""The canonical records the CRM and ERP roles read and write (connectors/roles.py): a deal
read, a customer matched, a document made or seen, an order, a payment, an open invoice,
stock, a stream's batch. Plain frozen data, the same for every system."""

import hashlib
import json
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import NamedTuple

from connectors.base import Record, WebhookEvent


@dataclass(frozen=True)
class StageHint:
    """What a pushed or polled event says of a deal's stage, before the deal is re-read."""

    stage: str  # the stage as the event names it: its key (`by_key`) or its name
    by_key: bool = False
    scope: str = ""  # where stage keys are unique (a Streak pipeline); "" for names
    echo_prone: bool = False  # a polled change, which our own write-back also makes


@dataclass(frozen=True)
class DealRead:
    """A deal as the CRM has it now, with its account, contact and lines beside it in the
    shape the pair's mappings read."""

    record: Record
    stage: str  # the stage's name
    won: bool  # in the trigger stage
    trigger_key: str = ""  # the trigger stage's key where the deal lives ("": by name)
    scope: str = ""


@dataclass(frozen=True)
class CustomerMatch:
    """The Sage customer a deal's organization is booked to, and how it was found."""

    ref: str  # the key the binding keeps
    name: str
    how: str  # "bound before", "found by email", "created", …
    tax_rate: str = ""  # the customer's default sales tax rate, where Sage keeps one


@dataclass(frozen=True)
class ItemRef:
    """An item as the ERP knows it: its code (as Sage spells it) and its record id, where
    the ERP's documents name items by id (Sage Accounting products)."""

    code: str
    id: str


@dataclass(frozen=True)
class DocumentMade:
    """A sales order or invoice in Sage: made now, or (`existed`) made by an earlier try."""

    id: str
    number: str
    existed: bool = False
    total: str | None = None


@dataclass(frozen=True)
class DocumentSeen:
    """A sales order or invoice as Sage lists it, with the deal ID it carries: what the
    exactly-once report counts per deal, read from Sage rather than from our own runs."""

    kind: str  # "sales_order" | "invoice"
    number: str
    deal_reference: str  # the CRM deal ID the won-deal flows wrote on it ("" for none)
    customer_ref: str
    total: Decimal
    currency: str  # "" where the company keeps one currency
    made_on: date
    status: str
    # Before tax (lines, freight, less discount), in `currency`: what the deal's mapped total
    # is compared with; None where the ERP cannot tell it.
    net_total: Decimal | None = None


class DocumentLine(NamedTuple):
    """A document's line as Sage keeps it: its item code, quantity and unit price."""

    sku: str
    quantity: Decimal
    unit_price: Decimal


@dataclass(frozen=True)
class OrderRead:
    """A Sage sales order as it is now, for telling the CRM its status."""

    record: Record
    changed: datetime
    deal_reference: str = ""  # the deal ID the order was created for
    back_order: bool = False


@dataclass(frozen=True)
class PaymentRead:
    record: Record
    invoices: list[str]  # the Sage invoices it pays


AGING_CURRENT = "Current"
AGING_BUCKETS = ((30, "1-30"), (60, "31-60"), (90, "61-90"))  # days past due, at most
AGING_OVER = "Over 90"
AGING_LABELS = (AGING_CURRENT, *(label for _, label in AGING_BUCKETS), AGING_OVER)


@dataclass(frozen=True)
class OpenInvoice:
    """An invoice's open balance as Sage keeps it now: what the CRM shows beside a payment,
    so the deal's owner sees what is still owed and how late it is."""

    number: str  # as Sage shows it to people
    due_date: date
    balance: Decimal
    currency: str  # "" where the company keeps one currency
    customer_name: str = ""

    def days_overdue(self, today: date) -> int:
        """Days past the due date on `today`; 0 when not yet due."""
        return max((today - self.due_date).days, 0)

    def aging(self, today: date) -> str:
        """The aging bucket Sage's reports use: Current, 1-30, 31-60, 61-90, Over 90."""
        days = self.days_overdue(today)
        if days == 0:
            return AGING_CURRENT
        return next((label for most, label in AGING_BUCKETS if days <= most), AGING_OVER)


@dataclass(frozen=True)
class StockRead:
    sku: str
    rows: list[Record]  # one per warehouse
    warehouse_of: str = "WarehouseCode"  # the rows' warehouse column; "": no warehouses


@dataclass(frozen=True)
class DealStock:
    """A deal as the stock index keeps it: the items it asks for, while it is open."""

    key: str
    changed: datetime  # its change stamp: the index reads deals changed since the newest
    open: bool  # not in a closed stage
    lines: dict[str, Decimal]  # item code (upper case) → quantity asked
    shown: str = ""  # the stock summary its stock field shows now


@dataclass(frozen=True)
class Shortfall:
    """A sales order's item asking for more than its warehouse has available, and the
    vendor who usually supplies it (`vendor` "" when the item names none)."""

    sku: str
    warehouse: str
    ordered: Decimal
    available: Decimal
    vendor: str = ""  # the key a purchase order names the vendor by ("00-ALLENCO")
    vendor_name: str = ""

    @property
    def short(self) -> Decimal:
        return self.ordered - self.available


@dataclass(frozen=True)
class AccountWrite:
    """What a write of Sage's values to a CRM organization or account did."""

    written: list[str]  # common fields written
    missing: list[str] = field(default_factory=list)  # fields the CRM record cannot hold
    version: str = ""  # the record's change stamp after the write ("" when unknown)


@dataclass(frozen=True)
class ContactRecord:
    """A person of a customer as either side keeps them, in contact sync's common fields;
    `key` is the record's own key on its side ("" for one not written yet)."""

    key: str
    name: str = ""
    email: str = ""
    phone: str = ""
    title: str = ""

    def values(self) -> dict[str, str]:
        return {"name": self.name, "email": self.email, "phone": self.phone, "title": self.title}

    def fingerprint(self, fields: list[str]) -> str:
        """The values of `fields`, hashed: a CRM contact's version by content, for CRMs whose
        change stamp our own write moves too (equal fingerprints, nothing new for Sage)."""
        values = self.values()
        owned = {name: values[name] for name in sorted(fields) if name in values}
        digest = hashlib.sha256(json.dumps(owned, sort_keys=True).encode()).hexdigest()
        return f"values:{digest[:40]}"


@dataclass(frozen=True)
class Person:
    """A CRM user or an ERP salesperson: the key the system names them by (a deal's owner,
    a Sage SalespersonNo with its division), for matching the two lists by email or name."""

    key: str
    name: str = ""
    email: str = ""


@dataclass(frozen=True)
class LoadResult:
    """One record of a bulk load: the CRM id it got, or why it was refused."""

    crm_id: str = ""
    error: str = ""


@dataclass(frozen=True)
class Stream:
    """A push stream a CRM connection offers (a Change Data Capture channel, a platform
    event channel): `run_subscribers` follows each one and stores what it pushes."""

    topic: str  # the system's name for the channel
    entity: str = ""  # the feed entity whose changes it carries: its polls read a lost stretch
    keeps_for: timedelta | None = None  # how long the system keeps events for a resume
    endpoint: str = ""  # where it is served; a changed one starts a new subscription


@dataclass(frozen=True)
class Resync:
    """Changes of `entity` since `since` that a stream could not deliver one by one: the
    polls of the entity's feed read them again."""

    entity: str
    since: datetime


@dataclass(frozen=True)
class StreamBatch:
    """What one push held: events to store, stretches to read again, and the position to
    store with them (opaque; "" keeps the stored one). The next batch is asked for only
    once this one is stored, so a resume from the stored position misses nothing."""

    events: list[WebhookEvent]
    position: str = ""
    resyncs: list[Resync] = field(default_factory=list)
