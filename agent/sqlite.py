"""One SQLite write transaction, as the agent's idempotency store and the sandbox backends
all need it: BEGIN IMMEDIATE (the write lock at once, so two writers never deadlock on a
lock upgrade), COMMIT on the way out, ROLLBACK on any exception, the connection closed."""

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def write_transaction(path: Path | str, rows_by_name: bool = False) -> Iterator[sqlite3.Connection]:
    db = sqlite3.connect(path, timeout=30, isolation_level=None)
    if rows_by_name:
        db.row_factory = sqlite3.Row
    try:
        db.execute("BEGIN IMMEDIATE")
        yield db
        db.execute("COMMIT")
    except BaseException:
        if db.in_transaction:
            db.execute("ROLLBACK")
        raise
    finally:
        db.close()
