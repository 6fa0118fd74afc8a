"""Sage 100 in the ERP role: customers (AR_Customer, keyed `<division>-<customer no>`),
sales orders and S/O invoices (`invoices`) through the bridge, items (CI_Item) with their
prices, and the feeds back: order headers open and in history, warehouse stock, cash
receipts, customers, and items and their price levels (CI_Item, IM_PriceCode), polled by
DateUpdated.

An item's price at a customer price level is the one Sage charges a customer of that level
for one unit: the item's own price-level record (IM_PriceCode.PriceCodeRecord 1), else the one
of the price code the item carries (CI_Item.PriceCode, record 0), else the standard price;
a record prices its first quantity break by its PricingMethod (`LEVEL_PRICING`).

A bound customer costs no call at all (its reference is the binding; its name, for the
note, is the deal's). A customer create names the CRM id (`UDF_CRM_ID`) and an order create
the deal (`UDF_DEAL_ID`), so the bridge answers with a record made for them meanwhile.

Item codes found in Sage are remembered by this process for KNOWN_ITEM_SECONDS (found ones
only: a code not found is looked up live every time, so an item created in Sage passes at the
next retry); an order Sage refuses over an item makes the process forget them all.
"""

import time
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from connectors.base import Record, WebhookEvent
from connectors.errors import ValidationError
from connectors.records import (
    CustomerMatch,
    DocumentLine,
    DocumentMade,
    DocumentSeen,
    ItemRef,
    OrderRead,
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
    ORDER_STATUS,
    PAYMENTS,
    PRICES,
    SALES_ORDERS,
    STOCK,
    Change,
    EntityNames,
    ErpRole,
    Feed,
)
from connectors.sage100.documents import (
    LINE_QUANTITY,
    ORDER_NET_PARTS,
    document_lines,
    net_total,
)
from connectors.sage100.invoices import Sage100Invoices, as_date
from connectors.values import (
    ADDRESS_PARTS,
    NamesakeColumns,
    ambiguous_customers,
    fitted_id,
    money,
)

KNOWN_ITEM_SECONDS = 300.0
REFERENCE_LENGTH = 40  # UDF_CRM_ID's width
CANDIDATES = 10  # customers listed when several match
# (connection id, its creation time, code in capitals) -> (expires at, Sage's ItemCode)
KNOWN_ITEMS: dict[tuple[Any, ...], tuple[float, str]] = {}
ORDER_REFERENCE, CUSTOMER_REFERENCE = "UDF_DEAL_ID", "UDF_CRM_ID"
ORDER_KIND = "sage100.sales_order"
OPEN_ORDER_STATUSES = ("N", "O", "H")  # new, open, on hold; closed orders move to history
ORDER_TOTAL_PARTS = ("TaxableAmt", "NonTaxableAmt", "SalesTaxAmt", "FreightAmt")
# Where an order lives: open, then in history once completed (it keeps UDF_DEAL_ID there).
ORDER_TABLES = (("SO_SalesOrderHeader", "open"), ("SO_SalesOrderHistoryHeader", "history"))
ORDER_STATUS_WORDS = {"N": "new", "O": "open", "H": "on hold", "C": "completed", "X": "deleted"}
CUSTOMER_COLUMNS = {  # common field → AR_Customer columns it is written to
    "name": ("CustomerName",),
    "phone": ("TelephoneNo",),
    "email": ("EmailAddress",),
    "billing_address": ("AddressLine1", "AddressLine2", "AddressLine3", "City", "State",
                        "ZipCode", "CountryCode"),
    "credit_limit": ("CreditLimit",),
    "terms": ("TermsCode",),
}  # fmt: skip
NAMESAKE_COLUMNS = NamesakeColumns("CustomerName", "EmailAddress", "CurrentBalance")
CENT = Decimal("0.01")
PRICE_CODE, ITEM_PRICE = "0", "1"  # IM_PriceCode.PriceCodeRecord of list prices
# PricingMethod → the price of one unit, from the standard price, the standard cost and the
# record's DiscountMarkup1: Override, Discount %, Price discount amount, Markup %, Cost plus.
LEVEL_PRICING = {
    "O": lambda price, cost, amount: amount,
    "D": lambda price, cost, amount: price * (1 - amount / 100),
    "P": lambda price, cost, amount: price - amount,
    "M": lambda price, cost, amount: cost * (1 + amount / 100),
    "C": lambda price, cost, amount: cost + amount,
}


def customer_columns(field: str, value: Any) -> dict[str, Any]:
    if field == "billing_address":
        lines = [*str(value.get("street") or "").split("\n"), "", ""][:3]
        parts = [*lines, *(value.get(part) for part in ADDRESS_PARTS[1:])]
        columns = CUSTOMER_COLUMNS[field]
        return {column: part or "" for column, part in zip(columns, parts, strict=True)}
    return {CUSTOMER_COLUMNS[field][0]: value if value not in (None, "") else None}


class Sage100Erp(Sage100Invoices, ErpRole):
    capabilities = frozenset(
        {SALES_ORDERS, INVOICES, CUSTOMER_SYNC, CUSTOMER_LIST, ITEM_LIST, CREDIT}
    )
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

    # ------------------------------------------------------------ customers

    def customer_ref(self, record: Record) -> str:
        return f"{record['ARDivisionNo']}-{record['CustomerNo']}"

    def bound_customer(self, ref: str, customer: dict[str, Any]) -> CustomerMatch:
        return CustomerMatch(ref, customer["name"], "bound before")

    def find_or_create_customer(
        self, values: Record, customer: dict[str, Any], idempotency_key: str
    ) -> CustomerMatch:
        """By the CRM record's id in UDF_CRM_ID (a key longer than the column, such as
        Streak's, by a digest that fits), then email, then name; the create names the id, so
        the bridge answers with a customer made for it meanwhile."""
        crm_id = str((customer.get("external_refs") or {}).get("crm") or "")
        reference = values.get(CUSTOMER_REFERENCE) or fitted_id(crm_id, REFERENCE_LENGTH)
        values = {**values, CUSTOMER_REFERENCE: reference} if reference else values
        searches = [
            ("CRM id", CUSTOMER_REFERENCE, reference),
            ("email", "EmailAddress", values.get("EmailAddress")),
            ("name", "CustomerName", values.get("CustomerName")),
        ]
        for how, column, value in searches:
            if value:
                found = self.search("customer", limit=CANDIDATES, **{column: value})
                if len(found) > 1:
                    several = {self.customer_ref(c): c for c in found}
                    raise ambiguous_customers(
                        "Sage 100", "sage100", how, value, several, NAMESAKE_COLUMNS
                    )
                if found:
                    return self.match(found[0], f"found by {how}")
        created = self.create("customer", values, idempotency_key)
        return self.match(created, "found by CRM id" if created.get("existed") else "created")

    def match(self, record: Record, how: str) -> CustomerMatch:
        return CustomerMatch(self.customer_ref(record), record.get("CustomerName") or "", how)

    def read_customer(self, ref: str) -> Record:
        return self.get("customer", ref)

    def customer_values(self, record: Record) -> dict[str, Any]:
        lines = [record.get(f"AddressLine{n}") or "" for n in (1, 2, 3)]
        street = "\n".join(line for line in lines if line)
        address = [street, *(record.get(c) for c in ("City", "State", "ZipCode", "CountryCode"))]
        return {
            "name": record.get("CustomerName"),
            "phone": record.get("TelephoneNo"),
            "email": record.get("EmailAddress"),
            "billing_address": dict(zip(ADDRESS_PARTS, address, strict=True)),
            "credit_limit": record.get("CreditLimit"),
            "terms": record.get("TermsCode"),
            "balance": record.get("CurrentBalance"),
            "account_number": record.get("CustomerNo"),
        }

    def update_customer(self, ref: str, values: dict[str, Any], idempotency_key: str) -> str:
        body = {
            k: v
            for field, value in values.items()
            for k, v in customer_columns(field, value).items()
        }
        self.update("customer", ref, body, idempotency_key)
        return self.change_of("customer", self.get("customer", ref)).stamp

    def customers_to_load(self) -> list[Record]:
        """In key order, less those bound to a CRM record already (`UDF_CRM_ID`)."""
        return [
            row
            for row in self.stream("customer")
            if not (row.get(CUSTOMER_REFERENCE) or "").strip()
        ]

    def items_to_load(self) -> list[dict[str, Any]]:
        """Every item as a canonical Item (its standard price as `unit_price`, in the
        company's one currency: left blank), with `price_levels`: its price at each customer
        price level Sage prices anything at, to the cent."""
        records = [
            row
            for row in self.stream("price_code")
            if row["PriceCodeRecord"] in (PRICE_CODE, ITEM_PRICE) and row["CustomerPriceLevel"]
        ]
        levels = sorted({row["CustomerPriceLevel"] for row in records})
        priced = {price_key(row): row for row in records}
        return [item_of(item, levels, priced) for item in self.stream("item")]

    # ------------------------------------------------------------ orders

    def find_item(self, code: str) -> ItemRef | None:
        key = self.known_item_key(code)
        known = KNOWN_ITEMS.get(key)
        if known and known[0] > time.monotonic():
            return ItemRef(known[1], known[1])
        found = self.search("item", limit=1, ItemCode=code)
        if not found:
            return None
        KNOWN_ITEMS[key] = (time.monotonic() + KNOWN_ITEM_SECONDS, found[0]["ItemCode"])
        return ItemRef(found[0]["ItemCode"], found[0]["ItemCode"])

    def known_item_key(self, code: str) -> tuple[Any, ...]:
        return (self.connection.pk, str(self.connection.created_at), code.strip().upper())

    def forget_items(self) -> None:
        """Look every item of this connection up live again (one was refused by Sage)."""
        scope = self.known_item_key("")[:2]
        for key in [key for key in KNOWN_ITEMS if key[:2] == scope]:
            KNOWN_ITEMS.pop(key, None)

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

    def order_of_invoice(self, invoice_number: str) -> str:
        invoiced = self.search("invoice_history", InvoiceNo=invoice_number)
        return invoiced[0]["SalesOrderNo"] if invoiced else ""

    def read_payment(self, key: str) -> PaymentRead:
        record = self.get("cash_receipt", key)
        return PaymentRead(record, [record["InvoiceNo"]])

    def read_stock(self, key: str) -> StockRead:
        item_code = self.parse_key("stock", key)["ItemCode"]
        return StockRead(item_code, self.search("stock", ItemCode=item_code))

    def warehouses(self) -> dict[str, str]:
        """IM_Warehouse: code → description."""
        rows = self.stream("warehouse")
        return {row["WarehouseCode"]: row["WarehouseDesc"] or "" for row in rows}

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


def level_price(record: Record, price: Decimal, cost: Decimal) -> Decimal:
    """One unit's price by a price-level record (its first quantity break), to the cent; a
    pricing method Sage does not document prices at the standard price."""
    amount = Decimal(str(record["DiscountMarkup1"] or 0))
    pricing = LEVEL_PRICING.get(record["PricingMethod"])
    found = pricing(price, cost, amount) if pricing else price
    return max(found, Decimal(0)).quantize(CENT, rounding=ROUND_HALF_UP)


def price_key(record: Record) -> tuple[str, str, str]:
    """What a list-price record prices: (its kind, the price code or the item, the level)."""
    priced = record["PriceCode"] if record["PriceCodeRecord"] == PRICE_CODE else record["ItemCode"]
    return record["PriceCodeRecord"], priced, record["CustomerPriceLevel"]


def item_of(
    item: Record, levels: list[str], priced: dict[tuple[str, str, str], Record]
) -> dict[str, Any]:
    """A CI_Item row as a canonical Item with its price at each level."""
    price, cost = money(item["StandardUnitPrice"]), Decimal(str(item["StandardUnitCost"] or 0))
    prices = {}
    for level in levels:
        record = priced.get((ITEM_PRICE, item["ItemCode"], level))
        if record is None and item.get("PriceCode"):
            record = priced.get((PRICE_CODE, item["PriceCode"], level))
        prices[level] = str(level_price(record, price, cost) if record else price)
    return {
        "sku": item["ItemCode"],
        "name": item.get("ItemCodeDesc") or item["ItemCode"],
        "description": item.get("ItemCodeDesc") or "",
        "unit_price": str(price),
        "currency": "",
        "active": item.get("InactiveItem") != "Y",
        "price_levels": prices,
    }
