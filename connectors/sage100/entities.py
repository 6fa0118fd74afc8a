"""What the connector reads from Sage 100: entity names, their tables and keys, and the
conventions of Sage's columns (decimal-hour times, UDF_ names, money as Decimal)."""

from dataclasses import dataclass
from datetime import time, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from connectors.errors import ValidationError

CHANGE_OVERLAP = timedelta(minutes=5)  # re-read this far back: late commits, clock skew


@dataclass(frozen=True)
class Entity:
    table: str
    key: tuple[str, ...]
    audited: bool = True  # has DateUpdated/TimeUpdated, so it has a change feed
    lines: str = ""  # detail table read with each header
    history: str = ""  # entity to look in when the record has left the open table
    separator: str = "-"
    free_part: int = -1  # the one key part that may itself contain the separator
    assigned: tuple[str, ...] = ()  # key parts Sage numbers on create: no mapping fills them


PRICE_CODE_KEY = (
    "PriceCodeRecord", "PriceCode", "ItemCode", "CustomerPriceLevel", "ARDivisionNo", "CustomerNo",
)  # fmt: skip
CASH_RECEIPT_KEY = (
    "BankCode", "DepositDate", "DepositNo", "DepositType", "ARDivisionNo", "CustomerNo",
    "CreditCardEntryNo", "CheckNo", "SequenceNo",
)  # fmt: skip

ENTITIES: dict[str, Entity] = {
    "customer": Entity("AR_Customer", ("ARDivisionNo", "CustomerNo"), assigned=("CustomerNo",)),
    "customer_contact": Entity("AR_CustomerContact", ("ARDivisionNo", "CustomerNo", "ContactCode")),
    "item": Entity("CI_Item", ("ItemCode",)),
    # Prices by customer price level (PriceCodeRecord 0: a price code's, 1: an item's, 2: an
    # item's for one customer); most key parts are blank in any one record.
    "price_code": Entity("IM_PriceCode", PRICE_CODE_KEY, separator="|"),
    "warehouse": Entity("IM_Warehouse", ("WarehouseCode",)),
    "stock": Entity("IM_ItemWarehouse", ("ItemCode", "WarehouseCode"), free_part=0),
    "sales_order": Entity(
        "SO_SalesOrderHeader",
        ("SalesOrderNo",),
        lines="SO_SalesOrderDetail",
        history="sales_order_history",
        assigned=("SalesOrderNo",),
    ),
    "sales_order_line": Entity(
        "SO_SalesOrderDetail",
        ("SalesOrderNo", "LineKey"),
        False,
        assigned=("SalesOrderNo", "LineKey"),
    ),
    "sales_order_history": Entity(
        "SO_SalesOrderHistoryHeader", ("SalesOrderNo",), lines="SO_SalesOrderHistoryDetail"
    ),
    # An S/O invoice entered (a service deal invoiced without an order), until posted.
    "invoice": Entity(
        "SO_InvoiceHeader", ("InvoiceNo",), lines="SO_InvoiceDetail", assigned=("InvoiceNo",)
    ),
    "invoice_line": Entity(
        "SO_InvoiceDetail", ("InvoiceNo", "LineKey"), False, assigned=("InvoiceNo", "LineKey")
    ),
    "invoice_history": Entity("AR_InvoiceHistoryHeader", ("InvoiceNo", "HeaderSeqNo")),
    "open_invoice": Entity(
        "AR_OpenInvoice", ("ARDivisionNo", "CustomerNo", "InvoiceNo", "InvoiceType")
    ),
    "cash_receipt": Entity("AR_CashReceiptsHistory", CASH_RECEIPT_KEY, separator="|"),
    "gl_account": Entity("GL_Account", ("AccountKey",)),
    "vendor": Entity("AP_Vendor", ("APDivisionNo", "VendorNo")),
    # A purchase order (back-to-back: for a sales order's short lines), until received.
    "purchase_order": Entity(
        "PO_PurchaseOrderHeader",
        ("PurchaseOrderNo",),
        lines="PO_PurchaseOrderDetail",
        assigned=("PurchaseOrderNo",),
    ),
    "purchase_order_line": Entity(
        "PO_PurchaseOrderDetail",
        ("PurchaseOrderNo", "LineKey"),
        False,
        assigned=("PurchaseOrderNo", "LineKey"),
    ),
}


def decimal_hours(value: str) -> time:
    """Sage's TimeUpdated ("14.25" = 14:15) as a time; blank or odd values are midnight."""
    try:
        seconds = min(round(float(value or 0) * 3600), 24 * 3600 - 1)
    except ValueError:
        seconds = 0
    return time(seconds // 3600, seconds % 3600 // 60, seconds % 60)


def number(value: Any, name: str) -> Decimal:
    try:
        return Decimal(str(value))
    except InvalidOperation:
        raise ValidationError(
            f"Sage 100 needs a number for {name}, not {value!r}.", fields={name: "not a number"}
        ) from None


def label_of(column: str) -> str:
    if column.startswith("UDF_"):
        return f"{column[4:].replace('_', ' ').title()} (custom)"
    words, word = [], ""
    for index, char in enumerate(column):
        boundary = (
            char.isupper()
            and word
            and (not word[-1].isupper() or column[index + 1 : index + 2].islower())
        )
        if boundary:
            words.append(word)
            word = ""
        word += char
    words.append(word)
    return " ".join([words[0], *(w if w.isupper() else w.lower() for w in words[1:])])
