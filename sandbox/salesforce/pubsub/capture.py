"""Change Data Capture: every write of an Opportunity, Order or Account becomes a change event.

The hook sits in the document store, the level every write passes through (REST, composite,
sObject collections, pages, line roll-ups, cascade deletes), and runs inside the write's
transaction. One HTTP request is one Salesforce transaction: its events share a
transactionKey and count up sequenceNumber. Payloads follow Pub/Sub's rules: changed fields
set, unchanged ones null, changedFields/nulledFields as bitmaps over schema positions, with
`"{pos}-0x.."` elements for the parts of a compound address.
"""

import io
import sqlite3
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from typing import Any

from fastavro import schemaless_writer

from sandbox.core.store import DocumentStore
from sandbox.salesforce import ids
from sandbox.salesforce.pubsub.log import EventLog
from sandbox.salesforce.pubsub.topics import (
    ADDRESS,
    ADDRESS_PARTS,
    CHANGE_EVENT_FIELDS,
    DATE,
    DATETIME,
    TopicRegistry,
    change_event_topic,
)
from sandbox.salesforce.schema import USER_ID

Record = dict[str, Any]
WriteListener = Callable[[sqlite3.Connection, str, Record | None, Record], None]


class CapturingStore(DocumentStore):
    """The sandbox's store, telling `listener` of each write to a captured collection with the
    record before and after, on the write's own connection and transaction."""

    captured: frozenset[str] = frozenset(CHANGE_EVENT_FIELDS)
    listener: WriteListener | None = None

    def put(self, collection: str, doc_id: str, data: dict[str, Any]) -> dict[str, Any]:
        listener = self.listener
        if listener is None or collection not in self.captured:
            return super().put(collection, doc_id, data)
        with self.transaction() as db:
            before = self.get(collection, doc_id)
            super().put(collection, doc_id, data)
            listener(db, collection, before, data)
        return data


@dataclass
class Transaction:
    key: str
    origin: str
    sequence: int = 0

    @classmethod
    def new(cls, origin: str) -> "Transaction":
        return cls(str(uuid.uuid4()), origin)


def bitmap(positions: list[int]) -> str:
    """Bit i set for position i, as Salesforce writes it: upper-case hex, whole bytes."""
    digits = f"{sum(1 << p for p in positions):X}"
    return "0x" + digits.zfill(len(digits) + len(digits) % 2)


def avro_value(avro_type: Any, value: Any) -> Any:
    """A record's stored value as the change event's Avro field holds it."""
    if value is None:
        return None
    if avro_type == DATE:
        return date.fromisoformat(str(value)[:10])
    if avro_type == DATETIME:
        return int(ids.parse_datetime(str(value)).timestamp() * 1000)
    if avro_type == "double":
        return float(value)
    if avro_type == "boolean":
        return bool(value)
    return str(value)


def source_fields(name: str, avro_type: Any) -> list[tuple[str, str, Any]]:
    """(part, record field, type) behind one change event field; one row unless compound."""
    if avro_type == ADDRESS:
        prefix = name.removesuffix("Address")
        return [(part, f"{prefix}{part}", kind) for part, kind in ADDRESS_PARTS]
    return [(name, name, avro_type)]


class ChangeCapture:
    def __init__(self, registry: TopicRegistry, log: EventLog, active: Callable[[], bool]) -> None:
        self.registry, self.log, self.active = registry, log, active
        self._local = threading.local()
        self._commit_lock = threading.Lock()
        self._commit_number = 0

    @contextmanager
    def transaction(self, origin: str) -> Iterator[Transaction]:
        """Group the writes of one request under one transactionKey."""
        outer = getattr(self._local, "transaction", None)
        self._local.transaction = Transaction.new(origin)
        try:
            yield self._local.transaction
        finally:
            self._local.transaction = outer

    def on_write(
        self, db: sqlite3.Connection, entity: str, before: Record | None, after: Record
    ) -> None:
        if not self.active():
            return
        change = self.classify(entity, before, after)
        if change is None:
            return
        change_type, changed = change
        transaction = getattr(self._local, "transaction", None) or Transaction.new("")
        transaction.sequence += 1
        header = self.header(entity, [after["Id"]], change_type, transaction)
        header["commitUser"] = after.get("LastModifiedById") or USER_ID
        fields = self.fields(entity, after, changed, change_type, header)
        self.write(entity, header, fields, db)

    def emit_gap(self, entity: str, change_type: str, record_ids: list[str]) -> None:
        """A header-only event, as Salesforce sends when it cannot send the change itself."""
        header = self.header(entity, record_ids, change_type, Transaction.new(""))
        header["sequenceNumber"] = 1
        self.write(entity, header, {}, None)

    # ------------------------------------------------------------ building

    def classify(
        self, entity: str, before: Record | None, after: Record
    ) -> tuple[str, set[str]] | None:
        """The change type and, for an UPDATE, the record fields behind the event that changed."""
        was_live = before is not None and not before.get("IsDeleted")
        is_live = not after.get("IsDeleted")
        if before is None:
            return ("CREATE", set()) if is_live else None
        if was_live and not is_live:
            return "DELETE", set()
        if not was_live and is_live:
            return "UNDELETE", set()
        if not is_live:
            return None
        changed = {
            source
            for name, avro_type in CHANGE_EVENT_FIELDS[entity]
            for _, source, _ in source_fields(name, avro_type)
            if before.get(source) != after.get(source)
        }
        return ("UPDATE", changed) if changed else None

    def header(
        self, entity: str, record_ids: list[str], change_type: str, transaction: Transaction
    ) -> Record:
        committed_at = time.time()  # the records' own time; the clock only ages the log
        with self._commit_lock:
            self._commit_number += 1
            commit_number = int(committed_at * 1_000_000) * 1000 + self._commit_number % 1000
        return {
            "entityName": entity, "recordIds": record_ids, "changeType": change_type,
            "changeOrigin": transaction.origin, "transactionKey": transaction.key,
            "sequenceNumber": transaction.sequence,
            "commitTimestamp": int(committed_at * 1000), "commitNumber": commit_number,
            "commitUser": USER_ID, "nulledFields": [], "diffFields": [], "changedFields": [],
        }  # fmt: skip

    def fields(
        self, entity: str, record: Record, changed: set[str], change_type: str, header: Record
    ) -> Record:
        """Field values for the payload: all of them for a CREATE or UNDELETE, the changed ones
        for an UPDATE (whose bitmaps go into the header), none for a DELETE."""
        values: Record = {}
        if change_type == "DELETE":
            return values
        update = change_type == "UPDATE"
        changed_top: list[int] = []
        nulled_top: list[int] = []
        changed_nested: list[str] = []
        nulled_nested: list[str] = []
        for position, (name, avro_type) in enumerate(CHANGE_EVENT_FIELDS[entity], start=1):
            parts = source_fields(name, avro_type)
            moved = [i for i, (_, source, _) in enumerate(parts) if not update or source in changed]
            if not moved:
                continue
            if avro_type != ADDRESS:
                values[name] = avro_value(avro_type, record.get(name))
                changed_top.append(position)
                if values[name] is None:
                    nulled_top.append(position)
                continue
            address = {part: avro_value(kind, record.get(source)) if i in moved else None
                       for i, (part, source, kind) in enumerate(parts)}  # fmt: skip
            values[name] = address if any(v is not None for v in address.values()) else None
            changed_nested.append(f"{position}-{bitmap(moved)}")
            nulled = [i for i in moved if address[parts[i][0]] is None]
            if nulled:
                nulled_nested.append(f"{position}-{bitmap(nulled)}")
        if update:
            header["changedFields"] = [bitmap(changed_top), *changed_nested]
            if nulled_top or nulled_nested:
                header["nulledFields"] = [bitmap(nulled_top), *nulled_nested]
        return values

    def write(
        self, entity: str, header: Record, fields: Record, db: sqlite3.Connection | None
    ) -> int:
        topic = change_event_topic(entity)
        schema = self.registry.current(topic)
        buffer = io.BytesIO()
        schemaless_writer(buffer, schema.parsed, {"ChangeEventHeader": header, **fields})
        return self.log.append(topic, str(uuid.uuid4()), schema.schema_id, buffer.getvalue(), db)


def change_origin(api_version: str, call_options: str) -> str:
    """`com/salesforce/api/rest/<ver>`, with `;client=<id>` when the caller named itself in
    `Sforce-Call-Options: client=<id>` (how a subscriber recognises its own writes)."""
    origin = f"com/salesforce/api/rest/{api_version}"
    for option in call_options.split(","):
        name, _, value = option.strip().partition("=")
        if name == "client" and value:
            return f"{origin};client={value}"
    return origin
