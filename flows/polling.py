"""Polling: the change feeds of poll-triggered flows, taken in like webhook deliveries.

One poll of a flow config reads every feed the flow watches from its cursor on the
watermark, turns each change into an event whose dedupe key is the record's key plus its
change stamp, then stores the events (starting runs) and moves the cursors in one
transaction: the watermark never passes a change that was not stored, and a failed poll
leaves every cursor where it was. No transaction is open while the feeds are read. The
cursors belong to the (pair, flow) watermark, so pairs or flows sharing a connection never
hide changes from each other. A change read twice (overlapping windows, a poll retried after
a failure) is a duplicate event and starts no second run.

A connector whose feed reads the very changes its webhooks deliver (`PushedFeed`: Streak's
boxes moved to another stage) makes each polled change the event its delivery makes, with
the delivery's dedupe key: a change delivered and polled is one event, whichever came
first. Such a feed is also polled for flows started by webhooks (`catches_up`), at their
poll interval, to catch up on deliveries the system gave up on; a change of a record that
is bound already, or has a run of the flow since the feed's position, starts nothing.

Our own writes to a CRM do not come back as changes: a flow that writes to a CRM record
stores the record's stamp after the write as `ExternalLink.last_synced_version`, and a CRM
change carrying exactly that stamp is dropped here.

`poll_due` runs from one django-q2 schedule every minute and enqueues a poll of each enabled
config whose `poll_interval` (seconds, default 60) has passed, so a slow or failing system
holds up no other.
"""

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol, runtime_checkable

from django.db import transaction
from django.db.models import Exists, OuterRef
from django.utils import timezone
from django_q.tasks import async_task

from connectors.base import FeedCursor, Record, WebhookEvent, parse_moment
from connectors.metering import flushes_api_calls
from connectors.registry import SYSTEMS
from connectors.roles import Change, Feed
from connectors.services import connector_for, record_outcome
from flows.base import NOTHING_TO_DO
from flows.inflight import hand_over, in_worker_process
from flows.intake import POLLED, IntakeResult, take_in
from flows.models import ExternalLink, FlowConfig, RunStep, SyncRun, Watermark
from flows.registry import FLOWS
from mappings.canonical import to_json

logger = logging.getLogger(__name__)

DEFAULT_INTERVAL_SECONDS = 60
SCHEDULE_SLACK = timedelta(seconds=30)  # django-q2 runs schedules about every 30 s
FIRST_POLL_LOOKBACK = timedelta(hours=1)  # a flow switched on sees the last hour's changes
# A run whose last step found nothing to do (`flows.base.NOTHING_TO_DO`) changed nothing,
# and is forgotten by the next poll of its flow within FORGET_WITHIN.
FORGET_WITHIN = timedelta(days=1)


@dataclass
class PollResult:
    read: int = 0  # changes read from the feeds
    echoes: int = 0  # our own CRM writes coming back, dropped
    stored: int = 0  # new events
    duplicates: int = 0  # changes stored by an earlier poll
    runs: int = 0
    forgotten: int = 0  # runs of earlier polls that found nothing to do, deleted
    handled: int = 0  # changes of records already bound or run since the feed's position


@dataclass(frozen=True)
class FeedWatch:
    """One feed a poll reads: which side's connector, and the feed."""

    side: str
    feed: Feed


def watches_for(config: FlowConfig) -> list[FeedWatch]:
    """The feeds the config's flow watches, as the pair's systems offer them."""
    pair = config.pair
    connections = {"crm": pair.crm, "erp": pair.erp}
    found = []
    for watch in FLOWS[config.flow].watches:
        connector = SYSTEMS[connections[watch.side].system].connector_class
        found += [FeedWatch(watch.side, feed) for feed in connector.feeds.get(watch.topic, ())]
    return found


def polled_flows() -> list[str]:
    return [name for name, flow in FLOWS.items() if flow.watches]


# ---------------------------------------------------------------- one poll


def poll(config: FlowConfig) -> PollResult:
    """Read the config's feeds from their cursors, store the changes, move the cursors.

    The feeds are read with no transaction open (on SQLite each transaction holds the one
    write lock, and a system answers in hundreds of milliseconds); the events are stored
    and the cursors moved in one transaction after, each cursor only if no other poll of
    the config moved it meanwhile (the events it found are duplicates of ours, or newer)."""
    pair = config.pair
    now = timezone.now()
    result = PollResult()
    read_from = Watermark.objects.filter(pair=pair, flow=config.flow).first()
    read_from = read_from or Watermark(pair=pair, flow=config.flow, value={})
    events, moved = read_changes(config, read_from, now, result)
    with transaction.atomic():
        mark = Watermark.objects.select_for_update().filter(pair=pair, flow=config.flow).first()
        mark = mark or Watermark(pair=pair, flow=config.flow, value={})
        for entity, after in moved.items():
            if mark.cursor(entity) == read_from.cursor(entity):
                mark.set_cursor(entity, after)
        taken = take_in(pair, events, POLLED)
        result.forgotten = forget_runs_with_nothing_to_do(config, now)
        mark.value = {**mark.value, **poll_outcome(now, taken)}
        mark.save()
    result.stored, result.duplicates, result.runs = taken.stored, taken.duplicates, taken.runs
    return result


def read_changes(
    config: FlowConfig, mark: Watermark, now: datetime, result: PollResult
) -> tuple[list[WebhookEvent], dict[str, FeedCursor]]:
    """The events of the changes after the mark's cursors, and each feed's cursor after
    them; what was read, dropped as an echo or handled already is counted on `result`."""
    pair = config.pair
    connectors: dict[str, Any] = {}
    events: list[WebhookEvent] = []
    moved: dict[str, FeedCursor] = {}
    for watch in watches_for(config):
        if watch.side not in connectors:
            connectors[watch.side] = connector_for(getattr(pair, watch.side))
        connector = connectors[watch.side]
        feed = watch.feed
        stored = mark.cursor(feed.entity)
        cursor = stored or FeedCursor(now - FIRST_POLL_LOOKBACK)
        changes, moved[feed.entity] = read_feed(connector, feed.entity, cursor)
        if feed.snapshot and stored is None:
            changes = []  # the first snapshot: every record, none of them a change
        for record, change in changes:
            result.read += 1
            if watch.side == "crm" and is_echo(pair, change):
                result.echoes += 1
                continue
            if not isinstance(connector, PushedFeed):
                events.append(event_of(feed, change, record))
            elif event := connector.pushed_event(feed.entity, record, cursor.since):
                if handled_since(config, event.entity_key, cursor.since):
                    result.handled += 1
                else:
                    events.append(event)
    return events, moved


@runtime_checkable
class PushedFeed(Protocol):
    """A connector whose feeds read the changes its webhooks deliver."""

    def pushed_event(self, entity: str, record: Record, since: datetime) -> WebhookEvent | None:
        """The event the delivery of the record's change makes, when that change is at or
        after `since` and one the webhooks deliver; else None (the record is no change)."""
        ...


def catches_up(config: FlowConfig) -> bool:
    """A flow started by webhooks whose watched feeds catch up on them (`PushedFeed`)."""
    if config.trigger != FlowConfig.Trigger.WEBHOOK:
        return False
    connections = {"crm": config.pair.crm, "erp": config.pair.erp}
    for watch in FLOWS[config.flow].watches:
        connector = SYSTEMS[connections[watch.side].system].connector_class
        if issubclass(connector, PushedFeed) and connector.feeds.get(watch.topic):
            return True
    return False


def handled_since(config: FlowConfig, entity_key: str, since: datetime) -> bool:
    """The record is bound to a document already, or the flow has a run of it started
    since the feed's position (its delivery did arrive): a cheap look before its event."""
    bound = ExternalLink.objects.filter(pair=config.pair_id, crm_id=entity_key)
    runs = SyncRun.objects.filter(flow_config=config, entity_key=entity_key, created_at__gte=since)
    return bound.exists() or runs.exists()


def poll_outcome(now: datetime, taken: IntakeResult) -> dict[str, Any]:
    """The poll status the watermark keeps: when it polled, the changes it found (new ones)
    and the runs they started, and when a poll last found any."""
    outcome = {"polled_at": now.isoformat(), "error": "", "changes": taken.stored,
               "runs": taken.runs}  # fmt: skip
    if taken.stored:
        outcome["changed_at"] = now.isoformat()
    return outcome


def forget_runs_with_nothing_to_do(config: FlowConfig, now: datetime) -> int:
    """Delete the config's runs of the last day that succeeded having found nothing to do
    (their flow's last step returned NOTHING_TO_DO: an order still in the status the deal
    was told, a change of a record no deal here knows): what a poll found is its status's
    business, and the runs list keeps the runs that did something. Returns how many."""
    last_step = FLOWS[config.flow].steps[-1].name
    told_nothing = RunStep.objects.filter(
        run=OuterRef("pk"), name=last_step, output__has_key=NOTHING_TO_DO
    )
    runs = SyncRun.objects.filter(
        flow_config=config, status=SyncRun.Status.SUCCEEDED, finished_at__gte=now - FORGET_WITHIN
    ).filter(Exists(told_nothing))
    return runs.delete()[1].get(SyncRun._meta.label, 0)


@runtime_checkable
class CursorFeed(Protocol):
    """A connector that moves the cursor itself (Sage 100: its stamps are too coarse)."""

    def feed(self, entity: str, cursor: FeedCursor) -> tuple[list[Record], FeedCursor]: ...


def read_feed(
    connector: Any, entity: str, cursor: FeedCursor
) -> tuple[list[tuple[Record, Change]], FeedCursor]:
    """The changes after the cursor, oldest first, and the cursor after them. A system with
    precise stamps needs no marks: its next cursor is the newest stamp read."""
    if isinstance(connector, CursorFeed):
        records, after = connector.feed(entity, cursor)
        return [(record, connector.change_of(entity, record)) for record in records], after
    changes = [
        (record, connector.change_of(entity, record))
        for record in connector.changes(entity, cursor.since)
    ]
    newest = max((change.moment for _, change in changes), default=cursor.since)
    return changes, FeedCursor(newest)


def event_of(feed: Feed, change: Change, record: Record) -> WebhookEvent:
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
        record_outcome((config.pair.crm, config.pair.erp), error, poll_call(config))


def poll_call(config: FlowConfig) -> str:
    """The work a poll is, for its connections' health (`record_outcome`)."""
    return f"poll {config.flow}"


# ---------------------------------------------------------------- the poll status


@dataclass(frozen=True)
class PollStatus:
    """A polling flow's last poll as its watermark keeps it, for the pair's Flows page."""

    polled_at: datetime | None
    changes: int  # new changes the last poll found
    runs: int  # runs those changes started
    changed_at: datetime | None  # when a poll last found a change
    error: str  # why the last poll failed; "" when it did not

    @classmethod
    def of(cls, value: dict[str, Any]) -> "PollStatus":
        def moment(key: str) -> datetime | None:
            return parse_moment(value[key]) if value.get(key) else None

        return cls(
            polled_at=moment("polled_at"),
            changes=int(value.get("changes") or 0),
            runs=int(value.get("runs") or 0),
            changed_at=moment("changed_at"),
            error=str(value.get("error") or ""),
        )


def poll_statuses(pair: Any) -> dict[str, PollStatus]:
    """The poll status of each of the pair's flows that has polled, by flow name."""
    return {mark.flow: PollStatus.of(mark.value) for mark in Watermark.objects.filter(pair=pair)}


# ---------------------------------------------------------------- tasks and schedule


def poll_config(config_id: int) -> str:
    """The django-q2 task: on a run thread of a worker process (a poll waits on the systems
    for as long as a run does), or here in any other process."""
    if in_worker_process():
        return hand_over(config_id, poll_here, leave=not_polled)
    return poll_here(config_id)


def not_polled(config_id: int) -> str:
    """A stopping or full worker leaves the poll to the next schedule (within a minute)."""
    return "not polled: the worker is stopping or busy; the next schedule polls it"


@flushes_api_calls
def poll_here(config_id: int) -> str:
    """Poll one config; a failure is recorded, never raised."""
    config = (
        FlowConfig.objects.select_related("pair__crm", "pair__erp")
        .filter(pk=config_id, enabled=True, pair__enabled=True)
        .first()
    )
    if config is None:
        return "not polled: the flow or its pair is switched off"
    after_poll = FLOWS[config.flow].after_poll
    try:
        result = poll(config)
        if after_poll is not None:
            after_poll(config)
    except Exception as exc:
        logger.warning("Polling %s failed: %s", config, exc, exc_info=True)
        record_failure(config, exc)
        return f"failed: {exc}"
    sides = {watch.side for watch in watches_for(config)}
    record_outcome([getattr(config.pair, side) for side in sorted(sides)], call=poll_call(config))
    return (
        f"{result.read} changes read, {result.stored} new, {result.duplicates} seen before, "
        f"{result.echoes} our own, {result.handled} handled before, {result.runs} runs started, "
        f"{result.forgotten} earlier runs with nothing to do forgotten"
    )


def due_configs(now: datetime | None = None) -> Iterable[FlowConfig]:
    """Enabled polling configs, and webhook ones whose feeds catch up on their webhooks,
    whose interval has passed since their last poll."""
    now = now or timezone.now()
    flows = polled_flows()
    triggers = (FlowConfig.Trigger.POLL, FlowConfig.Trigger.WEBHOOK)
    candidates = FlowConfig.objects.filter(
        enabled=True, pair__enabled=True, trigger__in=triggers, flow__in=flows
    ).select_related("pair__crm", "pair__erp")
    configs = [c for c in candidates if c.trigger == FlowConfig.Trigger.POLL or catches_up(c)]
    polled = {
        (mark.pair_id, mark.flow): mark.value.get("polled_at")
        for mark in Watermark.objects.filter(flow__in=flows)
    }
    for config in configs:
        last = polled.get((config.pair_id, config.flow))
        seconds = FLOWS[config.flow].option(config.options, "poll_interval")
        interval = timedelta(seconds=seconds or DEFAULT_INTERVAL_SECONDS)
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
