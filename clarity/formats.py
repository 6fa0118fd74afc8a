"""Text formats CRMs keep structured data in: addresses on one line (country names as ISO
codes) and product lines ("SKU x qty @ price"). Plain functions every layer may use: the
mapping transforms wrap them, and connectors read their own records with them.

US: "1450 Embarcadero Rd, Suite 200, Oakland, CA 94607, USA". EU: "Hansaring 62, 50670 Köln,
Germany", "Stationsplein 9, 3511 ED Utrecht, Netherlands", UK: "1 High St, Bristol BS1 4DJ".
"""

import re
from decimal import Decimal
from typing import Any

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
MAX_PLACE_CHARS = 200  # "city, state zip" longer than this is left in the lines
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
    # One space between words, and no city-state-zip part longer than anyone writes: the
    # patterns' lazy city before `\s+` would otherwise try every split of a long run of spaces.
    last = " ".join(parts[-1].split()) if parts else ""
    if last and len(last) <= MAX_PLACE_CHARS:
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


def plain_number(number: Decimal) -> str:
    """A quantity or rate as people write it: 700, 2.5, 1.08 (not 700.0, 7E+2 or 1.0800)."""
    return format(Decimal(number).normalize(), "f")


PRODUCT_LINE = re.compile(
    r"^\s*(?P<sku>\S+?)\s*[x\u00d7*]\s*(?P<quantity>\d[\d,]*(?:\.\d+)?)\s*@\s*"
    r"(?P<currency>[A-Z]{3}\s*|[$€£]\s*)?(?P<price>\d[\d,]*(?:\.\d+)?)\s*$",
    re.IGNORECASE,
)


def parse_product_line(text: str) -> tuple[str, Decimal, Decimal] | None:
    """SKU, quantity and unit price of one "SKU x qty @ price" line; None if it is not one."""
    match = PRODUCT_LINE.match(text)
    if match is None:
        return None
    number = (Decimal(match[part].replace(",", "")) for part in ("quantity", "price"))
    return match["sku"], *number
