"""Sage 50 US (desktop) in the ERP role: customers found over ODBC and made through the
Clarity agent, deals become sales orders or sales invoices (the agent's SDK backend posts
them to the journals), and cash receipts, customers and stock flow back (see `feeds`).

Never two of anything for one CRM record: a customer create names the CRM id in the
customer's reference column (`customer_reference_field`, CustomField5 unless the connection
says otherwise; an id longer than its 20 characters, such as Streak's, as a digest that
fits), a document create names the deal in InternalNote, and the agent answers with the
record Sage already holds for it, in the same write, instead of making a second one.

One currency per company (Sage 50 US has no multi-currency): the flows convert a deal in
another currency before, and an invoice carrying an exchange rate is refused. Items are
looked up live, never remembered: an item made in Sage passes at the next retry.
"""

import re
from datetime import date
from decimal import Decimal
from typing import Any

from connectors.agent_client import segment
from connectors.base import Record
from connectors.errors import NotFound, ValidationError
from connectors.records import (
    CustomerMatch,
    DocumentLine,
    DocumentMade,
    DocumentSeen,
    ItemRef,
    OpenInvoice,
    PaymentRead,
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
    ErpRole,
    Feed,
)
from connectors.sage50desktop.entities import ADDRESS_COLUMNS, LINE_ROW
from connectors.sage50desktop.feeds import change_of
from connectors.values import (
    ADDRESS_PARTS,
    NamesakeColumns,
    ambiguous_customers,
    fitted_id,
    money,
)

SYSTEM = "sage50desktop"
DEFAULT_REFERENCE_FIELD = "CustomField5"
REFERENCE_LENGTH = 20  # the custom fields' width
DEAL_REFERENCE = "InternalNote"  # the document field the deal's ID goes in
CANDIDATES = 10  # customers listed when several match
CUSTOMER_COLUMNS = {  # common field → the agent's customer names it is written to
    "name": ("Customer_Bill_Name",),
    "phone": ("Phone_Number",),
    "email": ("eMail_Address",),
    "billing_address": ADDRESS_COLUMNS,
    "credit_limit": ("Terms_CreditLimit",),
    "terms": ("Terms_DueDays",),
}
NAMESAKE_COLUMNS = NamesakeColumns("Customer_Bill_Name", "eMail_Address", "Balance")
# The document entities a won deal becomes, by the kind the exactly-once report names.
DOCUMENT_ENTITIES = (("sales_order", "sales_order"), ("invoice", "sales_invoice"))
FREIGHT_ROW = 2  # JrnlRow.RowType of a document's freight


def fitted_reference(crm_id: str) -> str:
    """The CRM id as a 20-character custom field holds it (`fitted_id`)."""
    return fitted_id(crm_id, REFERENCE_LENGTH)


def customer_columns(field: str, value: Any) -> dict[str, Any]:
    """The agent's customer names (Customers and main Address columns) for a common field."""
    if field == "billing_address":
        lines = [*str(value.get("street") or "").split("\n"), ""]
        parts = [lines[0], ", ".join(line for line in lines[1:] if line),
                 *(value.get(part) for part in ADDRESS_PARTS[1:])]  # fmt: skip
        return {column: part or "" for column, part in zip(ADDRESS_COLUMNS, parts, strict=True)}
    if field == "terms":
        days = re.search(r"\d+", str(value or ""))
        return {"Terms_DueDays": int(days.group()) if days else 0}
    return {CUSTOMER_COLUMNS[field][0]: value if value not in (None, "") else ""}


def terms_of(due_days: Any) -> str | None:
    """Terms_DueDays as the CRMs word terms ("Net 30", "Due on receipt")."""
    if due_days in (None, ""):
        return None
    return f"Net {due_days}" if int(due_days) else "Due on receipt"


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


class Sage50DesktopErp(ErpRole):
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

    @property
    def reference_field(self) -> str:
        """The customer column holding the CRM id (CustomField1…5)."""
        return self.settings.get("customer_reference_field") or DEFAULT_REFERENCE_FIELD

    # ------------------------------------------------------------ customers

    def customer_ref(self, record: Record) -> str:
        return record["CustomerID"]

    def bound_customer(self, ref: str, customer: dict[str, Any]) -> CustomerMatch:
        return CustomerMatch(ref, customer["name"], "bound before")

    def find_or_create_customer(
        self, values: Record, customer: dict[str, Any], idempotency_key: str
    ) -> CustomerMatch:
        """By the CRM id in the reference column, then email, then name; else created
        through the agent naming that column, so a customer made for the CRM record
        meanwhile is returned instead of a second one."""
        column = self.reference_field
        crm_id = str((customer.get("external_refs") or {}).get("crm") or "")
        reference = values.get(column) or fitted_reference(crm_id)
        values = {**values, column: reference} if reference else values
        searches = [
            ("CRM id", column, reference),
            ("email", "eMail_Address", values.get("eMail_Address") or customer.get("email")),
            ("name", "Customer_Bill_Name", values.get("Customer_Bill_Name") or customer["name"]),
        ]
        for how, field, value in searches:
            if value:
                found = self.search("customer", limit=CANDIDATES, **{field: value})
                if len(found) > 1:
                    several = {self.customer_ref(c): c for c in found}
                    raise ambiguous_customers(
                        "Sage 50", SYSTEM, how, value, several, NAMESAKE_COLUMNS
                    )
                if found:
                    return self.match(found[0], f"found by {how}")
        created, existed = self.agent.create(
            "/v1/customers", "customer", values, idempotency_key, match=column if reference else ""
        )
        return self.match(created, "found by CRM id" if existed else "created")

    def match(self, record: Record, how: str) -> CustomerMatch:
        return CustomerMatch(record["CustomerID"], record.get("Customer_Bill_Name") or "", how)

    def read_customer(self, ref: str) -> Record:
        return self.get("customer", ref)

    def customer_values(self, record: Record) -> dict[str, Any]:
        lines = [record.get("AddressLine1") or "", record.get("AddressLine2") or ""]
        address = ["\n".join(line for line in lines if line),
                   *(record.get(c) for c in ("City", "State", "Zip", "Country"))]  # fmt: skip
        days = record.get("Terms_DueDays")
        return {
            "name": record.get("Customer_Bill_Name"),
            "phone": record.get("Phone_Number"),
            "email": record.get("eMail_Address"),
            "billing_address": dict(zip(ADDRESS_PARTS, address, strict=True)),
            "credit_limit": record.get("Terms_CreditLimit"),
            "terms": terms_of(days),
            "balance": record.get("Balance"),
            "account_number": record.get("CustomerID"),
        }

    def update_customer(self, ref: str, values: dict[str, Any], idempotency_key: str) -> str:
        """Written through the agent; the stamp the customer feed will see for it."""
        body = {
            name: part
            for field, value in values.items()
            for name, part in customer_columns(field, value).items()
        }
        self.agent.call("PATCH", f"/v1/customers/{segment(ref)}", body, idempotency_key)
        return self.change_of("customer", self.get("customer", ref)).stamp

    def customers_to_load(self) -> list[Record]:
        """In CustomerID order, less those holding a CRM id in the reference column."""
        column = self.reference_field
        return [row for row in self.stream("customer") if not (row.get(column) or "").strip()]

    def items_to_load(self) -> list[dict[str, Any]]:
        return [
            {"sku": item["ItemID"], "name": item.get("ItemDescription") or item["ItemID"]}
            for item in self.stream("stock")
        ]

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
