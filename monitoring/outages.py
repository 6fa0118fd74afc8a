"""Systems that do not answer now, as the banner and the outage alerts tell it: each
connection unreachable since some time (its health from traffic,
`connectors.services.record_outcome`), with the deals of its pairs waiting to retry."""

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime

from django.db.models import Q
from django.utils import timezone

from connectors.models import Connection, IntegrationPair
from flows.models import SyncRun
from flows.registry import FLOWS
from flows.steps.notes import about_a_deal

Status = SyncRun.Status
# Waiting for their next try; an attempt under way keeps carrying the last one's error.
WAITING_TO_RETRY = Q(status=Status.RETRY_SCHEDULED) | (
    Q(status=Status.RUNNING) & ~Q(error_class="")
)


@dataclass(frozen=True)
class Outage:
    connection: Connection
    since: datetime
    deals_waiting: int  # won deals of its pairs waiting to retry
    others_waiting: int  # other runs of its pairs waiting to retry
    pair_ids: tuple[int, ...]

    @property
    def system(self) -> str:
        """How people name it: the system, then which account of it."""
        return f"{self.connection.system_label} ({self.connection.name})"

    @property
    def since_words(self) -> str:
        """When it began, as people read it: the time and zone today (14:02 UTC), with the
        date on other days, in the zone of the page."""
        since, today = timezone.localtime(self.since), timezone.localdate()
        moment = f"{since:%H:%M}" if since.date() == today else f"{since:%Y-%m-%d %H:%M}"
        return f"{moment} {since.tzname()}"

    @property
    def waiting(self) -> str:
        """What waits for it, in words that fit the numbers: 7 deals waiting to retry."""
        parts = []
        if self.deals_waiting:
            parts.append(plural(self.deals_waiting, "deal"))
        if self.others_waiting:
            other = "other run" if self.deals_waiting else "run"
            parts.append(plural(self.others_waiting, other))
        if not parts:
            return "nothing waiting to retry yet"
        return f"{' and '.join(parts)} waiting to retry"


def plural(count: int, noun: str) -> str:
    return f"{count} {noun}{'' if count == 1 else 's'}"


def current_outages(pair: IntegrationPair | None = None) -> list[Outage]:
    """Every connection unreachable now, the longest out first; with `pair`, its own two,
    counting only its runs."""
    connections = (
        Connection.objects.filter(unreachable_since__isnull=False)
        .exclude(status=Connection.Status.OK)
        .defer("secrets")
        .order_by("unreachable_since", "pk")
    )
    if pair is not None:
        connections = connections.filter(pk__in=(pair.crm_id, pair.erp_id))
    connections = list(connections)
    if not connections:
        return []
    ids = [connection.pk for connection in connections]
    pairs_of: dict[int, set[int]] = {pk: set() for pk in ids}
    joined = IntegrationPair.objects.filter(Q(crm_id__in=ids) | Q(erp_id__in=ids))
    if pair is not None:
        joined = joined.filter(pk=pair.pk)
    for pair_id, crm_id, erp_id in joined.values_list("pk", "crm_id", "erp_id"):
        for connection_id in (crm_id, erp_id):
            if connection_id in pairs_of:
                pairs_of[connection_id].add(pair_id)
    waiting = waiting_by_pair({pk for pairs in pairs_of.values() for pk in pairs})
    outages = []
    for connection in connections:
        pair_ids = tuple(sorted(pairs_of[connection.pk]))
        deals = set().union(*(waiting[pk].deals for pk in pair_ids))
        others = sum(waiting[pk].others for pk in pair_ids)
        outages.append(
            Outage(connection, connection.unreachable_since, len(deals), others, pair_ids)
        )
    return outages


@dataclass
class Waiting:
    """One pair's runs waiting to retry: its won deals (pair, deal key), and the rest."""

    deals: set[tuple[int, str]] = field(default_factory=set)
    others: int = 0


def waiting_by_pair(pair_ids: set[int]) -> defaultdict[int, Waiting]:
    deal_flows = {name for name, flow in FLOWS.items() if about_a_deal(flow)}
    found: defaultdict[int, Waiting] = defaultdict(Waiting)
    rows = SyncRun.objects.filter(WAITING_TO_RETRY, pair_id__in=pair_ids).values_list(
        "pair_id", "entity_key", "flow_config__flow"
    )
    for pair_id, key, flow in rows:
        if flow in deal_flows:
            found[pair_id].deals.add((pair_id, key))
        else:
            found[pair_id].others += 1
    return found
