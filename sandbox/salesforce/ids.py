"""Salesforce record ids (15-char case-sensitive + 3-char checksum) and timestamps."""

import re
import string
from datetime import UTC, datetime

BASE62 = string.digits + string.ascii_uppercase + string.ascii_lowercase
CHECKSUM_ALPHABET = string.ascii_uppercase + "012345"
ID_SHAPE = re.compile(r"^[a-zA-Z0-9]{15}(?:[a-zA-Z0-9]{3})?$")


def checksum(id15: str) -> str:
    """The 3-char suffix: one letter per 5-char chunk, encoding which chars are upper case."""
    suffix = ""
    for start in (0, 5, 10):
        bits = sum(1 << i for i, char in enumerate(id15[start : start + 5]) if char.isupper())
        suffix += CHECKSUM_ALPHABET[bits]
    return suffix


def make_id(key_prefix: str, number: int) -> str:
    """An 18-char id: key prefix, pod 'Dn', reserved '0', 9 base-62 digits, checksum."""
    digits = ""
    while number:
        number, rest = divmod(number, 62)
        digits = BASE62[rest] + digits
    id15 = f"{key_prefix}Dn0{digits.rjust(9, '0')}"
    return id15 + checksum(id15)


def normalise(raw: str) -> str | None:
    """The 18-char form of a 15- or 18-char id, or None if it is not shaped like an id."""
    if not isinstance(raw, str) or not ID_SHAPE.match(raw):
        return None
    return raw[:15] + checksum(raw[:15])


def now() -> datetime:
    return datetime.now(UTC)


def format_datetime(moment: datetime) -> str:
    """Salesforce's JSON datetime: 2024-05-01T10:00:00.000+0000."""
    return (
        moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.")
        + f"{moment.microsecond // 1000:03d}+0000"
    )


def parse_datetime(text: str) -> datetime:
    """Accepts Salesforce's output form and ISO 8601 (Z or offset)."""
    cleaned = text.strip().replace("Z", "+00:00")
    cleaned = re.sub(r"([+-]\d{2})(\d{2})$", r"\1:\2", cleaned)
    moment = datetime.fromisoformat(cleaned)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
