"""Streak organizations in customer sync's common fields, and Sage's values written to them.

A Streak organization keeps a name, phone numbers and addresses (one line each) and a free
text `other`, and nothing else a Sage customer has: no email (contacts have those) and no
custom fields. So the CRM-owned name, first phone number and first address (parsed into
street, city, state, zip and country) go to Sage, and the Sage-owned credit limit, terms and
balance are kept on one line of `other`, e.g. "Sage 100: credit limit 25,000.00 · terms 01 ·
balance 1,234.56", replaced at each sync while the rest of `other` is left alone. A field
the organization cannot hold (email, when Sage owns it) is named in the run's summary.

Streak tells us of organization changes only by its team-scoped `ORG_UPDATE` webhook (seen
in n8n's Streak node, not in Streak's own documentation: unconfirmed). Our own write comes
back as an `ORG_UPDATE` too, at once, possibly before our write's reply is handled, so
echoes are recognised by content: the fingerprint of the CRM-owned values (which our write
does not touch) is recorded before writing, and a delivery with that fingerprint brings
Sage nothing new.
"""

import hashlib
import json
from decimal import Decimal, InvalidOperation
from typing import Any

from clarity.formats import parse_address_line
from connectors.values import blank, same

KIND = "ORG_UPDATE"
ON_THE_ORGANIZATION = ("name", "phone", "billing_address")
IN_OTHER = {"credit_limit": "credit limit", "terms": "terms", "balance": "balance"}
MONEY = {"credit_limit", "balance"}


def organization_values(organization: dict[str, Any]) -> dict[str, Any]:
    phones = organization.get("phoneNumbers") or [""]
    addresses = organization.get("addresses") or [""]
    address = parse_address_line(str(addresses[0] or ""), default_country="US")
    return {
        "name": organization.get("name"),
        "phone": phones[0],
        "billing_address": {
            "street": "\n".join(address["lines"]),
            "city": address["city"],
            "state": address["state"],
            "zip": address["zip"],
            "country": address["country"] if addresses[0] else "",
        },
    }


def one_line(address: dict[str, Any]) -> str:
    """A structured address on one line, as Streak keeps it and as it parses back: "street,
    city, STATE ZIP, US", "street, city POSTCODE, GB" or "street, ZIP city, DE"."""
    street = ", ".join(line for line in str(address.get("street") or "").split("\n") if line)
    city, state, zip_code = (str(address.get(part) or "") for part in ("city", "state", "zip"))
    country = str(address.get("country") or "")
    if state:
        place = [city, f"{state} {zip_code}".strip()]
    elif country.upper() in ("GB", "GBR", "IE", "IRL"):
        place = [f"{city} {zip_code}".strip()]
    else:
        place = [f"{zip_code} {city}".strip()]
    return ", ".join(part for part in [street, *place, country] if part)


def fingerprint(organization: dict[str, Any], crm_owned: list[str]) -> str:
    """The organization's CRM-owned values, hashed: equal fingerprints, nothing new for Sage."""
    values = organization_values(organization)
    owned = {field: values[field] for field in crm_owned if field in values}
    digest = hashlib.sha256(json.dumps(owned, sort_keys=True, default=str).encode()).hexdigest()
    return f"values:{digest[:40]}"


def shown(field: str, value: Any) -> str:
    if field in MONEY:
        try:
            return f"{Decimal(str(value)):,.2f}"
        except InvalidOperation:
            return str(value or "")
    return str(value or "")


def sage_line(label: str, sage: dict[str, Any], fields: list[str]) -> str:
    parts = [f"{IN_OTHER[field]} {shown(field, sage[field])}" for field in fields]
    return f"{label}: " + " · ".join(parts)


def with_sage_line(other: str, label: str, line: str) -> str:
    """`other` with its line about this Sage put in (first), every other line kept."""
    kept = [text for text in (other or "").splitlines() if not text.startswith(f"{label}:")]
    return "\n".join([line, *kept])


def organization_changes(
    label: str, organization: dict[str, Any], sage: dict[str, Any], sage_owned: list[str]
) -> tuple[dict[str, Any], list[str], list[str]]:
    """The organization's update body for the Sage-owned fields that differ: (body, fields
    changed, fields it cannot hold)."""
    current = organization_values(organization)
    body: dict[str, Any] = {}
    changed, skipped = [], []
    for field in sage_owned:
        if field in ON_THE_ORGANIZATION:
            if blank(sage[field]) or same(sage[field], current[field]):
                continue
            changed.append(field)
            if field == "name":
                body["name"] = sage[field]
            else:
                name = "phoneNumbers" if field == "phone" else "addresses"
                value = sage[field] if field == "phone" else one_line(sage[field])
                body[name] = [value, *(organization.get(name) or [])[1:]]
        elif field not in IN_OTHER:
            skipped.append(field)
    in_other = [field for field in sage_owned if field in IN_OTHER]
    if in_other:
        other = with_sage_line(
            organization.get("other") or "", label, sage_line(label, sage, in_other)
        )
        if other != (organization.get("other") or ""):
            changed += [field for field in in_other if field not in changed]
            body["other"] = other
    return body, changed, skipped


def organization_of(label: str, values: dict[str, Any]) -> dict[str, Any]:
    """A new organization for a Sage customer's common values (initial load)."""
    address = one_line(values["billing_address"])
    return {
        "name": values["name"],
        "phoneNumbers": [values["phone"]] if values["phone"] else [],
        "addresses": [address] if address else [],
        "other": sage_line(label, values, list(IN_OTHER)),
    }
