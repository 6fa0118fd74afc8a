"""Addresses written on one line (as CRMs keep them) and phone numbers, made structured.

US: "1450 Embarcadero Rd, Suite 200, Oakland, CA 94607, USA". EU: "Hansaring 62, 50670 Köln,
Germany", "Stationsplein 9, 3511 ED Utrecht, Netherlands", UK: "1 High St, Bristol BS1 4DJ".
Countries come out as ISO 3166 alpha-2 codes.
"""

import re
from typing import Any

import phonenumbers

from mappings.transforms import Param, TransformIssue, register

COUNTRIES = {
    "us": "US", "usa": "US", "united states": "US", "united states of america": "US",
    "u.s.a.": "US", "u.s.": "US", "canada": "CA", "germany": "DE", "deutschland": "DE",
    "france": "FR", "netherlands": "NL", "the netherlands": "NL", "nederland": "NL",
    "belgium": "BE", "austria": "AT", "österreich": "AT", "switzerland": "CH", "spain": "ES",
    "italy": "IT", "ireland": "IE", "united kingdom": "GB", "uk": "GB", "great britain": "GB",
    "england": "GB", "sweden": "SE", "denmark": "DK", "poland": "PL", "portugal": "PT",
    "luxembourg": "LU", "norway": "NO", "finland": "FI",
}  # fmt: skip
ISO_CODES = set(COUNTRIES.values())
US_STATE_ZIP = re.compile(r"^(?:(?P<city>.+?)\s+)?(?P<state>[A-Z]{2})\s+(?P<zip>\d{5}(?:-\d{4})?)$")
CA_PROVINCE_POSTAL = re.compile(
    r"^(?:(?P<city>.+?)\s+)?(?P<state>[A-Z]{2})\s+(?P<zip>[A-Z]\d[A-Z]\s?\d[A-Z]\d)$"
)
ZIP_FIRST = re.compile(r"^(?P<zip>\d{4}\s?[A-Z]{2}|[A-Z]{1,2}-?\d{4,5}|\d{4,5})\s+(?P<city>.+)$")
UK_POSTCODE_LAST = re.compile(r"^(?P<city>.+?)\s+(?P<zip>[A-Z]{1,2}\d[A-Z\d]?\s*\d[A-Z]{2})$")


def country_code(text: str) -> str | None:
    folded = text.strip().casefold()
    if folded in COUNTRIES:
        return COUNTRIES[folded]
    return text.strip().upper() if text.strip().upper() in ISO_CODES else None


def parse_address_line(text: str, default_country: str = "") -> dict[str, Any]:
    """Lines, city, state, zip and country; whatever cannot be placed stays in the lines."""
    parts = [part.strip() for part in text.replace("\n", ",").split(",") if part.strip()]
    address: dict[str, Any] = {"lines": [], "city": "", "state": "", "zip": "", "country": ""}
    if parts and (code := country_code(parts[-1])):
        address["country"] = code
        parts.pop()
    if parts:
        last = parts[-1]
        for pattern in (US_STATE_ZIP, CA_PROVINCE_POSTAL, ZIP_FIRST, UK_POSTCODE_LAST):
            match = pattern.match(last)
            if match is None:
                continue
            found = match.groupdict()
            parts.pop()
            address["zip"] = found["zip"]
            address["state"] = found.get("state") or ""
            address["city"] = found.get("city") or ""
            if not address["city"] and len(parts) > 1:
                address["city"] = parts.pop()
            if not address["country"]:
                us_like = pattern is US_STATE_ZIP
                address["country"] = "US" if us_like else default_country.upper()
            break
        else:
            if len(parts) > 1:
                address["city"] = parts.pop()
    address["lines"] = parts
    if not address["country"]:
        address["country"] = default_country.upper()
    return address


@register(
    "parse_address",
    "Parse address",
    "Split a one-line address into lines, city, state, zip and country (US and EU formats).",
    Param(
        "default_country",
        "string",
        default="",
        help="ISO code to use when the text names no country, e.g. US.",
    ),
)
def parse_address(value: Any, default_country: str = "") -> Any:
    if value is None or value == "":
        return None
    if isinstance(value, dict):
        return value
    address = parse_address_line(str(value), default_country)
    if not address["city"] or not address["lines"]:
        raise TransformIssue(
            f"Could not tell the street and city apart in “{value}”; check the lines and city "
            "in the output, or write the address as “street, city, state zip, country”.",
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
    Param("default_region", "string", default="US", help="Two-letter region, e.g. US, DE."),
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
            f"“{text}” is not a phone number I can read; kept as it is. Add the country code "
            "(+1 …) or fix the digits.",
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
            f"“{value}” is not a country I know; kept as it is. Use an ISO code such as US.",
            level="warning",
            code="country",
            value=str(value).strip(),
        )
    return code
