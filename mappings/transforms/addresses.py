"""Addresses written on one line (as CRMs keep them) and phone numbers, made structured.

The parsing itself is `clarity.formats` (connectors read one-line addresses with it too);
these are its transforms. Countries come out as ISO 3166 alpha-2 codes.
"""

from typing import Any

import phonenumbers

from clarity.formats import country_code, parse_address_line
from mappings.issues import TransformIssue
from mappings.limits import shorten
from mappings.transforms.base import Param, register

# The address parser's patterns slow down on very long lines; no address is this long.
MAX_ADDRESS = 500


@register(
    "parse_address",
    "Parse address",
    "Split a one-line address into lines, city, state, zip and country (US and EU formats).",
    Param(
        "default_country",
        "string",
        default="",
        help="ISO code to use when the text names no country, e.g. US.",
        max_length=3,
    ),
)
def parse_address(value: Any, default_country: str = "") -> Any:
    if value is None or value == "":
        return None
    if isinstance(value, dict):
        return value
    text = str(value)
    if len(text) > MAX_ADDRESS:
        raise TransformIssue(
            f"“{shorten(text)}” is {len(text)} characters long, not an address (at most "
            f"{MAX_ADDRESS}); map the address field itself.",
            code="address_unclear",
        )
    address = parse_address_line(text, default_country)
    if not address["city"] or not address["lines"]:
        raise TransformIssue(
            f"Could not tell the street and city apart in “{shorten(text)}”; check the lines "
            "and city in the output, or write the address as “street, city, state zip, country”.",
            level="warning",
            code="address_unclear",
            value=address,
        )
    return address


@register(
    "phone",
    "Phone number",
    "Normalise a phone number to E.164 (+15105550142); numbers without a country code use "
    "the default region.",
    Param(
        "default_region",
        "string",
        default="US",
        help="Two-letter region, e.g. US, DE.",
        max_length=3,
    ),
    Param(
        "format",
        "choice",
        default="e164",
        choices=("e164", "international", "national"),
        help="How to write the number.",
    ),
)
def phone(value: Any, default_region: str = "US", format: str = "e164") -> Any:
    if value is None or value == "":
        return None
    text = str(value).strip()
    try:
        parsed = phonenumbers.parse(text, (default_region or "US").upper())
    except phonenumbers.NumberParseException:
        parsed = None
    if parsed is None or not phonenumbers.is_possible_number(parsed):
        raise TransformIssue(
            f"“{shorten(text)}” is not a phone number I can read; kept as it is. Add the country "
            "code (+1 …) or fix the digits.",
            level="warning",
            code="phone",
            value=text,
        )
    style = {
        "e164": phonenumbers.PhoneNumberFormat.E164,
        "international": phonenumbers.PhoneNumberFormat.INTERNATIONAL,
        "national": phonenumbers.PhoneNumberFormat.NATIONAL,
    }[format]
    return phonenumbers.format_number(parsed, style)


@register(
    "country_code",
    "Country code",
    "Turn a country name or code (USA, Germany, DE) into its ISO two-letter code.",
)
def to_country_code(value: Any) -> Any:
    if value is None or value == "":
        return None
    code = country_code(str(value))
    if code is None:
        raise TransformIssue(
            f"“{shorten(str(value))}” is not a country I know; kept as it is. Use an ISO code "
            "such as US.",
            level="warning",
            code="country",
            value=str(value).strip(),
        )
    return code
