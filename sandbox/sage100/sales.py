"""The sandbox's SO_SalesOrder_bus and friends: sales orders, their status, cash receipts
and stock. Each method runs inside the caller's transaction and raises Refused to refuse."""

import sqlite3
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from agent.backend import Record, Refused
from sandbox.sage100.boi import (
    active_item,
    fetch,
    find_customer,
    insert,
    set_values,
    stamp,
    to_date,
    to_decimal,
    update,
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
from sandbox.sage100.schema import TABLES_BY_NAME

HEADER_SETTABLE = {
    "OrderDate", "OrderType", "OrderStatus", "ShipExpireDate", "ShipVia", "CustomerPONo",
    "WarehouseCode", "Comment", "EmailAddress", "FreightAmt", "UDF_DEAL_ID", "ShipToCode",
    "ShipToName", "ShipToAddress1", "ShipToAddress2", "ShipToAddress3", "ShipToCity",
    "ShipToState", "ShipToZipCode", "ShipToCountryCode", "SalespersonNo",
}  # fmt: skip
LINE_SETTABLE = {
    "ItemCode", "ItemCodeDesc", "WarehouseCode", "QuantityOrdered", "UnitPrice",
    "LineDiscountPercent", "PromiseDate", "CommentText",
}  # fmt: skip
OPEN_STATUSES = {"N": "New", "O": "Open", "H": "Hold"}
CLOSING_STATUSES = {"C": "Completed (shipped and invoiced)", "X": "Deleted"}


def not_settable(columns: set[str], settable: set[str], table: str) -> set[str]:
    known = set(TABLES_BY_NAME[table].column_names)
    return {c for c in columns if c in known and c not in settable}


class SalesOrders:
    def __init__(self, db: sqlite3.Connection) -> None:
        self.db = db

    # ------------------------------------------------------------ numbers

    def next_number(self) -> str:
        """GetNextSalesOrderNo: take the counter, skipping numbers already used."""
        number = int(fetch(self.db, "SELECT NextSalesOrderNo FROM SO_Options")["NextSalesOrderNo"])
        while self._find_order(order_number(number))[0]:
            number += 1
        self.db.execute("UPDATE SO_Options SET NextSalesOrderNo = ?", (order_number(number + 1),))
        return order_number(number)

    def _next_invoice_number(self) -> str:
        number = int(fetch(self.db, "SELECT NextInvoiceNo FROM SO_Options")["NextInvoiceNo"])
        self.db.execute("UPDATE SO_Options SET NextInvoiceNo = ?", (order_number(number + 1),))
        return order_number(number)

    def _find_order(self, number: str) -> tuple[Record | None, str]:
        """The order and the table it is in (open or history)."""
        for table in ("SO_SalesOrderHeader", "SO_SalesOrderHistoryHeader"):
            found = fetch(self.db, f"SELECT * FROM {table} WHERE SalesOrderNo = ?", number)
            if found:
                return found, table
        return None, ""

    # ------------------------------------------------------------ orders

    def create(self, values: Record, line_values: list[Record]) -> Record:
        values = dict(values)
        division = str(values.pop("ARDivisionNo", ""))
        customer_no = str(values.pop("CustomerNo", "")).upper()
        customer = find_customer(self.db, division, customer_no)
        if customer is None:
            raise Refused(f"Customer {division}-{customer_no} is not on file.")
        if customer["CustomerStatus"] == "I":
            raise Refused(f"Customer {division}-{customer_no} is inactive.")
        number = str(values.pop("SalesOrderNo", "") or self.next_number())
        if len(number) != 7 or not number.isdigit():
            raise Refused(f"Invalid sales order number {number}: use 7 digits.")
        if self._find_order(number)[0]:
            raise Refused(f"Sales order {number} already exists.")
        refused = not_settable(set(values), HEADER_SETTABLE, "SO_SalesOrderHeader")
        if refused:
            raise Refused(f"The column {sorted(refused)[0]} cannot be set on a new order.")
        today = date.today().isoformat()
        header = TABLES_BY_NAME["SO_SalesOrderHeader"].blank()
        header.update(
            SalesOrderNo=number, OrderDate=today, OrderType="S", OrderStatus="N",
            ARDivisionNo=division, CustomerNo=customer_no, WarehouseCode="000",
            ShipVia=customer["ShipMethod"], TermsCode=customer["TermsCode"],
            TaxSchedule=customer["TaxSchedule"], SalespersonNo=customer["SalespersonNo"],
            EmailAddress=customer["EmailAddress"], **self.bill_and_ship_to(customer),
        )  # fmt: skip
        set_values("SO_SalesOrderHeader", header, values, set())
        if header["OrderType"] not in ("S", "B"):
            raise Refused(f"Invalid OrderType {header['OrderType']}: use S or B.")
        if header["OrderStatus"] not in OPEN_STATUSES:
            raise Refused(f"Invalid OrderStatus {header['OrderStatus']}: use N, O or H.")
        if customer["CreditHold"] == "Y":
            header["OrderStatus"] = "H"  # Sage puts orders of customers on credit hold on hold
        self._check_warehouse(header["WarehouseCode"])
        if not line_values:
            raise Refused("The sales order has no lines.")
        lines = [
            self._line(number, index, header, line) for index, line in enumerate(line_values, 1)
        ]
        totals = order_totals(lines, header["TaxSchedule"])
        header.update({name: float(amount) for name, amount in totals.items()}, **stamp(True))
        insert(self.db, "SO_SalesOrderHeader", header)
        for line in lines:
            insert(self.db, "SO_SalesOrderDetail", line)
            self._adjust_stock(line, on_sales_order=Decimal(str(line["QuantityOrdered"])))
        self._adjust_open_orders(header, order_total(header))
        return {**header, "lines": lines}

    def _line(self, number: str, index: int, header: Record, values: Record) -> Record:
        """One detail line checked the way SO_SalesOrder_bus.oLines does."""
        refused = not_settable(set(values), LINE_SETTABLE, "SO_SalesOrderDetail")
        if refused:
            raise Refused(f"The column {sorted(refused)[0]} cannot be set on a line.")
        code, item = active_item(self.db, values)
        line = TABLES_BY_NAME["SO_SalesOrderDetail"].blank()
        line.update(
            SalesOrderNo=number, LineKey=line_key(index), LineSeqNo=line_seq_no(index),
            ItemCode=code, ItemType=item["ItemType"], ItemCodeDesc=item["ItemCodeDesc"],
            WarehouseCode=header["WarehouseCode"], UnitOfMeasure=item["SalesUnitOfMeasure"],
            SalesAcctKey=item["SalesAcctKey"], UnitPrice=item["StandardUnitPrice"],
            CostOfGoodsSoldAcctKey=item["CostOfGoodsSoldAcctKey"],
            UnitCost=item["StandardUnitCost"], TaxClass=item["TaxClass"],
        )  # fmt: skip
        set_values("SO_SalesOrderDetail", line, {**values, "ItemCode": code}, set())
        quantity = to_decimal(values.get("QuantityOrdered", 0), "QuantityOrdered")
        if quantity <= 0:
            raise Refused(f"Line {index}: the quantity ordered must be greater than zero.")
        price = Decimal(str(line["UnitPrice"]))
        discount = Decimal(str(line["LineDiscountPercent"]))
        if price < 0 or not 0 <= discount <= 100:
            raise Refused(f"Line {index}: invalid unit price or discount percent.")
        if item["ItemType"] == "1":
            self._check_warehouse(line["WarehouseCode"])
            if not self._stock_row(code, line["WarehouseCode"]):
                raise Refused(f"Item {code} is not stocked in warehouse {line['WarehouseCode']}.")
        line["ExtensionAmt"] = float(line_extension(quantity, price, discount))
        return line

    def set_status(self, number: str, status: str) -> Record:
        header, table = self._find_order(number)
        if header is None:
            raise Refused(f"Sales order {number} is not on file.")
        if table != "SO_SalesOrderHeader":
            raise Refused(f"Sales order {number} is in history and can no longer be changed.")
        status = status.upper()
        if status in OPEN_STATUSES:
            header.update(OrderStatus=status, **stamp())
            update(self.db, "SO_SalesOrderHeader", header, ("SalesOrderNo",))
            return {**header, "lines": self._lines("SO_SalesOrderDetail", number)}
        if status not in CLOSING_STATUSES:
            choices = ", ".join(f"{k} ({v})" for k, v in (OPEN_STATUSES | CLOSING_STATUSES).items())
            raise Refused(f"Invalid OrderStatus {status}: use {choices}.")
        return self._close(header, status)

    def _close(self, header: Record, status: str) -> Record:
        """Move the order to history: completed (shipped and invoiced) or deleted."""
        number = header["SalesOrderNo"]
        lines = self._lines("SO_SalesOrderDetail", number)
        self.db.execute("DELETE FROM SO_SalesOrderDetail WHERE SalesOrderNo = ?", (number,))
        self.db.execute("DELETE FROM SO_SalesOrderHeader WHERE SalesOrderNo = ?", (number,))
        total = order_total(header)
        self._adjust_open_orders(header, -total)
        header.update(OrderStatus=status, **stamp())
        insert(self.db, "SO_SalesOrderHistoryHeader", header)
        for line in lines:
            ordered = Decimal(str(line["QuantityOrdered"]))
            shipped = ordered if status == "C" else Decimal(0)
            line.update(QuantityShipped=float(shipped), QuantityBackordered=0.0)
            insert(self.db, "SO_SalesOrderHistoryDetail", line)
            self._adjust_stock(line, on_sales_order=-ordered, on_hand=-shipped)
        result = {**header, "lines": lines}
        if status == "C":
            result["InvoiceNo"] = self._invoice(header, total)
        return result

    def _invoice(self, order: Record, total: Decimal) -> str:
        invoice_no = self._next_invoice_number()
        today = date.today()
        terms = fetch(self.db, "SELECT * FROM AR_TermsCode WHERE TermsCode = ?", order["TermsCode"])
        due = today + timedelta(days=terms["DaysBeforeDue"] if terms else 30)
        invoice = TABLES_BY_NAME["AR_InvoiceHistoryHeader"].blank()
        copied = {k: v for k, v in order.items() if k in invoice and k.startswith(("Bill", "Ship"))}
        invoice.update(
            copied, InvoiceNo=invoice_no, HeaderSeqNo="000000", InvoiceType="IN",
            ModuleCode="S/O", InvoiceDate=today.isoformat(), InvoiceDueDate=due.isoformat(),
            ARDivisionNo=order["ARDivisionNo"], CustomerNo=order["CustomerNo"],
            SalesOrderNo=order["SalesOrderNo"], CustomerPONo=order["CustomerPONo"],
            TermsCode=order["TermsCode"], TaxableSalesAmt=order["TaxableAmt"],
            NonTaxableSalesAmt=order["NonTaxableAmt"], SalesTaxAmt=order["SalesTaxAmt"],
            FreightAmt=order["FreightAmt"], DiscountAmt=order["DiscountAmt"], **stamp(True),
        )  # fmt: skip
        insert(self.db, "AR_InvoiceHistoryHeader", invoice)
        insert(self.db, "AR_OpenInvoice", {
            "ARDivisionNo": order["ARDivisionNo"], "CustomerNo": order["CustomerNo"],
            "InvoiceNo": invoice_no, "InvoiceType": "IN", "InvoiceDate": today.isoformat(),
            "InvoiceDueDate": due.isoformat(), "InvoiceAmt": float(total),
            "Balance": float(total), **stamp(True),
        })  # fmt: skip
        self.recompute_balance(order["ARDivisionNo"], order["CustomerNo"])
        return invoice_no

    # ------------------------------------------------------------ receipts and stock

    def post_cash_receipt(self, values: Record) -> Record:
        division = str(values.get("ARDivisionNo", ""))
        customer_no = str(values.get("CustomerNo", "")).upper()
        invoice_no = str(values.get("InvoiceNo", ""))
        if find_customer(self.db, division, customer_no) is None:
            raise Refused(f"Customer {division}-{customer_no} is not on file.")
        invoice = fetch(
            self.db,
            "SELECT * FROM AR_OpenInvoice WHERE ARDivisionNo = ? AND CustomerNo = ? "
            "AND InvoiceNo = ? AND InvoiceType = 'IN'",
            division, customer_no, invoice_no,
        )  # fmt: skip
        if invoice is None:
            raise Refused(f"Invoice {invoice_no} is not on file for {division}-{customer_no}.")
        amount = to_money(to_decimal(values.get("Amount", 0), "Amount"))
        balance = Decimal(str(invoice["Balance"]))
        if amount <= 0:
            raise Refused("The amount received must be greater than zero.")
        if amount > balance:
            raise Refused(f"The amount applied exceeds the invoice balance of {balance:.2f}.")
        deposit_date = to_date(values.get("DepositDate") or date.today(), "DepositDate")
        check_no = str(values.get("CheckNo", ""))
        if len(check_no) > 10:
            raise Refused("The value for CheckNo exceeds 10 characters.")
        last = fetch(self.db, "SELECT MAX(DepositNo) AS n FROM AR_CashReceiptsHistory")["n"]
        receipt = TABLES_BY_NAME["AR_CashReceiptsHistory"].blank()
        receipt.update(
            BankCode="A", DepositDate=deposit_date, DepositNo=f"{int(last or 0) + 1:05d}",
            DepositType="C", ARDivisionNo=division, CustomerNo=customer_no,
            CreditCardEntryNo="000000", CheckNo=check_no, SequenceNo="000001",
            PostingDate=deposit_date, TransactionType="P", InvoiceNo=invoice_no,
            InvoiceType="IN", AccountKey="000000001", CashAmountApplied=float(amount),
            InvoiceBalance=float(balance - amount),
            PaymentType=str(values.get("PaymentType", "CHECK"))[:5], **stamp(True),
        )  # fmt: skip
        insert(self.db, "AR_CashReceiptsHistory", receipt)
        invoice.update(Balance=float(balance - amount), **stamp())
        update(self.db, "AR_OpenInvoice", invoice, ("ARDivisionNo", "CustomerNo", "InvoiceNo",
                                                      "InvoiceType"))  # fmt: skip
        self.recompute_balance(division, customer_no)
        return receipt

    def set_stock(self, item_code: str, warehouse_code: str, quantity: Any) -> Record:
        code = item_code.upper()
        item = fetch(self.db, "SELECT * FROM CI_Item WHERE ItemCode = ?", code)
        if item is None:
            raise Refused(f"The item code {code} is not on file.")
        if item["ItemType"] != "1":
            raise Refused(f"Item {code} is not an inventory item.")
        self._check_warehouse(warehouse_code)
        on_hand = to_decimal(quantity, "QuantityOnHand")
        if on_hand < 0:
            raise Refused("The quantity on hand cannot be negative.")
        stock = self._stock_row(code, warehouse_code)
        if stock is None:
            stock = TABLES_BY_NAME["IM_ItemWarehouse"].blank()
            stock.update(ItemCode=code, WarehouseCode=warehouse_code, **stamp(True))
            insert(self.db, "IM_ItemWarehouse", stock)
        stock.update(QuantityOnHand=float(on_hand), **stamp())
        update(self.db, "IM_ItemWarehouse", stock, ("ItemCode", "WarehouseCode"))
        self._recompute_total_on_hand(code)
        return stock

    # ------------------------------------------------------------ bookkeeping

    def with_lines(self, table: str, header: Record) -> Record:
        """An order header read from `table` (open or history) with its lines."""
        detail = table.replace("Header", "Detail")
        return {**header, "lines": self._lines(detail, header["SalesOrderNo"])}

    def _lines(self, table: str, number: str) -> list[Record]:
        rows = self.db.execute(
            f"SELECT * FROM {table} WHERE SalesOrderNo = ? ORDER BY LineKey", (number,)
        )
        return [dict(r) for r in rows]

    def _stock_row(self, item_code: str, warehouse: str) -> Record | None:
        return fetch(
            self.db,
            "SELECT * FROM IM_ItemWarehouse WHERE ItemCode = ? AND WarehouseCode = ?",
            item_code, warehouse,
        )  # fmt: skip

    def _check_warehouse(self, code: str) -> None:
        if not fetch(self.db, "SELECT 1 FROM IM_Warehouse WHERE WarehouseCode = ?", code):
            raise Refused(f"Warehouse {code or '(blank)'} is not on file.")

    def _adjust_stock(
        self, line: Record, on_sales_order: Decimal, on_hand: Decimal = Decimal(0)
    ) -> None:
        stock = self._stock_row(line["ItemCode"], line["WarehouseCode"])
        if stock is None:  # charge items have no stock
            return
        stock["QuantityOnSalesOrder"] = max(
            0.0, stock["QuantityOnSalesOrder"] + float(on_sales_order)
        )
        stock["QuantityOnHand"] += float(on_hand)
        stock.update(stamp())
        update(self.db, "IM_ItemWarehouse", stock, ("ItemCode", "WarehouseCode"))
        if on_hand:
            self._recompute_total_on_hand(line["ItemCode"])

    def _recompute_total_on_hand(self, item_code: str) -> None:
        self.db.execute(
            "UPDATE CI_Item SET TotalQuantityOnHand = (SELECT COALESCE(SUM(QuantityOnHand), 0) "
            "FROM IM_ItemWarehouse WHERE ItemCode = ?), DateUpdated = ?, TimeUpdated = ?, "
            "UserUpdatedKey = ? WHERE ItemCode = ?",
            (item_code, *stamp().values(), item_code),
        )

    def _adjust_open_orders(self, order: Record, amount: Decimal) -> None:
        customer = find_customer(self.db, order["ARDivisionNo"], order["CustomerNo"])
        open_amount = to_money(Decimal(str(customer["OpenOrderAmt"])) + amount)
        customer.update(OpenOrderAmt=float(max(open_amount, Decimal(0))), **stamp())
        update(self.db, "AR_Customer", customer, ("ARDivisionNo", "CustomerNo"))

    def recompute_balance(self, division: str, customer_no: str) -> None:
        """CurrentBalance = all open invoice balances; AgingCategory1-4 = the parts 1-30,
        31-60, 61-90 and over 90 days past due today."""
        customer = find_customer(self.db, division, customer_no)
        buckets = [Decimal(0)] * 5
        invoices = self.db.execute(
            "SELECT Balance, InvoiceDueDate FROM AR_OpenInvoice "
            "WHERE ARDivisionNo = ? AND CustomerNo = ?",
            (division, customer_no),
        )
        for balance, due in invoices:
            late = (date.today() - date.fromisoformat(due)).days
            buckets[0 if late <= 0 else min(4, (late - 1) // 30 + 1)] += Decimal(str(balance))
        customer["CurrentBalance"] = float(to_money(sum(buckets, Decimal(0))))
        for index in range(1, 5):
            customer[f"AgingCategory{index}"] = float(to_money(buckets[index]))
        customer.update(stamp())
        update(self.db, "AR_Customer", customer, ("ARDivisionNo", "CustomerNo"))

    @staticmethod
    def bill_and_ship_to(customer: Record) -> Record:
        values: Record = {}
        for prefix in ("BillTo", "ShipTo"):
            values[f"{prefix}Name"] = customer["CustomerName"]
            for part in ("Address1", "Address2", "Address3"):
                values[f"{prefix}{part}"] = customer[f"AddressLine{part[-1]}"]
            for part in ("City", "State", "ZipCode", "CountryCode"):
                values[f"{prefix}{part}"] = customer[part]
        return values
