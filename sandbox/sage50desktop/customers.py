"""The sandbox's CustomerFactory: a customer is its Customers row, its main bill-to
Address row (AddressTypeNumber 0) and, when it names a Contact, a primary Contacts row,
written together as the SDK's Customer.Save() does. Runs in the caller's transaction."""

import sqlite3
from datetime import date
from typing import Any

from agent.backend import Record, Refused, free_customer_code
from sandbox.sage50desktop.ledger import blank, new_guid
from sandbox.sage50desktop.records import (
    column_value,
    fetch,
    insert,
    next_record_number,
    update,
)
from sandbox.sage50desktop.schema import ADDRESS_COLUMNS, TABLES_BY_NAME

ADDRESS_FIELDS = [name for name, _ in ADDRESS_COLUMNS]
# What Sage keeps itself: the record number, the balance posted by the journals, the GUID.
READ_ONLY = {"CustomerRecordNumber", "Balance", "LastInvoiceDate", "GUID"}
CUSTOMER_FIELDS = [
    name for name in TABLES_BY_NAME["Customers"].column_names if name not in READ_ONLY
]
MAX_PRICE_LEVEL = 9


def find_customer(db: sqlite3.Connection, customer_id: str) -> Record | None:
    return fetch(db, "Customers", "CustomerID = ?", customer_id)


def customer_record(db: sqlite3.Connection, customer: Record) -> Record:
    """The customer as the agent replies: Customers columns plus the main address."""
    address = main_address(db, customer["CustomerRecordNumber"]) or {}
    return {**customer, **{name: address.get(name, "") for name in ADDRESS_FIELDS}}


def main_address(db: sqlite3.Connection, record_number: int) -> Record | None:
    return fetch(
        db,
        "Address",
        "CustomerRecordNumber = ? AND AddressTypeNumber = 0 ORDER BY AddressRecordNumber",
        record_number,
    )


class Customers:
    def __init__(self, db: sqlite3.Connection) -> None:
        self.db = db

    def create(self, values: Record) -> Record:
        customer_values, address_values = self._checked(values)
        name = customer_values.get("Customer_Bill_Name", "")
        if not name:
            raise Refused("A customer name (Customer_Bill_Name) is required.", "Customer_Bill_Name")
        customer_id = customer_values.get("CustomerID") or free_customer_code(
            name, {row[0] for row in self.db.execute("SELECT CustomerID FROM Customers")}
        )
        if find_customer(self.db, customer_id):
            raise Refused(f"Customer ID '{customer_id}' is already in use.", "CustomerID")
        state = address_values.get("State", "")
        customer = blank(
            "Customers",
            CustomerRecordNumber=next_record_number(self.db, "Customers", "CustomerRecordNumber"),
            Terms_DueDays=30,
            SalesTaxCode=state if self._tax_code_exists(state) else "",
            CustomerSince=date.today(),
            GUID=new_guid(),
        )
        customer.update(customer_values, CustomerID=customer_id)
        self._check_codes(customer)
        insert(self.db, "Customers", customer)
        address = blank(
            "Address",
            AddressRecordNumber=next_record_number(self.db, "Address", "AddressRecordNumber"),
            CustomerRecordNumber=customer["CustomerRecordNumber"],
            AddressTypeNumber=0,
            Country="USA",
        )
        address.update(address_values)
        insert(self.db, "Address", address)
        self._save_contact(customer)
        return customer_record(self.db, find_customer(self.db, customer_id) or {})

    def update(self, customer_id: str, values: Record) -> Record:
        customer = find_customer(self.db, customer_id)
        if customer is None:
            raise Refused(f"Customer ID '{customer_id}' was not found.", "CustomerID")
        customer_values, address_values = self._checked(values)
        new_id = customer_values.get("CustomerID", customer_id)
        if not new_id:
            raise Refused("A Customer ID is required.", "CustomerID")
        if new_id != customer_id and find_customer(self.db, new_id):
            raise Refused(f"Customer ID '{new_id}' is already in use.", "CustomerID")
        customer.update(customer_values)
        if not customer["Customer_Bill_Name"]:
            raise Refused("A customer name (Customer_Bill_Name) is required.", "Customer_Bill_Name")
        self._check_codes(customer)
        update(self.db, "Customers", customer, "CustomerRecordNumber")
        address = main_address(self.db, customer["CustomerRecordNumber"])
        if address is None:
            address = blank(
                "Address",
                AddressRecordNumber=next_record_number(self.db, "Address", "AddressRecordNumber"),
                CustomerRecordNumber=customer["CustomerRecordNumber"],
            )
            insert(self.db, "Address", address)
        if address_values:
            update(self.db, "Address", {**address, **address_values}, "AddressRecordNumber")
        if "Contact" in customer_values:
            self._save_contact(customer)
        return customer_record(self.db, customer)

    # ------------------------------------------------------------ checks

    def _checked(self, values: Record) -> tuple[Record, Record]:
        """The values split into Customers and Address columns, each checked as its SDK
        property would check it."""
        customer_values: Record = {}
        address_values: Record = {}
        for name, value in values.items():
            if name in READ_ONLY:
                raise Refused(f"{name} is kept by Sage 50 and cannot be set.", name)
            if name in ADDRESS_FIELDS:
                address_values[name] = column_value("Address", name, value)
            elif name in CUSTOMER_FIELDS:
                customer_values[name] = column_value("Customers", name, _flag(value))
            else:
                raise Refused(f"{name} is not a field of a Sage 50 customer.", name)
        if "CustomerID" in customer_values:
            customer_values["CustomerID"] = customer_values["CustomerID"].strip()
        return customer_values, address_values

    def _check_codes(self, customer: Record) -> None:
        """Coded fields must name something on file, flags and levels be in range."""
        if customer["CustomerIsInactive"] not in (0, 1):
            raise Refused("CustomerIsInactive must be 0 or 1.", "CustomerIsInactive")
        if not 0 <= customer["PriceLevel"] <= MAX_PRICE_LEVEL:
            raise Refused("PriceLevel must be between 0 and 9 (price levels 1-10).", "PriceLevel")
        if customer["Terms_DueDays"] < 0:
            raise Refused("Terms_DueDays cannot be negative.", "Terms_DueDays")
        if customer["Terms_CreditLimit"] < 0:
            raise Refused("Terms_CreditLimit cannot be negative.", "Terms_CreditLimit")
        tax_code = customer["SalesTaxCode"]
        if tax_code and not self._tax_code_exists(tax_code):
            raise Refused(f"Sales tax code '{tax_code}' was not found.", "SalesTaxCode")
        rep = customer["EmpRecordNumber"]
        if rep and not fetch(self.db, "Employee", "EmpRecordNumber = ?", rep):
            raise Refused(f"Sales rep (employee record {rep}) was not found.", "EmpRecordNumber")

    def _tax_code_exists(self, code: str) -> bool:
        return bool(code) and fetch(self.db, "Tax_Code", "TaxCodeID = ?", code) is not None

    def _save_contact(self, customer: Record) -> None:
        """The customer's primary contact follows Customers.Contact, as Sage 50 keeps them."""
        name = customer["Contact"].strip()
        if not name:
            return
        first, _, last = name.partition(" ")
        names = {"FirstName": first, "LastName": last.strip()}
        primary = fetch(
            self.db,
            "Contacts",
            "CustomerRecordNumber = ? AND IsPrimaryContact = 1",
            customer["CustomerRecordNumber"],
        )
        if primary is not None:
            update(self.db, "Contacts", {**primary, **names}, "ContactRecordNumber")
            return
        insert(self.db, "Contacts", blank(
            "Contacts",
            ContactRecordNumber=next_record_number(self.db, "Contacts", "ContactRecordNumber"),
            CustomerRecordNumber=customer["CustomerRecordNumber"], IsPrimaryContact=1,
            Email=customer["eMail_Address"], Phone=customer["Phone_Number"], **names,
        ))  # fmt: skip


def _flag(value: Any) -> Any:
    """true/false as Sage's 1/0."""
    return int(value) if isinstance(value, bool) else value
