"""A small JSON document store on SQLite, for sandboxes whose real system is a REST API.

One file per sandbox under var/sandbox/. Every collection keeps insertion order (`seq`), so
listings and paging are stable. Thread-safe: one connection per thread, writes serialised
by SQLite (BEGIN IMMEDIATE).
"""

import json
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

SCHEMA = """
CREATE TABLE IF NOT EXISTS docs (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    collection TEXT NOT NULL,
    id TEXT NOT NULL,
    data TEXT NOT NULL,
    updated_at REAL NOT NULL,
    UNIQUE (collection, id)
);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
"""


class DocumentStore:
    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._local = threading.local()
        self._connection().executescript(SCHEMA)

    def _connection(self) -> sqlite3.Connection:
        db = getattr(self._local, "db", None)
        if db is None:
            db = sqlite3.connect(self.path, timeout=30, isolation_level=None)
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=NORMAL")
            self._local.db = db
        return db

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """All writes inside commit together, or none do."""
        db = self._connection()
        if db.in_transaction:  # nested: join the outer transaction
            yield db
            return
        db.execute("BEGIN IMMEDIATE")
        try:
            yield db
        except BaseException:
            db.execute("ROLLBACK")
            raise
        db.execute("COMMIT")

    def put(self, collection: str, doc_id: str, data: dict[str, Any]) -> dict[str, Any]:
        with self.transaction() as db:
            db.execute(
                "INSERT INTO docs (collection, id, data, updated_at) VALUES (?, ?, ?, ?) "
                "ON CONFLICT (collection, id) DO UPDATE SET data = excluded.data, "
                "updated_at = excluded.updated_at",
                (collection, str(doc_id), json.dumps(data), time.time()),
            )
        return data

    def get(self, collection: str, doc_id: str) -> dict[str, Any] | None:
        row = (
            self._connection()
            .execute(
                "SELECT data FROM docs WHERE collection = ? AND id = ?", (collection, str(doc_id))
            )
            .fetchone()
        )
        return json.loads(row[0]) if row else None

    def delete(self, collection: str, doc_id: str) -> bool:
        with self.transaction() as db:
            cursor = db.execute(
                "DELETE FROM docs WHERE collection = ? AND id = ?", (collection, str(doc_id))
            )
        return cursor.rowcount > 0

    def all(self, collection: str) -> list[dict[str, Any]]:
        rows = self._connection().execute(
            "SELECT data FROM docs WHERE collection = ? ORDER BY seq", (collection,)
        )
        return [json.loads(row[0]) for row in rows]

    def find(self, collection: str, field: str, value: Any) -> list[dict[str, Any]]:
        """Documents whose top-level `field` equals `value`, ignoring case; SQLite reads the
        JSON, so large collections are not parsed in Python."""
        rows = self._connection().execute(
            "SELECT data FROM docs WHERE collection = ? "
            "AND lower(CAST(json_extract(data, ?) AS TEXT)) = ? ORDER BY seq",
            (collection, f'$."{field}"', str(value).lower()),
        )
        return [json.loads(row[0]) for row in rows]

    def count(self, collection: str) -> int:
        return (
            self._connection()
            .execute("SELECT COUNT(*) FROM docs WHERE collection = ?", (collection,))
            .fetchone()[0]
        )

    def get_meta(self, key: str, default: str | None = None) -> str | None:
        row = self._connection().execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return row[0] if row else default

    def set_meta(self, key: str, value: str) -> None:
        with self.transaction() as db:
            db.execute(
                "INSERT INTO meta (key, value) VALUES (?, ?) "
                "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                (key, value),
            )

    def clear(self) -> None:
        with self.transaction() as db:
            db.execute("DELETE FROM docs")
            db.execute("DELETE FROM meta")
            db.execute("DELETE FROM sqlite_sequence WHERE name = 'docs'")
