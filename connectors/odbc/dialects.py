"""The bits of SQL that differ between the ODBC drivers of the on-premises Sages.

- ProvideX (Sage 100 Standard/Advanced): `SELECT TOP n`, ODBC date escapes, `{fn UCASE()}`,
  outer joins inside the ODBC `{oj …}` escape.
- SQL Server (Sage 100 Premium): TOP and the same date escapes, UPPER, plain joins.
- Pervasive / Actian Zen (Sage 50 US): TOP, `{d 'YYYY-MM-DD'}`, `{fn UCASE()}`, left joins
  written `{oj A LEFT OUTER JOIN B ON …}` (it also takes n-way joins inside one escape).
- SQLite (the sandboxes): LIMIT, plain date strings, UPPER, plain joins.

Values are always bound as parameters; only identifiers (checked here: our own constants
or names read from the catalog) and dates formatted from `date` objects are written into
the text.
"""

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
# A selected column: `Name`, `alias.Name` or `alias.*`, optionally `AS Name`.
COLUMN = re.compile(
    r"^(?:[A-Za-z_][A-Za-z0-9_]*\.)?(?:[A-Za-z_][A-Za-z0-9_]*|\*)"
    r"(?: AS [A-Za-z_][A-Za-z0-9_]*)?$"
)
QUALIFIED = re.compile(r"^(?:[A-Za-z_][A-Za-z0-9_]*\.)?[A-Za-z_][A-Za-z0-9_]*$")


def identifier(name: str) -> str:
    """A table, alias or column name, refused unless it is a plain Sage-style name."""
    if not IDENTIFIER.match(name):
        raise ValueError(f"Not a plain table or column name: {name!r}")
    return name


def qualified(name: str) -> str:
    """A column, bare or prefixed with its table's alias (`c.CustomerID`)."""
    if not QUALIFIED.match(name):
        raise ValueError(f"Not a plain column name: {name!r}")
    return name


def selected(name: str) -> str:
    """A column of a SELECT list: `Name`, `c.Name`, `c.*` or `e.EmployeeID AS SalesRepID`."""
    if not COLUMN.match(name):
        raise ValueError(f"Not a plain column to select: {name!r}")
    return name


@dataclass(frozen=True)
class Join:
    """A table left-joined to the query: its alias and the join condition, a text of
    qualified columns compared to each other or to literal numbers (never to values)."""

    table: str
    alias: str
    on: str


@dataclass(frozen=True)
class Dialect:
    name: str
    top: bool  # SELECT TOP n rather than LIMIT n
    escape_dates: bool  # {d 'YYYY-MM-DD'} rather than a plain string literal
    upper_function: str
    escape_outer_joins: bool  # {oj …} around the joined tables rather than plain SQL-92

    def date_literal(self, day: date) -> str:
        if not isinstance(day, date):
            raise TypeError("date_literal takes a date, never text")
        text = day.strftime("%Y-%m-%d")
        return f"{{d '{text}'}}" if self.escape_dates else f"'{text}'"

    def upper(self, column: str) -> str:
        return self.upper_function.format(qualified(column))

    def search_condition(
        self, column: str, kind: str, value: Any, contains: bool = False
    ) -> tuple[str, Any]:
        """A condition on `column` and its parameter: text (`kind` "string") compared
        without case or padding, `contains` matching part of it; other values as they are."""
        if kind != "string":
            return f"{column} = ?", value
        text = str(value).strip().upper()
        if contains:
            return f"{self.upper(column)} LIKE ?", f"%{text}%"
        return f"{self.upper(column)} = ?", text

    def tables(self, table: str, alias: str = "", joins: Sequence[Join] = ()) -> str:
        """The FROM clause's tables: `table alias` with each join as a LEFT OUTER JOIN."""
        first = f"{identifier(table)} {identifier(alias)}" if alias else identifier(table)
        if not joins:
            return first
        joined = " ".join(
            f"LEFT OUTER JOIN {identifier(join.table)} {identifier(join.alias)} ON {join.on}"
            for join in joins
        )
        text = f"{first} {joined}"
        return f"{{oj {text}}}" if self.escape_outer_joins else text

    def select(
        self,
        table: str,
        columns: Sequence[str] | None = None,
        where: Sequence[str] | None = None,
        order_by: Sequence[str] | None = None,
        limit: int | None = None,
        alias: str = "",
        joins: Sequence[Join] = (),
    ) -> str:
        """A SELECT with conditions joined by AND; conditions use `?` for their values."""
        names = ", ".join(selected(c) for c in columns) if columns else "*"
        top = f"TOP {int(limit)} " if limit is not None and self.top else ""
        sql = f"SELECT {top}{names} FROM {self.tables(table, alias, joins)}"
        if where:
            sql += " WHERE " + " AND ".join(where)
        if order_by:
            sql += " ORDER BY " + ", ".join(qualified(c) for c in order_by)
        if limit is not None and not self.top:
            sql += f" LIMIT {int(limit)}"
        return sql


DIALECTS: dict[str, Dialect] = {
    dialect.name: dialect
    for dialect in (
        Dialect("providex", True, True, "{{fn UCASE({})}}", escape_outer_joins=True),
        Dialect("mssql", True, True, "UPPER({})", escape_outer_joins=False),
        Dialect("pervasive", True, True, "{{fn UCASE({})}}", escape_outer_joins=True),
        Dialect("sqlite", False, False, "UPPER({})", escape_outer_joins=False),
    )
}
