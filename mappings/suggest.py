"""Suggested rules for the targets a mapping does not fill yet.

A source scores against a target by name (the same words, a CRM↔ERP synonym, shared
words), then by type and by what the sample record's value looks like (an email, a phone
number, a date, a number). Each suggestion carries the transforms that make it pass the
target's checks (trim, truncate to the target's length, read a date or a number), so
accepting one gives a rule that works. Rules already in the spec are never touched, and a
source is not offered for two targets of different meaning unless the match is confident.

Source field names are paths as the engine reads them (`organization.name`,
`fieldsByName.Amount`); a bare Streak pipeline field name is found under `fieldsByName`
when the sample has it there. `spec["source_entity"]` / `spec["target_entity"]`, when
given, qualify one-word names ("name" of a Customer is its customer name).
"""

import re
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from connectors.base import FieldInfo
from mappings.paths import PathError, compile_getter


@dataclass(frozen=True)
class Suggestion:
    target: str
    rule: dict[str, Any]
    confidence: float  # 0 to 1
    reason: str  # one short sentence for the admin


SAME_NAME = 0.95
SYNONYM = 0.85
GENERIC_SAME_NAME = 0.6  # "name" = "name": the same word, but it says little
SAMPLE_ONLY = 0.55
CONFIDENT = 0.8  # a source may feed targets of different meaning only at or above this
MINIMUM = 0.4

ABBREVIATIONS = {"no": "number", "num": "number", "nbr": "number", "acct": "account",
                 "desc": "description", "qty": "quantity", "tel": "telephone",
                 "addr": "address", "amt": "amount", "po": "purchase order",
                 "ref": "reference", "id": "id", "zipcode": "zip code", "url": "url"}  # fmt: skip
IGNORED_WORDS = {"fields", "by", "udf", "the", "of", "c"}  # fieldsByName., UDF_, Salesforce __c
GENERIC_WORDS = {"name", "id", "key", "type", "code", "number", "date", "value", "notes",
                 "status", "description", "reference"}  # fmt: skip
ENTITY_NOISE = {"ar", "so", "im", "ci", "gl", "header", "detail", "history"}

# Concepts: the terms CRMs and ERPs use for one thing; the key names the meaning.
SYNONYMS: dict[str, tuple[str, ...]] = {
    "customer name": ("Customer name", "Organization", "Organization name", "Organisation",
                      "Company", "Company name", "Account name", "Bill to name", "Client name"),
    "contact name": ("Contact name", "Contact", "Full name"),
    "first name": ("First name", "Given name"),
    "last name": ("Last name", "Family name", "Surname"),
    "email": ("Email", "Email address", "E-mail", "Mail", "Customer email", "Contact email"),
    "phone": ("Phone", "Phone number", "Telephone", "Telephone no", "Tel", "Mobile",
              "Phone numbers", "Telephone no 1"),
    "fax": ("Fax", "Fax no", "Fax number"),
    "website": ("Website", "Web site", "URL", "URL address", "Domain", "Homepage"),
    "street": ("Street", "Address line 1", "Address 1", "Street address", "Billing street",
               "Mailing street", "Shipping street", "Address lines", "Lines"),
    "address line 2": ("Address line 2", "Address 2", "Street 2"),
    "city": ("City", "Town", "Billing city", "Shipping city", "Mailing city"),
    "state": ("State", "Province", "Region", "State code", "Billing state", "Shipping state"),
    "zip": ("Zip", "Zip code", "Postal code", "Postcode", "Post code", "Billing postal code",
            "Shipping postal code"),
    "country": ("Country", "Country code", "Billing country", "Shipping country"),
    "address": ("Address", "Addresses", "Full address", "Billing address", "Shipping address",
                "Mailing address"),
    "purchase order": ("PO", "PO number", "Customer PO", "Customer PO no", "Purchase order"),
    "amount": ("Amount", "Total", "Order total", "Deal value", "Value", "Grand total",
               "Total amount", "Invoice total"),
    "currency": ("Currency", "Currency code", "Currency ISO code"),
    "terms": ("Payment terms", "Terms", "Terms code", "Payment term"),
    "credit limit": ("Credit limit",),
    "deal id": ("Deal ID", "CRM deal ID", "Opportunity ID", "Deal number"),
    "crm id": ("CRM ID", "External ID", "CRM reference"),
    "customer number": ("Customer no", "Customer number", "Customer ref", "Customer ID",
                        "Account number"),
    "order number": ("Order number", "Sales order no", "Order no"),
    "invoice number": ("Invoice number", "Invoice no", "Invoice ID"),
    "ship date": ("Ship date", "Shipping date", "Delivery date", "Ship expire date"),
    "sku": ("SKU", "Item code", "Product code", "Item number", "Part number"),
    "item description": ("Item description", "Item code desc", "Product name"),
    "quantity": ("Quantity", "Qty", "Quantity ordered", "Units"),
    "unit price": ("Unit price", "Price", "List price", "Sales price"),
    "notes": ("Notes", "Comment", "Comments", "Memo", "Remarks"),
    "gl account": ("GL account", "GL account code", "Ledger account", "Sales acct key"),
    "tax number": ("Tax number", "Tax ID", "VAT number", "Tax registration number"),
    "warehouse": ("Warehouse", "Warehouse code"),
    "industry": ("Industry", "Sector"),
}  # fmt: skip

EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
URL = re.compile(r"^(https?://|www\.)\S+$", re.IGNORECASE)
PHONE_CHARS = re.compile(r"^\+?[\d\s().\-/]{7,22}$")
NUMBER_TEXT = re.compile(r"^[-+]?[$€£]?\s?\d[\d,]*(\.\d+)?$")
ISO_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}")
WORD = re.compile(r"[A-Z]+(?=[A-Z][a-z])|[A-Z]?[a-z]+|[A-Z]+|\d+")
DISTINCTIVE_KINDS = ("email", "phone", "url")  # enough on their own, without a name match
CONCEPT_KINDS = {"email": "email", "phone": "phone", "fax": "phone", "website": "url"}
TEXT_TYPES = ("string", "choice", "reference")
CODE_LENGTH = 4  # a text target this short takes codes ("01", "A"), not the CRM's words
SHORT_BY_NATURE = ("state", "country", "currency")


def words(text: str) -> list[str]:
    """ "CustomerPONo" → customer purchase order number; plurals made singular."""
    found: list[str] = []
    for raw in WORD.findall(text.replace("[]", " ")):
        word = raw.lower()
        if word in IGNORED_WORDS:
            continue
        for part in ABBREVIATIONS.get(word, word).split():
            if part.endswith("sses"):
                part = part[:-2]
            elif part.endswith("s") and not part.endswith("ss") and len(part) > 3:
                part = part[:-1]
            found.append(part)
    return found


def phrase(text: str) -> str:
    return " ".join(words(text))


CONCEPT_OF = {phrase(term): concept for concept, terms in SYNONYMS.items() for term in terms}


@dataclass(frozen=True)
class Named:
    """A field's name in the forms it can match by."""

    info: FieldInfo
    path: str
    phrases: tuple[str, ...]
    tokens: frozenset[str]
    concept: str | None

    @property
    def meaning(self) -> str:
        return self.concept or self.phrases[0]

    @property
    def shown(self) -> str:
        return self.path.removeprefix("fieldsByName.")


def named(info: FieldInfo, path: str, entity: str) -> Named:
    last = re.split(r"[.\]]", info.name.rstrip("]"))[-1]
    phrases = [phrase(info.name), phrase(last), phrase(info.label or "")]
    entity_words = [w for w in words(entity) if w not in ENTITY_NOISE]
    if entity_words and len(words(last)) == 1:
        phrases.append(" ".join([*entity_words, *words(last)]))
    unique = tuple(dict.fromkeys(p for p in phrases if p))
    concept = next((CONCEPT_OF[p] for p in unique if p in CONCEPT_OF), None)
    tokens = frozenset(word for p in unique[:1] for word in p.split())
    return Named(info, path, unique, tokens, concept)


def jaccard(a: frozenset[str], b: frozenset[str]) -> float:
    return len(a & b) / len(a | b) if a and b else 0.0


def name_score(source: Named, target: Named) -> tuple[float, str]:
    same = set(source.phrases) & set(target.phrases)
    if any(p not in GENERIC_WORDS for p in same):
        return SAME_NAME, "same name"
    if source.concept and source.concept == target.concept:
        return SYNONYM, f"synonym: {source.shown} ↔ {target.info.name}"
    if same:
        return GENERIC_SAME_NAME, "same name (a common one: check it)"
    overlap = jaccard(source.tokens, target.tokens)
    if overlap >= 0.5:
        return 0.45 + 0.3 * overlap, f"similar name: {source.shown} ~ {target.info.name}"
    return 0.0, ""


# ---------------------------------------------------------------- values and types


def value_kind(value: Any) -> str | None:
    """What a sample value looks like: email, url, phone, date, number or text."""
    if isinstance(value, list | tuple):
        value = value[0] if value else None
    if value is None or value == "" or isinstance(value, bool | dict):
        return None
    if isinstance(value, date):
        return "date"
    if isinstance(value, int | float | Decimal):
        return "date" if 10**11 <= value < 10**14 else "number"
    text = str(value).strip()
    if EMAIL.match(text):
        return "email"
    if URL.match(text):
        return "url"
    if ISO_DAY.match(text):
        return "date"
    if NUMBER_TEXT.match(text):
        return "number"
    if PHONE_CHARS.match(text) and sum(ch.isdigit() for ch in text) >= 7:
        return "phone"
    return "text"


def expected_kind(target: Named) -> str | None:
    if target.concept in CONCEPT_KINDS:
        return CONCEPT_KINDS[target.concept]
    if target.info.type in ("date", "datetime"):
        return "date"
    if target.info.type in ("number", "integer"):
        return "number"
    return None


def type_penalty(source: FieldInfo, target: Named) -> float:
    """How badly the source's type fits the target's (0 = fine, a transform will do)."""
    kind, wanted = source.type, target.info.type
    if wanted == "object":
        return 0.0 if kind in ("string", "list", "object") else 0.5
    if kind == "object":
        return 0.5
    if wanted in ("number", "integer"):
        return 0.0 if kind in ("number", "integer", "string") else 0.3
    if wanted in ("date", "datetime"):
        return 0.0 if kind in ("date", "datetime", "string", "integer") else 0.3
    if wanted == "boolean":
        return 0.0 if kind == "boolean" else 0.3
    return 0.0


def sample_value(path: str, sample: dict[str, Any] | None) -> Any:
    if not sample:
        return None
    try:
        return compile_getter(path)(sample, sample)
    except PathError:
        return None


def source_path(info: FieldInfo, sample: dict[str, Any] | None) -> str:
    """The field's path; a Streak pipeline field (a bare name) lives under fieldsByName."""
    by_name = (sample or {}).get("fieldsByName")
    if isinstance(by_name, dict) and info.name not in sample and info.name in by_name:
        return f"fieldsByName.{info.name}"
    return info.name


# ---------------------------------------------------------------- the rule


def takes_codes(source: FieldInfo, target: Named) -> bool:
    """A short code target fed by free text: cutting would not help, a lookup would."""
    length = target.info.length
    return bool(
        target.info.type in TEXT_TYPES
        and length
        and length <= CODE_LENGTH
        and target.concept not in SHORT_BY_NATURE
        and (not source.length or source.length > length)
    )


def transforms_for(source: FieldInfo, target: Named, kind: str | None) -> list[dict[str, Any]]:
    """The transforms that make the source's value pass the target's checks."""
    wanted = target.info.type
    if wanted == "object":
        return [{"name": "parse_address"}]
    if wanted in ("date", "datetime"):
        return [{"name": "date", "params": {"output": wanted}} if wanted == "datetime" else
                {"name": "date"}]  # fmt: skip
    if wanted == "number":
        return [] if source.type == "number" else [{"name": "number"}]
    if wanted == "integer":
        return [] if source.type == "integer" else [{"name": "integer"}]
    if wanted not in TEXT_TYPES:
        return []
    steps: list[dict[str, Any]] = []
    if source.type in ("number", "integer", "date", "datetime") or kind in ("number", "date"):
        steps.append({"name": "text"})
    else:
        steps.append({"name": "trim"})
    if target.concept in ("email", "website"):
        steps.append({"name": "lower"})
    elif target.concept in ("state", "country", "currency"):
        steps.append({"name": "upper"})
    elif target.concept in ("phone", "fax"):
        steps.append({"name": "phone"})
    length = target.info.length
    if length and (not source.length or source.length > length) and not takes_codes(source, target):
        steps.append({"name": "truncate"})
    return steps


@dataclass(frozen=True)
class Candidate:
    score: float
    target: Named
    source: Named
    reason: str

    def suggestion(self, sample: dict[str, Any] | None) -> Suggestion:
        path = self.source.path
        first = self.source.info.type == "list"
        if first:
            path += "[0]"
        kind = value_kind(sample_value(path, sample))
        rule: dict[str, Any] = {"target": self.target.info.name, "source": path}
        steps = transforms_for(self.source.info, self.target, kind)
        if steps:
            rule["transforms"] = steps
        reason = self.reason + ("; first of the list" if first else "")
        if {"name": "truncate"} in steps:
            reason += f"; cut to {self.target.info.length} characters"
        if takes_codes(self.source.info, self.target):
            reason += (
                f"; {self.target.info.name} takes codes of {self.target.info.length} characters:"
                " add a Lookup table or Status mapping"
            )
        return Suggestion(self.target.info.name, rule, round(min(self.score, 0.99), 2), reason)


def candidate(source: Named, target: Named, sample: dict[str, Any] | None) -> Candidate | None:
    score, reason = name_score(source, target)
    kind = value_kind(sample_value(source.path, sample))
    wanted = expected_kind(target)
    if wanted and kind == wanted:
        if score:
            score, reason = score + 0.05, f"{reason}; sample value looks like {article(kind)}"
        elif kind in DISTINCTIVE_KINDS:
            score, reason = SAMPLE_ONLY, f"sample value looks like {article(kind)}"
    elif score and kind in (*DISTINCTIVE_KINDS, "date") and wanted and kind != wanted:
        score -= 0.3  # an email-looking value for a number target: the name misleads
    score -= type_penalty(source.info, target)
    if takes_codes(source.info, target):
        score -= 0.25
    if target.info.type == "object" and target.concept != "address":
        return None
    if score < MINIMUM:
        return None
    tie_break = 0.04 * jaccard(source.tokens, target.tokens)
    return Candidate(score + tie_break, target, source, reason)


def article(kind: str) -> str:
    return {"email": "an email", "url": "a web address", "phone": "a phone number",
            "date": "a date", "number": "a number"}.get(kind, kind)  # fmt: skip


def overlaps(a: str, b: str) -> bool:
    """One target is the other or inside it (billing_address and billing_address.city)."""
    return a == b or a.startswith(b + ".") or b.startswith(a + ".")


def claim_key(path: str) -> str:
    """`organization.addresses[0]` and `organization.addresses` are one source."""
    return re.sub(r"\[\d+\]$", "", path)


def open_targets(target_fields: list[FieldInfo], mapped: list[str]) -> list[FieldInfo]:
    """Targets no rule fills, outside line groups, not lists, not inside a mapped object."""
    return [
        info
        for info in target_fields
        if "[]" not in info.name
        and info.type != "list"
        and not any(overlaps(info.name, target) for target in mapped)
    ]


def suggest(
    source_fields: list[FieldInfo],
    target_fields: list[FieldInfo],
    sample: dict | None,
    spec: dict,
) -> list[Suggestion]:
    """Rules for the targets `spec` leaves unmapped, best first."""
    rules = spec.get("rules") or []
    mapped = [str(rule.get("target") or "").strip() for rule in rules]
    source_entity, target_entity = spec.get("source_entity", ""), spec.get("target_entity", "")
    sources = [
        named(info, source_path(info, sample), source_entity)
        for info in source_fields
        if "[]" not in info.name
    ]
    unmapped = open_targets(target_fields, mapped)
    targets = [named(info, info.name, target_entity) for info in unmapped]
    candidates = sorted(
        (
            found
            for target in targets
            for source in sources
            if (found := candidate(source, target, sample)) is not None
        ),
        key=lambda c: -c.score,
    )
    by_name = {info.name: named(info, info.name, target_entity) for info in target_fields}
    claims: dict[str, set[str]] = {}
    for rule in rules:  # what existing rules already take a source for
        target = by_name.get(str(rule.get("target")))
        if rule.get("source") and target is not None:
            claims.setdefault(claim_key(rule["source"]), set()).add(target.meaning)
    chosen: list[Candidate] = []
    for found in candidates:
        if any(overlaps(found.target.info.name, c.target.info.name) for c in chosen):
            continue
        key = claim_key(found.source.path)
        if claims.get(key, set()) - {found.target.meaning} and found.score < CONFIDENT:
            continue
        chosen.append(found)
        claims.setdefault(key, set()).add(found.target.meaning)
    return [found.suggestion(sample) for found in chosen]
