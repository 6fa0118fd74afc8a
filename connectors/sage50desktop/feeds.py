"""The change feeds of a Sage 50 US company. Sage 50 keeps no last-modified column
(reference §1.5), so each feed finds its changes another way and keeps its place in the
cursor's `seen` marks (`FeedCursor`, on the poll's watermark):

- Cash receipts (journal 1) are new transactions: a high-water mark on JrnlHdr.PostOrder,
  which grows by one per transaction ("PostOrder:1234"). Each receipt is announced once,
  back-dated ones too; an edit of a receipt already read is not. A first read (no mark
  yet) announces the receipts dated on or after the cursor's day.
- Customers and stock are masters: a snapshot of "recordnumber:digest" marks, one per
  record (a customer's digest covers its row, main address and sales rep; an item's its
  quantity on hand). A read announces the records whose mark is not in the snapshot (new
  or changed since) and keeps the new snapshot. The first read announces every record:
  without change times nothing tells which changed before it, so these feeds are marked
  `Feed.snapshot` and a poll starting out keeps that read as its snapshot only.

A master change's stamp is its digest, so a record changed and changed back within the
snapshots' reach carries a stamp seen before. Its moment is the day it was read (Sage 50
dates have no time), a receipt's its TransactionDate.
"""

import hashlib
import json
from collections.abc import Iterable
from datetime import UTC, date, datetime, time

from connectors.base import FeedCursor, Record
from connectors.roles import Change

HIGH_WATER = "PostOrder:"
DIGEST_LENGTH = 16
MASTERS = {"customer": "CustomerRecordNumber", "stock": "ItemRecordNumber"}
DIGESTED = {"stock": ("ItemID", "QuantityOnHand")}  # the columns a change of it is about


def digest(entity: str, record: Record) -> str:
    """A short digest of what a change of the record is about."""
    columns = DIGESTED.get(entity) or sorted(record)
    text = json.dumps([[column, str(record.get(column))] for column in columns])
    return hashlib.sha256(text.encode()).hexdigest()[:DIGEST_LENGTH]


def mark(entity: str, record: Record) -> str:
    return f"{record[MASTERS[entity]]}:{digest(entity, record)}"


def day_moment(day: date | None) -> datetime:
    """A Sage 50 date as an aware time: its midnight, UTC."""
    return datetime.combine(day or datetime.now(UTC).date(), time(), tzinfo=UTC)


def change_of(entity: str, record: Record) -> Change:
    """A record of a feed as a change: its key and stamp, and the moment it stands for."""
    if entity == "cash_receipt":
        post_order = str(record["PostOrder"])
        return Change(post_order, post_order, day_moment(record.get("TransactionDate")))
    key = record["CustomerID"] if entity == "customer" else record["ItemID"]
    return Change(key, digest(entity, record), day_moment(None))


def high_water(seen: Iterable[str]) -> int | None:
    """The newest PostOrder a receipts cursor has taken, None before its first read."""
    marks = [int(m.removeprefix(HIGH_WATER)) for m in seen if m.startswith(HIGH_WATER)]
    return max(marks, default=None)


def receipts_cursor(cursor: FeedCursor, taken: int, records: list[Record]) -> FeedCursor:
    """The cursor after reading `records`, every receipt up to PostOrder `taken` read."""
    moments = [change_of("cash_receipt", record).moment for record in records]
    return FeedCursor(max([cursor.since, *moments]), frozenset({f"{HIGH_WATER}{taken}"}))


def master_changes(
    entity: str, records: Iterable[Record], cursor: FeedCursor
) -> tuple[list[Record], FeedCursor]:
    """The records whose mark the cursor's snapshot lacks (all of them on the first read),
    and the cursor holding the snapshot of `records`."""
    marks, changed = set(), []
    for record in records:
        marked = mark(entity, record)
        marks.add(marked)
        if marked not in cursor.seen:
            changed.append(record)
    now = datetime.now(UTC)
    return changed, FeedCursor(max(cursor.since, now), frozenset(marks))
