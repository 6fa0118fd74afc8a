"""The sandbox's SalesInvoiceFactory, SalesOrderFactory and Receipts: a document checked
the way the SDK's Save() checks it, then posted as JrnlHdr + JrnlRow (see `ledger`), with
what an invoice changes elsewhere (stock, the customer's balance). Runs in the caller's
transaction; raises `Refused` with nothing written."""

import sqlite3
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from agent.backend import Record, Refused
from sandbox.sage50desktop.customers import find_customer, main_address
from sandbox.sage50desktop.ledger import (
    AR_ACCOUNT_ID,
    CASH_ACCOUNT_ID,
    FREIGHT_ACCOUNT_ID,
    FREIGHT_ROW,
    LINE_ROW,
    SALES_JOURNAL,
    SALES_ORDER_JOURNAL,
    STOCK_ITEM_CLASS,
    Accounts,
    Line,
    document_rows,
    invoice_number,
    new_guid,
    receipt_rows,
    sales_order_number,
    to_money,
)
from sandbox.sage50desktop.records import (
    account_id_of,
    check_open_period,
    column_value,
    company,
    fetch,
    fetch_all,
    gl_account,
    insert,
    next_record_number,
    to_date,
    to_decimal,
    to_text,
    update,
)

# Wire name -> JrnlHdr column, for the header values a document takes as they are.
HEADER_COLUMNS = {
    "ReferenceNumber": "Reference", "CustomerPurchaseOrderNumber": "PurchOrder",
    "InternalNote": "InternalNote", "ShipToName": "ShipToName",
    "ShipToAddressLine1": "ShipToAddressLine1", "ShipToAddressLine2": "ShipToAddressLine2",
    "ShipToCity": "ShipToCity", "ShipToState": "ShipToState", "ShipToZip": "ShipToZip",
    "ShipToCountry": "ShipToCountry",
}  # fmt: skip
HEADER_FIELDS = {"CustomerID", "Date", "DateDue", "FreightAmount", "SalesRepID", *HEADER_COLUMNS}
LINE_FIELDS = {"ItemID", "AccountID", "Description", "Quantity", "UnitPrice", "Amount"}
DOCUMENT_NAMES = {SALES_JOURNAL: "sales invoice", SALES_ORDER_JOURNAL: "sales order"}
ADDRESS_PARTS = ("AddressLine1", "AddressLine2", "City", "State", "Zip", "Country")
PAYMENT_METHODS = ("Check", "Cash", "ACH", "Credit Card", "Wire Transfer")


class Journals:
    def __init__(self, db: sqlite3.Connection) -> None:
        self.db = db
        self.accounts = Accounts(
            receivable=gl_account(db, AR_ACCOUNT_ID)["GLAcntNumber"],
            cash=gl_account(db, CASH_ACCOUNT_ID)["GLAcntNumber"],
            freight=gl_account(db, FREIGHT_ACCOUNT_ID)["GLAcntNumber"],
        )

    # ------------------------------------------------------------ invoices and orders

    def create(self, journal: int, values: Record, line_values: list[Record]) -> Record:
        """Check and post a sales invoice (journal 3) or sales order (journal 11)."""
        what = DOCUMENT_NAMES[journal]
        unknown = sorted(set(values) - HEADER_FIELDS)
        if unknown:
            raise Refused(f"{unknown[0]} is not a field of a Sage 50 {what}.", unknown[0])
        customer_id = values.get("CustomerID") or ""
        if not customer_id:
            raise Refused(f"A Customer ID is required on a {what}.", "CustomerID")
        customer = find_customer(self.db, str(customer_id))
        if customer is None:
            raise Refused(f"Customer ID '{customer_id}' was not found.", "CustomerID")
        if customer["CustomerIsInactive"]:
            raise Refused(f"Customer ID '{customer_id}' is inactive.", "CustomerID")
        day = to_date(values["Date"], "Date") if values.get("Date") else date.today()
        check_open_period(self.db, day)
        due = (
            to_date(values["DateDue"], "DateDue")
            if values.get("DateDue")
            else day + timedelta(days=customer["Terms_DueDays"])
        )
        header = {
            column: column_value("JrnlHdr", column, values[name], name)
            for name, column in HEADER_COLUMNS.items()
            if values.get(name) is not None
        }
        header.update(self._reference(journal, header.get("Reference", "")))
        freight = to_money(to_decimal(values.get("FreightAmount") or 0, "FreightAmount"))
        if freight < 0:
            raise Refused("FreightAmount cannot be negative.", "FreightAmount")
        if not line_values:
            raise Refused(f"The {what} has no lines.", "lines")
        lines = [self._line(n, line, customer) for n, line in enumerate(line_values, 1)]
        header = {
            **self._ship_to(customer),
            **header,
            "TransactionDate": day,
            "DueDate": due,
            "CustVendId": customer["CustomerRecordNumber"],
            "EmpRecordNumber": self._sales_rep(values.get("SalesRepID"), customer),
            "SalesTaxCode": customer["SalesTaxCode"],
            "GUID": new_guid(),
        }
        post_order = next_record_number(self.db, "JrnlHdr", "PostOrder")
        hdr, rows = document_rows(post_order, journal, header, lines, freight, self.accounts)
        insert(self.db, "JrnlHdr", hdr)
        for row in rows:
            insert(self.db, "JrnlRow", row)
        if journal == SALES_JOURNAL:
            self._post_invoice(customer, hdr, lines)
        return self.record(post_order)

    def _sales_rep(self, employee_id: Any, customer: Record) -> int | None:
        """The document's sales rep (an Employee marked as one, by EmployeeID); none given,
        the customer's own, as Sage fills it in when the customer is picked."""
        if not employee_id:
            return customer["EmpRecordNumber"]
        employee = fetch(self.db, "Employee", "EmployeeID = ?", str(employee_id))
        if employee is None:
            raise Refused(f"Sales rep '{employee_id}' was not found.", "SalesRepID")
        if not employee["IsSalesRep"]:
            raise Refused(f"Employee '{employee_id}' is not a sales rep.", "SalesRepID")
        return employee["EmpRecordNumber"]

    def _reference(self, journal: int, reference: str) -> Record:
        """The document's number: the one given when not used yet, else the company's next."""
        used = "SELECT 1 FROM JrnlHdr WHERE JrnlKey_Journal = ? AND Reference = ?"
        if reference:
            if self.db.execute(used, (journal, reference)).fetchone():
                raise Refused(
                    f"Reference number '{reference}' has already been used for another "
                    f"{DOCUMENT_NAMES[journal]}.",
                    "ReferenceNumber",
                )
            return {"Reference": reference}
        counter = "NextInvoiceNumber" if journal == SALES_JOURNAL else "NextSalesOrderNumber"
        make = invoice_number if journal == SALES_JOURNAL else sales_order_number
        number = int(company(self.db)[counter])
        while self.db.execute(used, (journal, make(number))).fetchone():
            number += 1
        self.db.execute(f"UPDATE Company SET {counter} = ?", (number + 1,))
        return {"Reference": make(number)}

    def _line(self, number: int, values: Record, customer: Record) -> Line:
        """One line, checked as AddSalesLine() and Save() check it."""
        label = f"Line {number}: "
        unknown = sorted(set(values) - LINE_FIELDS)
        if unknown:
            raise Refused(f"{label}{unknown[0]} is not a field of a sales line.", unknown[0])
        item = None
        if values.get("ItemID"):
            item_id = values["ItemID"]
            item = fetch(self.db, "LineItem", "ItemID = ?", item_id)
            if item is None:
                raise Refused(f"{label}Item ID '{item_id}' was not found.", "ItemID")
            if item["ItemIsInactive"]:
                raise Refused(f"{label}Item ID '{item_id}' is inactive.", "ItemID")
        if values.get("AccountID"):
            gl_number = gl_account(self.db, str(values["AccountID"]), label)["GLAcntNumber"]
        elif item is not None:
            gl_number = item["GLSalesAcct"]
        else:
            raise Refused(f"{label}an Item ID or a GL account is required.", "ItemID")
        if values.get("Quantity") is None:
            raise Refused(f"{label}a quantity is required.", "Quantity")
        quantity = to_decimal(values["Quantity"], "Quantity", label)
        if quantity <= 0:
            raise Refused(f"{label}the quantity must be greater than zero.", "Quantity")
        amount = values.get("Amount")
        unit_price = self._unit_price(label, values, item, customer, quantity)
        extended = to_money(quantity * unit_price)
        if amount is not None and to_money(to_decimal(amount, "Amount", label)) != extended:
            raise Refused(
                f"{label}the amount {to_decimal(amount, 'Amount')} is not the quantity times "
                f"the unit price ({quantity} x {unit_price} = {extended}).",
                "Amount",
            )
        description = values.get("Description")
        if description is None:
            description = item["ItemDescription"] if item else ""
        return Line(
            gl_account=gl_number,
            description=to_text(description, "Description", 160, label),
            quantity=quantity,
            unit_price=unit_price,
            amount=extended,
            item_record=item["ItemRecordNumber"] if item else 0,
            taxable=bool(item) and item["ItemClass"] == STOCK_ITEM_CLASS,
        )

    @staticmethod
    def _unit_price(
        label: str, values: Record, item: Record | None, customer: Record, quantity: Decimal
    ) -> Decimal:
        """The price given, else the item's price at the customer's level (level 1 when that
        level has no price), else the amount over the quantity."""
        if values.get("UnitPrice") is not None:
            price = to_decimal(values["UnitPrice"], "UnitPrice", label)
        elif item is not None:
            price = item.get(f"SalesPrice{customer['PriceLevel'] + 1}") or item["SalesPrice1"]
        elif values.get("Amount") is not None:
            price = to_decimal(values["Amount"], "Amount", label) / quantity
        else:
            raise Refused(
                f"{label}a unit price is required on a line without an item.", "UnitPrice"
            )
        if price < 0:
            raise Refused(f"{label}the unit price cannot be negative.", "UnitPrice")
        return price

    def _ship_to(self, customer: Record) -> Record:
        """Ship-to defaults: the customer's name and main address (the values given win)."""
        address = main_address(self.db, customer["CustomerRecordNumber"]) or {}
        defaults = {f"ShipTo{part}": address.get(part, "") for part in ADDRESS_PARTS}
        return {"ShipToName": customer["Customer_Bill_Name"], **defaults}

    def _post_invoice(self, customer: Record, hdr: Record, lines: list[Line]) -> None:
        """What an invoice moves besides its journal: stock out, the customer's balance up."""
        for line in lines:
            if line.item_record:
                self.db.execute(
                    "UPDATE LineItem SET QuantityOnHand = QuantityOnHand - ? "
                    "WHERE ItemRecordNumber = ? AND ItemClass = ?",
                    (str(line.quantity), line.item_record, STOCK_ITEM_CLASS),
                )
        last = customer["LastInvoiceDate"]
        day = hdr["TransactionDate"].isoformat()
        customer.update(
            Balance=customer["Balance"] + hdr["MainAmount"],
            LastInvoiceDate=max(last, day) if last else day,
        )
        update(self.db, "Customers", customer, "CustomerRecordNumber")

    # ------------------------------------------------------------ reading back

    def holding(self, journal: int, field: str, value: Any) -> list[Record]:
        """The documents of `journal` whose header field (a wire name) holds `value`."""
        column = HEADER_COLUMNS.get(field)
        if column is None:
            raise Refused(f"A {DOCUMENT_NAMES[journal]} cannot be matched on {field}.", field)
        return fetch_all(
            self.db,
            "JrnlHdr",
            f"JrnlKey_Journal = ? AND {column} = ? ORDER BY PostOrder",
            journal,
            value,
        )

    def record(self, post_order: int) -> Record:
        """A document as the agent replies: header wire names, PostOrder, MainAmount, lines."""
        hdr = fetch(self.db, "JrnlHdr", "PostOrder = ?", post_order) or {}
        rows = fetch_all(self.db, "JrnlRow", "PostOrder = ? ORDER BY RowNumber", post_order)
        customer = fetch(self.db, "Customers", "CustomerRecordNumber = ?", hdr["CustVendId"])
        items = {
            row["ItemRecordNumber"]: fetch(
                self.db, "LineItem", "ItemRecordNumber = ?", row["ItemRecordNumber"]
            )
            for row in rows
            if row["ItemRecordNumber"]
        }
        freight = sum((-r["Amount"] for r in rows if r["RowType"] == FREIGHT_ROW), Decimal(0))
        return {
            "PostOrder": hdr["PostOrder"],
            "CustomerID": customer["CustomerID"] if customer else "",
            "Date": hdr["TransactionDate"],
            "DateDue": hdr["DueDate"],
            **{name: hdr[column] for name, column in HEADER_COLUMNS.items()},
            "FreightAmount": to_money(freight),
            "MainAmount": hdr["MainAmount"],
            "AmountPaid": hdr["AmountPaid"],
            "SalesOrderNumber": hdr["INV_POSOOrderNumber"],
            "SalesRepID": self._employee_id(hdr["EmpRecordNumber"]),
            "IsClosed": hdr["IsClosed"],
            "lines": [
                {
                    "RowNumber": row["RowNumber"],
                    "ItemID": items[row["ItemRecordNumber"]]["ItemID"]
                    if row["ItemRecordNumber"]
                    else "",
                    "AccountID": account_id_of(self.db, row["GLAcntNumber"]),
                    "Description": row["RowDescription"],
                    "Quantity": row["Quantity"],
                    "UnitPrice": row["UnitCost"],
                    "Amount": -row["Amount"],
                }
                for row in rows
                if row["RowType"] == LINE_ROW
            ],
        }

    def _employee_id(self, record_number: int | None) -> str:
        employee = fetch(self.db, "Employee", "EmpRecordNumber = ?", record_number or 0)
        return employee["EmployeeID"] if employee else ""

    # ------------------------------------------------------------ receipts

    def record_receipt(
        self,
        customer_id: str,
        invoice_reference: str,
        amount: Any,
        reference: str,
        method: str,
        day: Any,
    ) -> Record:
        """Receipts: a payment from the customer applied to one of its invoices."""
        customer = find_customer(self.db, customer_id)
        if customer is None:
            raise Refused(f"Customer ID '{customer_id}' was not found.", "CustomerID")
        invoice = fetch(
            self.db,
            "JrnlHdr",
            "JrnlKey_Journal = ? AND Reference = ? AND CustVendId = ?",
            SALES_JOURNAL,
            invoice_reference,
            customer["CustomerRecordNumber"],
        )
        if invoice is None:
            raise Refused(
                f"Invoice '{invoice_reference}' was not found for customer '{customer_id}'.",
                "InvoiceNumber",
            )
        paid = to_money(to_decimal(amount, "Amount"))
        due = invoice["MainAmount"] - invoice["AmountPaid"]
        if paid <= 0:
            raise Refused("The amount received must be greater than zero.", "Amount")
        if paid > due:
            raise Refused(
                f"The amount {paid} is more than the {due} still due on invoice "
                f"{invoice_reference}.",
                "Amount",
            )
        if method not in PAYMENT_METHODS:
            raise Refused(f"Payment method must be one of {', '.join(PAYMENT_METHODS)}.", "Method")
        received = to_date(day, "Date") if day else date.today()
        check_open_period(self.db, received)
        header = {
            "Reference": to_text(reference, "Reference", 20),
            "TransactionDate": received,
            "PaymentMethod": method,
            "GUID": new_guid(),
        }
        post_order = next_record_number(self.db, "JrnlHdr", "PostOrder")
        hdr, rows = receipt_rows(post_order, header, paid, invoice, self.accounts)
        insert(self.db, "JrnlHdr", hdr)
        for row in rows:
            insert(self.db, "JrnlRow", row)
        invoice["AmountPaid"] += paid
        update(self.db, "JrnlHdr", invoice, "PostOrder")
        customer["Balance"] -= paid
        update(self.db, "Customers", customer, "CustomerRecordNumber")
        return {
            "PostOrder": post_order, "CustomerID": customer_id, "InvoiceNumber": invoice_reference,
            "Reference": header["Reference"], "Date": received.isoformat(), "Amount": paid,
            "PaymentMethod": method, "InvoiceBalance": due - paid,
        }  # fmt: skip
