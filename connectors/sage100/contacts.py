"""Sage 100 customer contacts (`AR_CustomerContact`) in contact sync's common fields.

Read over ODBC like every table; written through the agent's contacts endpoint
(`AR_CustomerContact_bus`), which creates or updates the contact a `ContactCode` names, so a
retry writes the same row again. A new contact gets a code made from its name (letters and
digits, at most 10, as Sage's code field allows), numbered when the customer has it already.
Its change feed is the table's DateUpdated/TimeUpdated, as for customers.
"""

import re
from typing import Any

from connectors.agent_client import segment
from connectors.base import Record
from connectors.records import ContactRecord

ENTITY = "customer_contact"
KIND = "sage100.customer_contact"
CODE_LENGTH = 10
COLUMNS = {
    "name": ("ContactName", 50),
    "email": ("EmailAddress", 50),
    "phone": ("TelephoneNo1", 20),
    "title": ("ContactTitle", 15),
}


def contact_record(erp: Any, row: Record) -> ContactRecord:
    return ContactRecord(
        key=erp.key_of(ENTITY, row),
        name=str(row.get("ContactName") or ""),
        email=str(row.get("EmailAddress") or ""),
        phone=str(row.get("TelephoneNo1") or ""),
        title=str(row.get("ContactTitle") or ""),
    )


def customer_contacts(erp: Any, ref: str) -> list[ContactRecord]:
    customer = erp.parse_key("customer", ref)
    rows = erp.search(ENTITY, limit=500, **customer)
    return [contact_record(erp, row) for row in rows]


def contact_customer(erp: Any, key: str) -> str:
    parts = erp.parse_key(ENTITY, key)
    return f"{parts['ARDivisionNo']}-{parts['CustomerNo']}"


def new_code(name: str, taken: set[str]) -> str:
    """A free ContactCode for a person: "JANESMITH", else "JANESMITH2" and so on."""
    base = re.sub(r"[^A-Z0-9]", "", name.upper())[:CODE_LENGTH] or "CONTACT"
    code, number = base, 1
    while code in taken:
        number += 1
        code = f"{base[: CODE_LENGTH - len(str(number))]}{number}"
    return code


def write_customer_contact(
    erp: Any, ref: str, contact: ContactRecord, fields: list[str], key: str
) -> tuple[ContactRecord, str]:
    """Create the contact (no key: every field it has) or set `fields`; the row as Sage
    keeps it now and its change stamp."""
    customer = erp.parse_key("customer", ref)
    if contact.key:
        code = erp.parse_key(ENTITY, contact.key)["ContactCode"]
    else:
        taken = {row["ContactCode"] for row in erp.search(ENTITY, limit=500, **customer)}
        code = new_code(contact.name or contact.email.partition("@")[0], taken)
        fields = [field for field, value in contact.values().items() if value]
    values = contact.values()
    body: dict[str, Any] = {"ContactCode": code}
    for field in fields:
        column, length = COLUMNS[field]
        body[column] = values[field][:length]
    path = (
        f"/v1/customers/{segment(customer['ARDivisionNo'])}/"
        f"{segment(customer['CustomerNo'])}/contacts"
    )
    erp.bridge.call("POST", path, body, f"{key}:contact")
    row = erp.get(ENTITY, f"{ref}-{code}")
    return contact_record(erp, row), erp.change_of(ENTITY, row).stamp
