"""Period replay: every event of a pair and flow received in a date range is sent through the
flow again (with a chosen mapping version, or each mapping's active one), skipping what is
already posted.

A replay is a job record (`Replay`): a django-q2 task walks the events in the order they
arrived and, per event, in one transaction, either logs why it is skipped or starts a new
run of the event marked with the replay (and the chosen version); the run is rung after
the commit. The walk reads the replay's status before every event, so Cancel stops it
between two events. It can be walked again at any time (a worker that died, a second
pass; django-q2 hands a task whose worker died to another): an event already in the log,
or with a run of this replay, is passed over.

Skipped as already posted:
- a won-deal flow: the deal is bound to its document (`ExternalLink` of the flow's entity,
  sales_order or invoice). A deal without a binding is replayed: the flow's create asks the
  ERP for a document carrying the deal's reference first, so it never makes a second one;
- any other flow: a run of the event for this flow succeeded;
- any flow: a run of the record is under way, or this replay has replayed the record
  already (an earlier event of it: the run re-reads the record, so one run is enough).

Outcomes are counted from the replay's runs as they finish (`settle`): created (the run
succeeded) and failed (failed, dead, rejected or cancelled).
"""

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from django.db import transaction
from django.db.models import Count, F, Q, QuerySet
from django.utils import timezone
from django_q.tasks import async_task

from clarity.audit import record_action
from clarity.permissions import Rule
from connectors.models import IntegrationPair
from flows.models import ExternalLink, FlowConfig, InboundEvent, Replay, SyncRun
from flows.queue import DueBroker, enqueue
from flows.registry import FLOWS
from mappings.models import MappingVersion

WALK_TASK = "flows.replays.run_replay"
SETTLE_TASK = "flows.replays.settle_replay"
SETTLE_EVERY = timedelta(seconds=10)  # how often outcomes are counted while runs go on
# The binding a won-deal flow leaves on the deal once its document is posted.
POSTED_BINDING = {"deal_won_to_sales_order": "sales_order", "deal_won_to_invoice": "invoice"}
FAILED = (SyncRun.Status.FAILED, SyncRun.Status.DEAD, SyncRun.Status.REJECTED,
          SyncRun.Status.CANCELLED)  # fmt: skip
WAITING = (SyncRun.Status.PENDING, SyncRun.Status.RUNNING, SyncRun.Status.RETRY_SCHEDULED)
OPEN = (Replay.Status.QUEUED, Replay.Status.RUNNING)
Status = Replay.Status
# Every role sees replays; starting or cancelling one, which writes to the ERP, is for
# integration admins (the only role holding the Replay model's add permission).
REPLAYS = Rule(
    read=("flows.view_replay",),
    write=("flows.add_replay",),
    message="Only integration admins replay a period: a replay can write to the ERP.",
)


class ReplayRefused(Exception):
    """The replay cannot start or be cancelled; the message says why and what to do."""


@dataclass
class Preview:
    """What a replay of the range would find, before starting it."""

    events: int
    posted: int

    @property
    def to_replay(self) -> int:
        return self.events - self.posted


def day_bounds(since: date, until: date) -> tuple[datetime, datetime]:
    """The range as instants: from `since`'s midnight to the midnight after `until`, in the
    installation's time zone (the dates people see on the pages)."""
    zone = timezone.get_default_timezone()
    start = datetime.combine(since, time.min, tzinfo=zone)
    return start, datetime.combine(until + timedelta(days=1), time.min, tzinfo=zone)


def matching_events(pair: IntegrationPair, flow: str, since: date, until: date) -> QuerySet:
    """The pair's events received in the range that started a run of `flow`, oldest first."""
    start, end = day_bounds(since, until)
    keys = SyncRun.objects.filter(pair=pair, flow_config__flow=flow).values("event_id")
    return InboundEvent.objects.filter(
        pair=pair, pk__in=keys, received_at__gte=start, received_at__lt=end
    ).order_by("received_at", "pk")


def preview(pair: IntegrationPair, flow: str, since: date, until: date) -> Preview:
    """How many events match, and how many of them are posted already (skipped)."""
    events = matching_events(pair, flow, since, until)
    entity = POSTED_BINDING.get(flow)
    if entity:
        bound = ExternalLink.objects.filter(pair=pair, entity=entity).values("crm_id")
        posted = events.filter(entity_key__in=bound)
    else:
        done = SyncRun.objects.filter(
            pair=pair, flow_config__flow=flow, status=SyncRun.Status.SUCCEEDED
        ).values("event_id")
        posted = events.filter(pk__in=done)
    return Preview(events=events.count(), posted=posted.count())


def start_replay(
    pair: IntegrationPair,
    flow: str,
    since: date,
    until: date,
    mapping_version: MappingVersion | None = None,
    user: Any = None,
) -> Replay:
    """Record the replay and queue its walk; refused (ReplayRefused) when it makes no sense."""
    if flow not in FLOWS or not FlowConfig.objects.filter(pair=pair, flow=flow).exists():
        raise ReplayRefused(f"{pair.name} has no flow {flow!r}: choose one of its flows.")
    if since > until:
        raise ReplayRefused(f"The period starts ({since}) after it ends ({until}): swap them.")
    if mapping_version is not None and mapping_version.mapping.pair_id != pair.pk:
        raise ReplayRefused(
            f"Mapping version {mapping_version} belongs to another pair: choose one of "
            f"{pair.name}'s mappings, or none for the active versions."
        )
    with transaction.atomic():
        busy = Replay.objects.select_for_update().filter(pair=pair, flow=flow, status__in=OPEN)
        if busy.exists():
            raise ReplayRefused(
                f"A replay of {flow} for {pair.name} is under way: wait for it or cancel it."
            )
        replay = Replay.objects.create(
            pair=pair, flow=flow, since=since, until=until, mapping_version=mapping_version,
            requested_by=user if user and user.is_authenticated else None,
            events=matching_events(pair, flow, since, until).count(),
        )  # fmt: skip
        record_action(user, replay, "started", f"{flow} {since} to {until}")
    async_task(WALK_TASK, replay.pk, task_name=f"replay-{replay.pk}", group="replays")
    return replay


def cancel_replay(replay: Replay, user: Any = None) -> Replay:
    """Stop the walk before its next event; runs already started go on and are counted."""
    now = timezone.now()
    updated = Replay.objects.filter(pk=replay.pk, status__in=OPEN).update(
        status=Status.CANCELLED, finished_at=now
    )
    if not updated:
        raise ReplayRefused(
            f"This replay is {replay.get_status_display().lower()}: only a queued or running "
            "replay can be cancelled."
        )
    record_action(user, replay, "cancelled")
    replay.refresh_from_db()
    return replay


def run_replay(replay_id: int) -> str:
    """The task: walk the events not yet handled, then count the outcomes so far."""
    started = Replay.objects.filter(pk=replay_id, status__in=OPEN).update(status=Status.RUNNING)
    if not started:
        return "not open"
    Replay.objects.filter(pk=replay_id, started_at=None).update(started_at=timezone.now())
    replay = Replay.objects.select_related("pair").get(pk=replay_id)
    events = list(matching_events(replay.pair, replay.flow, replay.since, replay.until))
    Replay.objects.filter(pk=replay.pk).update(events=len(events))
    config = FlowConfig.objects.get(pair=replay.pair, flow=replay.flow)
    for event in events:
        run, outcome = take_event(replay, config, event)
        if outcome == Status.CANCELLED:
            settle(replay)  # what the runs it started did
            return "cancelled"
        if run is not None:
            enqueue(run)
    return settle_replay(replay.pk)


def take_event(replay: Replay, config: FlowConfig,
               event: InboundEvent) -> tuple[SyncRun | None, str]:  # fmt: skip
    """One event, in one transaction: skipped (logged why) or a new run (not yet rung)."""
    with transaction.atomic():
        locked = Replay.objects.select_for_update().get(pk=replay.pk)
        if locked.status != Status.RUNNING:
            return None, Status.CANCELLED
        if handled(locked, event):
            return None, "handled"
        why = reason_to_skip(locked, config, event)
        if why:
            log(locked, event, "skipped", why)
            Replay.objects.filter(pk=locked.pk).update(skipped=F("skipped") + 1, log=locked.log)
            return None, "skipped"
        run = SyncRun.objects.create(
            flow_config=config, pair=locked.pair, event=event, entity_key=event.entity_key,
            replay=locked, mapping_version_id=locked.mapping_version_id,
        )  # fmt: skip
        log(locked, event, "replayed", f"run {run.pk} started", run=run.pk)
        Replay.objects.filter(pk=locked.pk).update(replayed=F("replayed") + 1, log=locked.log)
        return run, "replayed"


def handled(replay: Replay, event: InboundEvent) -> bool:
    """Whether an earlier walk of this replay took the event already."""
    if any(line.get("event") == event.pk for line in replay.log):
        return True
    return SyncRun.objects.filter(replay=replay, event=event).exists()


def reason_to_skip(replay: Replay, config: FlowConfig, event: InboundEvent) -> str:
    """Why the event is not replayed, in words; "" to replay it."""
    key = event.entity_key
    entity = POSTED_BINDING.get(config.flow)
    if entity:
        link = ExternalLink.objects.filter(pair=replay.pair, entity=entity, crm_id=key).first()
        if link:
            return f"already posted: bound to {entity.replace('_', ' ')} {link.sage_id}"
    elif config.runs.filter(event=event, status=SyncRun.Status.SUCCEEDED).exists():
        return "already posted: a run of this event succeeded"
    if SyncRun.objects.filter(pair=replay.pair, entity_key=key, replay=replay).exists():
        return "the record was replayed from an earlier event of it"
    if SyncRun.objects.filter(pair=replay.pair, entity_key=key, status__in=WAITING).exists():
        return "a run of the record is under way"
    return ""


def log(replay: Replay, event: InboundEvent, outcome: str, detail: str, **extra: Any) -> None:
    """Add the event's line to the replay's log (saved by the caller's update)."""
    label = (
        SyncRun.objects.filter(event=event).exclude(label="").values_list("label", flat=True)
    ).first()
    replay.log = [
        *replay.log,
        {"event": event.pk, "record": label or event.entity_key, "outcome": outcome,
         "detail": detail, "at": timezone.now().isoformat(), **extra},
    ]  # fmt: skip


def settle_replay(replay_id: int) -> str:
    """Count the outcomes of the replay's runs; a walked replay whose runs have all ended is
    done. While runs go on, this task is rung again in a few seconds."""
    replay = settle(Replay.objects.get(pk=replay_id))
    if replay.status == Status.RUNNING and walked(replay):
        due = timezone.now() + SETTLE_EVERY
        async_task(SETTLE_TASK, replay.pk, task_name=f"replay-{replay.pk}-settle",
                   group="replays", broker=DueBroker(due), sync=False)  # fmt: skip
        return "runs going on"
    return replay.status


def settle(replay: Replay) -> Replay:
    """The replay with its created and failed counts as its runs stand now; done once its
    walk is over and none of its runs is still to finish."""
    counts = SyncRun.objects.filter(replay=replay).aggregate(
        created=Count("pk", filter=Q(status=SyncRun.Status.SUCCEEDED)),
        failed=Count("pk", filter=Q(status__in=FAILED)),
        waiting=Count("pk", filter=Q(status__in=WAITING)),
    )
    fields: dict[str, Any] = {"created": counts["created"], "failed": counts["failed"]}
    replay.refresh_from_db(fields=["status", "replayed", "skipped", "events", "log"])
    if replay.status == Status.RUNNING and walked(replay) and not counts["waiting"]:
        fields |= {"status": Status.DONE, "finished_at": timezone.now()}
    Replay.objects.filter(pk=replay.pk).update(**fields)
    for name, value in fields.items():
        setattr(replay, name, value)
    return replay


def walked(replay: Replay) -> bool:
    """Whether the walk has taken every event it found."""
    return replay.replayed + replay.skipped >= replay.events
