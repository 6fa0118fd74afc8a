"""Customer values compared as a person reads them, the same way on every side of a sync.

Customer sync and the initial load speak in common fields: `name`, `phone`, `email`,
`billing_address` (`street` with lines joined by newlines, `city`, `state`, `zip`,
`country`), `credit_limit`, `terms`, `balance`. Each connector reads and writes its own
records in these terms; these helpers decide whether two values differ. An ERP that finds
a customer by the CRM record's id, email or name tells its namesakes apart with the last
ones here.
"""

import hashlib
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from clarity.formats import country_code
from connectors.errors import Ambiguous

ADDRESS_PARTS = ("street", "city", "state", "zip", "country")
COMMON_FIELDS = ("name", "phone", "email", "billing_address", "credit_limit", "terms", "balance")


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


def money(value: Any) -> Decimal:
    """An amount to the cent, blanks as zero."""
    return Decimal(str(value or 0)).quantize(Decimal("0.01"))


def fitted_id(crm_id: str, length: int) -> str:
    """The CRM id as a reference column of `length` characters holds it: itself when it
    fits, else a digest that does (Streak's keys are longer than Sage's columns)."""
    if len(crm_id) <= length:
        return crm_id
    return "sha256:" + hashlib.sha256(crm_id.encode()).hexdigest()[: length - 7]


@dataclass(frozen=True)
class NamesakeColumns:
    """The columns of an ERP's customer row that tell it from a namesake."""

    name: str
    email: str
    balance: str
    place: tuple[str, ...] = ("City", "State")


def described_customer(customer: dict[str, Any], columns: NamesakeColumns) -> str:
    """A customer as a person tells it from a namesake: name, place, email and balance."""
    place = ", ".join(str(customer[c]) for c in columns.place if customer.get(c))
    parts = [customer[columns.name], place, customer.get(columns.email) or "no email"]
    balance = customer.get(columns.balance)
    if balance is not None:
        parts.append(f"balance {money(balance):,.2f}")
    return " · ".join(part for part in parts if part)


def ambiguous_customers(
    label: str,
    system: str,
    how: str,
    value: Any,
    found: dict[str, dict[str, Any]],
    columns: NamesakeColumns,
) -> Ambiguous:
    """Several customers (`found`, by key) have the value: the message lists them by key
    and name, the run's page offers each described."""
    listed = ", ".join(f"{ref} ({customer[columns.name]})" for ref, customer in found.items())
    return Ambiguous(
        f"{label} has {len(found)} customers with the {how} “{value}”: {listed}. Choose the "
        "one this organization buys as on the run's page (or merge them in Sage), then retry.",
        candidates={ref: described_customer(c, columns) for ref, c in found.items()},
        system=system,
    )
