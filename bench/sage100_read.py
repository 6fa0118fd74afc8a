"""Stream 100,000 AR_Customer rows through the Sage 100 connector's ODBC reader (pyodbc +
unixODBC + the SQLite3 driver): rows/s and peak RSS (target: at most 200 MB).

Standalone: `.venv/bin/python bench/sage100_read.py`. The database is built once with the
sandbox's own table definition in var/bench/ and reused; the connection is an unsaved row.
"""

import json
import os
import random
import resource
import sqlite3
import sys
import time
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path

import django

ROWS = 100_000
ROOT = Path(__file__).resolve().parent.parent
DB_PATH = ROOT / "var" / "bench" / "sage100-ar-customer-100k.db"
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "clarity.settings")
django.setup()

from connectors.models import Connection  # noqa: E402
from connectors.sage100.connector import Sage100Connector  # noqa: E402
from sandbox.sage100.schema import TABLES_BY_NAME  # noqa: E402


def customers(count: int) -> Iterator[list]:
    """Plausible AR_Customer rows, generated as they are inserted (never all in memory)."""
    table = TABLES_BY_NAME["AR_Customer"]
    rng = random.Random(100)
    for number in range(count):
        row = table.blank()
        moment = date(2015, 1, 1) + timedelta(days=number % 3650)
        row.update(
            ARDivisionNo="00" if number % 4 else "01", CustomerNo=f"C{number:07d}",
            CustomerName=f"Bench Customer {number} Inc", AddressLine1=f"{number} Main St",
            City="Madison", State="WI", ZipCode="53703", CountryCode="USA",
            TelephoneNo=f"(608) 555-{number % 10000:04d}",
            EmailAddress=f"ap{number}@customer{number}.com", TaxSchedule="WI", TermsCode="01",
            CustomerStatus="A", CreditHold="N", CreditLimit=float(rng.randrange(1000, 50000)),
            CurrentBalance=round(rng.uniform(0, 9999), 2), DateEstablished=moment.isoformat(),
            DateCreated=moment.isoformat(), TimeCreated="9.5000", UserCreatedKey="0000000002",
            DateUpdated=moment.isoformat(), TimeUpdated="14.2500", UserUpdatedKey="0000000002",
        )  # fmt: skip
        yield [row[name] for name in table.column_names]


def build(path: Path) -> None:
    """The table, filled with ROWS rows (reused when it already holds them)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    table = TABLES_BY_NAME["AR_Customer"]
    with sqlite3.connect(path) as db:
        try:
            if db.execute("SELECT COUNT(*) FROM AR_Customer").fetchone()[0] == ROWS:
                return
        except sqlite3.OperationalError:
            pass  # no table yet
        db.execute("DROP TABLE IF EXISTS AR_Customer")
        db.execute(table.ddl())
        names = table.column_names
        db.executemany(
            f"INSERT INTO AR_Customer ({', '.join(names)}) VALUES ({', '.join('?' * len(names))})",
            customers(ROWS),
        )


def main() -> None:
    build(DB_PATH)
    connection = Connection(
        name="Bench Sage 100",
        system="sage100",
        settings={
            "odbc_connection_string": f"DRIVER={{SQLite3}};Database={DB_PATH}",
            "odbc_dialect": "sqlite",
            "bridge_url": "http://127.0.0.1:9",
        },
        secrets={},
    )
    sage = Sage100Connector(connection)
    started = time.perf_counter()
    rows = sum(1 for _ in sage.stream("customer"))
    elapsed = time.perf_counter() - started
    peak_rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"Streamed {rows} AR_Customer rows over ODBC in {elapsed:.2f} s")
    print(
        json.dumps(
            {
                "bench": "sage100_read",
                "rows": rows,
                "rows_per_s": round(rows / elapsed),
                "peak_rss_mb": round(peak_rss_mb, 1),
            }
        )
    )


if __name__ == "__main__":
    main()
