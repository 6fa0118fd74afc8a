"""BOI-like building blocks for the sandbox backend: setting column values with Sage's
checks, audit stamps, and plain row reads and writes."""

import sqlite3
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from agent.backend import Record, Refused
from sandbox.sage100.rules import SYSTEM_USER_KEY, decimal_hours
from sandbox.sage100.schema import DATE, TABLES_BY_NAME


def stamp(created: bool = False) -> dict[str, Any]:
    """The audit columns of a row written now by the agent's BOI session."""
    now = datetime.now()
    values = {
        "DateUpdated": now.date().isoformat(),
        "TimeUpdated": decimal_hours(now),
        "UserUpdatedKey": SYSTEM_USER_KEY,
    }
    if created:
        values.update(
            DateCreated=values["DateUpdated"],
            TimeCreated=values["TimeUpdated"],
            UserCreatedKey=SYSTEM_USER_KEY,
        )
    return values


def to_decimal(value: Any, column: str) -> Decimal:
    if isinstance(value, bool):
        raise Refused(f"Invalid numeric value for {column}.")
    try:
        return Decimal(str(value))
    except InvalidOperation:
        raise Refused(f"Invalid numeric value for {column}: {value!r}.") from None


def to_date(value: Any, column: str) -> str:
    try:
        return date.fromisoformat(str(value)).isoformat()
    except ValueError:
        raise Refused(f"Invalid date for {column}: {value!r} (use YYYY-MM-DD).") from None


def set_values(table: str, target: Record, values: Record, read_only: set[str]) -> None:
    """BOI's nSetValue for each column: known column, settable, right type and length."""
    schema = TABLES_BY_NAME[table]
    kinds = dict(schema.all_columns)
    for column, value in values.items():
        if column not in kinds:
            raise Refused(f"The column {column} is not in the IOList.")
        if column in read_only:
            raise Refused(f"The column {column} cannot be changed.")
        kind = kinds[column]
        if kind == DATE:
            target[column] = to_date(value, column) if value else None
        elif kind.startswith("VARCHAR"):
            if not isinstance(value, str):
                raise Refused(f"Invalid value for {column}: expected text.")
            length = schema.length(column)
            if length is not None and len(value) > length:
                raise Refused(f"The value for {column} exceeds {length} characters.")
            target[column] = value
        else:
            target[column] = float(to_decimal(value, column))


def fetch(db: sqlite3.Connection, sql: str, *params: Any) -> Record | None:
    found = db.execute(sql, params).fetchone()
    return dict(found) if found else None


def find_customer(db: sqlite3.Connection, division: str, customer_no: str) -> Record | None:
    return fetch(
        db,
        "SELECT * FROM AR_Customer WHERE ARDivisionNo = ? AND CustomerNo = ?",
        division,
        customer_no,
    )


def active_item(db: sqlite3.Connection, values: Record) -> tuple[str, Record]:
    """A line's item code (upper case) and its CI_Item row: every bus's oLines refuses an
    item that is not on file or is inactive, before anything else about the line."""
    code = str(values.get("ItemCode", "")).upper()
    item = fetch(db, "SELECT * FROM CI_Item WHERE ItemCode = ?", code)
    if item is None:
        raise Refused(f"The item code {code or '(blank)'} is not on file.")
    if item["InactiveItem"] == "Y":
        raise Refused(f"Item {code} is inactive.")
    return code, item


def insert(db: sqlite3.Connection, table: str, values: Record) -> None:
    names = list(values)
    db.execute(
        f"INSERT INTO {table} ({', '.join(names)}) VALUES ({', '.join('?' * len(names))})",
        [values[name] for name in names],
    )


def update(db: sqlite3.Connection, table: str, values: Record, key: tuple[str, ...]) -> None:
    names = [name for name in values if name not in key]
    db.execute(
        f"UPDATE {table} SET {', '.join(f'{name} = ?' for name in names)} "
        f"WHERE {' AND '.join(f'{name} = ?' for name in key)}",
        [values[name] for name in names] + [values[name] for name in key],
    )


CONTACT_READ_ONLY = {"ARDivisionNo", "CustomerNo", "ContactCode", "DateCreated", "TimeCreated",
                     "UserCreatedKey", "DateUpdated", "TimeUpdated", "UserUpdatedKey"}  # fmt: skip


def save_customer_contact(
    db: sqlite3.Connection, division: str, customer_no: str, values: Record
) -> Record:
    """AR_CustomerContact_bus: the customer's contact with `values["ContactCode"]` created,
    or set to `values` when it exists; the row as written."""
    if find_customer(db, division, customer_no) is None:
        raise Refused(f"Customer {division}-{customer_no} is not on file.")
    values = dict(values)
    code = str(values.pop("ContactCode", "") or "").upper()
    key = {"ARDivisionNo": division, "CustomerNo": customer_no, "ContactCode": code}
    if not code or len(code) > 10:
        raise Refused("The ContactCode is required, up to 10 characters.")
    where = " AND ".join(f"{column} = ?" for column in key)
    found = fetch(db, f"SELECT * FROM AR_CustomerContact WHERE {where}", *key.values())
    contact = found or TABLES_BY_NAME["AR_CustomerContact"].blank() | key
    set_values("AR_CustomerContact", contact, values, CONTACT_READ_ONLY)
    if not contact["ContactName"]:
        raise Refused("The ContactName is required.")
    contact.update(stamp(created=found is None))
    if found:
        update(db, "AR_CustomerContact", contact, tuple(key))
    else:
        insert(db, "AR_CustomerContact", contact)
    return contact
