"""The agent's Sage 100 sandbox backend: BOI's business rules applied to the SQLite tables.

Each write is one SQLite transaction: a refused write raises `Refused` with a message in
the style of BOI's `sLastErrorMsg` and rolls back, so nothing is written. A conditional
create looks for its external reference inside that same transaction (BEGIN IMMEDIATE: no
other write can come between the look and the write). Every row written
gets DateUpdated/TimeUpdated (and Created on new rows) and the agent's user key.
"""

import re
import sqlite3
from datetime import date
from typing import Any

from agent.backend import EXISTED, Record, Refused, SeveralMatches, free_customer_code
from agent.sage100.backend import Sage100Backend
from sandbox.core.company import CompanyFile
from sandbox.sage100.boi import (
    fetch,
    find_customer,
    insert,
    save_customer_contact,
    set_values,
    stamp,
    update,
)
from sandbox.sage100.data import COMPANY_CODE
from sandbox.sage100.invoices import Invoices
from sandbox.sage100.prices import set_price
from sandbox.sage100.purchasing import HEADER as PURCHASE_ORDER_HEADER
from sandbox.sage100.purchasing import PurchaseOrders
from sandbox.sage100.rules import TAX_RATES
from sandbox.sage100.sales import SalesOrders
from sandbox.sage100.schema import TABLES_BY_NAME

CUSTOMER_READ_ONLY = {
    "ARDivisionNo", "CustomerNo", "CurrentBalance", "AgingCategory1", "AgingCategory2",
    "AgingCategory3", "AgingCategory4", "OpenOrderAmt", "DateCreated", "TimeCreated",
    "UserCreatedKey", "DateUpdated", "TimeUpdated", "UserUpdatedKey",
}  # fmt: skip
FLAG_VALUES = {"CreditHold": "YN", "CustomerStatus": "AI"}
CUSTOMER_NO = re.compile(r"^[A-Z0-9]{1,20}$")


class SandboxBackend(CompanyFile, Sage100Backend):
    # ------------------------------------------------------------ Sage100Backend

    def health(self) -> Record:
        with self.transaction() as db:
            customers = db.execute("SELECT COUNT(*) FROM AR_Customer").fetchone()[0]
        return {
            "status": "ok",
            "backend": "sandbox",
            "company": COMPANY_CODE,
            "version": "7.20 (sandbox)",
            "customers": customers,
        }

    def create_customer(self, values: Record, match: str = "") -> Record:
        values = dict(values)
        division = str(values.pop("ARDivisionNo", ""))
        customer_no = str(values.pop("CustomerNo", "") or "").upper()
        with self.transaction() as db:
            if match:
                found = holding(db, ("AR_Customer",), match, values.get(match), "customers")
                if found:
                    return {**found[0][1], EXISTED: True}
            check_division(db, division)
            if not values.get("CustomerName"):
                raise Refused("The CustomerName is required.")
            if not customer_no:
                taken = {
                    r[0]
                    for r in db.execute(
                        "SELECT CustomerNo FROM AR_Customer WHERE ARDivisionNo = ?", (division,)
                    )
                }
                customer_no = free_customer_code(str(values["CustomerName"]), taken)
            if not CUSTOMER_NO.match(customer_no):
                raise Refused(
                    f"Invalid customer number {customer_no}: use up to 20 letters and digits."
                )
            if find_customer(db, division, customer_no):
                raise Refused(f"Customer {division}-{customer_no} already exists.")
            customer = TABLES_BY_NAME["AR_Customer"].blank()
            customer.update(
                ARDivisionNo=division, CustomerNo=customer_no, CountryCode="USA",
                TermsCode="01", CustomerStatus="A", CreditHold="N",
                DateEstablished=date.today().isoformat(),
            )  # fmt: skip
            set_values("AR_Customer", customer, values, CUSTOMER_READ_ONLY)
            if "TaxSchedule" not in values:
                state = customer["State"]
                customer["TaxSchedule"] = state if state in TAX_RATES else "NONTAX"
            check_customer_codes(db, customer)
            customer.update(stamp(created=True))
            insert(db, "AR_Customer", customer)
            return find_customer(db, division, customer_no) or {}

    def update_customer(self, division: str, customer_no: str, values: Record) -> Record:
        with self.transaction() as db:
            customer = find_customer(db, division, customer_no.upper())
            if customer is None:
                raise Refused(f"Customer {division}-{customer_no} is not on file.")
            set_values("AR_Customer", customer, values, CUSTOMER_READ_ONLY)
            if not customer["CustomerName"]:
                raise Refused("The CustomerName is required.")
            check_customer_codes(db, customer)
            customer.update(stamp())
            update(db, "AR_Customer", customer, ("ARDivisionNo", "CustomerNo"))
            return customer

    def save_customer_contact(self, division: str, customer_no: str, values: Record) -> Record:
        with self.transaction() as db:
            return save_customer_contact(db, division, customer_no.upper(), values)

    def next_sales_order_number(self) -> str:
        with self.transaction() as db:
            return SalesOrders(db).next_number()

    def create_sales_order(self, header: Record, lines: list[Record], match: str = "") -> Record:
        with self.transaction() as db:
            if match:
                tables = ("SO_SalesOrderHeader", "SO_SalesOrderHistoryHeader")
                found = [
                    (table, row)
                    for table, row in holding(db, tables, match, header.get(match), "sales orders")
                    if row["OrderStatus"] != "X"  # deleted, kept in history: not the deal's
                ]
                if len(found) > 1:
                    numbers = ", ".join(row["SalesOrderNo"] for _, row in found)
                    raise SeveralMatches(
                        f"Sage 100 has {len(found)} sales orders with {match} "
                        f"{header.get(match)}: {numbers}."
                    )
                if found:
                    return {**SalesOrders(db).with_lines(*found[0]), EXISTED: True}
            return SalesOrders(db).create(header, lines)

    def create_invoice(self, header: Record, lines: list[Record], match: str = "") -> Record:
        with self.transaction() as db:
            if match:
                tables = ("SO_InvoiceHeader", "AR_InvoiceHistoryHeader")
                found = holding(db, tables, match, header.get(match), "invoices")
                numbers = sorted({row["InvoiceNo"] for _, row in found})
                if len(numbers) > 1:
                    raise SeveralMatches(
                        f"Sage 100 has {len(numbers)} invoices with {match} "
                        f"{header.get(match)}: {', '.join(numbers)}."
                    )
                if found:
                    row = found[0][1]
                    return {**row, "lines": Invoices(db).lines(row["InvoiceNo"]), EXISTED: True}
            return Invoices(db).create(header, lines)

    def create_purchase_order(self, header: Record, lines: list[Record], match: str = "") -> Record:
        with self.transaction() as db:
            orders = PurchaseOrders(db)
            if match:
                tables = (PURCHASE_ORDER_HEADER,)
                found = holding(db, tables, match, header.get(match), "purchase orders")
                if len(found) > 1:
                    numbers = ", ".join(row["PurchaseOrderNo"] for _, row in found)
                    raise SeveralMatches(
                        f"Sage 100 has {len(found)} purchase orders with {match} "
                        f"{header.get(match)}: {numbers}."
                    )
                if found:
                    return {**orders.with_lines(found[0][1]), EXISTED: True}
            return orders.create(header, lines)

    def set_order_status(self, sales_order_no: str, status: str) -> Record:
        with self.transaction() as db:
            return SalesOrders(db).set_status(sales_order_no, status)

    def post_cash_receipt(self, values: Record) -> Record:
        with self.transaction() as db:
            return SalesOrders(db).post_cash_receipt(values)

    def set_stock(self, item_code: str, warehouse_code: str, quantity_on_hand: Any) -> Record:
        with self.transaction() as db:
            return SalesOrders(db).set_stock(item_code, warehouse_code, quantity_on_hand)

    # ------------------------------------------------------------ the pages' own writes

    def post_invoice(self, invoice_no: str) -> Record:
        """Post an entered invoice (Daily Sales Reports/Update), as a Sage user does."""
        with self.transaction() as db:
            return Invoices(db).post(invoice_no)

    def set_price(self, item_code: str, level: str, price: Any) -> Record:
        """An item's standard price or its price at a customer price level, as a Sage user
        keys it in Item Maintenance (Clarity never writes prices to Sage)."""
        with self.transaction() as db:
            return set_price(db, item_code, level, price)


def holding(
    db: sqlite3.Connection, tables: tuple[str, ...], column: str, value: Any, what: str
) -> list[tuple[str, Record]]:
    """(table, row) of every row of `tables` whose `column` holds `value`."""
    found = []
    for table in tables:
        if column not in TABLES_BY_NAME[table].column_names:
            raise Refused(f"The column {column} is not in the IOList of {what}.")
        rows = db.execute(f"SELECT * FROM {table} WHERE {column} = ?", (value,))
        found.extend((table, dict(row)) for row in rows)
    return found


def check_division(db: sqlite3.Connection, division: str) -> None:
    if not fetch(db, "SELECT 1 FROM AR_Division WHERE ARDivisionNo = ?", division):
        raise Refused(f"The AR division {division or '(blank)'} is not on file.")


def check_customer_codes(db: sqlite3.Connection, customer: Record) -> None:
    """The coded fields must name something on file (terms, tax schedule) or a valid flag."""
    if not fetch(db, "SELECT 1 FROM AR_TermsCode WHERE TermsCode = ?", customer["TermsCode"]):
        raise Refused(f"The terms code {customer['TermsCode']} is not on file.")
    if customer["TaxSchedule"] not in TAX_RATES:
        raise Refused(f"The tax schedule {customer['TaxSchedule']} is not on file.")
    for column, allowed in FLAG_VALUES.items():
        if customer[column] not in allowed:
            raise Refused(f"Invalid value for {column}: use one of {', '.join(allowed)}.")
