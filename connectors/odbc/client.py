"""Read an on-premises Sage company over ODBC: the connection string, streaming reads, the
catalog, and ODBC errors turned into the connector error classes, in words naming the
product (`OdbcProduct`).

Sage's ODBC drivers are read-only in practice; writes go through the Clarity agent.
Connections use autocommit, or some drivers (SQLite's, ProvideX with caching) keep showing
the data of the first read. Rows come back as dicts with trailing spaces stripped (ProvideX
and Pervasive pad text) and floats turned into Decimal (money must not be float).
"""

import re
from collections.abc import Iterator
from contextlib import suppress
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import pyodbc

from clarity.cpu_turns import waiting_on_a_system
from connectors import metering
from connectors.errors import AuthError, ConnectorError, NotFound, TransientError
from connectors.odbc.connection_string import UnsafeConnectionString, check_connection_string
from connectors.odbc.dialects import DIALECTS, Dialect, identifier

FETCH_SIZE = 1000  # rows per fetchmany: large reads stream, never a whole table in memory
LOGIN_TIMEOUT_SECONDS = 15
QUERY_TIMEOUT_SECONDS = 120
# Fast reads that never wait on records open in Sage, and unpadded text: the options the
# reference recommends for the ProvideX driver, unless the connection string sets them.
# The SQLite3 driver (sandboxes) reads a whole result into memory unless told to step.
DIALECT_OPTIONS = {
    "providex": {"DirtyReads": "1", "BurstMode": "1", "StripTrailingSpaces": "1"},
    "sqlite": {"StepAPI": "1"},
}

DRIVER_MISSING_STATES = {"IM002", "IM003", "IM014"}
TRANSIENT_STATES = {"HYT00", "HYT01", "08S01", "08001", "08004", "08007", "40001", "HY117"}
AUTH_STATES = {"28000", "28P01"}
TRANSIENT_WORDS = ("timeout", "timed out", "locked", "busy", "deadlock", "communication link")
AUTH_WORDS = ("password", "login failed", "logon failed", "invalid user", "not authorized")

TEXT_TYPES = {1, 12, -1, -8, -9, -10}  # CHAR, VARCHAR, LONGVARCHAR and the wide ones
NUMBER_TYPES = {2, 3, 6, 7, 8}  # NUMERIC, DECIMAL, FLOAT, REAL, DOUBLE
INTEGER_TYPES = {4, 5, -5, -6}
DATE_TYPES = {91, 9}
DECLARED_NUMBER = re.compile(r"^\s*(DECIMAL|NUMERIC)\b", re.I)
DATETIME_TYPES = {93, 11}


@dataclass(frozen=True)
class OdbcProduct:
    """The Sage product a reader reads, for its errors: the registry key they carry and
    the words that tell a person what to install or fix."""

    system: str
    label: str
    driver_fix: str  # what to install when the driver is missing
    logon_fix: str  # what to check when the logon is refused
    auth_words: tuple[str, ...] = ()  # the driver's own marks of a refused logon


class DriverNotFound(ConnectorError):
    """The ODBC driver or DSN named in the connection string is not installed here."""


@dataclass(frozen=True)
class Column:
    """One column as the ODBC catalog describes it."""

    name: str
    sql_type: int
    type_name: str
    size: int | None
    scale: int | None

    @property
    def kind(self) -> str:
        """What the column holds. A DECIMAL the driver reports as text (SQLite's does) is
        a number all the same: its declared type says so."""
        if self.sql_type in DATE_TYPES:
            return "date"
        if self.sql_type in DATETIME_TYPES:
            return "datetime"
        if self.sql_type in INTEGER_TYPES:
            return "integer"
        if self.sql_type in NUMBER_TYPES or DECLARED_NUMBER.match(self.type_name):
            return "number"
        if self.sql_type == -7:
            return "boolean"
        return "string"


def build_connection_string(base: str, dialect: str, password: str = "") -> str:
    """The stored string (never holding the password) plus PWD and the dialect's options."""
    parts = [part for part in base.strip().split(";") if part.strip()]
    present = {part.split("=", 1)[0].strip().upper() for part in parts}
    options = DIALECT_OPTIONS.get(dialect, {})
    parts += [f"{k}={v}" for k, v in options.items() if k.upper() not in present]
    if password and "PWD" not in present:
        parts.append("PWD={" + password.replace("}", "}}") + "}")
    return ";".join(parts)


def driver_named_in(connection_string: str) -> str:
    match = re.search(r"(?:^|;)\s*(DRIVER|DSN)\s*=\s*(\{[^}]*\}|[^;]*)", connection_string, re.I)
    if not match:
        return "the driver"
    return f"{match.group(1).upper()}={match.group(2).strip()}"


def odbc_error(
    exc: pyodbc.Error, product: OdbcProduct, connection_string: str = ""
) -> ConnectorError:
    """Classify an ODBC error once, keeping the driver's own words as `detail`."""
    state = str(exc.args[0]) if exc.args else ""
    detail = str(exc.args[1]) if len(exc.args) > 1 else str(exc)
    lowered = detail.lower()
    label = product.label
    kwargs: dict[str, Any] = {"system": product.system, "detail": detail}
    if (
        state in DRIVER_MISSING_STATES
        or "can't open lib" in lowered
        or "data source name not found" in lowered
        or "architecture mismatch" in lowered
    ):
        named = driver_named_in(connection_string)
        return DriverNotFound(
            f"{label} ODBC driver not found: {product.driver_fix} (or fix {named} in the "
            "connection string).",
            **kwargs,
        )
    refused = (*AUTH_WORDS, *product.auth_words)
    if state in AUTH_STATES or any(word in lowered for word in refused):
        return AuthError(
            f"{label} refused the ODBC logon: {product.logon_fix} ({detail}).", **kwargs
        )
    if state in TRANSIENT_STATES or any(word in lowered for word in TRANSIENT_WORDS):
        return TransientError(
            f"{label} ODBC read failed for now (timeout, lock or lost link): {detail}", **kwargs
        )
    return ConnectorError(f"{label} ODBC read failed: {detail}", **kwargs)


def plain(value: Any) -> Any:
    """Driver values as the connector hands them on: text unpadded, money as Decimal."""
    if isinstance(value, str):
        return value.rstrip()
    if isinstance(value, float):
        return Decimal(repr(value))
    return value


def declared_scale(type_name: str, decimal_digits: int | None) -> int | None:
    """Digits after the point: from `NUMERIC(13,2)` when the type says, else the catalog's."""
    match = re.search(r"\(\s*\d+\s*,\s*(\d+)\s*\)", type_name)
    return int(match.group(1)) if match else decimal_digits


class OdbcReader:
    """One ODBC connection to one Sage company, opened on first use."""

    def __init__(
        self,
        product: OdbcProduct,
        connection_string: str,
        dialect: str,
        password: str = "",
        fetch_size: int = FETCH_SIZE,
    ) -> None:
        if dialect not in DIALECTS:
            raise ValueError(f"Unknown {product.label} SQL dialect {dialect!r}")
        self.product = product
        self.dialect_name = dialect
        self.dialect: Dialect = DIALECTS[dialect]
        self.safe_connection_string = connection_string  # without the password, for messages
        self._connection_string = build_connection_string(connection_string, dialect, password)
        self.fetch_size = fetch_size
        self._connection: pyodbc.Connection | None = None

    def error(self, exc: pyodbc.Error) -> ConnectorError:
        return odbc_error(exc, self.product, self.safe_connection_string)

    def connect(self) -> pyodbc.Connection:
        if self._connection is None:
            self.check_connection_string()
            try:
                with waiting_on_a_system():
                    connection = pyodbc.connect(
                        self._connection_string, autocommit=True, timeout=LOGIN_TIMEOUT_SECONDS
                    )
                connection.timeout = QUERY_TIMEOUT_SECONDS
            except pyodbc.Error as exc:
                error = self.error(exc)
                metering.count(self.product.system, error)  # a failed logon is a failed call
                raise error from None
            self._connection = connection
        return self._connection

    def check_connection_string(self) -> None:
        """The stored string says only what the dialect's driver may be told (a string
        saved before the forms checked it is refused here, before the driver reads it)."""
        try:
            check_connection_string(self.safe_connection_string, self.dialect_name)
        except UnsafeConnectionString as exc:
            raise ConnectorError(
                f"{self.product.label}'s ODBC connection string is refused: {exc} Correct it "
                "on the connection.",
                system=self.product.system,
            ) from None

    def close(self) -> None:
        if self._connection is not None:
            with suppress(pyodbc.Error):  # already gone: nothing left to release
                self._connection.close()
            self._connection = None

    def _cursor(self) -> pyodbc.Cursor:
        try:
            return self.connect().cursor()
        except pyodbc.Error as exc:
            self.close()
            raise self.error(exc) from None

    def _fail(self, exc: pyodbc.Error) -> ConnectorError:
        """Classify, and drop the connection when the link itself may be broken."""
        error = self.error(exc)
        if isinstance(error, TransientError):
            self.close()
        return error

    def _execute(self, cursor: pyodbc.Cursor, sql: str, params: tuple | list) -> pyodbc.Cursor:
        """Run one query, counted by its outcome (`connectors.metering`)."""
        try:
            with waiting_on_a_system():  # the ERP's server answers: another run may work
                cursor.execute(sql, *params)
        except pyodbc.Error as exc:
            metering.count(self.product.system, self.error(exc))
            raise
        metering.count(self.product.system)
        return cursor

    def rows(self, sql: str, params: tuple | list = ()) -> Iterator[dict[str, Any]]:
        """Stream the rows of one SELECT, `fetch_size` at a time."""
        cursor = self._cursor()
        try:
            self._execute(cursor, sql, params)
            names = [column[0] for column in cursor.description]
            while True:
                batch = cursor.fetchmany(self.fetch_size)
                if not batch:
                    return
                for row in batch:
                    yield {name: plain(value) for name, value in zip(names, row, strict=True)}
        except pyodbc.Error as exc:
            raise self._fail(exc) from None
        finally:
            cursor.close()

    def one(self, sql: str, params: tuple | list = ()) -> dict[str, Any] | None:
        return next(iter(self.rows(sql, params)), None)

    def scalar(self, sql: str, params: tuple | list = ()) -> Any:
        cursor = self._cursor()
        try:
            found = self._execute(cursor, sql, params).fetchone()
        except pyodbc.Error as exc:
            raise self._fail(exc) from None
        finally:
            cursor.close()
        return plain(found[0]) if found else None

    def columns(self, table: str) -> list[Column]:
        """The table's columns from the ODBC catalog, as they are now (a column added to the
        company shows up on the next call)."""
        cursor = self._cursor()
        try:
            found = [
                Column(
                    name=row.column_name,
                    sql_type=row.data_type,
                    type_name=row.type_name or "",
                    size=row.column_size,
                    scale=declared_scale(row.type_name or "", row.decimal_digits),
                )
                for row in cursor.columns(table=identifier(table))
            ]
        except pyodbc.Error as exc:
            raise self._fail(exc) from None
        finally:
            cursor.close()
        if not found:
            raise NotFound(
                f"{self.product.label} has no table {table} (or the ODBC user cannot see it).",
                system=self.product.system,
            )
        return found
