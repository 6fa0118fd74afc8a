"""SDK-like building blocks of the sandbox backend: setting a value the way a Sage 50 SDK
property setter checks it (type, length), reading rows as records, plain inserts and
updates, and the company-wide checks (open period, GL accounts). Every function works in
the caller's transaction and raises `Refused` to refuse."""

import sqlite3
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from agent.backend import Record, Refused
from sandbox.core.company import sql_value
from sandbox.sage50desktop.ledger import decimal_of, to_money
from sandbox.sage50desktop.schema import DATE, MONEY, QUANTITY, RATE, TABLES_BY_NAME

DECIMAL_KINDS = (MONEY, QUANTITY, RATE)


def to_decimal(value: Any, field: str, label: str = "") -> Decimal:
    """A number given as Decimal, int or numeric text; Refused naming `field` otherwise."""
    if isinstance(value, bool) or not isinstance(value, Decimal | int | float | str):
        raise Refused(f"{label}{field} must be a number.", field)
    try:
        number = Decimal(str(value).strip())
    except InvalidOperation:
        raise Refused(f"{label}{field} must be a number, not {value!r}.", field) from None
    if not number.is_finite():
        raise Refused(f"{label}{field} must be a number, not {value!r}.", field)
    return number


def to_date(value: Any, field: str) -> date:
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        raise Refused(f"{field} must be a date (YYYY-MM-DD), not {value!r}.", field) from None


def to_text(value: Any, field: str, length: int, label: str = "") -> str:
    if not isinstance(value, str):
        raise Refused(f"{label}{field} must be text.", field)
    if len(value) > length:
        raise Refused(f"{label}{field} can hold at most {length} characters.", field)
    return value


def column_value(table: str, column: str, value: Any, field: str = "") -> Any:
    """`value` as column `column` of `table` stores it, checked like the SDK's setter;
    `field` is the name the caller knows the value by (the column by default)."""
    schema = TABLES_BY_NAME[table]
    kind, field = schema.kind(column), field or column
    if value is None:
        return schema.blank()[column]
    if kind == DATE:
        return to_date(value, field) if value != "" else None
    length = schema.length(column)
    if length is not None:
        return to_text(value, field, length)
    number = to_decimal(value, field)
    if kind in DECIMAL_KINDS:
        return number
    if number != number.to_integral_value():
        raise Refused(f"{field} must be a whole number, not {value!r}.", field)
    return int(number)


def as_record(table: str, row: sqlite3.Row | dict | None) -> Record | None:
    """A row read back as the SDK gives it: money as Decimal to the cent, quantities and
    rates as Decimal, dates as ISO text."""
    if row is None:
        return None
    kinds = dict(TABLES_BY_NAME[table].columns)
    record = dict(row)
    for name, value in record.items():
        kind = kinds.get(name)
        if kind == MONEY:
            record[name] = to_money(decimal_of(value))
        elif kind in (QUANTITY, RATE):
            record[name] = plain_number(decimal_of(value))
        elif kind == DATE and isinstance(value, date):
            record[name] = value.isoformat()
    return record


def plain_number(number: Decimal) -> Decimal:
    """A quantity without float noise in its digits: 2 not 2.0 or 2E+0, 2.5 not 2.50000."""
    if number == number.to_integral_value():
        return number.quantize(Decimal(1))
    return number.normalize()


def fetch(db: sqlite3.Connection, table: str, where: str, *params: Any) -> Record | None:
    """The first row of `table` matching `where`, as a record."""
    row = db.execute(f"SELECT * FROM {table} WHERE {where}", params).fetchone()
    return as_record(table, row)


def fetch_all(db: sqlite3.Connection, table: str, where: str, *params: Any) -> list[Record]:
    rows = db.execute(f"SELECT * FROM {table} WHERE {where}", params).fetchall()
    return [as_record(table, row) or {} for row in rows]


def next_record_number(db: sqlite3.Connection, table: str, column: str) -> int:
    return db.execute(f"SELECT COALESCE(MAX({column}), 0) + 1 FROM {table}").fetchone()[0]


def insert(db: sqlite3.Connection, table: str, values: Record) -> None:
    names = list(values)
    db.execute(
        f"INSERT INTO {table} ({', '.join(names)}) VALUES ({', '.join('?' * len(names))})",
        [sql_value(values[name]) for name in names],
    )


def update(db: sqlite3.Connection, table: str, values: Record, key: str) -> None:
    """Write `values` (column: value) to the row whose `key` column holds values[key]."""
    names = [name for name in values if name != key]
    db.execute(
        f"UPDATE {table} SET {', '.join(f'{name} = ?' for name in names)} WHERE {key} = ?",
        [sql_value(values[name]) for name in names] + [sql_value(values[key])],
    )


def company(db: sqlite3.Connection) -> Record:
    return fetch(db, "Company", "1 = 1") or {}


def check_open_period(db: sqlite3.Connection, day: date) -> None:
    """Sage 50 refuses a transaction dated before the first open accounting period."""
    start = company(db)["FirstOpenPeriodStart"]
    if day.isoformat() < start:
        raise Refused(
            f"The date {day.isoformat()} falls in a closed accounting period; the first open "
            f"period starts {start}.",
            "Date",
        )


def gl_account(db: sqlite3.Connection, account_id: str, label: str = "") -> Record:
    """The active Chart row of an AccountID ("40000"); Refused naming AccountID otherwise."""
    account = fetch(db, "Chart", "AccountID = ?", account_id)
    if account is None:
        raise Refused(f"{label}GL account '{account_id}' was not found.", "AccountID")
    if account["AccountIsInactive"]:
        raise Refused(f"{label}GL account '{account_id}' is inactive.", "AccountID")
    return account


def account_id_of(db: sqlite3.Connection, gl_number: int) -> str:
    """The AccountID of a GLAcntNumber ("" for none)."""
    found = db.execute("SELECT AccountID FROM Chart WHERE GLAcntNumber = ?", (gl_number,))
    row = found.fetchone()
    return row[0] if row else ""
