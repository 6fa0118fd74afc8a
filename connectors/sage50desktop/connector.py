"""Sage 50 US (desktop, ex-Peachtree): reads over ODBC (`client.Sage50Reader`, the
company's Pervasive / Actian Zen DSN), writes through the Clarity agent beside Sage 50
(`connectors.agent_client.AgentClient`), whose SDK backend saves through `Sage.Peachtree.API`.

Records are the company's own rows with Sage 50's column names, joined as Sage joins them
(on record numbers): a customer with its main bill-to address and sales rep, an item with
its GL accounts by AccountID, a sales invoice or order (JrnlHdr) with its CustomerID and
its item lines (JrnlRow), a cash receipt with the numbers of the invoices it pays. Keys are
the IDs people use: CustomerID, ItemID, AccountID, the invoice or order number (Reference),
and a receipt's PostOrder (its check number need not be unique).

Table columns come from the ODBC catalog (`connectors.odbc.catalog`); `schema` always
reads them live. What the feeds read: `feeds`.
"""

from collections.abc import Iterator
from typing import Any

from connectors.agent_client import AgentClient
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
from connectors.odbc.client import Column
from connectors.sage50desktop.client import LABEL, SYSTEM, Sage50Reader
from connectors.sage50desktop.entities import (
    ADDRESS_COLUMNS,
    AGENT_FIELDS,
    CUSTOM_FIELDS,
    CUSTOMER_READ_ONLY,
    ENTITIES,
    PAID_INVOICES,
    RECEIPTS,
    REQUIRED_CUSTOMER_FIELDS,
    Entity,
    label_of,
)
from connectors.sage50desktop.erp import Sage50DesktopErp
from connectors.sage50desktop.feeds import MASTERS, high_water, master_changes, receipts_cursor

SEARCH_LIMIT = 100
# Sage's phrases naming a field, for refusals the agent does not tie to one.
WORDS_TO_FIELD = {"Item ID": "ItemID", "Customer ID": "CustomerID", "GL account": "AccountID",
                  "accounting period": "Date"}  # fmt: skip


class Sage50DesktopConnector(Sage50DesktopErp, Connector):
    system = SYSTEM
    label = LABEL

    def __init__(self, connection: Any) -> None:
        super().__init__(connection)
        odbc = self.settings.get("odbc_connection_string", "")
        self.reader = Sage50Reader(
            odbc,
            self.settings.get("odbc_dialect", "pervasive"),
            self.secrets.get("odbc_password", ""),
        )
        self.catalog = Catalog(self.reader, connection, odbc)
        self.agent = AgentClient(
            SYSTEM,
            "Sage 50 agent",
            self.settings.get("agent_url", ""),
            self.secrets.get("agent_key", ""),
            ca_bundle=self.settings.get("ca_bundle", ""),
            throttle_key=f"sage50desktop-agent-{connection.pk}",
            product="Sage 50",
            words_to_field=WORDS_TO_FIELD,
        )

    @classmethod
    def record_links(
        cls, settings: dict[str, Any], entity_key: str, references: dict[str, Any]
    ) -> list[RecordLink]:
        """The order or invoice on the agent's pages (the sandbox has them)."""
        base = settings.get("agent_url", "")
        order, invoice = references.get("sage_order_no"), references.get("sage_invoice_number")
        return [
            *record_link("Sage 50 sales order", base, "sales-orders", order),
            *record_link("Sage 50 invoice", base, "invoices", invoice),
        ]

    # ------------------------------------------------------------ health

    def test(self) -> Health:
        """Both halves: ODBC (count the company's customers) and the agent (its health,
        on the same company)."""
        problems: list[str] = []
        needs_reauth = False
        details: dict[str, Any] = {}
        try:
            details["customers"] = int(self.reader.scalar("SELECT COUNT(*) FROM Customers"))
        except ConnectorError as exc:
            said = exc.message
            problems.append(said if "ODBC" in said else f"Sage 50 ODBC read failed: {said}")
            needs_reauth = isinstance(exc, AuthError)
        try:
            details["agent"] = self.agent.health()
        except ConnectorError as exc:
            said = exc.message
            problems.append(said if "agent" in said else f"The Sage 50 agent failed: {said}")
            needs_reauth = needs_reauth or isinstance(exc, AuthError)
        expected = self.settings.get("company_name", "")
        company = details.get("agent", {}).get("company") or expected
        if "agent" in details and expected and company.casefold() != expected.casefold():
            problems.append(
                f"The Sage 50 agent has the company “{company}” open, not “{expected}”: "
                "open the right company on the agent's machine or fix the company name."
            )
        if problems:
            return Health(ok=False, message=" ".join(problems), needs_reauth=needs_reauth)
        agent = details["agent"]
        return Health(
            ok=True,
            message=f"Connected to Sage 50 company {company}: ODBC reads "
            f"{details['customers']} customers and the agent ({agent.get('backend', 'SDK')}, "
            f"{agent.get('version', 'Sage 50')}) is ready for writes.",
            details=details,
        )

    # ------------------------------------------------------------ entities and schema

    def entities(self) -> list[str]:
        return list(ENTITIES)

    def entity(self, name: str) -> Entity:
        try:
            return ENTITIES[name]
        except KeyError:
            raise NotFound(f"Sage 50 has no entity {name!r}.", system=self.system) from None

    def mapping_entity(self, name: str) -> tuple[str, str]:
        """Mappings name the agent's documents (SalesInvoices, SalesOrders) and Sage's tables
        (Customers, LineItem); the connector its entities."""
        for names in self.entity_names.values():
            if name in (names.mapping, names.entity):
                return names.entity, names.lines
        return name, ENTITIES[name].lines if name in ENTITIES else ""

    def schema(self, entity: str) -> list[FieldInfo]:
        """Documents: the fields the agent takes (the SDK's names). Customers: what the
        agent writes, the Customers columns and the main Address's, from the catalog now;
        the custom fields marked custom. Other entities: their columns as read."""
        if entity in AGENT_FIELDS:
            return list(AGENT_FIELDS[entity])
        spec = self.entity(entity)
        if entity == "customer":
            return self.customer_schema()
        fields = [self.field(column) for column in self.catalog.columns(spec.table)]
        for selected in spec.columns:
            source, _, renamed = selected.partition(" AS ")
            table, column = spec.joined_table(source), source.partition(".")[2]
            [found] = [c for c in self.catalog.columns(table, refresh=False) if c.name == column]
            fields.append(self.field(found, renamed or column))
        if entity == "cash_receipt":
            fields.append(FieldInfo("InvoiceNumber", "Invoice paid", "string", length=20))
        return fields

    def customer_schema(self) -> list[FieldInfo]:
        column = self.reference_field
        labels = {column: f"Custom field {column[-1]} (the CRM id)"}
        customers = [
            c for c in self.catalog.columns("Customers") if c.name not in CUSTOMER_READ_ONLY
        ]
        address = [c for c in self.catalog.columns("Address") if c.name in ADDRESS_COLUMNS]
        return [self.field(c, labels=labels) for c in [*customers, *address]]

    def field(self, column: Column, name: str = "", labels: dict[str, str] | None = None):
        name = name or column.name
        return FieldInfo(
            name=name,
            label=label_of(name, labels or {}),
            type=column.kind,
            length=column.size if column.kind == "string" else None,
            required=name in REQUIRED_CUSTOMER_FIELDS,
            custom=name in CUSTOM_FIELDS,
        )

    # ------------------------------------------------------------ reads

    def records(
        self,
        spec: Entity,
        where: list[str],
        params: list[Any],
        limit: int | None = None,
        with_lines: bool = True,
        order_by: list[str] | None = None,
    ) -> Iterator[Record]:
        """The entity's records, streamed: `alias.*` and its joined columns, limited to its
        journal; documents with their lines, receipts with the invoices they pay."""
        sql = self.reader.dialect.select(
            spec.table,
            columns=[f"{spec.alias}.*", *spec.columns],
            where=[*spec.where, *where],
            order_by=order_by or [spec.qualified(spec.key)],
            limit=limit,
            alias=spec.alias,
            joins=spec.joins,
        )
        for record in self.reader.rows(sql, params):
            if spec.lines and with_lines:
                record["lines"] = list(self.rows_of(ENTITIES[spec.lines], record["PostOrder"]))
            if spec.pays_invoices:
                links = self.rows_of(PAID_INVOICES, record["PostOrder"])
                paid = [row["InvoiceNumber"] for row in links if row["InvoiceNumber"]]
                record["InvoiceNumbers"] = paid
                record["InvoiceNumber"] = paid[0] if paid else ""
            yield record

    def rows_of(self, spec: Entity, post_order: int) -> Iterator[Record]:
        """A transaction's rows (lines, or a receipt's links), in row order."""
        return self.records(spec, ["r.PostOrder = ?"], [post_order], order_by=["r.RowNumber"])

    def get(self, entity: str, key: str) -> Record:
        spec = self.entity(entity)
        value: Any = key
        if spec.integer_key:
            if not str(key).isdigit():
                raise NotFound(f"{key!r} is not a Sage 50 {entity} key.", system=self.system)
            value = int(key)
        found = next(self.records(spec, [f"{spec.qualified(spec.key)} = ?"], [value]), None)
        if found is None:
            raise NotFound(f"Sage 50 has no {entity} {key}.", system=self.system)
        return found

    def search(
        self, entity: str, limit: int | None = SEARCH_LIMIT, with_lines: bool = True, **criteria
    ) -> list[Record]:
        """Records equal to every criterion (a field of the record, joined ones included);
        text compared without case or padding."""
        spec = self.entity(entity)
        where, params = [], []
        for name, value in criteria.items():
            column = spec.qualified(name)
            kind = self.kind_of(spec, column, name)
            condition, param = self.reader.dialect.search_condition(column, kind, value)
            where.append(condition)
            params.append(param)
        return list(self.records(spec, where, params, limit, with_lines))

    def kind_of(self, spec: Entity, column: str, name: str) -> str:
        table, bare = spec.joined_table(column), column.partition(".")[2]
        kinds = self.catalog.kinds(table, [bare])
        if bare not in kinds:
            raise ValidationError(
                f"Sage 50 {spec.table} cannot be searched by {name}.", fields={name: "unknown"}
            )
        return kinds[bare]

    def stream(self, entity: str) -> Iterator[Record]:
        """Every record of an entity, streamed in key order (documents without lines)."""
        return self.records(self.entity(entity), [], [], with_lines=False)

    def sample(self, entity: str, n: int = 5) -> list[Record]:
        return list(self.records(self.entity(entity), [], [], limit=n))

    # ------------------------------------------------------------ change feeds

    def feed(self, entity: str, cursor: FeedCursor) -> tuple[list[Record], FeedCursor]:
        """The records changed since the cursor, each change once, and the next cursor
        (how each feed tells its changes: `feeds`)."""
        if entity == "cash_receipt":
            return self.new_receipts(cursor)
        if entity in MASTERS:
            return master_changes(entity, self.stream(entity), cursor)
        raise Unsupported(f"Sage 50 has no change feed for {entity}.", system=self.system)

    def new_receipts(self, cursor: FeedCursor) -> tuple[list[Record], FeedCursor]:
        """Receipts past the cursor's PostOrder; on a first read, those dated on or after
        its day, up to the newest PostOrder now."""
        spec, taken = self.entity("cash_receipt"), high_water(cursor.seen)
        if taken is None:
            newest = self.reader.scalar(
                f"SELECT MAX(PostOrder) FROM JrnlHdr WHERE JrnlKey_Journal = {RECEIPTS}"
            )
            taken = int(newest or 0)
            day = self.reader.dialect.date_literal(cursor.since.date())
            where, params = [f"h.TransactionDate >= {day}", "h.PostOrder <= ?"], [taken]
        else:
            where, params = ["h.PostOrder > ?"], [taken]
        records = list(self.records(spec, where, params, order_by=["h.PostOrder"]))
        taken = max([taken, *(int(record["PostOrder"]) for record in records)])
        return records, receipts_cursor(cursor, taken, records)
