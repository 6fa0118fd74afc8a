"""Sage 100: reads over ODBC (`client.OdbcReader`), writes through the Clarity agent beside
Sage (the bridge: `bridge_client.BridgeClient`), which drives the Business Object Interface.

Records are Sage's own rows (column names as in Sage, money as Decimal). Keys of several
columns are joined with "-" ("00-ACME" for division 00, customer ACME; "WID-100-000" for an
item in warehouse 000), cash receipts with "|" since their key holds a date.

The writes (`bridge_writes.Sage100BridgeWrites`) send what this half reads back: a create
naming the deal or the CRM record returns the record Sage already has for it. Table columns
come from the ODBC catalog (`connectors.odbc.catalog`); `schema` always reads them live.
"""

import zoneinfo
from collections.abc import Iterator
from datetime import date, datetime, tzinfo
from itertools import groupby
from typing import Any

from connectors.base import (
    Connector,
    FeedCursor,
    FieldInfo,
    Health,
    Record,
    RecordLink,
    record_link,
)
from connectors.errors import AuthError, ConnectorError, NotFound, Unsupported, ValidationError
from connectors.odbc.catalog import Catalog
from connectors.sage100.bridge_client import BridgeClient
from connectors.sage100.bridge_writes import Sage100BridgeWrites
from connectors.sage100.client import OdbcReader
from connectors.sage100.entities import (
    CHANGE_OVERLAP,
    ENTITIES,
    Entity,
    decimal_hours,
    label_of,
)
from connectors.sage100.erp import Sage100Erp


class Sage100Connector(Sage100BridgeWrites, Sage100Erp, Connector):
    system = "sage100"
    label = "Sage 100"

    def __init__(self, connection: Any) -> None:
        super().__init__(connection)
        odbc = self.settings.get("odbc_connection_string", "")
        self.reader = OdbcReader(
            odbc,
            self.settings.get("odbc_dialect", "providex"),
            self.secrets.get("odbc_password", ""),
        )
        self.catalog = Catalog(self.reader, connection, odbc)
        self.bridge = BridgeClient(
            self.settings.get("bridge_url", ""),
            self.secrets.get("bridge_key", ""),
            ca_bundle=self.settings.get("ca_bundle", ""),
            throttle_key=f"sage100-bridge-{connection.pk}",
        )
        zone = self.settings.get("time_zone")
        self.time_zone: tzinfo = (
            zoneinfo.ZoneInfo(zone) if zone else datetime.now().astimezone().tzinfo
        )

    @classmethod
    def record_links(
        cls, settings: dict[str, Any], entity_key: str, references: dict[str, Any]
    ) -> list[RecordLink]:
        order = references.get("sage_order_no")
        return record_link("Sage 100 order", settings.get("bridge_url", ""), "orders", order)

    # ------------------------------------------------------------ health

    def test(self) -> Health:
        """Both halves: ODBC (count the company's customers) and the bridge (its health)."""
        problems: list[str] = []
        needs_reauth = False
        details: dict[str, Any] = {}
        try:
            details["customers"] = int(self.reader.scalar("SELECT COUNT(*) FROM AR_Customer"))
        except ConnectorError as exc:
            said = exc.message
            problems.append(said if "ODBC" in said else f"Sage 100 ODBC read failed: {said}")
            needs_reauth = isinstance(exc, AuthError)
        try:
            details["bridge"] = self.bridge.health()
        except ConnectorError as exc:
            said = exc.message
            problems.append(said if "bridge" in said else f"The Sage 100 bridge failed: {said}")
            needs_reauth = needs_reauth or isinstance(exc, AuthError)
        if problems:
            return Health(ok=False, message=" ".join(problems), needs_reauth=needs_reauth)
        company = self.settings.get("company_code", "")
        backend = details["bridge"].get("backend", "BOI")
        return Health(
            ok=True,
            message=f"Connected to Sage 100 company {company}: ODBC reads "
            f"{details['customers']} customers and the bridge ({backend}) is ready for writes.",
            details=details,
        )

    # ------------------------------------------------------------ reads

    def entities(self) -> list[str]:
        return list(ENTITIES)

    def entity(self, name: str) -> Entity:
        try:
            return ENTITIES[name]
        except KeyError:
            raise NotFound(f"Sage 100 has no entity {name!r}.", system=self.system) from None

    def mapping_entity(self, name: str) -> tuple[str, str]:
        """Mappings name Sage 100's tables (AR_Customer), the connector its entities."""
        for entity, spec in ENTITIES.items():
            if name in (entity, spec.table):
                lines = self.mapping_entity(spec.lines)[0] if spec.lines else ""
                return entity, lines
        return name, ""

    def schema(self, entity: str) -> list[FieldInfo]:
        """Fields from the ODBC catalog, read now: `UDF_*` columns appear by themselves. Key
        parts Sage assigns on create (a new customer's number) are not required."""
        spec = self.entity(entity)
        return [
            FieldInfo(
                name=column.name,
                label=label_of(column.name),
                type=column.kind,
                length=column.size if column.kind == "string" else None,
                required=column.name in spec.key and column.name not in spec.assigned,
                custom=column.name.startswith("UDF_"),
            )
            for column in self.catalog.columns(spec.table)
        ]

    def parse_key(self, entity: str, key: str) -> dict[str, str]:
        spec = self.entity(entity)
        count, free = len(spec.key), spec.free_part % len(spec.key)
        head = key.split(spec.separator, free) if free else [key]
        tail = head.pop().rsplit(spec.separator, count - 1 - free)
        parts = head + tail
        if len(parts) != count or not all(parts):
            raise NotFound(
                f"{key!r} is not a Sage 100 {entity} key: expected "
                f"{spec.separator.join(spec.key)}.",
                system=self.system,
            )
        return dict(zip(spec.key, parts, strict=True))

    def key_of(self, entity: str, record: Record) -> str:
        spec = self.entity(entity)
        return spec.separator.join(str(record[column]) for column in spec.key)

    def get(self, entity: str, key: str) -> Record:
        """One record; a sales order no longer open is looked up in history."""
        spec = self.entity(entity)
        values = self.parse_key(entity, key)
        sql = self.reader.dialect.select(spec.table, where=[f"{c} = ?" for c in values])
        record = self.reader.one(sql, list(values.values()))
        if record is None and spec.history:
            try:
                return self.get(spec.history, key)
            except NotFound:
                record = None
        if record is None:
            raise NotFound(f"Sage 100 has no {entity} {key}.", system=self.system)
        return self._with_lines(spec, record)

    def _with_lines(self, spec: Entity, record: Record) -> Record:
        """A document header (order or invoice) with its detail lines, by its number."""
        if spec.lines:
            number = spec.key[0]  # SalesOrderNo or InvoiceNo
            record["lines"] = self.order_lines(record[number], spec.lines, number)
        return record

    def order_lines(
        self, number: str, table: str = "SO_SalesOrderDetail", column: str = "SalesOrderNo"
    ) -> list[Record]:
        sql = self.reader.dialect.select(table, where=[f"{column} = ?"], order_by=["LineKey"])
        return list(self.reader.rows(sql, [number]))

    def search(self, entity: str, limit: int = 100, **criteria: Any) -> list[Record]:
        """Rows equal to every criterion; text compared without case or padding.
        `Column__contains="text"` matches part of a text column."""
        spec = self.entity(entity)
        kinds = self.catalog.kinds(spec.table, (name.partition("__")[0] for name in criteria))
        where, params = [], []
        for name, value in criteria.items():
            column, _, operator = name.partition("__")
            if column not in kinds or operator not in ("", "contains"):
                raise ValidationError(
                    f"Sage 100 {entity} cannot be searched by {name}.", fields={name: "unknown"}
                )
            condition, param = self.reader.dialect.search_condition(
                column, kinds[column], value, contains=bool(operator)
            )
            where.append(condition)
            params.append(param)
        sql = self.reader.dialect.select(spec.table, where=where, limit=limit)
        return [self._with_lines(spec, row) for row in self.reader.rows(sql, params)]

    def customer_by_email(self, email: str) -> list[Record]:
        return self.search("customer", EmailAddress=email)

    def customers_by_name(self, name: str, exact: bool = False) -> list[Record]:
        return self.search(
            "customer", **{"CustomerName" if exact else "CustomerName__contains": name}
        )

    def stream(self, entity: str) -> Iterator[Record]:
        """Every row of an entity, streamed (headers without lines)."""
        spec = self.entity(entity)
        yield from self.reader.rows(self.reader.dialect.select(spec.table, order_by=list(spec.key)))

    def sample(self, entity: str, n: int = 5) -> list[Record]:
        spec = self.entity(entity)
        sql = self.reader.dialect.select(spec.table, limit=n)
        return [self._with_lines(spec, row) for row in self.reader.rows(sql)]

    # ------------------------------------------------------------ change feed

    def updated_at(self, record: Record) -> datetime:
        """When Sage last changed the record (DateUpdated + TimeUpdated), as an aware time."""
        moment = datetime.combine(record["DateUpdated"], decimal_hours(record["TimeUpdated"]))
        return moment.replace(tzinfo=self.time_zone)

    def change_mark(self, entity: str, record: Record) -> str:
        """The record's key and change stamp: the same change read twice has the same mark."""
        return f"{self.key_of(entity, record)}|{record['DateUpdated']}|{record['TimeUpdated']}"

    def marked_at(self, mark: str) -> datetime:
        """The moment a `change_mark` stands for."""
        _, day, hours = mark.rsplit("|", 2)  # a datetime column (SQL Server) adds a time
        moment = datetime.combine(date.fromisoformat(day[:10]), decimal_hours(hours))
        return moment.replace(tzinfo=self.time_zone)

    def changes(self, entity: str, since: datetime) -> Iterator[Record]:
        """Rows changed at or after `since`, oldest first. Remembers nothing: polling reads
        through `feed`, whose cursor says what was taken already."""
        spec = self._audited(entity)
        for row in self._changed_rows(spec, self._aware(since)):
            yield self._with_lines(spec, row)

    def feed(self, entity: str, cursor: FeedCursor) -> tuple[list[Record], FeedCursor]:
        """Rows changed since the cursor, oldest first, each change once, and the next cursor.

        Stamps count in 1/10000 hour and come from the clock of whichever workstation wrote
        the row, so the read starts `CHANGE_OVERLAP` before `cursor.since` (late writes,
        skewed clocks) and skips the changes the cursor marks as taken. The next cursor
        marks the changes within `CHANGE_OVERLAP` of the newest one: all the next read can
        meet again, and no more."""
        spec = self._audited(entity)
        since = self._aware(cursor.since)
        taken = {mark: self.marked_at(mark) for mark in cursor.seen}
        fresh: list[Record] = []
        for row in self._changed_rows(spec, since - CHANGE_OVERLAP):
            mark = self.change_mark(entity, row)
            if mark not in taken:
                taken[mark] = self.updated_at(row)
                fresh.append(self._with_lines(spec, row))
        newest = max([since, *taken.values()])
        seen = frozenset(mark for mark, at in taken.items() if at >= newest - CHANGE_OVERLAP)
        return fresh, FeedCursor(newest, seen)

    def _audited(self, entity: str) -> Entity:
        spec = self.entity(entity)
        if not spec.audited:
            raise Unsupported(f"Sage 100 {entity} has no DateUpdated to poll", system=self.system)
        return spec

    def _aware(self, moment: datetime) -> datetime:
        """A naive time is taken as Sage's own time zone."""
        return moment.replace(tzinfo=self.time_zone) if moment.tzinfo is None else moment

    def _changed_rows(self, spec: Entity, start: datetime) -> Iterator[Record]:
        """Headers changed at or after `start`, oldest first, streamed a day at a time: ODBC
        filters by DateUpdated, TimeUpdated is a decimal-hour string compared here."""
        local_start = start.astimezone(self.time_zone)
        where = [f"DateUpdated >= {self.reader.dialect.date_literal(local_start.date())}"]
        sql = self.reader.dialect.select(spec.table, where=where, order_by=["DateUpdated"])
        for _, day in groupby(self.reader.rows(sql), key=lambda row: row["DateUpdated"]):
            for row in sorted(day, key=self.updated_at):
                if self.updated_at(row) >= start:
                    yield row
