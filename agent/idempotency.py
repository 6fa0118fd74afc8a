"""The agent's memory of Idempotency-Keys, in SQLite, so a retried write is done once.

A key is first recorded as pending (so a concurrent repeat gets 409), then with the final
reply. Replies the server abandons (5xx, several matches, a record in use) are not kept:
nothing was written, so the retry runs again. A key belongs to one request (method, path
and body); reusing it for another is refused.
"""

import hashlib
import sqlite3
import time
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path

from agent.sqlite import write_transaction

KEEP_SECONDS = 24 * 3600  # how long a key is remembered
PENDING_TIMEOUT_SECONDS = 600  # a pending key older than this is taken as abandoned

SCHEMA = """
CREATE TABLE IF NOT EXISTS idempotency_keys (
    key TEXT PRIMARY KEY,
    fingerprint TEXT NOT NULL,
    status INTEGER,
    body BLOB,
    created_at REAL NOT NULL
)
"""


@dataclass(frozen=True)
class StoredReply:
    status: int
    body: bytes


class KeyInProgress(Exception):
    """The first request with this key has not finished yet."""


class KeyMismatch(Exception):
    """The key was used before with a different request."""


def fingerprint(method: str, path: str, body: bytes) -> str:
    return hashlib.sha256(f"{method} {path}\n".encode() + body).hexdigest()


class IdempotencyStore:
    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with closing(self._connect()) as db:
            db.execute(SCHEMA)

    def _connect(self) -> sqlite3.Connection:
        return sqlite3.connect(self.path, timeout=30, isolation_level=None)

    def begin(self, key: str, request_fingerprint: str) -> StoredReply | None:
        """The stored reply for a repeat, or None after recording the key as pending."""
        now = time.time()
        with write_transaction(self.path) as db:
            db.execute("DELETE FROM idempotency_keys WHERE created_at < ?", (now - KEEP_SECONDS,))
            row = db.execute(
                "SELECT fingerprint, status, body, created_at FROM idempotency_keys WHERE key = ?",
                (key,),
            ).fetchone()
            if row is None:
                db.execute(
                    "INSERT INTO idempotency_keys (key, fingerprint, created_at) VALUES (?, ?, ?)",
                    (key, request_fingerprint, now),
                )
                return None
        stored_fingerprint, status, body, created_at = row
        if stored_fingerprint != request_fingerprint:
            raise KeyMismatch
        if status is None:
            if now - created_at < PENDING_TIMEOUT_SECONDS:
                raise KeyInProgress
            return None
        return StoredReply(status, bytes(body))

    def finish(self, key: str, status: int, body: bytes) -> None:
        with closing(self._connect()) as db:
            db.execute(
                "UPDATE idempotency_keys SET status = ?, body = ? WHERE key = ?",
                (status, body, key),
            )

    def abandon(self, key: str) -> None:
        """Forget a key whose request failed without writing, so a retry runs again."""
        with closing(self._connect()) as db:
            db.execute("DELETE FROM idempotency_keys WHERE key = ?", (key,))

    def clear(self) -> None:
        with closing(self._connect()) as db:
            db.execute("DELETE FROM idempotency_keys")
