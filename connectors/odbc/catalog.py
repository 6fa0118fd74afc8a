"""A Sage company's table columns as its ODBC catalog describes them, kept a while: reads
and searches need each column's kind on every call, so the catalog is not asked each
time. Saved connections share the process's cache for COLUMNS_TTL_SECONDS (a column
added in Sage shows up after that, or at once where a caller reads afresh); an unsaved one
(a connection being tested) keeps its own.
"""

import time
from collections.abc import Iterable
from typing import Any

from connectors.odbc.client import Column, OdbcReader

COLUMNS_TTL_SECONDS = 300.0
# (connection id, its creation time, ODBC connection string, table) -> (expires at, columns)
COLUMNS: dict[tuple[Any, ...], tuple[float, list[Column]]] = {}


class Catalog:
    """The columns of one connection's company, read through its reader."""

    def __init__(self, reader: OdbcReader, connection: Any, connection_string: str) -> None:
        self.reader = reader
        self._columns = COLUMNS if connection.pk else {}
        self._scope = (connection.pk, str(connection.created_at), connection_string)

    def columns(self, table: str, refresh: bool = True) -> list[Column]:
        """The table's columns from the ODBC catalog: read now, or (`refresh=False`) as read
        by this process within COLUMNS_TTL_SECONDS."""
        key = (*self._scope, table)
        cached = self._columns.get(key)
        if refresh or cached is None or cached[0] < time.monotonic():
            cached = (time.monotonic() + COLUMNS_TTL_SECONDS, self.reader.columns(table))
            self._columns[key] = cached
        return cached[1]

    def kinds(self, table: str, needed: Iterable[str] = ()) -> dict[str, str]:
        """Each column's kind (`Column.kind`) by name, as read before unless a `needed` name
        is missing (a column added since: read now)."""
        kinds = {column.name: column.kind for column in self.columns(table, refresh=False)}
        if any(name not in kinds for name in needed):
            kinds = {column.name: column.kind for column in self.columns(table)}
        return kinds
