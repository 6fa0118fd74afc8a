"""The CRM role (connectors/roles.py has what both roles share): deals with their account,
contact and lines, notes and tasks, accounts, contacts, stock on deals, push streams."""

import threading
from collections.abc import Iterable, Iterator
from datetime import date, datetime
from typing import Any, ClassVar

from connectors.base import Record, WebhookEvent
from connectors.records import (
    AccountWrite,
    ContactRecord,
    DealRead,
    DealStock,
    LoadResult,
    Person,
    StageHint,
    Stream,
    StreamBatch,
)
from connectors.roles import (
    Role,
)


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
    # Seconds a deal's account and contact are kept per connection (0: read every time).
    parties_kept_for: ClassVar[float] = 0
    notes_with_writes: ClassVar[bool] = False  # `write_deal_noted` makes one request

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

    def forget_parties(self, keys: set[str]) -> None:
        """The CRM said these accounts or contacts changed: a CRM that keeps them
        (`parties_kept_for`) reads them again; one that keeps none has nothing to forget."""

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

    def write_deal_noted(
        self,
        key: str,
        values: dict[str, Any],
        message: str,
        idempotency_key: str,
        posted_before: bool = True,
    ) -> None:
        """`write_deal` and `add_note` in one request, where the CRM has one for both
        (`notes_with_writes`); the note still once, as `add_note` says."""
        raise self.unsupported("write deal fields and a note in one request")

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

    def users(self) -> list[Person]:
        """The people deals can be owned by, keyed as a deal names its owner (the
        salespeople lookup table's keys)."""
        raise self.unsupported("list its users")

    def create_deal(self, account_key: str, values: dict[str, Any], idempotency_key: str) -> str:
        """A deal on the account for an order keyed in the ERP; its key. `values`: name,
        amount (Decimal, before tax), currency, close_date (date), order_number, stage (""
        for the first), lines (sku, quantity, unit_price; where the CRM keeps them on the
        deal) and reference (the deal ID to carry, or ""). Once per order: a deal already
        naming the order number is returned instead of making another."""
        raise self.unsupported("create deals")

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

    # ---- contacts (contact sync)

    @classmethod
    def contact_version(cls, event: WebhookEvent, crm_owned: list[str]) -> str:
        """The delivered contact's version, compared with the one our last write left."""
        return ""

    @classmethod
    def contact_key(cls, event: WebhookEvent) -> str:
        """The key of the contact a pushed event is about."""
        return event.entity_key

    def contacts_of(self, account_key: str) -> list[ContactRecord]:
        """The people the CRM keeps for the organization or account."""
        raise self.unsupported("read contacts")

    def read_contact(self, key: str) -> ContactRecord:
        raise self.unsupported("read contacts")

    def contact_account(self, key: str, account_keys: list[str]) -> str:
        """Which of `account_keys` the contact belongs to, or ""."""
        raise self.unsupported("read contacts")

    def contact_version_of(self, contact: ContactRecord, crm_owned: list[str]) -> str:
        """The version a delivery of this contact as it is now would carry."""
        return ""

    def write_contact(
        self, account_key: str, contact: ContactRecord, fields: list[str], idempotency_key: str
    ) -> ContactRecord:
        """Create the contact for the account (no `key`) or set its `fields`; as written."""
        raise self.unsupported("write contacts")

    # ---- stock

    def update_item_stock(self, values: dict[str, Any], idempotency_key: str) -> list[str]:
        """Write a product's mapped stock fields to the CRM's products; the ids changed."""
        raise self.unsupported("keep product records")

    # The deal field a stock summary per item goes to ("" when the CRM keeps none).
    stock_field: ClassVar[str] = ""

    def shows_stock(self) -> bool:
        """Whether this account's deals have the stock field (an admin may have to add it)."""
        return bool(self.stock_field)

    def deals_changed(self, since: datetime | None, closed_stages: set[str]) -> list[DealStock]:
        """Deals changed at or after `since` (every deal when None) with the items they ask
        for: what the stock index is kept current from."""
        raise self.unsupported("list deals with the items they ask for")
