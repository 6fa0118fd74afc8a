"""Sage 50 US (desktop) in the ERP role: customers found over ODBC and made through the
Clarity agent, deals become sales orders or sales invoices (the agent's SDK backend posts
them to the journals), and cash receipts, customers and stock flow back (see `feeds`).

Never two of anything for one CRM record: a customer create names the CRM id in the
customer's reference column (`customers`), a document create names the deal in InternalNote,
and the agent answers with the record Sage already holds for it, in the same write, instead
of making a second one.

One currency per company (Sage 50 US has no multi-currency): the flows convert a deal in
another currency before, and an invoice carrying an exchange rate is refused. Items are
looked up live, never remembered: an item made in Sage passes at the next retry.
"""

from datetime import date
from decimal import Decimal
from typing import Any

from connectors.base import Record
from connectors.erp_role import ErpRole
from connectors.errors import NotFound, ValidationError
from connectors.records import (
    DocumentLine,
    DocumentMade,
    DocumentSeen,
    ItemRef,
    OpenInvoice,
    PaymentRead,
    Person,
    StockRead,
)
from connectors.roles import (
    CREDIT,
    CUSTOMER_LIST,
    CUSTOMER_SYNC,
    CUSTOMERS,
    INVOICES,
    ITEM_LIST,
    PAYMENTS,
    SALES_ORDERS,
    STOCK,
    Change,
    EntityNames,
    Feed,
)
from connectors.sage50desktop import people
from connectors.sage50desktop.client import SYSTEM
from connectors.sage50desktop.customers import CUSTOMER_COLUMNS, Sage50DesktopCustomers
from connectors.sage50desktop.entities import LINE_ROW
from connectors.sage50desktop.feeds import change_of
from connectors.values import money

DEAL_REFERENCE = "InternalNote"  # the document field the deal's ID goes in
# The document entities a won deal becomes, by the kind the exactly-once report names.
DOCUMENT_ENTITIES = (("sales_order", "sales_order"), ("invoice", "sales_invoice"))
FREIGHT_ROW = 2  # JrnlRow.RowType of a document's freight


def as_date(value: Any) -> date:
    """A date column as the ODBC driver hands it: a date, a datetime or ISO text."""
    if isinstance(value, date):
        return value if type(value) is date else value.date()
    return date.fromisoformat(str(value)[:10])


def document_made(record: Record, existed: bool) -> DocumentMade:
    """An invoice or order, by its number (Reference; ReferenceNumber in the agent's reply)."""
    number = str(record.get("ReferenceNumber") or record.get("Reference") or "")
    total = record.get("MainAmount")
    return DocumentMade(number, number, existed, str(money(total)) if total is not None else None)


class Sage50DesktopErp(Sage50DesktopCustomers, ErpRole):
    capabilities = frozenset(
        {SALES_ORDERS, INVOICES, CUSTOMER_SYNC, CUSTOMER_LIST, ITEM_LIST, CREDIT}
    )
    feeds = {
        PAYMENTS: (Feed("cash_receipt", "sage50desktop.cash_receipt", record="cash_receipt"),),
        CUSTOMERS: (Feed("customer", "sage50desktop.customer", record="customer", snapshot=True),),
        STOCK: (Feed("stock", "sage50desktop.stock", snapshot=True),),
    }
    entity_names = {
        "Customer": EntityNames("Customers", "customer"),
        "SalesOrder": EntityNames("SalesOrders", "sales_order", "sales_order_line", "lines"),
        "Invoice": EntityNames("SalesInvoices", "sales_invoice", "sales_invoice_line", "lines"),
        "Payment": EntityNames("CashReceipt", "cash_receipt"),
        "InventoryLevel": EntityNames("LineItem", "stock"),
    }
    multi_currency = False
    item_table = "Product code → Sage 50 item"
    ledger_table = "GL account code → Sage 50 account"
    short_label = "S50D"
    writable_fields = frozenset(CUSTOMER_COLUMNS)

    def change_of(self, entity: str, record: Record) -> Change:
        return change_of(entity, record)

    # ------------------------------------------------------------ items and people

    def items_to_load(self) -> list[dict[str, Any]]:
        return [
            {"sku": item["ItemID"], "name": item.get("ItemDescription") or item["ItemID"]}
            for item in self.stream("stock")
        ]

    def salespeople(self) -> list[Person]:
        return people.salespeople(self)

    # ------------------------------------------------------------ documents

    def find_item(self, code: str) -> ItemRef | None:
        """Asked live; documents name items by their ItemID."""
        found = self.search("stock", limit=1, ItemID=code)
        return ItemRef(found[0]["ItemID"], found[0]["ItemID"]) if found else None

    def create_sales_order(
        self, values: Record, deal_reference: str, idempotency_key: str
    ) -> DocumentMade:
        """Names the deal in InternalNote: the agent answers with the order made for it."""
        values = {**values, DEAL_REFERENCE: values.get(DEAL_REFERENCE) or deal_reference}
        order, existed = self.agent.create(
            "/v1/sales-orders", "sales_order", values, idempotency_key, match=DEAL_REFERENCE
        )
        return document_made(order, existed)

    def find_invoice(self, customer_ref: str, reference: str) -> DocumentMade | None:
        """The customer's invoice naming the deal (InternalNote) or its PO (PurchOrder)."""
        for column in (DEAL_REFERENCE, "PurchOrder"):
            found = self.search(
                "sales_invoice", limit=1, CustomerID=customer_ref, **{column: reference}
            )
            if found:
                return document_made(found[0], True)
        return None

    def get_invoice(self, invoice_id: str) -> DocumentMade:
        return document_made(self.get("sales_invoice", invoice_id), True)

    def create_invoice(
        self,
        values: Record,
        lines: list[dict[str, Any]],
        tax_rate: str,
        rate_to_base: Decimal | None,
        idempotency_key: str,
    ) -> DocumentMade:
        """Each line's ledger account (the flow's ledger step) as its AccountID; a line
        without one posts to its item's sales account. Sage applies the customer's own
        sales tax code, so `tax_rate` is not sent."""
        if rate_to_base is not None:
            raise ValidationError(
                "Sage 50 (US desktop) keeps one currency: this invoice came with an exchange "
                "rate, but the deal must be converted to the company's currency before it "
                "reaches Sage. Map the deal in the base currency, then retry.",
                fields={"currency": "not the company's currency"},
                system=SYSTEM,
            )
        mapped_lines = []
        for line, source in zip(values.get("lines") or [], lines, strict=True):
            line = {**line, "AccountID": source.get("ledger_account_id") or line.get("AccountID")}
            mapped_lines.append(
                {name: value for name, value in line.items() if value not in ("", None)}
            )
        values = {**values, "lines": mapped_lines}
        match = DEAL_REFERENCE if values.get(DEAL_REFERENCE) else ""
        invoice, existed = self.agent.create(
            "/v1/sales-invoices", "sales_invoice", values, idempotency_key, match=match
        )
        return document_made(invoice, existed)

    def documents_since(self, since: date) -> list[DocumentSeen]:
        """Sales orders and invoices dated on or after `since` (JrnlHdr TransactionDate),
        read over ODBC without their lines, the deal ID from InternalNote; the total before
        tax from their item and freight rows (`net_totals`)."""
        day = self.reader.dialect.date_literal(since)
        nets = self.net_totals(since)
        return [
            DocumentSeen(
                kind=kind,
                number=str(record.get("Reference") or "").strip(),
                deal_reference=str(record.get(DEAL_REFERENCE) or "").strip(),
                customer_ref=record.get("CustomerID") or "",
                total=money(record.get("MainAmount")),
                currency="",  # Sage 50 US keeps one currency per company
                made_on=as_date(record["TransactionDate"]),
                status="closed" if record.get("IsClosed") else "open",
                net_total=nets.get(record["PostOrder"]),
            )
            for kind, entity in DOCUMENT_ENTITIES
            for record in self.records(
                self.entity(entity), [f"h.TransactionDate >= {day}"], [], with_lines=False
            )
        ]

    def net_totals(self, since: date) -> dict[int, Decimal]:
        """PostOrder → the item and freight rows of the transactions dated on or after
        `since`, summed in one read: the total before tax (sales tax rows and the A/R row
        left out). Sage books those rows as credits, so their sum is negated."""
        sql = self.reader.dialect.select(
            "JrnlRow",
            columns=["PostOrder", "Amount"],
            where=[f"RowType IN ({LINE_ROW}, {FREIGHT_ROW})",
                   f"RowDate >= {self.reader.dialect.date_literal(since)}"],
        )  # fmt: skip
        nets: dict[int, Decimal] = {}
        for row in self.reader.rows(sql):
            nets[row["PostOrder"]] = nets.get(row["PostOrder"], Decimal(0)) - money(row["Amount"])
        return nets

    def document_lines(self, kind: str, number: str) -> list[DocumentLine]:
        """The document's item rows (JrnlRow RowType 0 with an item; UnitCost holds a sales
        row's unit price), found by its Reference."""
        entity = dict(DOCUMENT_ENTITIES).get(kind)
        if entity is None:
            raise self.unsupported(f"read the lines of a {kind}")
        return [
            DocumentLine(
                str(line["ItemID"]).strip(),
                Decimal(str(line.get("Quantity") or 0)),
                Decimal(str(line.get("UnitCost") or 0)),
            )
            for line in self.get_document(entity, number)["lines"]
            if line.get("ItemID")
        ]

    def get_document(self, entity: str, number: str) -> Record:
        found = self.search(entity, limit=1, Reference=number)
        if not found:
            raise NotFound(f"Sage 50 has no {entity.replace('_', ' ')} {number}.", system=SYSTEM)
        return found[0]

    def ledger_account(self, nominal_code: str) -> str:
        """The AccountID when exactly one active account of the chart has it."""
        found = self.search("gl_account", limit=2, AccountID=nominal_code, AccountIsInactive=0)
        return found[0]["AccountID"] if len(found) == 1 else ""

    def product_ledger_account(self, sku: str) -> str:
        """The item's sales account (GLSalesAcct) by its AccountID."""
        found = self.search("item", limit=1, ItemID=sku) if sku else []
        return (found[0].get("SalesAccountID") or "") if found else ""

    # ------------------------------------------------------------ what flows back

    def read_payment(self, key: str) -> PaymentRead:
        record = self.get("cash_receipt", key)
        return PaymentRead(record, list(record["InvoiceNumbers"]))

    def open_invoice(self, invoice: str) -> OpenInvoice | None:
        """The invoice's MainAmount less AmountPaid, and its DueDate (JrnlHdr), by its
        Reference (what a receipt names)."""
        found = self.search("sales_invoice", limit=1, with_lines=False, Reference=invoice)
        if not found:
            return None
        record = found[0]
        return OpenInvoice(
            number=str(record["Reference"]).strip(),
            due_date=as_date(record["DueDate"]),
            balance=money(record.get("MainAmount")) - money(record.get("AmountPaid")),
            currency="",  # Sage 50 US keeps one currency per company
            customer_name=record.get("CustomerName") or "",
        )

    def read_stock(self, key: str) -> StockRead:
        """Sage 50 US keeps no warehouses: the item's one row stands for the company."""
        item = self.get("stock", key)
        return StockRead(item["ItemID"], [item], warehouse_of="")

    def credit(self, ref: str) -> dict[str, Any]:
        """Terms_CreditLimit and Balance, and the customer's sales orders not yet invoiced
        in full (IsClosed 0)."""
        customer = self.get("customer", ref)
        orders = self.search("sales_order", limit=None, with_lines=False, CustomerID=ref,
                             IsClosed=0)  # fmt: skip
        amount = sum((money(order["MainAmount"]) for order in orders), Decimal(0))
        limit, balance = money(customer["Terms_CreditLimit"]), money(customer["Balance"])
        return {
            "name": customer["Customer_Bill_Name"],
            "currency": "",  # Sage 50 US keeps one currency per company
            "credit_limit": str(limit),
            "balance": str(balance),
            "available": str(limit - balance - amount),
            "open_orders": {"count": len(orders), "amount": str(amount)},
        }
