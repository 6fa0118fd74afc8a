"""Salesforce Contacts in contact sync's common fields, and the people of an Account.

A Contact belongs to the Account its `AccountId` names. Changes are polled by
SystemModstamp, as customer sync polls Accounts (`FEED`). Our own write to a Contact moves
its SystemModstamp too, so echoes are recognised by content, as for Streak: the version is
a fingerprint of the CRM-owned values, which a write of Sage's values leaves alone.

A new Contact needs a LastName: the name's last word, else the email's local part. It is
created matched on its Email, so a retried create finds the first one instead of a twin.
"""

from typing import Any

from connectors.base import Record
from connectors.records import ContactRecord
from connectors.roles import Feed

KIND = "salesforce.contact"
FEED = Feed("Contact", KIND, record="contact")
FIELDS = {"email": "Email", "phone": "Phone", "title": "Title"}


def contact_record(contact: Record) -> ContactRecord:
    name = contact.get("Name") or " ".join(
        part for part in (contact.get("FirstName"), contact.get("LastName")) if part
    )
    return ContactRecord(
        key=str(contact.get("Id") or ""),
        name=str(name or ""),
        email=str(contact.get("Email") or ""),
        phone=str(contact.get("Phone") or ""),
        title=str(contact.get("Title") or ""),
    )


def contact_body(contact: ContactRecord, fields: list[str]) -> dict[str, Any]:
    """The Contact fields setting `fields` of `contact` (a blank value clears the field)."""
    values = contact.values()
    body: dict[str, Any] = {}
    for field in fields:
        if field == "name":
            first, _, last = values["name"].rpartition(" ")
            body |= {"FirstName": first or None, "LastName": last}
        else:
            body[FIELDS[field]] = values[field] or None
    return body


def contacts_of(crm: Any, account_id: str) -> list[ContactRecord]:
    return [contact_record(row) for row in crm.search("Contact", AccountId=account_id)]


def contact_account(crm: Any, key: str, account_ids: list[str]) -> str:
    """The contact's Account, when it is one of `account_ids`; else ""."""
    account = str(crm.get("Contact", key).get("AccountId") or "")
    return account if account in account_ids else ""


def write_contact(
    crm: Any, account_id: str, contact: ContactRecord, fields: list[str], key: str
) -> ContactRecord:
    """Create the Contact on the Account (no key: every field it has) or set `fields`."""
    if contact.key:
        crm.update("Contact", contact.key, contact_body(contact, fields), key)
        return contact_record(crm.get("Contact", contact.key))
    filled = [field for field, value in contact.values().items() if value]
    body = contact_body(contact, filled) | {"AccountId": account_id}
    if not body.get("LastName"):
        body["LastName"] = contact.email.partition("@")[0] or "Contact"
    made = crm.create("Contact", body, key, match_on="Email" if contact.email else "")
    return contact_record(crm.get("Contact", made["Id"]))
