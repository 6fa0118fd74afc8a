"""The delivery sweeper rings a due delivery once, not at every tick while it waits."""

from datetime import timedelta

import pytest
from django.utils import timezone
from django_q.models import OrmQ

from flows import events, publishing
from flows.models import Delivery, Subscription
from tests.factories import IntegrationPairFactory

pytestmark = pytest.mark.django_db


def test_a_waiting_delivery_is_rung_once_per_due_time():
    pair = IntegrationPairFactory()
    subscription = Subscription.objects.create(
        name="ERP feed", events=["order.created"], target="url", url="http://127.0.0.1:9/in"
    )
    assert publishing.publish(pair, "order.created", {"sales_order_no": "1"}, "1") == 1
    delivery = Delivery.objects.get(subscription=subscription)
    assert OrmQ.objects.count() == 1  # rung when published
    assert events.sweep() == {"enqueued": 0}  # due, but its doorbell is still in the queue
    Delivery.objects.filter(pk=delivery.pk).update(next_attempt_at=timezone.now())  # failed
    assert events.sweep() == {"enqueued": 1}
    assert events.sweep() == {"enqueued": 0}
    Delivery.objects.filter(pk=delivery.pk).update(rung_at=timezone.now() - timedelta(minutes=6))
    assert events.sweep() == {"enqueued": 1}  # waited too long: its queue row may be lost
    assert OrmQ.objects.count() == 3
