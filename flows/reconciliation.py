"""Reconciliation (issue 21 item 2): for a pair and a period, every won deal beside its Sage
document, read live on both sides, and the differences a person should act on.

Won deals and their documents are found as the exactly-once report finds them
(flows/exactly_once.py): the runs of the won-deal flows, their mapped documents, and Sage's
documents listed by `ErpRole.documents_since`, matched by the deal reference the run wrote.
Each deal is then compared with what our run made (the total before tax it sent against the
document's total before tax, its lines against the document's, the number it wrote back, its
binding) and with the CRM now (the deal's stage, its number field, the open balance it shows
against Sage's).

Lines and payments (flows/reconciliation_lines.py, flows/reconciliation_payments.py) cost
more reads per document, so they are compared only for documents dated in the period and for
at most CLOSE_LOOKS of them per check; the rest are counted as not compared. Repairs live in
flows/reconciliation_repairs.py.
"""

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from django.utils import timezone

from connectors.base import FieldInfo
from connectors.errors import ConnectorError
from connectors.models import IntegrationPair
from connectors.records import DocumentSeen
from connectors.services import connector_for
from flows.exactly_once import (
    REFERENCE_FIELDS,
    DealDocuments,
    count_documents,
    document_kind,
    listed_documents,
    mapped_documents,
    won_deal_runs,
)
from flows.models import ExternalLink, RunStep, SyncRun
from flows.operator_models import ReconciliationFinding
from flows.reconciliation_lines import lines_compared
from flows.reconciliation_payments import balance_field, payment_compared
from flows.steps import ITEMS, trigger_stage

MISSING_IN_SAGE = "missing_in_sage"
SAGE_WITHOUT_DEAL = "sage_without_deal"
AMOUNT_DIFFERS = "amount_differs"
LINES_DIFFER = "lines_differ"
PAYMENT_DIFFERS = "payment_differs"
STATUS_DIFFERS = "status_differs"
NUMBER_NOT_WRITTEN_BACK = "number_not_written_back"
BINDING_DIFFERS = "binding_differs"
PROBLEMS = {
    MISSING_IN_SAGE: "missing in Sage",
    SAGE_WITHOUT_DEAL: "in Sage without a deal",
    AMOUNT_DIFFERS: "amount differs",
    LINES_DIFFER: "lines differ",
    PAYMENT_DIFFERS: "payment differs",
    STATUS_DIFFERS: "status differs",
    NUMBER_NOT_WRITTEN_BACK: "number not written back",
    BINDING_DIFFERS: "bound to another document",
}
REPLAY, WRITE_BACK, REBIND, REVIEW = "replay", "write_back", "rebind", "review"
WRITE_PAYMENT = "write_payment"
ACTIONS = {
    REPLAY: "Replay the deal",
    WRITE_BACK: "Write the number back",
    WRITE_PAYMENT: "Write the payment to the CRM",
    REBIND: "Rebind to Sage's document",
    REVIEW: "Mark as reviewed",
}
DOCUMENT_STEPS = ("sales_order", "sales_invoice")  # the steps that make the Sage document
WRITE_BACK_STEP = "write_back"
CENT = Decimal("0.01")
CLOSE_LOOKS = 50  # documents whose lines and payments one check reads, at most


@dataclass(frozen=True)
class Difference:
    """One thing that differs between a won deal and Sage, and the repairs that fit it."""

    problem: str
    crm_id: str
    label: str
    sage_id: str
    expected: str
    found: str
    actions: tuple[str, ...]
    run_id: int | None = None
    currency: str = ""
    reviewed: str = ""  # who reviewed it and their note, when someone did

    @property
    def problem_label(self) -> str:
        return PROBLEMS[self.problem]

    @property
    def fingerprint(self) -> str:
        """The same difference on the next check has the same fingerprint; a changed one
        (another amount found) does not, so it is news again."""
        return f"{self.problem}:{self.crm_id}:{self.sage_id}:{self.found}"[:255]

    @property
    def action_labels(self) -> list[tuple[str, str]]:
        return [(action, ACTIONS[action]) for action in self.actions]


@dataclass
class Reconciliation:
    pair: IntegrationPair
    since: date
    checked_at: datetime
    won_deals: int = 0
    differences: list[Difference] = field(default_factory=list)
    unreadable: list[str] = field(default_factory=list)  # deals the CRM did not answer for
    looked_closely: int = 0  # documents whose lines and payments were read
    not_looked_closely: int = 0  # dated before the period, or past CLOSE_LOOKS

    def close_look(self, document: DocumentSeen) -> bool:
        """Whether the document's lines and payments are read in this check (and count it)."""
        if document.made_on < self.since or self.looked_closely >= CLOSE_LOOKS:
            self.not_looked_closely += 1
            return False
        self.looked_closely += 1
        return True

    @property
    def close_looks(self) -> int:
        return CLOSE_LOOKS

    def counts(self) -> dict[str, int]:
        found: dict[str, int] = {}
        for difference in self.differences:
            found[difference.problem] = found.get(difference.problem, 0) + 1
        return found

    @property
    def summary(self) -> str:
        deals = plural(self.won_deals, "won deal")
        if not self.differences:
            if not self.won_deals:
                return f"No deal was won since {self.since:%d %b %Y}."
            return f"{deals} since {self.since:%d %b %Y}, all matching Sage."
        found = plural(len(self.differences), "difference")
        return f"{found} in {deals}: {counted(self.differences)}"


def plural(count: int, noun: str) -> str:
    return f"{count} {noun}{'' if count == 1 else 's'}"


def counted(differences: Iterable[Difference]) -> str:
    """ "1 missing in Sage, 2 amount differs", in the order of PROBLEMS."""
    counts: dict[str, int] = {}
    for difference in differences:
        counts[difference.problem] = counts.get(difference.problem, 0) + 1
    return ", ".join(f"{counts[key]} {words}" for key, words in PROBLEMS.items() if key in counts)


def reconcile(pair: IntegrationPair, since: date) -> Reconciliation:
    """The differences of `pair` for deals whose runs started on or after `since`. Raises the
    connector's error when Sage cannot be listed."""
    start = timezone.make_aware(datetime.combine(since, time.min))
    result = Reconciliation(pair, since, timezone.now())
    runs = SyncRun.objects.filter(pair=pair, created_at__gte=start).select_related("flow_config")
    deals = won_deal_runs([run for run in runs if document_kind(run.flow_config.flow)])
    run_ids = [run.pk for group in deals.values() for run in group]
    mapped = mapped_documents(run_ids)
    listed = listed_documents(pair, since, mapped)
    matched = count_documents(pair, since, deals, mapped, listed) if deals else []
    result.won_deals = len(matched)
    outputs = step_outputs(run_ids)
    sides = Sides(connector_for(pair.crm), connector_for(pair.erp))
    try:
        sides.balance = balance_field(sides.crm) if matched else None
    except ConnectorError as exc:
        result.unreadable.append(f"its deal fields, so payments are not compared: {exc}")
    for deal in matched:
        group = deals[deal.crm_id]
        try:
            result.differences += compare(pair, sides, deal, group, outputs, result)
        except ConnectorError as exc:
            result.unreadable.append(f"{deal.label}: {exc}")
    result.differences += strays(pair, since, listed)
    with_reviews(result)
    return result


@dataclass
class Sides:
    """The pair's CRM and ERP connectors, and the CRM's deal field for the open balance."""

    crm: Any
    erp: Any
    balance: FieldInfo | None = None


def step_outputs(run_ids: list[int]) -> dict[tuple[int, str], dict[str, Any]]:
    """The document and write-back steps' outputs, by (run, step)."""
    rows = RunStep.objects.filter(
        run_id__in=run_ids,
        name__in=(*DOCUMENT_STEPS, WRITE_BACK_STEP, ITEMS),
        status=RunStep.Status.SUCCEEDED,
    ).values_list("run_id", "name", "output")
    return {(run_id, name): output or {} for run_id, name, output in rows}


def newest_output(
    group: list[SyncRun], outputs: dict[tuple[int, str], dict[str, Any]], names: Iterable[str]
) -> dict[str, Any]:
    for run in group:  # newest first
        for name in names:
            if (run.pk, name) in outputs:
                return outputs[(run.pk, name)]
    return {}


def compare(
    pair: IntegrationPair,
    sides: Sides,
    deal: DealDocuments,
    group: list[SyncRun],
    outputs: dict[tuple[int, str], dict[str, Any]],
    result: Reconciliation,
) -> list[Difference]:
    """The deal's differences: missing, amount, lines, status, number written back, payment,
    binding."""
    crm = sides.crm
    newest = group[0]
    kind = document_kind(newest.flow_config.flow)
    base = {"crm_id": deal.crm_id, "label": deal.label, "run_id": deal.run_id}
    if not deal.documents:
        if deal.in_progress:
            return []
        return [
            Difference(MISSING_IN_SAGE, sage_id="", expected=f"a {kind.replace('_', ' ')}",
                       found=f"none; the deal's run is {deal.state_label.lower()}",
                       actions=(REPLAY,), **base)
        ]  # fmt: skip
    link = ExternalLink.objects.filter(pair=pair, entity=kind, crm_id=deal.crm_id).first()
    ids = sage_ids(group)
    document = next(
        (seen for seen in deal.documents if link and ids.get(seen.number) == link.sage_id),
        deal.documents[0],
    )
    made = newest_output(group, outputs, DOCUMENT_STEPS)
    found = amount_differences(document, made, base)
    close = result.close_look(document)
    if close:
        found += lines_differences(
            sides.erp, document, made, newest_output(group, outputs, (ITEMS,)), base
        )
    balance = sides.balance if close else None
    fields = deal_fields(crm, kind) + ([balance.name] if balance else [])
    read = crm.read_deal(deal.crm_id, trigger_stage(newest.flow_config.options or {}, crm), fields)
    deleted = document.status.startswith("deleted")
    if not read.won and not deleted:
        found.append(
            Difference(STATUS_DIFFERS, sage_id=document.number, expected="won",
                       found=f"deal in {read.stage}; Sage: {document.status}",
                       actions=(REVIEW,), **base)
        )  # fmt: skip
    elif read.won and deleted:
        found.append(
            Difference(STATUS_DIFFERS, sage_id=document.number, expected="an open document",
                       found=f"Sage: {document.status}", actions=(REVIEW, REPLAY), **base)
        )  # fmt: skip
    written = str(newest_output(group, outputs, (WRITE_BACK_STEP,)).get("value") or "")
    number = written or document.number
    field_name = crm.document_fields.get(kind, "")
    in_crm = str(field_value(read.record, field_name) or "").strip()
    if field_name and in_crm != number:
        found.append(
            Difference(NUMBER_NOT_WRITTEN_BACK, sage_id=document.number, expected=number,
                       found=in_crm or "empty", actions=(WRITE_BACK,), **base)
        )  # fmt: skip
    sage_id = ids.get(document.number, "")
    paid = balance and payment_compared(
        sides.erp, document, sage_id, field_value(read.record, balance.name)
    )
    if paid:
        found.append(
            Difference(PAYMENT_DIFFERS, sage_id=document.number, expected=paid[0],
                       found=paid[1], actions=(WRITE_PAYMENT, REVIEW), currency=paid[2], **base)
        )  # fmt: skip
    if link and sage_id and link.sage_id != sage_id and len(deal.documents) == 1:
        found.append(
            Difference(BINDING_DIFFERS, sage_id=document.number, expected=sage_id,
                       found=link.sage_id, actions=(REBIND,), **base)
        )  # fmt: skip
    return found


def amount_differences(
    document: DocumentSeen, made: dict[str, Any], base: dict[str, Any]
) -> list[Difference]:
    """The deal's mapped total (before tax, in the document's currency, as the run sent it)
    against the document's total before tax now."""
    expected = as_money(made.get("total"))
    if expected is None or document.net_total is None:
        return []
    found = document.net_total.quantize(CENT)
    if found == expected:
        return []
    currency = document.currency or str(made.get("currency") or "")
    return [
        Difference(AMOUNT_DIFFERS, sage_id=document.number, expected=str(expected),
                   found=str(found), actions=(REVIEW,), currency=currency, **base)
    ]  # fmt: skip


def lines_differences(
    erp: Any, document: DocumentSeen, made: dict[str, Any], items: dict[str, Any],
    base: dict[str, Any],
) -> list[Difference]:  # fmt: skip
    """The lines the run sent against the document's lines now, item by item."""
    sent, differs = lines_compared(erp, document, made, items)
    if not differs:
        return []
    return [
        Difference(LINES_DIFFER, sage_id=document.number,
                   expected=plural(sent, "line") + " as the deal was sent",
                   found="; ".join(differs), actions=(REVIEW,), **base)
    ]  # fmt: skip


def sage_ids(group: list[SyncRun]) -> dict[str, str]:
    """Document number → the id a binding keeps for it: the number itself for an order, the
    id a run stored beside the number for an invoice."""
    ids: dict[str, str] = {}
    for run in group:
        references = run.references or {}
        if references.get("sage_order_no"):
            ids.setdefault(str(references["sage_order_no"]), str(references["sage_order_no"]))
        if references.get("sage_invoice_number") and references.get("sage_invoice_id"):
            ids.setdefault(
                str(references["sage_invoice_number"]), str(references["sage_invoice_id"])
            )
    return ids


def deal_fields(crm: Any, kind: str) -> list[str]:
    return [crm.document_fields[kind]] if kind in crm.document_fields else []


def field_value(record: dict[str, Any], name: str) -> Any:
    """A deal field by the CRM's name for it: at the top of the record, or in the mapping
    of fields by name a record keeps beside its own keys."""
    if not name:
        return None
    if name in record:
        return record[name]
    for value in record.values():
        if isinstance(value, dict) and name in value:
            return value[name]
    return None


def as_money(value: Any) -> Decimal | None:
    try:
        return Decimal(str(value)).quantize(CENT) if value not in (None, "") else None
    except InvalidOperation:
        return None


def strays(pair: IntegrationPair, since: date, listed: list[DocumentSeen]) -> list[Difference]:
    """Documents dated in the period carrying a deal reference no run of the pair ever wrote:
    in Sage without a deal (documents with no reference are Sage's own, not ours)."""
    known = set()
    for document in mapped_documents(
        list(SyncRun.objects.filter(pair=pair).values_list("pk", flat=True))
    ).values():
        known |= {str(document[name]).strip() for name in REFERENCE_FIELDS if document.get(name)}
    kinds = {
        document_kind(flow)
        for flow in pair.flows.filter(enabled=True).values_list("flow", flat=True)
    } - {""}
    return [
        Difference(SAGE_WITHOUT_DEAL, crm_id="", label=seen.deal_reference, sage_id=seen.number,
                   expected="a won deal", found=f"{seen.total} {seen.currency}".strip(),
                   actions=(REVIEW,), currency=seen.currency)
        for seen in listed
        if seen.made_on >= since and seen.kind in kinds and seen.deal_reference
        and seen.deal_reference not in known
    ]  # fmt: skip


def with_reviews(result: Reconciliation) -> None:
    """Mark the differences someone reviewed (by fingerprint) with who and their note."""
    reviews = {
        finding.fingerprint: finding
        for finding in ReconciliationFinding.objects.filter(
            pair=result.pair, reviewed_at__isnull=False
        ).select_related("reviewed_by")
    }
    marked = []
    for difference in result.differences:
        finding = reviews.get(difference.fingerprint)
        if finding:
            who = finding.reviewed_by.get_username() if finding.reviewed_by else "someone"
            difference = Difference(
                **{**vars(difference), "reviewed": f"reviewed by {who}: {finding.note}"}
            )
        marked.append(difference)
    result.differences = marked


NIGHTLY_DAYS = 30


def remember_new(result: Reconciliation) -> list[Difference]:
    """Store the differences not seen before (by fingerprint) and return them: what the
    nightly check alerts on. A difference seen on an earlier night is not news again."""
    known = set(
        ReconciliationFinding.objects.filter(pair=result.pair).values_list("fingerprint", flat=True)
    )
    new = [
        difference
        for difference in result.differences
        if difference.fingerprint not in known and not difference.reviewed
    ]
    ReconciliationFinding.objects.bulk_create(
        [
            ReconciliationFinding(
                pair=result.pair, fingerprint=difference.fingerprint, problem=difference.problem,
                crm_id=difference.crm_id, sage_id=difference.sage_id,
                first_seen_at=result.checked_at,
            )
            for difference in new
        ],
        ignore_conflicts=True,
    )  # fmt: skip
    return new


def nightly() -> str:
    """The scheduled task: reconcile every pair with a won-deal flow switched on over the last
    NIGHTLY_DAYS days and remember the new differences; the "reconciliation" alert rule
    tells of them (monitoring/alerts/rules.py). A pair Sage does not answer for is skipped
    and checked again the next night."""
    since = timezone.localdate() - timedelta(days=NIGHTLY_DAYS)
    outcome = []
    for pair in IntegrationPair.objects.filter(flows__enabled=True).distinct():
        if not any(
            document_kind(flow)
            for flow in pair.flows.filter(enabled=True).values_list("flow", flat=True)
        ):
            continue
        try:
            new = remember_new(reconcile(pair, since))
        except ConnectorError as exc:
            outcome.append(f"{pair.slug}: not checked ({exc})")
            continue
        outcome.append(f"{pair.slug}: {len(new)} new")
    return "; ".join(outcome) or "no pair to check"
