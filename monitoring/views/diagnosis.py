"""What a failed run means to a person: its error signature, a plain-language fix, and links
to the record in each system.

The fixes are a small rules table rather than code in templates, so adding one is one line.
"""

import hashlib
import re
from dataclasses import dataclass
from typing import Any

from connectors.registry import SYSTEMS
from flows.models import SyncRun


@dataclass(frozen=True)
class FixRule:
    """When the error class is `error_class` (any when empty) and the message matches
    `pattern`, `fix` (formatted with the pattern's named groups) says what to do."""

    error_class: str
    pattern: str
    fix: str


FIX_RULES = (
    FixRule(
        "",
        r"Item (?P<item>\S+) is not in Sage 100",
        "Item {item} is not in Sage 100: add it to the product lookup table or create the "
        "item, then retry.",
    ),
    FixRule(
        "NeedsReview",
        r"rate",
        "There is no exchange rate for the deal's currency: add one to the currency rates, "
        "then retry.",
    ),
    FixRule(
        "ValidationError",
        r"Fill (?P<where>.+?) in (?P<crm>Streak|Salesforce)",
        "Fill {where} in {crm}, then retry from the failed step.",
    ),
    FixRule(
        "Ambiguous",
        r"",
        "Sage has several customers that match this organization: choose below the one it "
        "buys as (the organization is bound to it and the run goes on), or merge them in Sage "
        "and retry.",
    ),
    FixRule(
        "RecordBusy",
        r"",
        "Another run is creating this organization's Sage customer; this run goes on by itself "
        "in a few seconds, with the same customer.",
    ),
    FixRule(
        "ValidationError",
        r"several orders",
        "Sage 100 has duplicate orders for this deal: keep one, then retry.",
    ),
    FixRule(
        "ValidationError",
        r"",
        "The target system refused the data: correct the fields named in the message (in the "
        "CRM or in the mapping), then retry.",
    ),
    FixRule(
        "AuthError",
        r"",
        "The system refused our credentials and the pair is paused: reconnect the connection, "
        "resume the pair, then retry.",
    ),
    FixRule(
        "RateLimited",
        r"",
        "The system asked us to slow down. The run waits and retries by itself; if it is dead, "
        "retry it later.",
    ),
    FixRule(
        "TransientError",
        r"",
        "The system did not answer (outage, timeout or a locked record). Check that it is up, "
        "then retry: nothing is written twice.",
    ),
    FixRule(
        "NotFound",
        r"",
        "A record the run refers to is missing in the target system: create it or correct the "
        "reference, then retry.",
    ),
    FixRule(
        "Conflict",
        r"",
        "The target already has a record with the same key: link or remove the duplicate, then "
        "retry.",
    ),
)
DEFAULT_FIX = "Read the system's message below, fix the cause, then retry."

# Ids are normalised so that one cause groups together: long tokens with digits (Streak box
# keys, Salesforce ids, idempotency keys) and bare numbers (order numbers, run ids, amounts).
LONG_ID = re.compile(r"(?<![\w-])(?=[\w-]*\d)[\w-]{12,}(?![\w-])")
NUMBER = re.compile(r"(?<![\w.,-])\d[\d,]*(?:\.\d+)?(?![\w-])")


def fix_for(error_class: str, message: str) -> str:
    for rule in FIX_RULES:
        if rule.error_class and rule.error_class != error_class:
            continue
        match = re.search(rule.pattern, message)
        if match:
            return rule.fix.format(**match.groupdict())
    return DEFAULT_FIX


def signature(run: SyncRun) -> str:
    """The run's error with record-specific ids blanked: what groups the error queue."""
    message = LONG_ID.sub("…", run.error_message.strip())
    message = NUMBER.sub("#", message)
    return f"{run.error_class or 'Error'}: {message}"[:300]


def signature_key(text: str) -> str:
    """A short stable id for a signature, for URLs and form values."""
    return hashlib.sha256(text.encode()).hexdigest()[:16]


# -------------------------------------------------------------- links to each system


def record_links(run: SyncRun) -> list[dict[str, str]]:
    """Links to the run's records in each system, from the connections' base URLs."""
    references: dict[str, Any] = run.references or {}
    return [
        {"label": found.label, "url": found.url}
        for connection in (run.pair.crm, run.pair.erp)
        for found in SYSTEMS[connection.system].connector_class.record_links(
            connection.settings or {}, run.entity_key, references
        )
    ]
