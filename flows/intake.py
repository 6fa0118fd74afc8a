"""Receiving: a webhook delivery or a polled change becomes stored events and pending runs.

Everything a delivery creates (events, runs, queue rows) commits in one transaction, before
the CRM gets its 200: an acknowledged event is never lost. A redelivery (same dedupe key)
finds its event already stored and creates nothing.

This is the webhook's hot path (bench/ingest.py), so it issues only what it needs: the
pair's enabled flows (read with the pair by the webhook view, else one hand-written read),
then per event one INSERT for the event, one per run and one per queue row, each a statement
prepared once (`flows.rows`, `flows.queue_rows`: the ORM's `create()` and django-q2's
`async_task` took two thirds of a delivery's CPU). A delivery of a single event (the usual
case) commits together with the deliveries other threads of the process store at the same
moment (`flows.group_commit`), each in a savepoint: a duplicate undoes only itself, and is
answered only once the others' commit is done. A duplicate then costs one more statement,
the upsert counting it for the exactly-once report (`tally_redelivery`).
"""

from dataclasses import dataclass

from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from connectors.base import WebhookEvent
from connectors.models import IntegrationPair
from flows.group_commit import GROUP_COMMIT
from flows.models import ExternalLink, FlowConfig, InboundEvent, SyncRun
from flows.queue_rows import enqueue
from flows.registry import FLOWS
from flows.rows import insert_row

POLLED = "poll"  # the source of events a poll reads


@dataclass
class StoredEvent:
    """What the runs of a just-stored event need of it."""

    pk: int
    entity_key: str


@dataclass
class IntakeResult:
    stored: int = 0  # new events
    duplicates: int = 0  # redeliveries of events already stored
    runs: int = 0  # runs started


def take_in(pair: IntegrationPair, events: list[WebhookEvent], source: str,
            headers: dict[str, str] | None = None,
            configs: list[FlowConfig] | None = None) -> IntakeResult:  # fmt: skip
    """Store each event once and start a run of every enabled flow that wants it. `configs`,
    the pair's enabled flows, when the caller read them with the pair (the webhook view)."""
    configs = enabled_configs(pair) if configs is None else configs
    result = IntakeResult()
    if len(events) == 1:
        take_in_one(pair, events[0], source, headers or {}, configs, result)
        return result
    with transaction.atomic():
        for event in events:
            wanted_by = wanting(pair, configs, event, source)
            try:
                with transaction.atomic():  # a savepoint: a duplicate undoes only itself
                    stored = store_event(pair, event, source, headers or {}, wanted_by)
            except IntegrityError:
                result.duplicates += 1
                if source != POLLED:  # a poll overlapping a delivery is no redelivery
                    tally_redelivery(pair)
                continue
            result.stored += 1
            start_runs(pair, stored, wanted_by, result)
    return result


ENABLED_CONFIGS = """
    SELECT id, pair_id, flow, enabled, trigger, options, created_at, updated_at
    FROM flows_flowconfig
    WHERE pair_id = %s AND enabled = %s
    ORDER BY flow
"""


def enabled_configs(pair: IntegrationPair) -> list[FlowConfig]:
    """The pair's enabled flows, read afresh (a flow switched off is seen at once), each
    holding `pair` so that a flow's `accepts` reading `config.pair` reads no more."""
    configs = [
        config
        for config in FlowConfig.objects.raw(ENABLED_CONFIGS, [pair.pk, True])
        if config.flow in FLOWS
    ]
    for config in configs:
        config.pair = pair
    return configs


def take_in_one(pair: IntegrationPair, event: WebhookEvent, source: str,
                headers: dict[str, str], configs: list[FlowConfig],
                result: IntakeResult) -> None:  # fmt: skip
    """One event, committed with whatever other threads of this process store at the same
    moment (`flows.group_commit`; in a savepoint of its own, inside a poll's transaction
    directly): a duplicate undoes only itself."""
    wanted_by = wanting(pair, configs, event, source)
    stored: list[StoredEvent] = []

    def store() -> None:
        stored.append(store_event(pair, event, source, headers, wanted_by))
        start_runs(pair, stored[0], wanted_by, result)

    try:
        GROUP_COMMIT.run(store)
    except IntegrityError:
        if stored:  # the event went in, so this is no redelivery
            raise
        result.duplicates += 1
        if source != POLLED:  # a poll overlapping a delivery is no redelivery
            tally_redelivery(pair)
        return
    result.stored += 1


TALLY_REDELIVERY = """
    INSERT INTO flows_redeliverytally (pair_id, day, count) VALUES (%s, %s, 1)
    ON CONFLICT (pair_id, day) DO UPDATE SET count = flows_redeliverytally.count + 1
"""


def tally_redelivery(pair: IntegrationPair) -> None:
    """Count a redelivery answered without storing, per pair and local day: one upsert,
    only on duplicates (the ORM has no increment-on-conflict)."""
    with connection.cursor() as cursor:
        cursor.execute(TALLY_REDELIVERY, [pair.pk, timezone.localdate()])


def wanting(pair: IntegrationPair, configs: list[FlowConfig], event: WebhookEvent,
            source: str) -> list[FlowConfig]:  # fmt: skip
    """The flows whose `accepts` takes the event; none for an event its connector marked
    `ignored` (a record outside the connection's scope), nor for a polled change of a Sage
    record that another pair's run made (`made_by_another_pair`)."""
    if event.ignored:
        return []
    wanted_by = [config for config in configs if FLOWS[config.flow].accepts(config, event)]
    if wanted_by and source == POLLED and made_by_another_pair(pair, event):
        return []
    return wanted_by


def made_by_another_pair(pair: IntegrationPair, event: WebhookEvent) -> bool:
    """Whether the changed record (`entity:key`) is bound to other pairs of the same Sage
    connection and not to this one: two CRMs booking into one Sage company each hear of
    their own orders, not of each other's (a run telling the other CRM would find no deal
    there, and do nothing)."""
    entity, _, key = event.entity_key.partition(":")
    if not key:
        return False
    owners = set(
        ExternalLink.objects.filter(
            pair__erp_id=pair.erp_id, entity=entity, sage_id=key
        ).values_list("pair_id", flat=True)
    )
    return bool(owners) and pair.pk not in owners


def store_event(pair: IntegrationPair, event: WebhookEvent, source: str,
                headers: dict[str, str], wanted_by: list[FlowConfig]) -> StoredEvent:  # fmt: skip
    """The stored event; IntegrityError when its dedupe key was stored before."""
    pk = insert_row(
        InboundEvent,
        pair_id=pair.pk,
        source=source,
        kind=event.kind,
        dedupe_key=event.dedupe_key,
        entity_key=event.entity_key,
        payload=event.payload,
        headers=headers,
        status=InboundEvent.Status.ACCEPTED if wanted_by else InboundEvent.Status.IGNORED,
        error=event.ignored,
    )
    return StoredEvent(pk, event.entity_key)


def start_runs(pair: IntegrationPair, stored: StoredEvent, wanted_by: list[FlowConfig],
               result: IntakeResult) -> None:  # fmt: skip
    """A pending run and its queue row for each flow that wants the event."""
    for config in wanted_by:
        run_id = insert_row(
            SyncRun, flow_config_id=config.pk, pair_id=pair.pk, event_id=stored.pk,
            entity_key=stored.entity_key,
        )  # fmt: skip
        enqueue(run_id)
        result.runs += 1
