"""A sandbox company kept as an on-premises Sage keeps it (Sage 100, Sage 50 US desktop):
its tables with Sage's own names in one SQLite file, which clients read through the real
ODBC stack (unixODBC + the SQLite3 driver), the agent's sandbox backend writes and the
pages read.

Values are stored as that driver reads them back: Decimals as text (a DECIMAL or NUMERIC
column's numeric affinity makes them numbers again), dates as ISO text.
"""

import sqlite3
from collections.abc import Iterable, Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

from agent.sqlite import write_transaction

Row = dict[str, Any]
DATE = "DATE"


@dataclass(frozen=True)
class Table:
    """One of the company's tables: its columns (name, declared SQL type) in order and its
    key; `unique` the columns no two rows share."""

    name: str
    key: tuple[str, ...]
    columns: list[tuple[str, str]]
    unique: tuple[str, ...] = ()

    @property
    def all_columns(self) -> list[tuple[str, str]]:
        """Every column of a row (a product whose rows all carry more adds them here)."""
        return self.columns

    @property
    def column_names(self) -> list[str]:
        return [name for name, _ in self.all_columns]

    def kind(self, column: str) -> str:
        return dict(self.all_columns)[column]

    def length(self, column: str) -> int | None:
        """The maximum length of a text column, None for other columns."""
        declared = self.kind(column)
        return int(declared[8:-1]) if declared.startswith("VARCHAR(") else None

    def blank(self) -> Row:
        """A row as Sage leaves unset fields: empty text, zero numbers, no date."""
        return {
            name: "" if kind.startswith("VARCHAR") else None if kind == DATE else 0
            for name, kind in self.all_columns
        }

    def row(self, **values: Any) -> Row:
        """A full row: the given values over Sage's blanks."""
        row = self.blank()
        unknown = set(values) - set(row)
        if unknown:
            raise KeyError(f"{self.name} has no column(s) {sorted(unknown)}")
        row.update(values)
        return row

    def ddl(self) -> str:
        columns = [f"{name} {kind}" for name, kind in self.all_columns]
        columns.append(f"PRIMARY KEY ({', '.join(self.key)})")
        columns.extend(f"UNIQUE ({name})" for name in self.unique)
        return f"CREATE TABLE {self.name} (\n    " + ",\n    ".join(columns) + "\n)"


def sql_value(value: Any) -> Any:
    """What SQLite stores for a value (see the module's docstring)."""
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, date):
        return value.isoformat()
    return value


def write_tables(path: Path, tables: Iterable[Table], rows: dict[str, list[Row]]) -> None:
    """Drop and recreate every table with its rows, in one transaction, so ODBC readers with
    the file open see either the old data or the new, never half of it."""
    with closing(sqlite3.connect(path, timeout=30)) as db:
        db.execute("PRAGMA journal_mode=WAL")  # kept by the file; not allowed in a transaction
    with write_transaction(path) as db:
        for table in tables:
            db.execute(f"DROP TABLE IF EXISTS {table.name}")
            db.execute(table.ddl())
            names = table.column_names
            db.executemany(
                f"INSERT INTO {table.name} ({', '.join(names)}) "
                f"VALUES ({', '.join('?' * len(names))})",
                [[sql_value(row[name]) for name in names] for row in rows.get(table.name, [])],
            )


class CompanyFile:
    """The company's SQLite file, as the sandbox backend writes it and the pages read it."""

    def __init__(self, db_path: Path | str) -> None:
        self.db_path = Path(db_path)

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """One write of Sage's (a BOI write, an SDK Save()): all of it commits, or (on
        Refused or anything else) none of it."""
        with write_transaction(self.db_path, rows_by_name=True) as db:
            yield db

    def rows(self, sql: str, *params: Any) -> list[Row]:
        """The rows of one read, outside any write."""
        with closing(sqlite3.connect(self.db_path, timeout=30)) as db:
            db.row_factory = sqlite3.Row
            return [dict(row) for row in db.execute(sql, params)]


def written_by_another_schema(path: Path, tables: Iterable[Table]) -> bool:
    """Whether the file lacks a table or column of `tables`: written by an earlier version of
    the sandbox (a demo started long ago), whose seed a flow now reading the new ones would
    fail on."""
    with closing(sqlite3.connect(path, timeout=30)) as db:
        for table in tables:
            found = {row[1] for row in db.execute(f'PRAGMA table_info("{table.name}")')}
            if not set(table.column_names) <= found:
                return True
    return False
