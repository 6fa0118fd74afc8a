"""Polling: the change feeds of poll-triggered flows, taken in like webhook deliveries.

One poll of a flow config reads every feed the flow watches from its cursor on the
watermark, turns each change into an event whose dedupe key is the record's key plus its
change stamp, stores the events (starting runs) and moves the cursors, all in one
transaction: the watermark never passes a change that was not stored, and a failed poll
leaves every cursor where it was. The cursors belong to the (pair, flow) watermark, so pairs
or flows sharing a connection never hide changes from each other. A change read twice
(overlapping windows, a poll retried after a failure) is a duplicate event and starts no
second run.

Our own writes to a CRM do not come back as changes: a flow that writes to a CRM record
stores the record's stamp after the write as `ExternalLink.last_synced_version`, and a CRM
change carrying exactly that stamp is dropped here.

`poll_due` runs from one django-q2 schedule every minute and enqueues a poll of each enabled
config whose `poll_interval` (seconds, default 60) has passed, so a slow or failing system
holds up no other.
"""

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol, runtime_checkable

from django.db import transaction
from django.utils import timezone
from django_q.tasks import async_task

from connectors.base import Connector, FeedCursor, Record, WebhookEvent
from connectors.errors import AuthError
from connectors.metering import flushes_api_calls
from connectors.models import Connection
from connectors.registry import SYSTEMS
from connectors.services import connector_for
from flows.models import ExternalLink, FlowConfig, Watermark
from mappings.canonical import to_json

logger = logging.getLogger(__name__)

DEFAULT_INTERVAL_SECONDS = 60
SCHEDULE_SLACK = timedelta(seconds=30)  # django-q2 runs schedules about every 30 s
FIRST_POLL_LOOKBACK = timedelta(hours=1)  # a flow switched on sees the last hour's changes


@dataclass(frozen=True)
class Watch:
    """One change feed a polling flow reads: an entity of the pair's CRM or ERP."""

    side: str  # "crm" or "erp"
    system: str  # the feed is read when that side's connection is this system
    entity: str  # the connector's entity name
    kind: str  # the event kind, e.g. "sage100.sales_order"
    record: str = ""  # entity key prefix; feeds about one record (open/history) share it
    bare_key: bool = False  # entity key without prefix, as the CRM's webhooks key the record


@dataclass(frozen=True)
class Change:
    key: str  # the record's key in its system
    stamp: str  # its change stamp, as the system writes it
    moment: datetime  # the same stamp as an aware time, for the watermark


@dataclass
class PollResult:
    read: int = 0  # changes read from the feeds
    echoes: int = 0  # our own CRM writes coming back, dropped
    stored: int = 0  # new events
    duplicates: int = 0  # changes stored by an earlier poll
    runs: int = 0


WATCHES: dict[str, tuple[Watch, ...]] = {}


def watch(flow: str, *watches: Watch) -> None:
    """Declare the feeds a flow polls (called by the flow's module)."""
    WATCHES[flow] = watches


def watches_for(config: FlowConfig) -> list[Watch]:
    pair = config.pair
    systems = {"crm": pair.crm.system, "erp": pair.erp.system}
    return [w for w in WATCHES.get(config.flow, ()) if systems[w.side] == w.system]


# ---------------------------------------------------------------- change stamps per system


def sage100_change(connector: Any, entity: str, record: Record) -> Change:
    stamp = f"{record['DateUpdated']}|{record['TimeUpdated']}"
    return Change(connector.key_of(entity, record), stamp, connector.updated_at(record))


def sage50_change(connector: Any, entity: str, record: Record) -> Change:
    return Change(record["id"], record["updated_at"], parse_moment(record["updated_at"]))


def salesforce_change(connector: Any, entity: str, record: Record) -> Change:
    stamp = record["SystemModstamp"]
    return Change(record["Id"], stamp, parse_moment(stamp))


def streak_change(connector: Any, entity: str, record: Record) -> Change:
    stamp = int(record["lastUpdatedTimestamp"])
    return Change(record["key"], str(stamp), datetime.fromtimestamp(stamp / 1000, UTC))


CHANGE_OF: dict[str, Callable[[Any, str, Record], Change]] = {
    "sage100": sage100_change,
    "sage50": sage50_change,
    "salesforce": salesforce_change,
    "streak": streak_change,
}


def parse_moment(text: str) -> datetime:
    """ISO 8601 as the APIs write it (Z, +0000 or +00:00), as an aware time."""
    text = text.replace("Z", "+00:00")
    if len(text) > 5 and text[-5] in "+-" and text[-3] != ":":
        text = f"{text[:-2]}:{text[-2:]}"
    moment = datetime.fromisoformat(text)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


# ---------------------------------------------------------------- one poll


def poll(config: FlowConfig) -> PollResult:
    """Read the config's feeds from their cursors, store the changes, move the cursors."""
    from flows.intake import take_in  # intake → registry → flows, which import this module

    pair = config.pair
    now = timezone.now()
    result = PollResult()
    connectors: dict[str, Connector] = {}
    with transaction.atomic():
        mark = Watermark.objects.select_for_update().filter(pair=pair, flow=config.flow).first()
        mark = mark or Watermark(pair=pair, flow=config.flow, value={})
        events: list[WebhookEvent] = []
        for feed in watches_for(config):
            if feed.side not in connectors:
                connectors[feed.side] = connector_for(getattr(pair, feed.side))
            connector = connectors[feed.side]
            cursor = mark.cursor(feed.entity) or FeedCursor(now - FIRST_POLL_LOOKBACK)
            changes, after = read_feed(connector, feed.entity, cursor)
            for record, change in changes:
                result.read += 1
                if feed.side == "crm" and is_echo(pair, change):
                    result.echoes += 1
                    continue
                events.append(event_of(feed, change, record))
            mark.set_cursor(feed.entity, after)
        taken = take_in(pair, events, "poll")
        mark.value = {**mark.value, "polled_at": now.isoformat(), "error": ""}
        mark.save()
    result.stored, result.duplicates, result.runs = taken.stored, taken.duplicates, taken.runs
    return result


@runtime_checkable
class CursorFeed(Protocol):
    """A connector that moves the cursor itself (Sage 100: its stamps are too coarse)."""

    def feed(self, entity: str, cursor: FeedCursor) -> tuple[list[Record], FeedCursor]: ...


def read_feed(
    connector: Connector, entity: str, cursor: FeedCursor
) -> tuple[list[tuple[Record, Change]], FeedCursor]:
    """The changes after the cursor, oldest first, and the cursor after them. A system with
    precise stamps needs no marks: its next cursor is the newest stamp read."""
    change_of = CHANGE_OF[connector.system]
    if isinstance(connector, CursorFeed):
        records, after = connector.feed(entity, cursor)
        return [(record, change_of(connector, entity, record)) for record in records], after
    changes = [
        (record, change_of(connector, entity, record))
        for record in connector.changes(entity, cursor.since)
    ]
    newest = max((change.moment for _, change in changes), default=cursor.since)
    return changes, FeedCursor(newest)


def event_of(feed: Watch, change: Change, record: Record) -> WebhookEvent:
    return WebhookEvent(
        kind=feed.kind,
        entity_key=change.key if feed.bare_key else f"{feed.record or feed.entity}:{change.key}",
        dedupe_key=f"poll:{feed.entity}:{change.key}:{change.stamp}"[:255],
        payload=to_json(record),
    )


def is_echo(pair: Any, change: Change) -> bool:
    """The CRM record carries the very stamp our last write to it left."""
    return ExternalLink.objects.filter(
        pair=pair, crm_id=change.key, last_synced_version=change.stamp
    ).exists()


def record_failure(config: FlowConfig, error: Exception) -> None:
    """Say on the watermark (and the connection, when refused) why the poll failed; the
    feeds' positions stay where they were."""
    now = timezone.now().isoformat()
    with transaction.atomic():
        mark, _ = Watermark.objects.select_for_update().get_or_create(
            pair=config.pair, flow=config.flow, defaults={"value": {}}
        )
        mark.value = {**mark.value, "polled_at": now, "error": str(error)[:2000], "failed_at": now}
        mark.save()
        if isinstance(error, AuthError):
            pair = config.pair
            refused = [c.pk for c in (pair.crm, pair.erp) if SYSTEMS[c.system].raised(error)]
            Connection.objects.filter(pk__in=refused).update(
                status=Connection.Status.NEEDS_REAUTH, last_error=str(error)[:2000]
            )


# ---------------------------------------------------------------- tasks and schedule


@flushes_api_calls
def poll_config(config_id: int) -> str:
    """The django-q2 task: poll one config; a failure is recorded, never raised."""
    config = (
        FlowConfig.objects.select_related("pair__crm", "pair__erp")
        .filter(pk=config_id, enabled=True, pair__enabled=True)
        .first()
    )
    if config is None:
        return "not polled: the flow or its pair is switched off"
    try:
        result = poll(config)
    except Exception as exc:
        logger.warning("Polling %s failed: %s", config, exc, exc_info=True)
        record_failure(config, exc)
        return f"failed: {exc}"
    return (
        f"{result.read} changes read, {result.stored} new, {result.duplicates} seen before, "
        f"{result.echoes} our own, {result.runs} runs started"
    )


def due_configs(now: datetime | None = None) -> Iterable[FlowConfig]:
    """Enabled polling configs whose interval has passed since their last poll."""
    import flows.registry  # noqa: F401  (the flow modules declare their feeds on import)

    now = now or timezone.now()
    configs = FlowConfig.objects.filter(
        enabled=True, pair__enabled=True, trigger=FlowConfig.Trigger.POLL, flow__in=list(WATCHES)
    ).select_related("pair")
    polled = {
        (mark.pair_id, mark.flow): mark.value.get("polled_at")
        for mark in Watermark.objects.filter(flow__in=list(WATCHES))
    }
    for config in configs:
        last = polled.get((config.pair_id, config.flow))
        interval = timedelta(seconds=config.option("poll_interval") or DEFAULT_INTERVAL_SECONDS)
        if last is None or now - parse_moment(last) >= interval - SCHEDULE_SLACK:
            yield config


def poll_due() -> int:
    """The schedule's task: enqueue a poll of every due config; how many were enqueued."""
    count = 0
    for config in due_configs():
        async_task(
            "flows.polling.poll_config", config.pk, task_name=f"poll-{config.pk}", group="polls"
        )
        count += 1
    return count
