"""What the connector reads from a Sage 50 US company over ODBC: each entity's table, the
tables joined to it (on the integer `*RecordNumber` keys Sage joins on, never on the IDs a
user can change) and the key a record is fetched by; and the fields the Clarity agent takes
for a document, which are the SDK's names rather than the journal's columns.

Column names are Sage 50's ODBC names (reference §1.2). These are not confirmed for a real
company and are kept as the sandbox has them: SalesPrice1…5, GLSalesAcct,
GLInventoryAcct, GLCostSalesAcct, QuantityOnHand, DueDate, InternalNote, IsClosed and
PaymentMethod, and RowType 1 as the AR/cash total row.
"""

import re
from dataclasses import dataclass

from connectors.base import FieldInfo
from connectors.odbc.dialects import Join

RECEIPTS, INVOICES, ORDERS = 1, 3, 11  # JrnlHdr.JrnlKey_Journal
LINE_ROW = 0  # JrnlRow.RowType of an item or distribution line
MAIN_ADDRESS = 0  # Address.AddressTypeNumber of the main bill-to address
CUSTOM_FIELDS = tuple(f"CustomField{n}" for n in range(1, 6))
ADDRESS_COLUMNS = ("AddressLine1", "AddressLine2", "City", "State", "Zip", "Country")


@dataclass(frozen=True)
class Entity:
    """One thing read: `alias.*` of its table plus `columns` of the joined tables."""

    table: str
    alias: str
    key: str  # the record's column a key names (CustomerID, Reference…)
    number: str = ""  # the record number Sage joins on (masters: what a snapshot marks)
    columns: tuple[str, ...] = ()  # joined columns, `x.Column AS Name` where renamed
    joins: tuple[Join, ...] = ()
    where: tuple[str, ...] = ()  # what every read of it is limited to (its journal)
    lines: str = ""  # the lines entity read with each record
    integer_key: bool = False
    pays_invoices: bool = False  # a receipt: read with the numbers of the invoices it pays

    def qualified(self, name: str) -> str:
        """The selected column behind a record's field name (`CustomerID` → `c.CustomerID`)."""
        for column in self.columns:
            source, _, renamed = column.partition(" AS ")
            if (renamed or source.partition(".")[2]) == name:
                return source
        return f"{self.alias}.{name}"

    def joined_table(self, qualified: str) -> str:
        """The table a qualified column is read from."""
        alias = qualified.partition(".")[0]
        return next((join.table for join in self.joins if join.alias == alias), self.table)


def customer_join(alias: str, on: str) -> Join:
    return Join("Customers", alias, f"{alias}.CustomerRecordNumber = {on}")


def chart_join(alias: str, on: str) -> Join:
    return Join("Chart", alias, f"{alias}.GLAcntNumber = {on}")


def document(journal: int, lines: str) -> Entity:
    """A sales invoice or order: its JrnlHdr row, the customer's ID and name, its lines."""
    return Entity(
        "JrnlHdr",
        "h",
        "Reference",
        "PostOrder",
        ("c.CustomerID", "c.Customer_Bill_Name AS CustomerName"),
        (customer_join("c", "h.CustVendId"),),
        (f"h.JrnlKey_Journal = {journal}",),
        lines=lines,
    )


def document_lines(journal: int) -> Entity:
    """Its item lines (RowType 0), with the item, account and customer by their IDs."""
    return Entity(
        "JrnlRow",
        "r",
        "PostOrder",
        columns=("i.ItemID", "g.AccountID", "c.CustomerID"),
        joins=(
            Join("LineItem", "i", "i.ItemRecordNumber = r.ItemRecordNumber"),
            chart_join("g", "r.GLAcntNumber"),
            customer_join("c", "r.CustomerRecordNumber"),
        ),
        where=(f"r.Journal = {journal}", f"r.RowType = {LINE_ROW}"),
        integer_key=True,
    )


ENTITIES: dict[str, Entity] = {
    "customer": Entity(
        "Customers",
        "c",
        "CustomerID",
        "CustomerRecordNumber",
        (
            *(f"a.{column}" for column in ADDRESS_COLUMNS),
            "e.EmployeeID AS SalesRepID",
            "e.EmployeeName AS SalesRepName",
        ),
        (
            Join(
                "Address",
                "a",
                "a.CustomerRecordNumber = c.CustomerRecordNumber "
                f"AND a.AddressTypeNumber = {MAIN_ADDRESS}",
            ),
            Join("Employee", "e", "e.EmpRecordNumber = c.EmpRecordNumber"),
        ),
    ),
    "item": Entity(
        "LineItem",
        "i",
        "ItemID",
        "ItemRecordNumber",
        (
            "s.AccountID AS SalesAccountID",
            "v.AccountID AS InventoryAccountID",
            "k.AccountID AS CostOfSalesAccountID",
        ),
        (
            chart_join("s", "i.GLSalesAcct"),
            chart_join("v", "i.GLInventoryAcct"),
            chart_join("k", "i.GLCostSalesAcct"),
        ),
    ),
    "stock": Entity("LineItem", "i", "ItemID", "ItemRecordNumber"),
    "gl_account": Entity("Chart", "g", "AccountID", "GLAcntNumber"),
    "sales_invoice": document(INVOICES, "sales_invoice_line"),
    "sales_invoice_line": document_lines(INVOICES),
    "sales_order": document(ORDERS, "sales_order_line"),
    "sales_order_line": document_lines(ORDERS),
    "cash_receipt": Entity(
        "JrnlHdr",
        "h",
        "PostOrder",
        "PostOrder",
        ("c.CustomerID", "c.Customer_Bill_Name AS CustomerName"),
        (customer_join("c", "h.CustVendId"),),
        (f"h.JrnlKey_Journal = {RECEIPTS}",),
        integer_key=True,
        pays_invoices=True,
    ),
}

# The invoices a receipt pays: its rows linked to another transaction, that transaction's
# number (the receipt's AR row carries LinkToAnotherTrx = the invoice's PostOrder).
PAID_INVOICES = Entity(
    "JrnlRow",
    "r",
    "PostOrder",
    columns=("p.Reference AS InvoiceNumber",),
    joins=(Join("JrnlHdr", "p", "p.PostOrder = r.LinkToAnotherTrx"),),
    where=("r.LinkToAnotherTrx > 0",),
    integer_key=True,
)


def text(name: str, length: int, label: str, required: bool = False) -> FieldInfo:
    return FieldInfo(name, label, "string", length=length, required=required)


# The fields the agent takes for a sales invoice or order (agent/sage50/backend.py), as
# the SDK names them; the journal's own columns differ (Reference, PurchOrder, …).
DOCUMENT_FIELDS = [
    text("CustomerID", 20, "Customer ID", required=True),
    FieldInfo("Date", "Date", "date"),
    FieldInfo("DateDue", "Date due", "date"),
    text("ReferenceNumber", 20, "Reference number (blank: Sage's next)"),
    text("CustomerPurchaseOrderNumber", 20, "Customer PO number"),
    text("InternalNote", 2000, "Internal note (the CRM deal ID)"),
    text("ShipToName", 39, "Ship to name"),
    text("ShipToAddressLine1", 30, "Ship to address line 1"),
    text("ShipToAddressLine2", 30, "Ship to address line 2"),
    text("ShipToCity", 20, "Ship to city"),
    text("ShipToState", 2, "Ship to state"),
    text("ShipToZip", 12, "Ship to ZIP"),
    text("ShipToCountry", 15, "Ship to country"),
    FieldInfo("FreightAmount", "Freight amount", "number"),
]
DOCUMENT_LINE_FIELDS = [
    text("ItemID", 20, "Item ID"),
    text("AccountID", 15, "GL account ID (blank: the item's sales account)"),
    text("Description", 160, "Description"),
    FieldInfo("Quantity", "Quantity", "number", required=True),
    FieldInfo("UnitPrice", "Unit price", "number"),
    FieldInfo("Amount", "Amount (quantity x unit price)", "number"),
]
AGENT_FIELDS = {
    "sales_invoice": DOCUMENT_FIELDS,
    "sales_order": DOCUMENT_FIELDS,
    "sales_invoice_line": DOCUMENT_LINE_FIELDS,
    "sales_order_line": DOCUMENT_LINE_FIELDS,
}
# Customer columns Sage keeps itself: never in what a mapping writes.
CUSTOMER_READ_ONLY = {"CustomerRecordNumber", "Balance", "LastInvoiceDate", "GUID"}
REQUIRED_CUSTOMER_FIELDS = {"Customer_Bill_Name"}


LABELS = {"eMail_Address": "Email address", "Customer_Bill_Name": "Customer name",
          "GLSalesAcct": "GL sales account", "GLInventoryAcct": "GL inventory account",
          "GLCostSalesAcct": "GL cost of sales account"}  # fmt: skip
WORD = re.compile(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+|[0-9]+")


def label_of(column: str, custom_labels: dict[str, str]) -> str:
    """A column in words (`Terms_CreditLimit` → "Terms credit limit", `FAX_Number` → "FAX
    number"); a custom field by the company's label, else "Custom field n"."""
    if column in CUSTOM_FIELDS:
        return custom_labels.get(column) or f"Custom field {column[-1]}"
    if column in LABELS:
        return LABELS[column]
    first, *rest = WORD.findall(column)
    return " ".join(
        [first[0].upper() + first[1:], *(w if w.isupper() else w.lower() for w in rest)]
    )
