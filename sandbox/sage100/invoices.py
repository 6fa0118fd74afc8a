"""The sandbox's SO_Invoice_bus: an S/O invoice keyed straight in (no sales order behind it,
as for a service sold and billed at once) and its posting. Each method runs inside the
caller's transaction and raises Refused to refuse, so a refused invoice writes nothing.

An invoice entered waits in SO_InvoiceHeader/SO_InvoiceDetail; posting it (Sage's Daily
Sales Reports/Update) copies the header to AR_InvoiceHistoryHeader and opens its balance in
AR_OpenInvoice, which is when the customer's balance and aging change.
"""

import sqlite3
from datetime import date, timedelta
from decimal import Decimal

from agent.backend import Record, Refused
from sandbox.sage100.boi import (
    active_item,
    fetch,
    find_customer,
    insert,
    set_values,
    stamp,
    to_decimal,
)
from sandbox.sage100.rules import (
    line_extension,
    line_key,
    line_seq_no,
    order_number,
    order_total,
    order_totals,
    to_money,
)
from sandbox.sage100.sales import SalesOrders
from sandbox.sage100.schema import TABLES_BY_NAME

HEADER = "SO_InvoiceHeader"
DETAIL = "SO_InvoiceDetail"
HISTORY = "AR_InvoiceHistoryHeader"
HEADER_SETTABLE = {
    "InvoiceType", "InvoiceDate", "BatchNo", "CustomerPONo", "Comment", "EmailAddress",
    "FreightAmt", "UDF_DEAL_ID", "ShipToCode", "ShipToName", "ShipToAddress1", "ShipToAddress2",
    "ShipToAddress3", "ShipToCity", "ShipToState", "ShipToZipCode", "ShipToCountryCode",
    "SalesOrderNo",  # an order invoiced: it must be open and the customer's
}  # fmt: skip
LINE_SETTABLE = {
    "ItemCode", "ItemCodeDesc", "WarehouseCode", "QuantityOrdered", "QuantityShipped",
    "UnitPrice", "LineDiscountPercent", "CommentText", "SalesAcctKey",
}  # fmt: skip
INVOICE_TYPES = {"IN": "Invoice"}  # what Invoice Data Entry takes without a sales order


class Invoices:
    def __init__(self, db: sqlite3.Connection) -> None:
        self.db = db

    def next_number(self) -> str:
        """The next invoice number (SO_Options.NextInvoiceNo), skipping numbers in use."""
        number = int(fetch(self.db, "SELECT NextInvoiceNo FROM SO_Options")["NextInvoiceNo"])
        while self.find(order_number(number)):
            number += 1
        self.db.execute("UPDATE SO_Options SET NextInvoiceNo = ?", (order_number(number + 1),))
        return order_number(number)

    def find(self, number: str) -> Record | None:
        """The invoice entered or posted with this number."""
        for table in (HEADER, HISTORY):
            found = fetch(self.db, f"SELECT * FROM {table} WHERE InvoiceNo = ?", number)
            if found:
                return found
        return None

    def create(self, values: Record, line_values: list[Record]) -> Record:
        values = dict(values)
        division = str(values.pop("ARDivisionNo", ""))
        customer_no = str(values.pop("CustomerNo", "")).upper()
        customer = find_customer(self.db, division, customer_no)
        if customer is None:
            raise Refused(f"Customer {division}-{customer_no} is not on file.")
        if customer["CustomerStatus"] == "I":
            raise Refused(f"Customer {division}-{customer_no} is inactive.")
        number = str(values.pop("InvoiceNo", "") or self.next_number())
        if len(number) != 7 or not number.isdigit():
            raise Refused(f"Invalid invoice number {number}: use 7 digits.")
        if self.find(number):
            raise Refused(f"Invoice {number} already exists.")
        known = set(TABLES_BY_NAME[HEADER].column_names)
        refused = sorted(c for c in values if c in known and c not in HEADER_SETTABLE)
        if refused:
            raise Refused(f"The column {refused[0]} cannot be set on a new invoice.")
        header = TABLES_BY_NAME[HEADER].blank()
        header.update(
            InvoiceNo=number, InvoiceType="IN", InvoiceDate=date.today().isoformat(),
            ARDivisionNo=division, CustomerNo=customer_no, TermsCode=customer["TermsCode"],
            TaxSchedule=customer["TaxSchedule"], SalespersonNo=customer["SalespersonNo"],
            EmailAddress=customer["EmailAddress"], **SalesOrders.bill_and_ship_to(customer),
        )  # fmt: skip
        set_values(HEADER, header, values, set())
        if header["SalesOrderNo"]:
            self._check_order(header)
        if header["InvoiceType"] not in INVOICE_TYPES:
            raise Refused(f"Invalid InvoiceType {header['InvoiceType']}: use IN.")
        header["InvoiceDueDate"] = self._due(header).isoformat()
        if not line_values:
            raise Refused("The invoice has no lines.")
        lines = [self._line(number, index, line) for index, line in enumerate(line_values, 1)]
        totals = order_totals(lines, header["TaxSchedule"])
        header.update(
            TaxableSalesAmt=float(totals["TaxableAmt"]),
            NonTaxableSalesAmt=float(totals["NonTaxableAmt"]),
            SalesTaxAmt=float(totals["SalesTaxAmt"]),
            **stamp(True),
        )
        insert(self.db, HEADER, header)
        for line in lines:
            insert(self.db, DETAIL, line)
        return {**header, "lines": lines}

    def _check_order(self, header: Record) -> None:
        """The invoiced sales order must be open, and the customer's."""
        number = header["SalesOrderNo"]
        order = fetch(self.db, "SELECT * FROM SO_SalesOrderHeader WHERE SalesOrderNo = ?", number)
        if order is None:
            raise Refused(f"Sales order {number} is not on file or no longer open.")
        customer = (header["ARDivisionNo"], header["CustomerNo"])
        if (order["ARDivisionNo"], order["CustomerNo"]) != customer:
            raise Refused(f"Sales order {number} is for another customer.")

    def _due(self, header: Record) -> date:
        terms = fetch(
            self.db, "SELECT * FROM AR_TermsCode WHERE TermsCode = ?", header["TermsCode"]
        )
        days = terms["DaysBeforeDue"] if terms else 30
        return date.fromisoformat(header["InvoiceDate"]) + timedelta(days=days)

    def _line(self, number: str, index: int, values: Record) -> Record:
        """One detail line checked the way SO_Invoice_bus.oLines does: a known, active item;
        an inventory item must be stocked in the line's warehouse."""
        known = set(TABLES_BY_NAME[DETAIL].column_names)
        refused = sorted(c for c in values if c in known and c not in LINE_SETTABLE)
        if refused:
            raise Refused(f"The column {refused[0]} cannot be set on a line.")
        code, item = active_item(self.db, values)
        line = TABLES_BY_NAME[DETAIL].blank()
        line.update(
            InvoiceNo=number, LineKey=line_key(index), LineSeqNo=line_seq_no(index),
            ItemCode=code, ItemType=item["ItemType"], ItemCodeDesc=item["ItemCodeDesc"],
            WarehouseCode=item["DefaultWarehouseCode"] or "000",
            UnitOfMeasure=item["SalesUnitOfMeasure"], SalesAcctKey=item["SalesAcctKey"],
            CostOfGoodsSoldAcctKey=item["CostOfGoodsSoldAcctKey"],
            UnitPrice=item["StandardUnitPrice"], UnitCost=item["StandardUnitCost"],
            TaxClass=item["TaxClass"],
        )  # fmt: skip
        set_values(DETAIL, line, {**values, "ItemCode": code}, set())
        ordered = to_decimal(values.get("QuantityOrdered", 0), "QuantityOrdered")
        shipped = to_decimal(values.get("QuantityShipped", ordered), "QuantityShipped")
        if shipped <= 0:
            raise Refused(f"Line {index}: the quantity shipped must be greater than zero.")
        if line["SalesAcctKey"] and not fetch(
            self.db, "SELECT 1 FROM GL_Account WHERE AccountKey = ?", line["SalesAcctKey"]
        ):
            raise Refused(f"Line {index}: the sales account {line['SalesAcctKey']} is not on file.")
        if item["ItemType"] == "1" and not fetch(
            self.db,
            "SELECT 1 FROM IM_ItemWarehouse WHERE ItemCode = ? AND WarehouseCode = ?",
            code, line["WarehouseCode"],
        ):  # fmt: skip
            raise Refused(f"Item {code} is not stocked in warehouse {line['WarehouseCode']}.")
        price = Decimal(str(line["UnitPrice"]))
        discount = Decimal(str(line["LineDiscountPercent"]))
        if price < 0 or not 0 <= discount <= 100:
            raise Refused(f"Line {index}: invalid unit price or discount percent.")
        line.update(QuantityOrdered=float(ordered or shipped), QuantityShipped=float(shipped))
        line["ExtensionAmt"] = float(line_extension(shipped, price, discount))
        return line

    def lines(self, number: str) -> list[Record]:
        rows = self.db.execute(
            f"SELECT * FROM {DETAIL} WHERE InvoiceNo = ? ORDER BY LineKey", (number,)
        )
        return [dict(row) for row in rows]

    def post(self, number: str) -> Record:
        """Daily Sales Reports/Update for one invoice: to history, its balance opened, the
        customer's balance and aging recomputed; returns the history header."""
        header = fetch(self.db, f"SELECT * FROM {HEADER} WHERE InvoiceNo = ?", number)
        if header is None:
            raise Refused(f"Invoice {number} is not on file in S/O Invoice Data Entry.")
        history = TABLES_BY_NAME[HISTORY].blank()
        history.update({k: v for k, v in header.items() if k in history})
        history.update(HeaderSeqNo="000000", ModuleCode="S/O", **stamp(True))
        insert(self.db, HISTORY, history)
        total = to_money(
            order_total(
                {
                    "TaxableAmt": header["TaxableSalesAmt"],
                    "NonTaxableAmt": header["NonTaxableSalesAmt"],
                    "SalesTaxAmt": header["SalesTaxAmt"],
                    "FreightAmt": header["FreightAmt"],
                    "DiscountAmt": header["DiscountAmt"],
                }
            )
        )
        insert(self.db, "AR_OpenInvoice", {
            "ARDivisionNo": header["ARDivisionNo"], "CustomerNo": header["CustomerNo"],
            "InvoiceNo": number, "InvoiceType": header["InvoiceType"],
            "InvoiceDate": header["InvoiceDate"], "InvoiceDueDate": header["InvoiceDueDate"],
            "InvoiceAmt": float(total), "Balance": float(total), **stamp(True),
        })  # fmt: skip
        self.db.execute(f"DELETE FROM {DETAIL} WHERE InvoiceNo = ?", (number,))
        self.db.execute(f"DELETE FROM {HEADER} WHERE InvoiceNo = ?", (number,))
        SalesOrders(self.db).recompute_balance(header["ARDivisionNo"], header["CustomerNo"])
        return history
