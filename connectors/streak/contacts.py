"""Streak team contacts in contact sync's common fields, and the people of an organization.

Streak keeps no link from a contact to its organization: it groups people under an
organization by the domain of their email address, so the contacts of an organization are
those whose address is at one of its `domains` (found through Streak's search, which
matches email addresses). A contact's name is its given and family name; the first email
address and phone number, and its title, are the rest.

Streak tells us of contact changes by its team-scoped `CONTACT_CREATE`/`CONTACT_UPDATE`
webhooks, and echoes our own write at once, so echoes are recognised by content, as for
organizations: the fingerprint of the CRM-owned values, recorded when we write.
"""

from typing import Any

from connectors.base import Record
from connectors.records import ContactRecord

KINDS = ("CONTACT_CREATE", "CONTACT_UPDATE")
FIELDS = {"email": "emailAddresses", "phone": "phoneNumbers"}


def contact_record(contact: Record) -> ContactRecord:
    emails = contact.get("emailAddresses") or [""]
    phones = contact.get("phoneNumbers") or [""]
    name = f"{contact.get('givenName') or ''} {contact.get('familyName') or ''}".strip()
    return ContactRecord(
        key=str(contact.get("key") or ""),
        name=name,
        email=str(emails[0] or ""),
        phone=str(phones[0] or ""),
        title=str(contact.get("title") or ""),
    )


def domain_of(email: str) -> str:
    return email.rpartition("@")[2].casefold() if "@" in email else ""


def at_domains(contact: Record, domains: list[str]) -> bool:
    wanted = {domain.casefold() for domain in domains}
    return any(domain_of(str(email)) in wanted for email in contact.get("emailAddresses") or [])


def fingerprint(contact: ContactRecord, crm_owned: list[str]) -> str:
    """The contact's CRM-owned values, hashed: equal fingerprints, nothing new for Sage."""
    return contact.fingerprint(crm_owned)


def contact_body(contact: ContactRecord, fields: list[str], current: Record) -> dict[str, Any]:
    """Streak's update body setting `fields` of `contact`; the first email address and
    phone number are replaced, the others kept."""
    body: dict[str, Any] = {}
    for field in fields:
        value = contact.values()[field]
        if field == "name":
            given, _, family = value.partition(" ")
            body |= {"givenName": given, "familyName": family}
        elif field in FIELDS:
            name = FIELDS[field]
            body[name] = [value, *(current.get(name) or [])[1:]] if value else []
        else:
            body[field] = value
    return body


def contacts_of(crm: Any, organization_key: str) -> list[ContactRecord]:
    """The contacts at the organization's domains, each once."""
    domains = crm.get("Organization", organization_key).get("domains") or []
    found: dict[str, ContactRecord] = {}
    for domain in domains:
        for contact in crm.search_results("contacts", domain):
            if at_domains(contact, domains):
                found[contact["key"]] = contact_record(contact)
    return list(found.values())


def contact_organization(crm: Any, contact_key: str, organization_keys: list[str]) -> str:
    """The first of the organizations whose domains the contact's email is at, or ""."""
    contact = crm.get("Contact", contact_key)
    for key in organization_keys:
        if at_domains(contact, crm.get("Organization", key).get("domains") or []):
            return key
    return ""


def write_contact(crm: Any, contact: ContactRecord, fields: list[str], key: str) -> ContactRecord:
    """Create the contact (no key: every field it has) or set `fields` on it."""
    if not contact.key:
        filled = [field for field, value in contact.values().items() if value]
        return contact_record(crm.create("Contact", contact_body(contact, filled, {}), key))
    current = crm.get("Contact", contact.key)
    return contact_record(
        crm.update("Contact", contact.key, contact_body(contact, fields, current), key)
    )
