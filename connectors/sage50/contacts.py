"""Sage Accounting contact persons in contact sync's common fields: the people of a customer
(a contact) beside its main contact person, which customer sync already keeps.

Read and written through the connector's HttpClient like every resource; a create carries
an idempotency id made from the run's key, so a retry returns the first person. Changes
are polled by `updated_at`, as for contacts, and a write's `updated_at` is its change stamp.
"""

from typing import Any

from connectors.base import Record
from connectors.records import ContactRecord
from connectors.roles import Feed

ENTITY = "contact_persons"
FEED = Feed(ENTITY, "sage50.contact_person", record="contact_person")
FIELDS = {"name": "name", "email": "email", "phone": "telephone", "title": "job_title"}


def contact_record(person: Record) -> ContactRecord:
    values = {field: str(person.get(name) or "") for field, name in FIELDS.items()}
    return ContactRecord(key=str(person.get("id") or ""), **values)


def customer_contacts(erp: Any, ref: str) -> list[ContactRecord]:
    return [contact_record(person) for person in erp.search(ENTITY, contact_id=ref)]


def contact_customer(erp: Any, key: str) -> str:
    return str((erp.get(ENTITY, key).get("contact") or {}).get("id") or "")


def write_customer_contact(
    erp: Any, ref: str, contact: ContactRecord, fields: list[str], key: str
) -> tuple[ContactRecord, str]:
    """Create the person under the contact (no key: every field it has) or set `fields`;
    the person as Sage keeps them now and their change stamp."""
    values = contact.values()
    if contact.key:
        body = {FIELDS[field]: values[field] or None for field in fields}
        person = erp.update(ENTITY, contact.key, body, key)
    else:
        body = {FIELDS[field]: value for field, value in values.items() if value}
        person = erp.create(ENTITY, {**body, "contact_id": ref}, key)
    return contact_record(person), str(person["updated_at"])
