"""Customer sync, the Sage side: a Sage 100 customer's or Sage 50 contact's values in the
flow's common field names, and the CRM-owned fields written back to it.

The common fields: `name`, `phone`, `email`, `billing_address` (`street` with lines joined
by newlines, `city`, `state`, `zip`, `country`), `credit_limit`, `terms`, `balance`. No
mapping exists for a lone customer record, so the few fields synced are mapped here.

A Sage write leaves a change stamp (Sage 100 `DateUpdated|TimeUpdated`, Sage 50
`updated_at`) that the change feed will show; the stamp goes into the run's references so
the flow's `accepts` drops that change as our own.
"""

import re
from decimal import Decimal, InvalidOperation
from typing import Any

from flows.base import StepContext
from flows.polling import sage100_change
from mappings.transforms.addresses import country_code

ADDRESS_PARTS = ("street", "city", "state", "zip", "country")
SAGE100_COLUMNS = {  # field → Sage 100 AR_Customer columns it is written to
    "name": ("CustomerName",),
    "phone": ("TelephoneNo",),
    "email": ("EmailAddress",),
    "billing_address": ("AddressLine1", "AddressLine2", "AddressLine3", "City", "State",
                        "ZipCode", "CountryCode"),
    "credit_limit": ("CreditLimit",),
    "terms": ("TermsCode",),
}  # fmt: skip
SAGE50_WRITABLE = {"name", "phone", "email", "billing_address", "credit_limit", "terms"}
ENTITY_OF = {"sage100": "customer", "sage50": "contacts"}  # the connectors' entity names
LABEL_OF = {"sage100": "Sage 100", "sage50": "Sage 50"}


def same(ours: Any, theirs: Any) -> bool:
    """Equal as a person reads them: blanks alike, numbers by value, text trimmed, countries
    by ISO code (Sage 100 writes "USA", the others "US")."""
    if isinstance(ours, dict) or isinstance(theirs, dict):
        ours, theirs = dict(ours or {}), dict(theirs or {})
        for address in (ours, theirs):
            text = str(address.get("country") or "").strip()
            address["country"] = country_code(text) or text.upper()
        return all(same(ours.get(part), theirs.get(part)) for part in ADDRESS_PARTS)
    ours, theirs = str(ours or "").strip(), str(theirs or "").strip()
    try:
        return Decimal(ours) == Decimal(theirs)
    except InvalidOperation:
        return ours == theirs


def blank(value: Any) -> bool:
    """Nothing known: a blank on the system of record is not written over the other side."""
    if isinstance(value, dict):
        return all(blank(part) for part in value.values())
    return str(value or "").strip() == ""


def sage_ref(system: str, record: dict[str, Any]) -> str:
    """The key the binding keeps: `<division>-<customer no>` in Sage 100, the id in Sage 50."""
    if system == "sage100":
        return f"{record['ARDivisionNo']}-{record['CustomerNo']}"
    return record["id"]


def read_customer(ctx: StepContext, ref: str) -> dict[str, Any]:
    return ctx.erp.get(ENTITY_OF[ctx.pair.erp.system], ref)


def sage_values(system: str, record: dict[str, Any]) -> dict[str, Any]:
    return sage100_values(record) if system == "sage100" else sage50_values(record)


def sage100_values(customer: dict[str, Any]) -> dict[str, Any]:
    lines = [customer.get(f"AddressLine{n}") or "" for n in (1, 2, 3)]
    street = "\n".join(line for line in lines if line)
    address = [street, *(customer.get(c) for c in ("City", "State", "ZipCode", "CountryCode"))]
    return {
        "name": customer.get("CustomerName"),
        "phone": customer.get("TelephoneNo"),
        "email": customer.get("EmailAddress"),
        "billing_address": dict(zip(ADDRESS_PARTS, address, strict=True)),
        "credit_limit": customer.get("CreditLimit"),
        "terms": customer.get("TermsCode"),
        "balance": customer.get("CurrentBalance"),
    }


def sage50_values(contact: dict[str, Any]) -> dict[str, Any]:
    """A Sage Accounting contact: phone and email are its main contact person's, the terms
    its credit days."""
    address = contact.get("main_address") or {}
    person = contact.get("main_contact_person") or {}
    lines = [address.get("address_line_1") or "", address.get("address_line_2") or ""]
    days = contact.get("credit_days")
    return {
        "name": contact.get("name"),
        "phone": person.get("telephone"),
        "email": person.get("email") or contact.get("email"),
        "billing_address": {
            "street": "\n".join(line for line in lines if line),
            "city": address.get("city"),
            "state": address.get("region"),
            "zip": address.get("postal_code"),
            "country": (address.get("country") or {}).get("id"),
        },
        "credit_limit": contact.get("credit_limit"),
        "terms": f"{days} days" if days not in (None, "") else None,
        "balance": contact.get("balance"),
    }


def writable(system: str) -> set[str]:
    return set(SAGE100_COLUMNS) if system == "sage100" else SAGE50_WRITABLE


def sage100_columns(field: str, value: Any) -> dict[str, Any]:
    if field == "billing_address":
        lines = [*str(value.get("street") or "").split("\n"), "", ""][:3]
        parts = [*lines, *(value.get(part) for part in ADDRESS_PARTS[1:])]
        columns = SAGE100_COLUMNS[field]
        return {column: part or "" for column, part in zip(columns, parts, strict=True)}
    return {SAGE100_COLUMNS[field][0]: value if value not in (None, "") else None}


def sage50_body(field: str, value: Any) -> dict[str, Any]:
    """The contact fields (nested objects merge in Sage) that carry one common field."""
    if field == "billing_address":
        lines = [*str(value.get("street") or "").split("\n"), ""]
        return {
            "main_address": {
                "address_line_1": lines[0] or None,
                "address_line_2": ", ".join(line for line in lines[1:] if line) or None,
                "city": value.get("city") or None,
                "region": value.get("state") or None,
                "postal_code": value.get("zip") or None,
                "country_id": value.get("country") or None,
            }
        }
    if field in ("phone", "email"):
        return {"main_contact_person": {"telephone" if field == "phone" else "email": value}}
    if field == "terms":
        days = re.search(r"\d+", str(value or ""))
        return {"credit_days": int(days.group()) if days else 0}
    return {field: value if value not in (None, "") else None}


def write_customer(
    ctx: StepContext, ref: str, changed: list[str], crm: dict[str, Any]
) -> dict[str, Any]:
    """Write the changed fields with the CRM's values; the references to keep: the customer
    and the change stamp our write left."""
    system = ctx.pair.erp.system
    if system == "sage100":
        body = {k: v for field in changed for k, v in sage100_columns(field, crm[field]).items()}
        ctx.erp.update("customer", ref, body, ctx.idempotency_key("to_sage"))
        stamp = sage100_change(ctx.erp, "customer", ctx.erp.get("customer", ref)).stamp
    else:
        body = {}
        for field in changed:
            for name, value in sage50_body(field, crm[field]).items():
                body[name] = {**body.get(name, {}), **value} if isinstance(value, dict) else value
        stamp = ctx.erp.update("contacts", ref, body, ctx.idempotency_key("to_sage"))["updated_at"]
    return {"written": body, "references": {"sage_customer": ref, "sage_stamp": stamp}}
