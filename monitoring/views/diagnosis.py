"""What a failed run means to a person: its error signature, a plain-language fix, links to
the record in each system, and a link to where the fix is made (the lookup table, the
connection).

The fixes are a small rules table rather than code in templates, so adding one is one line.
"""

import hashlib
import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from django.urls import reverse

from connectors.models import Connection
from connectors.registry import SYSTEMS
from flows.models import SyncRun
from mappings.models import LookupTable


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
        r"Item (?P<item>\S+) is not in (?P<erp>Sage[^:]*):",
        "Item {item} is not in {erp}: add it to the product lookup table or create the "
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
        "Sage has duplicate orders for this deal: keep one, then retry.",
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
DEFAULT_FIX = "Read the system's message, fix the cause, then retry."

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


def record_links(
    run: SyncRun, connections: tuple[Connection, ...] | None = None
) -> list[dict[str, str]]:
    """Links to the run's records in each system (or in `connections` only), from the
    connections' base URLs."""
    references: dict[str, Any] = run.references or {}
    return [
        {"label": found.label, "url": found.url}
        for connection in connections or (run.pair.crm, run.pair.erp)
        for found in SYSTEMS[connection.system].connector_class.record_links(
            connection.settings or {}, run.entity_key, references
        )
    ]


# -------------------------------------------------------------- where the fix is made

# The error fields naming a line's product code and its GL account code (flows/steps/items.py).
ITEM_FIELD = re.compile(r"lines\[\d+\]\.sku$")
LEDGER_FIELD = re.compile(r"lines\[\d+\]\.gl_account$")
ITEM_IN_MESSAGE = re.compile(r"Item (?P<item>\S+) is not in ")
SYSTEM_TROUBLE = ("AuthError", "TransientError", "RateLimited")
UNWELL = (Connection.Status.FAILING, Connection.Status.NEEDS_REAUTH)


def fix_links(run: SyncRun) -> list[dict[str, str]]:
    """Where a person fixes what stopped the run: the lookup table row an unknown item or GL
    code needs, or the page of the connection that failed (and the pair, when paused)."""
    fields: dict[str, Any] = run.error_fields or {}
    erp = SYSTEMS[run.pair.erp.system].connector_class
    item = next((str(v) for k, v in fields.items() if ITEM_FIELD.search(k)), "")
    if not item and (named := ITEM_IN_MESSAGE.search(run.error_message)):
        item = named["item"]
    links = []
    if item and getattr(erp, "item_table", ""):
        links.append(lookup_row_link(run, erp.item_table, item))
    ledger = next((str(v) for k, v in fields.items() if LEDGER_FIELD.search(k)), "")
    if ledger and getattr(erp, "ledger_table", ""):
        links.append(lookup_row_link(run, erp.ledger_table, ledger))
    if run.error_class in SYSTEM_TROUBLE:
        links += [
            {"label": f"Open the {c.system_label} connection “{c.name}”",
             "url": c.get_absolute_url()}
            for c in connections_at_fault(run)
        ]  # fmt: skip
        if run.error_class == "AuthError" and not run.pair.enabled:
            label = f"Resume the pair “{run.pair.name}”"
            links.append({"label": label, "url": run.pair.get_absolute_url()})
    return links


def lookup_row_link(run: SyncRun, name: str, key: str) -> dict[str, str]:
    """The pair's table (else the global one, as the flows look it up) opened at `key`: its
    row when there is one, the add-row form filled with it when not."""
    tables = LookupTable.objects.filter(name=name)
    table = tables.filter(pair=run.pair).first() or tables.filter(pair__isnull=True).first()
    if table is None:
        url = f"{reverse('lookup-create')}?{urlencode({'pair': run.pair_id})}"
        return {"label": f"Create the lookup table “{name}”", "url": url}
    url = f"{reverse('lookup-detail', args=[table.pk])}?{urlencode({'key': key})}"
    return {"label": f"Add or correct {key} in “{name}”", "url": url}


def connections_at_fault(run: SyncRun) -> list[Connection]:
    """The connection the error names (by its system), else the one whose health is failing,
    else both of the pair's."""
    both = (run.pair.crm, run.pair.erp)
    message = run.error_message.casefold()
    named = [c for c in both if any(word in message for word in system_words(c))]
    if len(named) == 1:
        return named
    unwell = [c for c in both if c.status in UNWELL]
    return unwell or list(both)


def system_words(connection: Connection) -> set[str]:
    """How errors name a connection's system: "Sage 50 (US desktop)" is also "Sage 50"."""
    labels = (connection.system_label, SYSTEMS[connection.system].connector_class.label)
    return {part.casefold() for label in labels if label for part in (label, label.split(" (")[0])}
