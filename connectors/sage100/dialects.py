"""The bits of SQL that differ between Sage 100's ODBC routes.

ProvideX (Standard/Advanced) wants `SELECT TOP n`, ODBC date escapes and `{fn UCASE()}`;
SQL Server (Premium) takes TOP and the same escapes; the sandbox's SQLite wants LIMIT.
Values are always bound as parameters; only identifiers (checked against the catalog or
our own constants) and dates formatted from `date` objects are written into the text.
"""

import re
from dataclasses import dataclass
from datetime import date

IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def identifier(name: str) -> str:
    """A table or column name, refused unless it is a plain Sage-style name."""
    if not IDENTIFIER.match(name):
        raise ValueError(f"Not a Sage 100 table or column name: {name!r}")
    return name


@dataclass(frozen=True)
class Dialect:
    name: str
    top: bool  # SELECT TOP n (ProvideX, SQL Server) rather than LIMIT n
    escape_dates: bool  # {d 'YYYY-MM-DD'} rather than a plain string literal
    upper_function: str

    def date_literal(self, day: date) -> str:
        if not isinstance(day, date):
            raise TypeError("date_literal takes a date, never text")
        text = day.strftime("%Y-%m-%d")
        return f"{{d '{text}'}}" if self.escape_dates else f"'{text}'"

    def upper(self, column: str) -> str:
        return self.upper_function.format(identifier(column))

    def select(
        self,
        table: str,
        columns: list[str] | None = None,
        where: list[str] | None = None,
        order_by: list[str] | None = None,
        limit: int | None = None,
    ) -> str:
        """A SELECT with conditions joined by AND; conditions use `?` for their values."""
        names = ", ".join(identifier(c) for c in columns) if columns else "*"
        top = f"TOP {int(limit)} " if limit is not None and self.top else ""
        sql = f"SELECT {top}{names} FROM {identifier(table)}"
        if where:
            sql += " WHERE " + " AND ".join(where)
        if order_by:
            sql += " ORDER BY " + ", ".join(identifier(c) for c in order_by)
        if limit is not None and not self.top:
            sql += f" LIMIT {int(limit)}"
        return sql


DIALECTS: dict[str, Dialect] = {
    "providex": Dialect("providex", top=True, escape_dates=True, upper_function="{{fn UCASE({})}}"),
    "mssql": Dialect("mssql", top=True, escape_dates=True, upper_function="UPPER({})"),
    "sqlite": Dialect("sqlite", top=False, escape_dates=False, upper_function="UPPER({})"),
}
