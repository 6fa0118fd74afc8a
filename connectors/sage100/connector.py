"""Sage 100: reads over ODBC (`client.OdbcReader`), writes through the bridge beside Sage
(`bridge_client.BridgeClient`), which drives the Business Object Interface.

Records are Sage's own rows (column names as in Sage, money as Decimal). Keys of several
columns are joined with "-" ("00-ACME" for division 00, customer ACME; "WID-100-000" for an
item in warehouse 000), cash receipts with "|" since their key holds a date.
"""

import zoneinfo
from collections.abc import Iterator
from datetime import date, datetime, tzinfo
from decimal import Decimal, InvalidOperation
from typing import Any

from django.db import transaction

from connectors.base import Connector, FieldInfo, Health, Record
from connectors.errors import AuthError, ConnectorError, NotFound, ValidationError
from connectors.sage100.bridge_client import BridgeClient
from connectors.sage100.client import Column, OdbcReader
from connectors.sage100.entities import (
    CHANGE_OVERLAP,
    ENTITIES,
    SEEN_SETTING,
    Entity,
    decimal_hours,
    label_of,
    number,
)


class SystemConnector(Connector):
    system = "sage100"
    label = "Sage 100"

    def __init__(self, connection: Any) -> None:
        super().__init__(connection)
        self.reader = OdbcReader(
            self.settings.get("odbc_connection_string", ""),
            self.settings.get("odbc_dialect", "providex"),
            self.secrets.get("odbc_password", ""),
        )
        self.bridge = BridgeClient(
            self.settings.get("bridge_url", ""),
            self.secrets.get("bridge_key", ""),
            throttle_key=f"sage100-bridge-{connection.pk}",
        )
        zone = self.settings.get("time_zone")
        self.time_zone: tzinfo = (
            zoneinfo.ZoneInfo(zone) if zone else datetime.now().astimezone().tzinfo
        )
        self._columns: dict[str, list[Column]] = {}

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
            raise NotFound(f"Sage 100 has no entity {name!r}.", system=self.label) from None

    def columns(self, table: str, refresh: bool = True) -> list[Column]:
        if refresh or table not in self._columns:
            self._columns[table] = self.reader.columns(table)
        return self._columns[table]

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
            for column in self.columns(spec.table)
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
                system=self.label,
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
            raise NotFound(f"Sage 100 has no {entity} {key}.", system=self.label)
        return self._with_lines(spec, record)

    def _with_lines(self, spec: Entity, record: Record) -> Record:
        if spec.lines:
            record["lines"] = self.order_lines(record["SalesOrderNo"], spec.lines)
        return record

    def order_lines(self, sales_order_no: str, table: str = "SO_SalesOrderDetail") -> list[Record]:
        sql = self.reader.dialect.select(table, where=["SalesOrderNo = ?"], order_by=["LineKey"])
        return list(self.reader.rows(sql, [sales_order_no]))

    def search(self, entity: str, limit: int = 100, **criteria: Any) -> list[Record]:
        """Rows equal to every criterion; text compared without case or padding.
        `Column__contains="text"` matches part of a text column."""
        spec = self.entity(entity)
        kinds = {column.name: column.kind for column in self.columns(spec.table)}
        where, params = [], []
        for name, value in criteria.items():
            column, _, operator = name.partition("__")
            if column not in kinds or operator not in ("", "contains"):
                raise ValidationError(
                    f"Sage 100 {entity} cannot be searched by {name}.", fields={name: "unknown"}
                )
            if kinds[column] == "string":
                text = str(value).strip().upper()
                where.append(f"{self.reader.dialect.upper(column)} {'LIKE' if operator else '='} ?")
                params.append(f"%{text}%" if operator else text)
            else:
                where.append(f"{column} = ?")
                params.append(value)
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

    def changes(self, entity: str, since: datetime) -> Iterator[Record]:
        """Rows changed since `since`, oldest first. Reads `CHANGE_OVERLAP` further back and
        yields each (key, DateUpdated, TimeUpdated) once, remembered on the connection."""
        spec = self.entity(entity)
        if not spec.audited:
            raise NotImplementedError(f"Sage 100 {entity} has no DateUpdated to poll")
        since = since.replace(tzinfo=self.time_zone) if since.tzinfo is None else since
        start = since - CHANGE_OVERLAP
        stored: dict[str, str] = self.settings.get(SEEN_SETTING, {}).get(entity, {})
        seen = dict(stored)
        local_start = start.astimezone(self.time_zone)
        where = [f"DateUpdated >= {self.reader.dialect.date_literal(local_start.date())}"]
        sql = self.reader.dialect.select(spec.table, where=where, order_by=["DateUpdated"])
        try:
            day: list[Record] = []
            for row in self.reader.rows(sql):
                if day and row["DateUpdated"] != day[0]["DateUpdated"]:
                    yield from self._fresh(entity, spec, day, start, seen)
                    day = []
                day.append(row)
            yield from self._fresh(entity, spec, day, start, seen)
        finally:
            if seen:  # the next poll re-reads from its `since` minus the overlap at most
                newest = max(datetime.fromisoformat(moment) for moment in seen.values())
                seen = {
                    mark: moment
                    for mark, moment in seen.items()
                    if datetime.fromisoformat(moment) >= newest - CHANGE_OVERLAP
                }
            if seen != stored:
                self._remember(entity, seen)

    def _fresh(
        self, entity: str, spec: Entity, day: list[Record], start: datetime, seen: dict[str, str]
    ) -> Iterator[Record]:
        """One day's rows in time order, without those older than `start` or seen before."""
        for row in sorted(day, key=self.updated_at):
            moment = self.updated_at(row)
            mark = f"{self.key_of(entity, row)}|{row['DateUpdated']}|{row['TimeUpdated']}"
            if moment < start or mark in seen:
                continue
            seen[mark] = moment.isoformat()
            yield self._with_lines(spec, row)

    def _remember(self, entity: str, seen: dict[str, str]) -> None:
        """Store what was yielded on the connection (row-locked), for the next poll."""
        connection = self.connection
        if connection.pk is None:
            return
        with transaction.atomic():
            fresh = type(connection).objects.select_for_update().get(pk=connection.pk)
            settings = dict(fresh.settings or {})
            settings[SEEN_SETTING] = {**settings.get(SEEN_SETTING, {}), entity: seen}
            fresh.settings = settings
            fresh.save(update_fields=["settings", "updated_at"])
        connection.settings = settings
        self.settings = settings

    # ------------------------------------------------------------ writes (through the bridge)

    def typed(self, table: str, values: Record) -> Record:
        """Values typed as the catalog says (numbers as Decimal, dates as ISO text), so the
        BOI backend sets numeric columns as numbers and text columns as text."""
        kinds = {column.name: column.kind for column in self.columns(table, refresh=False)}
        typed: Record = {}
        for name, value in values.items():
            kind = kinds.get(name)
            try:
                if value is None or kind is None:
                    typed[name] = value
                elif kind in ("number", "integer"):
                    typed[name] = Decimal(str(value))
                elif kind == "date":
                    typed[name] = value if isinstance(value, date) else date.fromisoformat(value)
                else:
                    typed[name] = str(value)
            except (InvalidOperation, ValueError, TypeError):
                raise ValidationError(
                    f"Sage 100 {table}.{name} needs a {kind}, not {value!r}.",
                    fields={name: f"expected a {kind}"},
                    system=self.label,
                ) from None
        return typed

    def from_bridge(self, table: str, record: Record) -> Record:
        """A bridge reply in the shape ODBC reads have: Decimal money, date dates."""
        kinds = {column.name: column.kind for column in self.columns(table, refresh=False)}
        shaped: Record = {}
        for name, value in record.items():
            kind = kinds.get(name)
            if kind in ("number", "integer") and isinstance(value, str | int | float):
                value = Decimal(str(value)) if kind == "number" else int(value)
            elif kind == "date" and isinstance(value, str):
                value = date.fromisoformat(value) if value else None
            shaped[name] = value
        return shaped

    def create(self, entity: str, data: Record, idempotency_key: str) -> Record:
        if entity == "customer":
            reply = self.bridge.create_customer(
                self.typed("AR_Customer", data), f"{idempotency_key}:customer"
            )
            return self.from_bridge("AR_Customer", reply)
        if entity == "sales_order":
            return self.create_sales_order(data, idempotency_key)
        if entity == "cash_receipt":
            return self.post_cash_receipt(data, idempotency_key)
        raise NotImplementedError(f"Sage 100 cannot create {entity} through the bridge")

    def update(self, entity: str, key: str, data: Record, idempotency_key: str) -> Record:
        values = self.parse_key(entity, key)
        if entity == "customer":
            reply = self.bridge.update_customer(
                values["ARDivisionNo"],
                values["CustomerNo"],
                self.typed("AR_Customer", data),
                f"{idempotency_key}:customer",
            )
            return self.from_bridge("AR_Customer", reply)
        if entity == "sales_order" and set(data) == {"OrderStatus"}:
            return self.set_order_status(values["SalesOrderNo"], data["OrderStatus"],
                                         idempotency_key)  # fmt: skip
        if entity == "stock" and set(data) == {"QuantityOnHand"}:
            return self.set_stock(values["ItemCode"], values["WarehouseCode"],
                                  data["QuantityOnHand"], idempotency_key)  # fmt: skip
        raise NotImplementedError(
            f"Sage 100 can update customers, a sales order's OrderStatus and stock's "
            f"QuantityOnHand, not {entity} {sorted(data)}"
        )

    def next_sales_order_number(self, idempotency_key: str) -> str:
        """Reserve the next sales order number (SO_SalesOrder_bus.nGetNextSalesOrderNo)."""
        return self.bridge.next_sales_order_number(f"{idempotency_key}:next-order-number")

    def create_sales_order(self, data: Record, idempotency_key: str) -> Record:
        """Header and `lines` written together by BOI, or nothing (ValidationError)."""
        header = dict(data)
        lines = header.pop("lines", None) or []
        reply = self.bridge.create_sales_order(
            self.typed("SO_SalesOrderHeader", header),
            [self.typed("SO_SalesOrderDetail", line) for line in lines],
            f"{idempotency_key}:sales-order",
        )
        order = self.from_bridge("SO_SalesOrderHeader", reply)
        order["lines"] = [
            self.from_bridge("SO_SalesOrderDetail", line) for line in reply.get("lines", [])
        ]
        return order

    def set_order_status(self, sales_order_no: str, status: str, idempotency_key: str) -> Record:
        """N, O or H keep the order open; C completes (invoices) and X deletes it."""
        reply = self.bridge.set_order_status(
            sales_order_no, status, f"{idempotency_key}:order-status"
        )
        order = self.from_bridge("SO_SalesOrderHeader", reply)
        order["lines"] = [
            self.from_bridge("SO_SalesOrderDetail", line) for line in reply.get("lines", [])
        ]
        return order

    def post_cash_receipt(self, data: Record, idempotency_key: str) -> Record:
        """A payment applied to one open invoice: ARDivisionNo, CustomerNo, InvoiceNo,
        Amount, CheckNo (and optionally DepositDate, PaymentType)."""
        values = {**data, "Amount": number(data.get("Amount"), "Amount")}
        reply = self.bridge.post_cash_receipt(values, f"{idempotency_key}:cash-receipt")
        return self.from_bridge("AR_CashReceiptsHistory", reply)

    def set_stock(
        self, item_code: str, warehouse_code: str, quantity_on_hand: Any, idempotency_key: str
    ) -> Record:
        reply = self.bridge.set_stock(
            item_code,
            warehouse_code,
            number(quantity_on_hand, "QuantityOnHand"),
            f"{idempotency_key}:stock",
        )
        return self.from_bridge("IM_ItemWarehouse", reply)
