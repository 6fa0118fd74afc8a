"""Receiving: a webhook delivery or a polled change becomes stored events and pending runs.

Everything a delivery creates (events, runs, queue rows) commits in one transaction, before
the CRM gets its 200: an acknowledged event is never lost. A redelivery (same dedupe key)
finds its event already stored and creates nothing.
"""

from dataclasses import dataclass

from django.db import IntegrityError, transaction

from connectors.base import WebhookEvent
from connectors.models import IntegrationPair
from flows.models import FlowConfig, InboundEvent, SyncRun
from flows.registry import FLOWS
from flows.runner import enqueue


@dataclass
class IntakeResult:
    stored: int = 0  # new events
    duplicates: int = 0  # redeliveries of events already stored
    runs: int = 0  # runs started


def take_in(pair: IntegrationPair, events: list[WebhookEvent], source: str,
            headers: dict[str, str] | None = None) -> IntakeResult:  # fmt: skip
    """Store each event once and start a run of every enabled flow that wants it."""
    result = IntakeResult()
    configs = [
        config
        for config in FlowConfig.objects.filter(pair=pair, enabled=True)
        if config.flow in FLOWS
    ]
    with transaction.atomic():
        for event in events:
            stored = store_once(pair, event, source, headers or {})
            if stored is None:
                result.duplicates += 1
                continue
            result.stored += 1
            wanted_by = [c for c in configs if FLOWS[c.flow].accepts(c, event)]
            if not wanted_by:
                InboundEvent.objects.filter(pk=stored.pk).update(status=InboundEvent.Status.IGNORED)
            for config in wanted_by:
                run = SyncRun.objects.create(
                    flow_config=config, pair=pair, event=stored, entity_key=event.entity_key
                )
                enqueue(run)
                result.runs += 1
    return result


def store_once(
    pair: IntegrationPair, event: WebhookEvent, source: str, headers: dict[str, str]
) -> InboundEvent | None:
    """The stored event, or None when this dedupe key was stored before."""
    try:
        with transaction.atomic():
            return InboundEvent.objects.create(
                pair=pair,
                source=source,
                kind=event.kind,
                dedupe_key=event.dedupe_key,
                entity_key=event.entity_key,
                payload=event.payload,
                headers=headers,
                status=InboundEvent.Status.ACCEPTED,
            )
    except IntegrityError:
        return None
