"""Build the Sage 100 database file: every table of `schema.TABLES`, filled with the seed."""

import copy
import random
import sqlite3
from contextlib import closing
from functools import cache
from pathlib import Path

from agent.sqlite import write_transaction
from sandbox.sage100.data import Row, customer_rows, item_rows, reference_rows
from sandbox.sage100.orders import order_rows
from sandbox.sage100.schema import TABLES

SEED = 100


@cache
def _seed_tables() -> dict[str, list[Row]]:
    rng = random.Random(SEED)
    tables = reference_rows()
    customers, contacts = customer_rows(rng)
    items, stock = item_rows(rng)
    tables.update(order_rows(rng, customers, items, stock))
    tables.update(
        AR_Customer=customers, AR_CustomerContact=contacts, CI_Item=items, IM_ItemWarehouse=stock
    )
    return tables


def seed_tables() -> dict[str, list[Row]]:
    """The seed rows per table (a fresh copy: callers may change them)."""
    return copy.deepcopy(_seed_tables())


def write_seed(path: Path) -> None:
    """Drop and recreate every table with the seed, in one transaction, so ODBC readers with
    the file open see either the old data or the new, never half of it."""
    tables = _seed_tables()
    with closing(sqlite3.connect(path, timeout=30)) as db:
        db.execute("PRAGMA journal_mode=WAL")  # kept by the file; not allowed in a transaction
    with write_transaction(path) as db:
        for table in TABLES:
            db.execute(f"DROP TABLE IF EXISTS {table.name}")
            db.execute(table.ddl())
            names = table.column_names
            db.executemany(
                f"INSERT INTO {table.name} ({', '.join(names)}) "
                f"VALUES ({', '.join('?' * len(names))})",
                [[_sql_value(row[name]) for name in names] for row in tables.get(table.name, [])],
            )


def _sql_value(value: object) -> object:
    """Dates as ISO text (what the SQLite ODBC driver reads back as a date)."""
    return value.isoformat() if hasattr(value, "isoformat") else value
