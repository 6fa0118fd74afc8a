"""Salesforce record ids, checked before they go into a URL or a SOQL literal: a delivery,
a change event or a mapping may carry anything, and a record path with `..` or a quote in an
id must not reach Salesforce."""

import re
from typing import Any
from urllib.parse import unquote, urlsplit

from connectors.errors import ValidationError
from connectors.salesforce.oauth import SYSTEM

RECORD_ID = re.compile(r"^[A-Za-z0-9]{15}(?:[A-Za-z0-9]{3})?$")
CHECKSUM_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345"
# /services/data/vNN.N/sobjects/<object>/<what follows>: a record id, or one of these.
SOBJECT_PATH = re.compile(r"^/services/data/v\d+\.\d+/sobjects/[A-Za-z0-9_]+/(?P<rest>.+)$")
SOBJECT_RESOURCES = {
    "describe", "updated", "deleted", "listviews", "quickActions", "layouts", "eventSchema",
    "relevantItems", "compactLayouts", "approvalLayouts", "defaultValues", "platformaction",
}  # fmt: skip
FIELD_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")


def id_checksum(id15: str) -> str:
    """The three letters an 18-character id ends in: which of the first 15 are upper case."""
    letters = ""
    for start in (0, 5, 10):
        chunk = id15[start : start + 5]
        letters += CHECKSUM_ALPHABET[sum(1 << i for i, c in enumerate(chunk) if "A" <= c <= "Z")]
    return letters


def record_id(value: Any, field: str = "Id") -> str:
    """A Salesforce record id, checked before it goes into a URL or a SOQL literal: 15 or 18
    letters and digits, an 18-character one ending in the checksum of the first 15. Ids come
    from deliveries, change events and mappings; anything else is a ValidationError naming
    `field`, and nothing is sent."""
    text = value if isinstance(value, str) else ""
    if RECORD_ID.match(text) and (len(text) == 15 or text[15:].upper() == id_checksum(text)):
        return text
    shown = repr(value)[:40]
    raise ValidationError(
        f"{field} {shown} is not a Salesforce record id (15 or 18 letters and digits, as "
        "Salesforce gives them): nothing was sent to Salesforce.",
        fields={field: "not a Salesforce record id"},
        system=SYSTEM,
    )


def check_record_path(url: str) -> None:
    """A record URL's segment after the object names a record id (alone or before a
    relationship), the field of an external id (before its value) or one of the object's
    resources; anything else, such as `..` or an id with a quote, is refused before it
    reaches Salesforce."""
    found = SOBJECT_PATH.match(urlsplit(url).path)
    if not found:
        return
    first, *rest = [unquote(part) for part in found.group("rest").rstrip("/").split("/")]
    if first in SOBJECT_RESOURCES:
        return
    if any(part in (".", "..") for part in rest):
        raise ValidationError(
            "The record path climbs out of the record: nothing was sent to Salesforce.",
            fields={"Id": "not a Salesforce record id"},
            system=SYSTEM,
        )
    if not (rest and FIELD_NAME.match(first)):  # <external id field>/<value> passes
        record_id(first)
