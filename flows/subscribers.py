"""Subscribers: the push streams CRM connections offer (`CrmRole.streams`), taken in like
webhook deliveries, by `manage.py run_subscribers`.

One thread follows each stream of each connection that is some pair's CRM. Each batch the
stream pushes is stored for every pair of the connection (`take_in`: events, runs and queue
rows) together with the stream's new position, in one transaction; only then is the next
batch asked for. So a subscriber killed at any moment resumes from the stored position and
neither misses an event nor stores one twice (a redelivered event is a duplicate).

A stream that cannot resume from the stored position (the system refused it as expired or
unknown, or it is older than the system keeps events) starts again from the newest event.
What came between is read by polling: the polls of the stream's entity, in every pair, have
their cursors set back to shortly before the position's time and are run at once. The
connection is marked failing with a sentence saying so, which the "connection failing"
alert rules report. A stream that asks for a stretch to be read again (an overflow of
changes) is handled the same way, without the alarm.
"""

import logging
import threading
from datetime import timedelta

from django.db import connection as db_connection
from django.db import transaction
from django.utils import timezone
from django_q.tasks import async_task

from connectors.base import FeedCursor, Health
from connectors.crm_role import CrmRole
from connectors.errors import AuthError, ConnectorError, StreamPositionLost
from connectors.models import Connection, IntegrationPair
from connectors.records import Resync, Stream, StreamBatch
from connectors.services import connector_for, record_health, record_outcome
from flows.intake import take_in
from flows.models import FlowConfig, StreamPosition, Watermark
from flows.polling import polled_flows, watches_for

logger = logging.getLogger(__name__)

SOURCE = "stream"  # InboundEvent.source
# A stretch to read again starts this much earlier than it was said to: a stored position
# covers the changes made until about its time, and a record's change stamp can be older
# than the commit that made it.
COVER_MARGIN = timedelta(minutes=10)
TOUCH_EVERY = timedelta(minutes=30)  # an unchanged position is stored again this often
FIRST_WAIT, LONGEST_WAIT = 1.0, 60.0  # seconds between tries after a failure
REFUSED_WAIT = 300.0  # seconds, after credentials or a stream were refused
LOOK_EVERY = 30.0  # seconds between looks for streams added or gone
STOP_SECONDS = 5.0  # how long stopping may take


def read_again(pairs: list[IntegrationPair], resyncs: list[Resync]) -> list[str]:
    """Set back the cursor of every enabled flow polling a CRM feed of each resync's entity
    to shortly before its `since`, and poll those flows now (the task joins the caller's
    transaction). Returns the flows asked, as "pair: flow"."""
    asked = []
    for pair in pairs if resyncs else []:
        configs = FlowConfig.objects.filter(
            pair=pair, enabled=True, flow__in=polled_flows()
        ).select_related("pair__crm", "pair__erp")
        for config in configs:
            entities = {watch.feed.entity for watch in watches_for(config) if watch.side == "crm"}
            wanted = [resync for resync in resyncs if resync.entity in entities]
            if not wanted:
                continue
            mark, _ = Watermark.objects.select_for_update().get_or_create(
                pair=pair, flow=config.flow, defaults={"value": {}}
            )
            for resync in wanted:
                since = resync.since - COVER_MARGIN
                cursor = mark.cursor(resync.entity)
                if cursor is None or cursor.since > since:
                    mark.set_cursor(resync.entity, FeedCursor(since))
            mark.save()
            async_task(
                "flows.polling.poll_config", config.pk, task_name=f"poll-{config.pk}", group="polls"
            )
            asked.append(f"{pair.name}: {config.flow}")
    return asked


class StreamFollower(threading.Thread):
    """Follows one stream of one connection until `stopping` is set."""

    def __init__(self, connection_id: int, stream: Stream) -> None:
        super().__init__(name=f"stream {connection_id} {stream.topic}", daemon=True)
        self.connection_id = connection_id
        self.stream = stream
        self.stopping = threading.Event()
        self.wait = FIRST_WAIT
        self.stored = ""  # the position last stored, and when
        self.stored_at = timezone.now()

    def run(self) -> None:
        newest = False  # the next subscription starts from the newest event
        try:
            while not self.stopping.is_set():
                resume_newest, newest = newest, False
                try:
                    self.follow(resume_newest)
                except StreamPositionLost as exc:
                    self.lose(f"{exc} ({exc.detail})" if exc.detail else str(exc))
                    newest = True
                except AuthError as exc:
                    self.refused(exc)
                except ConnectorError as exc:
                    record_outcome([self.connection()], exc, self.name)
                    logger.warning("%s: %s (%s); again in %s s", self.name, exc, exc.detail,
                                   REFUSED_WAIT)  # fmt: skip
                    self.stopping.wait(REFUSED_WAIT)
                except Exception:
                    logger.exception("%s failed; again in %s s", self.name, self.wait)
                    self.stopping.wait(self.wait)
                    self.wait = min(self.wait * 2, LONGEST_WAIT)
        finally:
            db_connection.close()

    def connection(self) -> Connection:
        return Connection.objects.get(pk=self.connection_id)

    def pairs(self) -> list[IntegrationPair]:
        return list(IntegrationPair.objects.filter(crm_id=self.connection_id))

    def follow(self, newest: bool) -> None:
        connection = self.connection()
        connector = connector_for(connection)
        position = "" if newest else self.resume_from()
        logger.info("%s: subscribing from %s", self.name, position or "the newest event")
        for batch in connector.subscribe(self.stream.topic, position, self.stopping):
            self.store(batch)
            record_outcome([connection], call=self.name)  # the system answered

    def resume_from(self) -> str:
        """Where to resume: the stored position while the system still keeps it; else the
        newest event, with what came between read by polling."""
        with transaction.atomic():
            row, created = StreamPosition.objects.select_for_update().get_or_create(
                connection_id=self.connection_id, topic=self.stream.topic
            )
            if created:
                return ""
            keeps_for = self.stream.keeps_for
            if row.position and keeps_for and row.updated_at < timezone.now() - keeps_for:
                hours = keeps_for.total_seconds() / 3600
                raise StreamPositionLost(
                    f"the stored position dates from {row.updated_at:%Y-%m-%d %H:%M} UTC, "
                    f"more than the {hours:g} hours a resume is safe for"
                )
            if not row.position:  # subscribed before, and stopped before a first position
                read_again(self.pairs(), self.resyncs_since(row))
                row.save()
            self.stored, self.stored_at = row.position, row.updated_at
            return row.position

    def resyncs_since(self, row: StreamPosition) -> list[Resync]:
        if not self.stream.entity:
            return []
        return [Resync(self.stream.entity, row.updated_at)]

    def store(self, batch: StreamBatch) -> None:
        """The batch's events for every pair of the connection, the stretches it asks to read
        again and its position, in one transaction."""
        now = timezone.now()
        moved = bool(batch.position) and batch.position != self.stored
        due = bool(batch.position) and now - self.stored_at >= TOUCH_EVERY
        if not (batch.events or batch.resyncs or moved or due):
            return
        with transaction.atomic():
            row = StreamPosition.objects.select_for_update().get(
                connection_id=self.connection_id, topic=self.stream.topic
            )
            pairs = self.pairs()
            if batch.events:
                for pair in pairs:
                    take_in(pair, batch.events, SOURCE)
            read_again(pairs, batch.resyncs)
            row.position = batch.position or row.position
            row.save()
        self.stored, self.stored_at, self.wait = row.position, now, FIRST_WAIT

    def lose(self, reason: str) -> None:
        """The position is gone: start again from the newest event, have the polls read
        what came between, and say so on the connection (which alerts)."""
        with transaction.atomic():
            row, _ = StreamPosition.objects.select_for_update().get_or_create(
                connection_id=self.connection_id, topic=self.stream.topic
            )
            since = row.updated_at - COVER_MARGIN
            asked = read_again(self.pairs(), self.resyncs_since(row))
            if asked:
                cover = (
                    f"polling reads the changes since {since:%Y-%m-%d %H:%M} UTC again "
                    f"({'; '.join(asked)})"
                )
            else:
                cover = (
                    f"no polling flow reads {self.stream.entity or 'these events'}: changes "
                    f"since {since:%Y-%m-%d %H:%M} UTC may be missing"
                )
            connection = self.connection()
            note = (
                f"{connection.name} could not resume the stream {self.stream.topic}: {reason}. "
                f"It started again from the newest event; {cover}."
            )
            row.position, row.lost_at, row.note = "", timezone.now(), note
            row.save()
            record_health(connection, Health(ok=False, message=note))
        logger.error(note)
        self.stored, self.stored_at = "", row.updated_at

    def refused(self, error: AuthError) -> None:
        """Credentials refused: the connection needs a reconnect (which alerts); try again
        now and then, in case someone fixed them."""
        record_outcome([self.connection()], error)
        logger.warning("%s: %s; again in %s s", self.name, error, REFUSED_WAIT)
        self.stopping.wait(REFUSED_WAIT)


class Subscribers:
    """Every stream worth following, one follower each, looked at again every `look_every`
    seconds: streams of new connections or settings start, those gone stop, a follower
    that died starts again."""

    def __init__(self, stopping: threading.Event, look_every: float = LOOK_EVERY) -> None:
        self.stopping = stopping
        self.look_every = look_every
        self.followers: dict[tuple[int, Stream], StreamFollower] = {}

    def wanted(self) -> set[tuple[int, Stream]]:
        found = set()
        for connection in Connection.objects.filter(crm_pairs__isnull=False).distinct():
            connector = connector_for(connection)
            if isinstance(connector, CrmRole):
                found |= {(connection.pk, stream) for stream in connector.streams()}
        return found

    def look(self) -> None:
        wanted = self.wanted()
        for key in set(self.followers) - wanted:
            self.followers.pop(key).stopping.set()
        for key in wanted:
            follower = self.followers.get(key)
            if follower is None or not follower.is_alive():
                self.followers[key] = follower = StreamFollower(*key)
                follower.start()

    def run(self) -> None:
        """Follow until `stopping` is set, then stop every follower within seconds."""
        try:
            while not self.stopping.is_set():
                try:
                    self.look()
                except Exception:
                    logger.exception("Looking for streams to follow failed")
                self.stopping.wait(self.look_every)
        finally:
            self.stop()

    def stop(self) -> None:
        for follower in self.followers.values():
            follower.stopping.set()
        deadline = timezone.now() + timedelta(seconds=STOP_SECONDS)
        for follower in self.followers.values():
            follower.join(max(0.0, (deadline - timezone.now()).total_seconds()))
            if follower.is_alive():
                logger.warning("%s did not stop in time", follower.name)
