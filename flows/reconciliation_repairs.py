"""One-click repairs of a reconciliation difference (flows/reconciliation.py), each audited
with who did it: replay the deal (a new run of its newest event), write the number back to
the CRM, write Sage's open balance to the CRM's deal as the payments flow does, rebind the
deal to the document Sage has for it (flows/bindings.py), or mark the difference reviewed
with a note.

A Sage document whose amount or lines differ is not changed here: there is no safe automatic
fix of a posted document, so a person looks at it in Sage and marks it reviewed. The page and
the API both repair through `repair`, so the same checks and audit entries hold for both.
"""

from datetime import date
from typing import Any

from django.db import transaction
from django.utils import timezone

from clarity.audit import record_action
from clarity.permissions import HAS_ROLE, Rule
from connectors.errors import ConnectorError
from connectors.models import IntegrationPair
from connectors.services import connector_for
from flows.bindings import BindingRefused, rebind
from flows.exactly_once import document_kind
from flows.models import ExternalLink, SyncRun
from flows.operator_models import ReconciliationFinding
from flows.queue import enqueue
from flows.reconciliation import (
    ACTIONS,
    REBIND,
    REPLAY,
    WRITE_BACK,
    WRITE_PAYMENT,
    Difference,
    reconcile,
)
from flows.reconciliation_payments import balance_field, crm_value

# Everyone with a role sees the differences; repairing writes to Sage or the CRM, which is
# what an operator does when retrying a run, so it needs the same permission.
RECONCILIATION = Rule(
    HAS_ROLE.read, ("flows.retry_syncrun",), message="Repairs need the Operator role."
)
NOTE_LENGTH = 1000


class RepairRefused(Exception):
    """The repair cannot be done as asked; the message says why and what to do."""


def repair(
    pair: IntegrationPair,
    since: date,
    crm_id: str,
    action: str,
    user: Any,
    note: str = "",
    sage_id: str = "",
) -> str:
    """Do `action` for the difference of `crm_id` (or, for a document without a deal,
    `sage_id`) found by reconciling again now; returns what was done, in words."""
    if action not in ACTIONS:
        raise RepairRefused(f"“{action}” is no repair: use one of {', '.join(ACTIONS)}.")
    try:
        differences = reconcile(pair, since).differences
    except ConnectorError as exc:
        raise RepairRefused(f"Sage could not be listed: {exc} Nothing was changed.") from None
    difference = next(
        (
            found
            for found in differences
            if action in found.actions
            and (found.crm_id == crm_id if crm_id else found.sage_id == sage_id)
        ),
        None,
    )
    if difference is None:
        raise RepairRefused(
            f"No difference of {crm_id or sage_id} can be repaired by “{ACTIONS[action]}” any "
            "more (repaired meanwhile?): reload the reconciliation."
        )
    if action == REPLAY:
        return replay(difference, user)
    if action == WRITE_BACK:
        return write_number_back(pair, difference, user)
    if action == WRITE_PAYMENT:
        return write_payment(pair, difference, user)
    if action == REBIND:
        return rebind_to_sage(pair, difference, user, note)
    return review(pair, difference, user, note)


def newest_run(difference: Difference) -> SyncRun:
    return SyncRun.objects.select_related("flow_config", "event").get(pk=difference.run_id)


def replay(difference: Difference, user: Any) -> str:
    """A new run of the deal's newest event through its flow, as the webhook would start it."""
    run = newest_run(difference)
    if run.event is None:
        raise RepairRefused(
            f"Run {run.pk} of {difference.label} has no stored event to replay: retry the run "
            "from its page instead."
        )
    with transaction.atomic():
        new = SyncRun.objects.create(
            flow_config=run.flow_config, pair=run.pair, event=run.event, entity_key=run.entity_key
        )
        record_action(
            user, new, "replayed from reconciliation",
            f"{difference.label}: {difference.problem_label}; replays run {run.pk}",
        )  # fmt: skip
        enqueue(new)
    return f"Run {new.pk} replays {difference.label}."


def write_number_back(pair: IntegrationPair, difference: Difference, user: Any) -> str:
    """Write the document's number into the deal field the CRM keeps it in."""
    run = newest_run(difference)
    crm = connector_for(pair.crm)
    field = crm.document_fields[document_kind(run.flow_config.flow)]
    key = f"reconciliation-{pair.pk}-{difference.crm_id}-{timezone.now():%Y%m%d%H%M%S%f}"
    try:
        crm.write_deal(difference.crm_id, {field: difference.expected}, key)
    except ConnectorError as exc:
        raise RepairRefused(
            f"{pair.crm.system_label} did not take the number: {exc} Try again later."
        ) from None
    record_action(
        user, run, "number written back from reconciliation",
        f"{field}: {difference.found} → {difference.expected}",
    )  # fmt: skip
    return f"{difference.expected} written to “{field}” of {difference.label}."


def write_payment(pair: IntegrationPair, difference: Difference, user: Any) -> str:
    """Write Sage's open balance into the deal field the payments flow keeps it in."""
    run = newest_run(difference)
    crm = connector_for(pair.crm)
    key = f"reconciliation-pay-{pair.pk}-{difference.crm_id}-{timezone.now():%Y%m%d%H%M%S%f}"
    try:
        field = balance_field(crm)
        if field is None:
            raise RepairRefused(f"{pair.crm.system_label} deals have no open balance field.")
        crm.write_deal(difference.crm_id, {field.name: crm_value(field, difference.expected)}, key)
    except ConnectorError as exc:
        raise RepairRefused(
            f"{pair.crm.system_label} did not take the balance: {exc} Try again later."
        ) from None
    record_action(
        user, run, "payment written to the CRM from reconciliation",
        f"{field.label}: {difference.found} → {difference.expected}",
    )  # fmt: skip
    return f"Open balance {difference.expected} written to “{field.label}” of {difference.label}."


def rebind_to_sage(pair: IntegrationPair, difference: Difference, user: Any, note: str) -> str:
    """Bind the deal to the document Sage has with its reference (audited by bindings)."""
    run = newest_run(difference)
    kind = document_kind(run.flow_config.flow)
    link = ExternalLink.objects.get(pair=pair, entity=kind, crm_id=difference.crm_id)
    try:
        rebind(link, difference.expected, user, note or "Rebound from reconciliation")
    except BindingRefused as refused:
        raise RepairRefused(str(refused)) from None
    return f"{difference.label} is bound to {difference.expected} now."


def review(pair: IntegrationPair, difference: Difference, user: Any, note: str) -> str:
    """Keep the difference as known and explained: it stays listed, marked reviewed, and
    the nightly check does not alert on it."""
    note = note.strip()[:NOTE_LENGTH]
    if not note:
        raise RepairRefused("Say what you checked (e.g. “discount agreed by phone”).")
    finding, _ = ReconciliationFinding.objects.update_or_create(
        pair=pair,
        fingerprint=difference.fingerprint,
        defaults={
            "problem": difference.problem, "crm_id": difference.crm_id,
            "sage_id": difference.sage_id, "reviewed_by": user if user.is_authenticated else None,
            "reviewed_at": timezone.now(), "note": note,
        },
        create_defaults={
            "problem": difference.problem, "crm_id": difference.crm_id,
            "sage_id": difference.sage_id, "first_seen_at": timezone.now(),
            "reviewed_by": user if user.is_authenticated else None,
            "reviewed_at": timezone.now(), "note": note,
        },
    )  # fmt: skip
    record_action(
        user, finding, "reviewed from reconciliation",
        f"{difference.label or difference.sage_id}: {difference.problem_label} "
        f"(expected {difference.expected}, found {difference.found}). {note}",
    )  # fmt: skip
    return f"{difference.problem_label.capitalize()} of {difference.label} marked as reviewed."
