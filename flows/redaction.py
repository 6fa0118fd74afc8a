"""Secrets never reach run snapshots (steps' inputs and outputs, errors, stored headers).

A value is masked when its key names a secret (`access_token`, `X-Api-Key`, `sessionId`,
`agent_key`...), also in a `[name, value]` pair or a `{"name": ..., "value": ...}` entry
inside a list; and inside any text, wherever it sits: `name=value` and `name: value` with
a secret's name (URL query strings, form bodies, ODBC connection strings, JSON or a Python
repr quoted into an error message, a header line), `<sessionId>...</sessionId>` elements,
a URL's userinfo (`https://user:password@host`), a `Bearer` credential, a JWT and a
Salesforce session id.

Masking keeps the shape (which key, that a value was there) so a person can still read the
run, and errs towards masking a harmless value with a secret-sounding name. The text
patterns run on RE2 (linear time): snapshots hold what other systems sent. A run's snapshot
holds about a thousand strings, nearly all harmless, so a string holding none of the marks
every pattern needs (`MARKS`) is passed over, any other is searched once for any of the
patterns together (`ANY_PATTERN`), and only one that may hold a secret goes through the
patterns one by one; key names repeat, so their verdicts are remembered.
"""

from functools import lru_cache
from typing import Any

import re2

REDACTED = "[redacted]"

SECRET_WORD = (
    r"pass(?:word|wd|phrase)|secret|token|api[_.-]?key|(?:agent|bridge|access|private|"
    r"signing|shared|encryption)[_.-]?key|authorization|signature|cookie|session[_.-]?id|"
    r"credential|bearer|assertion|refresh|pwd"
)
SHORT_NAME = r"sig|sid|pass|auth|otp|jwt"  # secret only as the whole name
SECRET_KEY = re2.compile(rf"(?i)^(?:{SHORT_NAME})$|{SECRET_WORD}")
NOT_LETTER_OR_DIGIT = re2.compile(r"[^a-z0-9]")
NAME_KEYS = ("name", "key", "header", "field")  # {"name": "Authorization", "value": "..."}
VALUE_KEYS = ("value", "values")

# name=value, name: value, "name": "value", 'name': 'value', \"name\":\"value\", PWD={...}
ASSIGNMENT = re2.compile(
    rf"(?i)(?P<name>[\w.-]{{0,40}}(?:{SECRET_WORD})[\w.-]{{0,40}}|\b(?:{SHORT_NAME})\b)"
    r"(?P<separator>\\?[\"']?[ \t]*[:=][ \t]*)"
    r"(?:(?P<quoted>\\?[\"'][^\"'\\\n]*)|(?P<braced>\{[^}\n]*\})|"
    r"(?P<bare>(?:(?:bearer|basic|digest|oauth|token)[ \t]+)?[^\s\"'&;,<>(){}\[\]\\]+))"
)
ELEMENT = re2.compile(r"<(?P<tag>(?:[\w-]+:)?(?P<name>[\w-]+))(?P<attributes>[^<>]*)>[^<]+")
USERINFO = re2.compile(r"(?P<scheme>\b[A-Za-z][A-Za-z0-9+.-]*://)[^\s/?#@\"'<>]+@")
BEARER = re2.compile(r"\b(?P<scheme>[Bb]earer)[ \t]+[\w.~+/=!-]{12,}")
JWT = re2.compile(r"\beyJ[\w-]{8,}\.[\w-]{8,}\.[\w-]*")
SALESFORCE_SESSION = re2.compile(r"\b00D[A-Za-z0-9]{12,15}![\w.]{20,}")
GROUP_NAME = re2.compile(r"\(\?P<\w+>")
TEXT_PATTERNS = (ASSIGNMENT, ELEMENT, USERINFO, BEARER, JWT, SALESFORCE_SESSION)
# Matches wherever one of TEXT_PATTERNS does (their groups made anonymous: names must be
# unique in a pattern).
ANY_PATTERN = re2.compile(
    "|".join(f"(?:{GROUP_NAME.sub('(?:', pattern.pattern)})" for pattern in TEXT_PATTERNS)
)
# Every match of TEXT_PATTERNS holds one of these (an assignment's ":" or "=", an element's
# "<", a URL's "://", "Bearer", a JWT's "eyJ", a session id's "!"): text holding none is
# passed over without calling RE2, as most strings of a snapshot are (names, codes, amounts).
MARKS = (":", "=", "<", "!", "earer", "eyJ")


def is_secret_name(name: Any) -> bool:
    """Whether a key or parameter named so holds a secret (`X-Api-Key`, `sessionId`)."""
    return is_secret_text_name(str(name))


@lru_cache(maxsize=4096)
def is_secret_text_name(name: str) -> bool:
    return bool(SECRET_KEY.search(NOT_LETTER_OR_DIGIT.sub("", name.lower())))


def redact(value: Any) -> Any:
    """A copy of `value` (JSON-like) with every secret masked, text included."""
    if isinstance(value, dict):
        return redact_mapping(value)
    if isinstance(value, list | tuple):
        if len(value) == 2 and isinstance(value[0], str) and is_secret_name(value[0]):
            return [value[0], REDACTED if value[1] else value[1]]  # a (header, value) pair
        return [redact(item) for item in value]
    if isinstance(value, str):
        return redact_text(value)
    return value


def redact_mapping(mapping: dict) -> dict:
    """Values under secret keys masked; an entry naming a secret has its value masked."""
    names_a_secret = any(
        isinstance(mapping.get(key), str) and is_secret_name(mapping[key]) for key in NAME_KEYS
    )
    return {
        key: REDACTED
        if item and (is_secret_name(key) or (names_a_secret and key in VALUE_KEYS))
        else redact(item)
        for key, item in mapping.items()
    }


def redact_text(text: str) -> str:
    """`text` with the secrets it quotes masked (see the module's list)."""
    if not any(mark in text for mark in MARKS) or not ANY_PATTERN.search(text):
        return text
    text = ASSIGNMENT.sub(mask_assignment, text)
    text = ELEMENT.sub(mask_element, text)
    text = USERINFO.sub(lambda found: f"{found.group('scheme')}{REDACTED}@", text)
    text = JWT.sub(REDACTED, text)
    text = SALESFORCE_SESSION.sub(REDACTED, text)
    return BEARER.sub(lambda found: f"{found.group('scheme')} {REDACTED}", text)


def mask_assignment(found: Any) -> str:
    kept = found.group("name") + found.group("separator")
    quoted, braced = found.group("quoted"), found.group("braced")
    if quoted is not None:
        opening = quoted[:2] if quoted.startswith("\\") else quoted[:1]
        return found.group(0) if quoted == opening else f"{kept}{opening}{REDACTED}"
    if braced is not None:
        return f"{kept}{{{REDACTED}}}"
    return f"{kept}{REDACTED}"


def mask_element(found: Any) -> str:
    if not is_secret_name(found.group("name")):
        return found.group(0)
    return f"<{found.group('tag')}{found.group('attributes')}>{REDACTED}"
