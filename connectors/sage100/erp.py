"""Sage 100 in the ERP role: customers (AR_Customer, keyed `<division>-<customer no>`),
sales orders and S/O invoices (`invoices`) through the bridge, items (CI_Item) with their
prices, and the feeds back: order headers open and in history, warehouse stock, cash
receipts, customers, and items and their price levels (CI_Item, IM_PriceCode), polled by
DateUpdated.

An order create names the deal (`UDF_DEAL_ID`), so the bridge answers with the order made
for it meanwhile. The role's other halves have their own modules: customers (`customers`),
items, prices and stock (`items`), invoices (`invoices`), purchasing and order status
(`purchasing`), contacts (`contacts`) and salespeople (`people`).
"""

from datetime import date
from decimal import Decimal
from typing import Any

from connectors.base import Record, WebhookEvent
from connectors.erp_role import ErpRole
from connectors.errors import ValidationError
from connectors.records import (
    ContactRecord,
    DocumentLine,
    DocumentMade,
    DocumentSeen,
    OrderRead,
    PaymentRead,
    Person,
)
from connectors.roles import (
    CONTACTS,
    CREDIT,
    CUSTOMER_CONTACTS,
    CUSTOMER_LIST,
    CUSTOMER_SYNC,
    CUSTOMERS,
    INVOICES,
    ITEM_LIST,
    ORDER_INVOICES,
    ORDER_STATUS,
    ORDER_STATUS_WRITE,
    PAYMENTS,
    PRICES,
    PURCHASE_ORDERS,
    SALES_ORDERS,
    STOCK,
    Change,
    EntityNames,
    Feed,
)
from connectors.sage100 import contacts, people
from connectors.sage100.customers import CUSTOMER_COLUMNS, Sage100Customers
from connectors.sage100.documents import (
    LINE_QUANTITY,
    ORDER_NET_PARTS,
    document_lines,
    net_total,
)
from connectors.sage100.invoices import Sage100Invoices, as_date
from connectors.sage100.items import Sage100Items
from connectors.sage100.purchasing import Sage100Purchasing
from connectors.values import money

ORDER_REFERENCE = "UDF_DEAL_ID"
ORDER_KIND = "sage100.sales_order"
OPEN_ORDER_STATUSES = ("N", "O", "H")  # new, open, on hold; closed orders move to history
ORDER_TOTAL_PARTS = ("TaxableAmt", "NonTaxableAmt", "SalesTaxAmt", "FreightAmt")
# Where an order lives: open, then in history once completed (it keeps UDF_DEAL_ID there).
ORDER_TABLES = (("SO_SalesOrderHeader", "open"), ("SO_SalesOrderHistoryHeader", "history"))
ORDER_STATUS_WORDS = {"N": "new", "O": "open", "H": "on hold", "C": "completed", "X": "deleted"}


class Sage100Erp(Sage100Customers, Sage100Items, Sage100Invoices, Sage100Purchasing, ErpRole):
    capabilities = frozenset(
        {SALES_ORDERS, INVOICES, CUSTOMER_SYNC, CUSTOMER_LIST, ITEM_LIST, CREDIT, CUSTOMER_CONTACTS}
    ) | {PURCHASE_ORDERS, ORDER_STATUS_WRITE, ORDER_INVOICES}
    feeds = {
        ORDER_STATUS: (
            Feed("sales_order", ORDER_KIND, record="sales_order"),
            Feed("sales_order_history", ORDER_KIND, record="sales_order"),
        ),
        STOCK: (Feed("stock", "sage100.stock"),),
        PRICES: (
            Feed("item", "sage100.item", record="item"),
            Feed("price_code", "sage100.price_code", record="item"),
        ),
        PAYMENTS: (Feed("cash_receipt", "sage100.cash_receipt"),),
        CUSTOMERS: (Feed("customer", "sage100.customer", record="customer"),),
        CONTACTS: (Feed(contacts.ENTITY, contacts.KIND, record=contacts.ENTITY),),
    }
    entity_names = {
        "Customer": EntityNames("AR_Customer", "customer"),
        "SalesOrder": EntityNames(
            "SO_SalesOrderHeader", "sales_order", "sales_order_line", "lines"
        ),
        "Invoice": EntityNames("SO_InvoiceHeader", "invoice", "invoice_line", "lines"),
        "OrderStatus": EntityNames("SO_SalesOrderHeader", "sales_order"),
        "InventoryLevel": EntityNames("IM_ItemWarehouse", "stock"),
        "Item": EntityNames("CI_Item", "item"),
        "Payment": EntityNames("AR_CashReceiptsHistory", "cash_receipt"),
    }
    item_table = "Product code → Sage 100 item"
    ledger_table = "GL account code → Sage 100 account"
    short_label = "S100"
    writable_fields = frozenset(CUSTOMER_COLUMNS)

    def change_of(self, entity: str, record: Record) -> Change:
        """A price-level record's change is about the item it prices, or, for a price code
        shared by several items, about none in particular ("price code KIT")."""
        stamp = f"{record['DateUpdated']}|{record['TimeUpdated']}"
        if entity == "price_code":
            key = record["ItemCode"] or f"price code {record['PriceCode']}"
        else:
            key = self.key_of(entity, record)
        return Change(key, stamp, self.updated_at(record))

    # ------------------------------------------------------------ orders

    def create_sales_order(
        self, values: Record, deal_reference: str, idempotency_key: str
    ) -> DocumentMade:
        """The create names the deal, so the bridge answers with the order Sage has for it
        (open or in history) instead of making a second one."""
        values = {**values, ORDER_REFERENCE: values.get(ORDER_REFERENCE) or deal_reference}
        try:
            order = self.create("sales_order", values, idempotency_key)
        except ValidationError as exc:
            if any(field.startswith("ItemCode") for field in exc.fields):
                self.forget_items()  # an item known before may be gone: check live again
            raise
        number = order["SalesOrderNo"]
        return DocumentMade(number, number, bool(order.get("existed")))

    def documents_since(self, since: date) -> list[DocumentSeen]:
        """Sales orders dated on or after `since`, open and in history (an order moves
        there when completed, UDF_DEAL_ID with it), read over ODBC; one per SalesOrderNo;
        then the invoices made without an order (`invoices_since`). The invoice an order
        becomes is the same sale, so it is not listed again. Each with its total before
        tax (SalesTaxAmt left out)."""
        columns = ["SalesOrderNo", "OrderDate", "OrderStatus", "ARDivisionNo", "CustomerNo",
                   ORDER_REFERENCE, "DiscountAmt", *ORDER_TOTAL_PARTS]  # fmt: skip
        seen: dict[str, DocumentSeen] = {}
        for table, where in ORDER_TABLES:
            day = self.reader.dialect.date_literal(since)
            sql = self.reader.dialect.select(
                table, columns=columns, where=[f"OrderDate >= {day}"], order_by=["SalesOrderNo"]
            )
            for row in self.reader.rows(sql):
                number = str(row["SalesOrderNo"]).strip()
                status = ORDER_STATUS_WORDS.get(row["OrderStatus"] or "", row["OrderStatus"] or "")
                seen.setdefault(
                    number,
                    DocumentSeen(
                        kind="sales_order",
                        number=number,
                        deal_reference=str(row[ORDER_REFERENCE] or "").strip(),
                        customer_ref=f"{row['ARDivisionNo']}-{row['CustomerNo']}",
                        total=order_total(row),
                        currency="",  # Sage 100 keeps one currency per company
                        made_on=as_date(row["OrderDate"]),
                        status=f"{status} ({where})" if status else where,
                        net_total=net_total(row, ORDER_NET_PARTS),
                    ),
                )
        return [*seen.values(), *self.invoices_since(since)]

    def document_lines(self, kind: str, number: str) -> list[DocumentLine]:
        """SO_SalesOrderDetail (or the history's, once completed) of an order; SO_InvoiceDetail
        of an invoice still entered (a posted invoice's lines are not read: NotFound)."""
        if kind not in LINE_QUANTITY:
            raise self.unsupported(f"read the lines of a {kind}")
        return document_lines(kind, self.get(kind, number)["lines"])

    @classmethod
    def order_deal_reference(cls, event: WebhookEvent) -> str:
        return str(event.payload.get(ORDER_REFERENCE) or "")

    def read_order(self, number: str) -> OrderRead:
        row = self.get("sales_order", number)
        return OrderRead(
            row,
            self.updated_at(row),
            row.get(ORDER_REFERENCE) or "",
            back_order=row.get("OrderType") == "B",
        )

    def invoice_of_order(self, number: str) -> str:
        invoices = self.search("invoice_history", SalesOrderNo=number)
        return invoices[0]["InvoiceNo"] if invoices else ""

    def order_seen(self, number: str) -> DocumentSeen:
        row = self.get("sales_order", number)
        status = row.get("OrderStatus") or ""
        return DocumentSeen(
            kind="sales_order",
            number=number,
            deal_reference=str(row.get(ORDER_REFERENCE) or "").strip(),
            customer_ref=self.customer_ref(row),
            total=order_total(row),
            currency="",  # Sage 100 keeps one currency per company
            made_on=as_date(row["OrderDate"]),
            status=ORDER_STATUS_WORDS.get(status, status),
            net_total=net_total(row, ORDER_NET_PARTS),
        )

    def order_of_invoice(self, invoice_number: str) -> str:
        invoiced = self.search("invoice_history", InvoiceNo=invoice_number)
        return invoiced[0]["SalesOrderNo"] if invoiced else ""

    def read_payment(self, key: str) -> PaymentRead:
        record = self.get("cash_receipt", key)
        return PaymentRead(record, [record["InvoiceNo"]])

    def customer_contacts(self, ref: str) -> list[ContactRecord]:
        return contacts.customer_contacts(self, ref)

    def contact_customer(self, key: str) -> str:
        return contacts.contact_customer(self, key)

    def write_customer_contact(
        self, ref: str, contact: ContactRecord, fields: list[str], key: str
    ) -> tuple[ContactRecord, str]:
        return contacts.write_customer_contact(self, ref, contact, fields, key)

    def salespeople(self) -> list[Person]:
        return people.salespeople(self)

    def credit(self, ref: str) -> dict[str, Any]:
        """AR_Customer's CreditLimit and CurrentBalance, and its open SO_SalesOrderHeader rows."""
        customer = self.get("customer", ref)
        sql = self.reader.dialect.select(
            "SO_SalesOrderHeader",
            columns=["SalesOrderNo", "OrderStatus", "DiscountAmt", *ORDER_TOTAL_PARTS],
            where=["ARDivisionNo = ?", "CustomerNo = ?"],
        )
        orders = [
            row
            for row in self.reader.rows(sql, [customer["ARDivisionNo"], customer["CustomerNo"]])
            if row["OrderStatus"] in OPEN_ORDER_STATUSES
        ]
        amount = sum((order_total(order) for order in orders), Decimal(0))
        limit, balance = money(customer["CreditLimit"]), money(customer["CurrentBalance"])
        return {
            "name": customer["CustomerName"],
            "currency": "",  # Sage 100 keeps one currency per company
            "credit_limit": str(limit),
            "balance": str(balance),
            "available": str(limit - balance - amount),
            "open_orders": {"count": len(orders), "amount": str(amount)},
        }


def order_total(row: Record) -> Decimal:
    """An order header's total: its taxable, non-taxable, tax and freight less discount."""
    return money(sum(money(row[part]) for part in ORDER_TOTAL_PARTS) - money(row["DiscountAmt"]))
