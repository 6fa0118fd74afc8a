"""The exactly-once report (issue 21 item 8): for a pair and a period, what came in (events,
redeliveries answered without storing), what ran, and, per won deal, how many documents Sage
holds for it, counted in Sage itself (`ErpRole.documents_since`), not in our own records.

A deal is matched to Sage's documents by the deal ID its run's mapping wrote on the document
(`crm_deal_id`, or the PO number an invoice is referenced by), only among documents of the
kind its flow makes: a sales order later invoiced is one sale. A deal with none (and no run
still under way) or with two or more is a problem to look at.

Each report is remembered per pair for the dashboard's line (`last_check`), which never
calls Sage itself.
"""

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from django.core.cache import cache
from django.db.models import Sum
from django.utils import timezone

from connectors.models import IntegrationPair
from connectors.records import DocumentSeen
from connectors.roles import INVOICES, SALES_ORDERS, WON_DEALS
from connectors.services import connector_for
from flows.models import InboundEvent, RedeliveryTally, RunStep, SyncRun
from flows.registry import FLOWS
from flows.steps import MAP_DEAL, READ_DEAL

DEFAULT_DAYS = 30
REMEMBERED_SECONDS = 24 * 3600
DATE_FIELDS = ("order_date", "invoice_date")  # where a mapped document keeps its date
REFERENCE_FIELDS = ("crm_deal_id", "po_number")  # what a flow writes as the deal reference


def document_kind(flow_name: str) -> str:
    """The document a won-deal flow makes ("sales_order" or "invoice"); "" for other flows."""
    flow = FLOWS.get(flow_name)
    if flow is None or WON_DEALS not in flow.needs_crm:
        return ""
    if SALES_ORDERS in flow.needs_erp:
        return "sales_order"
    return "invoice" if INVOICES in flow.needs_erp else ""


@dataclass(frozen=True)
class DealDocuments:
    """One won deal of the period: its newest run, the references its runs wrote and the
    documents Sage holds for them."""

    crm_id: str
    label: str
    run_id: int
    state: str  # the newest run's status
    state_label: str
    references: tuple[str, ...]
    documents: tuple[DocumentSeen, ...]

    @property
    def in_progress(self) -> bool:
        return self.state in SyncRun.ACTIVE

    @property
    def problem(self) -> str:
        """Why the deal needs a look; empty when it is in Sage once or still running."""
        count = len(self.documents)
        if count == 0 and not self.in_progress:
            return f"not in Sage; its run is {self.state_label.lower()}"
        if count > 1:
            return f"{count} documents in Sage"
        return ""


@dataclass
class ExactlyOnceReport:
    pair: IntegrationPair
    since: date
    checked_at: datetime
    events_received: int = 0
    redeliveries: int = 0
    runs_started: int = 0
    deals: list[DealDocuments] = field(default_factory=list)

    @property
    def won_deals(self) -> int:
        return len(self.deals)

    @property
    def documents_in_sage(self) -> int:
        return sum(len(deal.documents) for deal in self.deals)

    @property
    def in_progress(self) -> int:
        return sum(1 for deal in self.deals if deal.in_progress and not deal.documents)

    @property
    def problems(self) -> list[DealDocuments]:
        return [deal for deal in self.deals if deal.problem]

    @property
    def verdict(self) -> str:
        problems = len(self.problems)
        if problems == 1:
            return "1 deal needs a look"
        if problems:
            return f"{problems} deals need a look"
        if not self.deals:
            return f"No deal was won since {self.since:%d %b %Y}"
        return f"Every won deal since {self.since:%d %b %Y} is in Sage exactly once"


def default_since() -> date:
    return timezone.localdate() - timedelta(days=DEFAULT_DAYS)


def exactly_once(pair: IntegrationPair, since: date) -> ExactlyOnceReport:
    """The report for `pair` since the start of `since` (local time), Sage read live.
    Raises the connector's error (Unsupported, ConnectorError) when Sage cannot be listed."""
    start = timezone.make_aware(datetime.combine(since, time.min))
    report = ExactlyOnceReport(pair, since, timezone.now())
    report.events_received = InboundEvent.objects.filter(pair=pair, received_at__gte=start).count()
    report.redeliveries = (
        RedeliveryTally.objects.filter(pair=pair, day__gte=since).aggregate(n=Sum("count"))["n"]
        or 0
    )
    runs = SyncRun.objects.filter(pair=pair, created_at__gte=start).select_related("flow_config")
    report.runs_started = runs.count()
    won_runs = [run for run in runs if document_kind(run.flow_config.flow)]
    deals = won_deal_runs(won_runs)
    if deals:
        mapped = mapped_documents([run.pk for group in deals.values() for run in group])
        report.deals = count_documents(pair, since, deals, mapped)
    remember(report)
    return report


def won_deal_runs(runs: list[SyncRun]) -> dict[str, list[SyncRun]]:
    """The runs of each deal that was won (its run read it in the trigger stage, or has not
    read it yet), newest first; a deal every run found not won is left out."""
    read = dict(
        RunStep.objects.filter(
            run__in=runs, name=READ_DEAL, status=RunStep.Status.SUCCEEDED
        ).values_list("run_id", "output__won")
    )
    by_deal: dict[str, list[SyncRun]] = defaultdict(list)
    for run in sorted(runs, key=lambda run: run.created_at, reverse=True):
        by_deal[run.entity_key].append(run)
    return {
        key: group
        for key, group in by_deal.items()
        if any(read.get(run.pk) is not False for run in group)
    }


def mapped_documents(run_ids: list[int]) -> dict[int, dict]:
    """Each run's mapped document (its map_deal output), for the references it wrote."""
    return {
        run_id: document or {}
        for run_id, document in RunStep.objects.filter(
            run_id__in=run_ids, name=MAP_DEAL, status=RunStep.Status.SUCCEEDED
        ).values_list("run_id", "output__document")
    }


def listed_documents(
    pair: IntegrationPair, since: date, mapped: dict[int, dict]
) -> list[DocumentSeen]:
    """Sage's documents from the earliest date a deal's mapped document carries (a deal won
    now may be dated at its close date, before `since`)."""
    dates = [
        date.fromisoformat(str(document[name])[:10])
        for document in mapped.values()
        for name in DATE_FIELDS
        if document.get(name)
    ]
    return connector_for(pair.erp).documents_since(min([since, *dates]))


def count_documents(
    pair: IntegrationPair,
    since: date,
    deals: dict[str, list[SyncRun]],
    mapped: dict[int, dict],
    listed: list[DocumentSeen] | None = None,
) -> list[DealDocuments]:
    """Sage's documents per deal, among `listed` (by default `listed_documents`)."""
    if listed is None:
        listed = listed_documents(pair, since, mapped)
    by_reference: dict[tuple[str, str], list[DocumentSeen]] = defaultdict(list)
    for seen in listed:
        if seen.deal_reference:
            by_reference[(seen.kind, seen.deal_reference)].append(seen)
    result = []
    for crm_id, group in deals.items():
        newest = group[0]
        kind = document_kind(newest.flow_config.flow)
        references = tuple(
            sorted(
                {
                    str(mapped[run.pk][name]).strip()
                    for run in group
                    if run.pk in mapped
                    for name in REFERENCE_FIELDS
                    if mapped[run.pk].get(name)
                }
            )
        )
        documents = {
            seen.number: seen
            for reference in references
            for seen in by_reference.get((kind, reference), [])
        }
        result.append(
            DealDocuments(
                crm_id=crm_id,
                label=newest.label or crm_id,
                run_id=newest.pk,
                state=newest.status,
                state_label=newest.get_status_display(),
                references=references,
                documents=tuple(documents.values()),
            )
        )
    return sorted(result, key=lambda deal: (not deal.problem, deal.label))


def cache_key(pair: IntegrationPair) -> str:
    return f"exactly-once:{pair.pk}"


def remember(report: ExactlyOnceReport) -> None:
    """Keep the outcome for the dashboard's line: when, since when, and the verdict."""
    cache.set(
        cache_key(report.pair),
        {
            "checked_at": report.checked_at,
            "since": report.since,
            "won_deals": report.won_deals,
            "problems": len(report.problems),
            "verdict": report.verdict,
        },
        REMEMBERED_SECONDS,
    )


def last_check(pair: IntegrationPair) -> dict | None:
    """The pair's last report's outcome (checked_at, since, won_deals, problems, verdict)."""
    return cache.get(cache_key(pair))
