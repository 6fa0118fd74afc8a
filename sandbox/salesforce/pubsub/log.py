"""The event log of every topic, in the sandbox's own SQLite file beside the records.

Change events are inserted through the connection of the record write that caused them, inside
its transaction, so an event exists exactly when its write committed (a rolled-back composite
leaves none). Replay ids come from one AUTOINCREMENT sequence: 8-byte big-endian, increasing,
not contiguous within a topic, never reused (a data reset empties the log but not the sequence).
Retention is 72 hours on an injectable clock that `advance` moves forward.
"""

import sqlite3
import threading
import time
from dataclasses import dataclass
from pathlib import Path

RETENTION_SECONDS = 72 * 3600
REPLAY_ID_BYTES = 8
SCHEMA = """
CREATE TABLE IF NOT EXISTS pubsub_events (
    replay_id INTEGER PRIMARY KEY AUTOINCREMENT,
    topic TEXT NOT NULL,
    event_id TEXT NOT NULL,
    schema_id TEXT NOT NULL,
    payload BLOB NOT NULL,
    created_at REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS pubsub_events_topic ON pubsub_events (topic, replay_id);
CREATE TABLE IF NOT EXISTS pubsub_schemas (schema_id TEXT PRIMARY KEY, schema_json TEXT NOT NULL);
"""


def encode_replay_id(number: int) -> bytes:
    return number.to_bytes(REPLAY_ID_BYTES, "big")


def decode_replay_id(raw: bytes) -> int | None:
    """The number behind a replay id, or None when it is not one this server hands out."""
    if len(raw) != REPLAY_ID_BYTES:
        return None
    return int.from_bytes(raw, "big")


class Clock:
    """Wall time plus an offset, so a test can jump past the retention window."""

    def __init__(self) -> None:
        self.offset = 0.0

    def now(self) -> float:
        return time.time() + self.offset

    def advance(self, hours: float) -> None:
        self.offset += hours * 3600


@dataclass(frozen=True)
class LoggedEvent:
    replay_id: int
    event_id: str
    schema_id: str
    payload: bytes


class EventLog:
    def __init__(self, path: Path, clock: Clock) -> None:
        self.path = Path(path)
        self.clock = clock
        self._local = threading.local()
        self._db().executescript(SCHEMA)

    def _db(self) -> sqlite3.Connection:
        db = getattr(self._local, "db", None)
        if db is None:
            db = sqlite3.connect(self.path, timeout=30, isolation_level=None)
            self._local.db = db
        return db

    # ------------------------------------------------------------ writing

    def append(
        self,
        topic: str,
        event_id: str,
        schema_id: str,
        payload: bytes,
        db: sqlite3.Connection | None = None,
    ) -> int:
        """Log one event; with `db`, inside that connection's open transaction."""
        cursor = (db or self._db()).execute(
            "INSERT INTO pubsub_events (topic, event_id, schema_id, payload, created_at) "
            "VALUES (?, ?, ?, ?, ?)",
            (topic, event_id, schema_id, payload, self.clock.now()),
        )
        return int(cursor.lastrowid or 0)

    def clear(self) -> None:
        self._db().execute("DELETE FROM pubsub_events")

    def remember_schema(self, schema_id: str, schema_json: str) -> None:
        self._db().execute(
            "INSERT OR IGNORE INTO pubsub_schemas (schema_id, schema_json) VALUES (?, ?)",
            (schema_id, schema_json),
        )

    def recall_schema(self, schema_id: str) -> str | None:
        row = (
            self._db()
            .execute("SELECT schema_json FROM pubsub_schemas WHERE schema_id = ?", (schema_id,))
            .fetchone()
        )
        return row[0] if row else None

    # ------------------------------------------------------------ reading

    def retained_since(self) -> float:
        return self.clock.now() - RETENTION_SECONDS

    def tip(self) -> int:
        """The newest replay id handed out on any topic (0 before the first event)."""
        row = (
            self._db()
            .execute("SELECT seq FROM sqlite_sequence WHERE name = 'pubsub_events'")
            .fetchone()
        )
        return int(row[0]) if row else 0

    def expired_up_to(self, topic: str) -> int:
        """The newest replay id of the topic that is past retention (0 if none is)."""
        row = (
            self._db()
            .execute(
                "SELECT MAX(replay_id) FROM pubsub_events WHERE topic = ? AND created_at < ?",
                (topic, self.retained_since()),
            )
            .fetchone()
        )
        return int(row[0] or 0)

    def resumable(self, topic: str, replay_id: int) -> bool:
        """Whether a subscription can start after this id without losing an event: it was
        handed out, and neither it nor a later event of the topic has expired."""
        expired = self.expired_up_to(topic)
        return (expired == 0 or replay_id > expired) and 0 <= replay_id <= self.tip()

    def after(self, topic: str, replay_id: int, limit: int) -> list[LoggedEvent]:
        """Retained events of the topic after the id, oldest first."""
        rows = self._db().execute(
            "SELECT replay_id, event_id, schema_id, payload FROM pubsub_events "
            "WHERE topic = ? AND replay_id > ? AND created_at >= ? ORDER BY replay_id LIMIT ?",
            (topic, replay_id, self.retained_since(), limit),
        )
        return [LoggedEvent(r[0], r[1], r[2], bytes(r[3])) for r in rows]
