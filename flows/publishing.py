"""Publishing: what a flow created, told to whoever subscribed (`flows.events` delivers).

`publish` stores one `Delivery` per interested subscription and enqueues its sending in the
same transaction (the ORM broker makes the queue row part of it), so a published event is
never lost; the delivery's unique key makes a retried run publish once.
"""

from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone
from django_q.tasks import async_task

from connectors.configuration import Kept, read_now
from connectors.models import IntegrationPair
from flows.models import Delivery, Subscription

EVENTS = ("customer.created", "order.created", "invoice.created", "payment.received",
          "inventory.changed")  # fmt: skip


def publish(
    pair: IntegrationPair, name: str, payload: dict[str, Any], key: str, kept: Kept = read_now
) -> int:
    """Deliver `name` to every subscription that wants it; returns how many new deliveries.

    `key` names the event (e.g. the Sage order number): publishing it again creates nothing.
    A run passes its `kept` (StepContext.kept): the subscriptions are read once a generation.
    """
    subscriptions = kept(
        ("subscriptions",), lambda: list(Subscription.objects.filter(enabled=True))
    )
    wanted = [subscription for subscription in subscriptions if subscription.wants(pair, name)]
    if not wanted:
        return 0
    created = 0
    with transaction.atomic():
        for subscription in wanted:
            now = timezone.now()
            try:
                with transaction.atomic():
                    delivery = Delivery.objects.create(
                        subscription=subscription, pair=pair, event=name, key=key,
                        payload=payload, next_attempt_at=now, rung_at=now,
                    )  # fmt: skip
            except IntegrityError:
                continue  # published before (a retried run)
            enqueue(delivery)
            created += 1
    return created


def enqueue(delivery: Delivery) -> None:
    async_task("flows.events.deliver", delivery.pk, task_name=f"delivery-{delivery.pk}",
               group="deliveries")  # fmt: skip
