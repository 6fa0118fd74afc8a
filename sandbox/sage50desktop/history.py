"""The seed's transactions: sales orders (journal 11, some closed by an invoice), sales
invoices (journal 3) and the cash receipts (journal 1) that paid them, dated in the months
before `today` and numbered in date order (PostOrder, invoice and order numbers), as Sage
50 numbers them when they are entered. Customer balances, last invoice dates and the
invoices' AmountPaid follow from them.
"""

import random
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal

from sandbox.sage50desktop.data import gl_number
from sandbox.sage50desktop.ledger import (
    AR_ACCOUNT_ID,
    CASH_ACCOUNT_ID,
    FREIGHT_ACCOUNT_ID,
    SALES_JOURNAL,
    SALES_ORDER_JOURNAL,
    STOCK_ITEM_CLASS,
    Accounts,
    Line,
    Row,
    decimal_of,
    document_rows,
    invoice_number,
    new_guid,
    receipt_rows,
    sales_order_number,
    to_money,
)

FIRST_INVOICE_NUMBER = 10011
FIRST_SALES_ORDER_NUMBER = 1036
SALES_ORDER_COUNT = 15
INVOICED_ORDER_COUNT = 6
STANDALONE_INVOICE_COUNT = 34
RECEIPT_COUNT = 20
PAYMENT_METHODS = {"Check": "", "ACH": "ACH-", "Credit Card": "CC-"}  # method: reference prefix
# what customers buy at a time, by unit price (up to the key)
QUANTITIES = {
    Decimal(100): [2, 4, 6, 10, 12, 24],
    Decimal(500): [1, 2, 3, 5],
    Decimal("1e9"): [1, 1, 2],
}
ACCOUNTS = Accounts(
    receivable=gl_number(AR_ACCOUNT_ID),
    cash=gl_number(CASH_ACCOUNT_ID),
    freight=gl_number(FREIGHT_ACCOUNT_ID),
)


@dataclass
class Document:
    """An order or invoice before numbering: its date, customer, lines and freight."""

    journal: int
    day: date
    customer: Row
    lines: list[Line]
    freight: Decimal = Decimal(0)
    purchase_order: str = ""
    closes: "Document | None" = None  # the sales order an invoice fills
    number: str = ""
    header: Row = field(default_factory=dict)


def _lines(rng: random.Random, customer: Row, items: list[Row]) -> list[Line]:
    lines = []
    for item in rng.sample(items, rng.randint(1, 4)):
        price = item[f"SalesPrice{customer['PriceLevel'] + 1}"]
        quantity = Decimal(rng.choice(QUANTITIES[next(p for p in QUANTITIES if price < p)]))
        lines.append(
            Line(
                gl_account=item["GLSalesAcct"],
                description=item["ItemDescription"],
                quantity=quantity,
                unit_price=price,
                amount=to_money(quantity * price),
                item_record=item["ItemRecordNumber"],
                taxable=item["ItemClass"] == STOCK_ITEM_CLASS,
            )
        )
    return lines


def _document(
    rng: random.Random, journal: int, day: date, customer: Row, items: list[Row]
) -> Document:
    return Document(
        journal, day, customer, _lines(rng, customer, items),
        freight=Decimal(rng.choice([0, 0, 0, 25, 45])),
        purchase_order=rng.choice(["", f"PO{rng.randint(4000, 9999)}"]),
    )  # fmt: skip


def _header(document: Document, addresses: dict[int, Row], rng: random.Random) -> Row:
    customer = document.customer
    address = addresses[customer["CustomerRecordNumber"]]
    due = document.day + timedelta(days=customer["Terms_DueDays"])
    return {
        "Reference": document.number, "TransactionDate": document.day, "DueDate": due,
        "CustVendId": customer["CustomerRecordNumber"],
        "EmpRecordNumber": customer["EmpRecordNumber"], "PurchOrder": document.purchase_order,
        "INV_POSOOrderNumber": document.closes.number if document.closes else "",
        "SalesTaxCode": customer["SalesTaxCode"], "ShipToName": customer["Customer_Bill_Name"],
        "ShipToAddressLine1": address["AddressLine1"],
        "ShipToAddressLine2": address["AddressLine2"], "ShipToCity": address["City"],
        "ShipToState": address["State"], "ShipToZip": address["Zip"],
        "ShipToCountry": address["Country"], "GUID": new_guid(rng),
    }  # fmt: skip


def history_rows(
    rng: random.Random, today: date, tables: dict[str, list[Row]]
) -> tuple[dict[str, list[Row]], int, int]:
    """JrnlHdr and JrnlRow for the seed, with `tables`' Customers updated (Balance,
    LastInvoiceDate); also the next invoice and sales order numbers."""
    customers = [c for c in tables["Customers"] if not c["CustomerIsInactive"]]
    items = [i for i in tables["LineItem"] if not i["ItemIsInactive"]]
    addresses = {
        a["CustomerRecordNumber"]: a for a in tables["Address"] if a["AddressTypeNumber"] == 0
    }

    order_days = sorted(
        today - timedelta(days=rng.randint(3, 150)) for _ in range(SALES_ORDER_COUNT)
    )
    orders = [
        _document(rng, SALES_ORDER_JOURNAL, day, rng.choice(customers), items) for day in order_days
    ]
    invoices = [
        _document(rng, SALES_JOURNAL, today - timedelta(days=rng.randint(1, 160)),
                  rng.choice(customers), items)
        for _ in range(STANDALONE_INVOICE_COUNT)
    ]  # fmt: skip
    for order in orders[:INVOICED_ORDER_COUNT]:
        invoices.append(
            Document(
                SALES_JOURNAL,
                order.day + timedelta(days=rng.randint(1, 3)),
                order.customer,
                order.lines,
                order.freight,
                order.purchase_order,
                closes=order,
            )
        )
    invoices.sort(key=lambda document: document.day)
    for number, order in enumerate(orders, start=FIRST_SALES_ORDER_NUMBER):
        order.number = sales_order_number(number)
    for number, invoice in enumerate(invoices, start=FIRST_INVOICE_NUMBER):
        invoice.number = invoice_number(number)

    # Post in date order; on one day orders before invoices before receipts.
    documents = sorted(orders + invoices, key=lambda d: (d.day, d.journal == SALES_JOURNAL))
    headers: list[Row] = []
    rows: list[Row] = []
    by_number: dict[str, Row] = {}
    for post_order, document in enumerate(documents, start=1):
        hdr, document_lines = document_rows(
            post_order, document.journal, _header(document, addresses, rng), document.lines,
            document.freight, ACCOUNTS,
        )  # fmt: skip
        if document.closes:
            by_number[document.closes.number]["IsClosed"] = 1
        by_number[document.number] = hdr
        headers.append(hdr)
        rows.extend(document_lines)

    receipts = _receipts(rng, today, [by_number[i.number] for i in invoices])
    receipts.sort(key=lambda receipt: receipt[0]["TransactionDate"])
    for receipt_header, amount, invoice in receipts:
        post_order = len(headers) + 1
        hdr, receipt_lines = receipt_rows(post_order, receipt_header, amount, invoice, ACCOUNTS)
        headers.append(hdr)
        rows.extend(receipt_lines)
    headers, rows = _in_post_order(headers, rows)
    _apply_to_customers(tables["Customers"], headers)
    return (
        {"JrnlHdr": headers, "JrnlRow": rows},
        FIRST_INVOICE_NUMBER + len(invoices),
        FIRST_SALES_ORDER_NUMBER + len(orders),
    )


def _receipts(
    rng: random.Random, today: date, invoices: list[Row]
) -> list[tuple[Row, Decimal, Row]]:
    """(receipt header, amount, invoice paid): older invoices paid in full, a few in part."""
    payable = [i for i in invoices if (today - i["TransactionDate"]).days > 20]
    receipts = []
    for invoice in rng.sample(payable, min(RECEIPT_COUNT, len(payable))):
        total = invoice["MainAmount"]
        amount = total if rng.random() < 0.8 else to_money(total / 2)
        paid_on = min(
            invoice["TransactionDate"] + timedelta(days=rng.randint(7, 40)),
            today - timedelta(days=1),
        )
        method = rng.choice(["Check", "Check", "Check", "ACH", "Credit Card"])
        reference = f"{PAYMENT_METHODS[method]}{rng.randint(1001, 9999)}"
        invoice["AmountPaid"] = amount
        header = {
            "Reference": reference, "TransactionDate": paid_on, "PaymentMethod": method,
            "GUID": new_guid(rng),
        }  # fmt: skip
        receipts.append((header, amount, invoice))
    return receipts


def _in_post_order(headers: list[Row], rows: list[Row]) -> tuple[list[Row], list[Row]]:
    """Renumber so PostOrder follows the transaction dates (receipts were posted after the
    documents were numbered), keeping each receipt's LinkToAnotherTrx pointing right."""
    ordered = sorted(headers, key=lambda h: (h["TransactionDate"], h["PostOrder"]))
    renumber = {h["PostOrder"]: new for new, h in enumerate(ordered, start=1)}
    for hdr in headers:
        hdr["PostOrder"] = renumber[hdr["PostOrder"]]
    for row in rows:
        row["PostOrder"] = renumber[row["PostOrder"]]
        if row["LinkToAnotherTrx"]:
            row["LinkToAnotherTrx"] = renumber[row["LinkToAnotherTrx"]]
    rows.sort(key=lambda r: (r["PostOrder"], r["RowNumber"]))
    return ordered, rows


def _apply_to_customers(customers: list[Row], headers: list[Row]) -> None:
    """Balance = what the customer's invoices still owe; LastInvoiceDate = the newest."""
    by_number = {c["CustomerRecordNumber"]: c for c in customers}
    for hdr in headers:
        if hdr["JrnlKey_Journal"] != SALES_JOURNAL:
            continue
        customer = by_number[hdr["CustVendId"]]
        owed = decimal_of(hdr["MainAmount"]) - decimal_of(hdr["AmountPaid"])
        customer["Balance"] = decimal_of(customer["Balance"]) + owed
        last = customer["LastInvoiceDate"]
        customer["LastInvoiceDate"] = (
            max(last, hdr["TransactionDate"]) if last else hdr["TransactionDate"]
        )
