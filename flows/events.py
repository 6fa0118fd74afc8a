"""Delivering published events (`flows.publishing`) to whoever subscribed.

The worker sends each delivery and records every try as a `DeliveryAttempt`: an outside URL
gets a POST signed with HMAC-SHA256 through the outbound guard (`connectors.outbound`: a
private address is refused, for good, unless allowed), retried with full-jitter backoff; a
flow target starts a run of that flow through the inbox, like a webhook would. `sweep`
re-enqueues deliveries that are due, or whose worker died mid-send (the send lease is
`next_attempt_at`).

A receiver's reply is recorded as its status and a description of its body, never the body:
every viewer reads the deliveries, and the URL's answer must not be read back through us.
"""

import hashlib
import hmac
import json
import time
from datetime import timedelta
from typing import Any

import requests
from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db.models import F, Q
from django.utils import timezone

from connectors.base import WebhookEvent
from connectors.errors import OutboundRefused
from connectors.http import described
from connectors.outbound import GuardedSession
from flows.backoff import backoff_seconds
from flows.intake import take_in
from flows.models import RERING_AFTER, Delivery, DeliveryAttempt, FlowConfig, Subscription
from flows.publishing import enqueue
from flows.registry import FLOWS

SEND_TIMEOUT = (5.0, 15.0)  # connect, read
SEND_LEASE_SECONDS = 60  # a send still "in flight" after this is taken back by the sweeper
Status = Delivery.Status


def claim(delivery_id: int) -> bool:
    """Take the delivery if it is pending and due, leasing it for one send."""
    now = timezone.now()
    return bool(
        Delivery.objects.filter(pk=delivery_id, status=Status.PENDING)
        .filter(Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now))
        .update(next_attempt_at=now + timedelta(seconds=SEND_LEASE_SECONDS))
    )


def deliver(delivery_id: int) -> str:
    """The task: send once, record the try, then settle (delivered, retry later or give up)."""
    if not claim(delivery_id):
        return "not claimed"
    delivery = Delivery.objects.select_related("subscription", "pair").get(pk=delivery_id)
    started = time.monotonic()
    if delivery.subscription.target == Subscription.Target.FLOW:
        outcome = start_flow(delivery)
    else:
        outcome = post(delivery)
    permanent = outcome.pop("permanent", False)  # retrying cannot help
    number = delivery.attempts + 1
    DeliveryAttempt.objects.create(
        delivery=delivery, number=number,
        duration_ms=int((time.monotonic() - started) * 1000), **outcome,
    )  # fmt: skip
    now = timezone.now()
    if outcome["ok"]:
        Delivery.objects.filter(pk=delivery.pk).update(
            status=Status.DELIVERED, attempts=number, delivered_at=now, next_attempt_at=None,
            last_error="",
        )  # fmt: skip
        return "delivered"
    error = outcome.get("error") or f"HTTP {outcome.get('status_code')}"
    if permanent or number >= settings.CLARITY_MAX_ATTEMPTS:
        Delivery.objects.filter(pk=delivery.pk).update(
            status=Status.FAILED, attempts=number, next_attempt_at=None, last_error=error
        )
        return "failed"
    Delivery.objects.filter(pk=delivery.pk).update(
        attempts=number,
        last_error=error,
        next_attempt_at=now + timedelta(seconds=backoff_seconds(number)),
    )
    return "retry scheduled"


def body_of(delivery: Delivery) -> bytes:
    envelope = {
        "id": delivery.pk,
        "event": delivery.event,
        "key": delivery.key,
        "pair": delivery.pair.slug,
        "published_at": delivery.created_at.isoformat(),
        "data": delivery.payload,
    }
    return json.dumps(envelope, cls=DjangoJSONEncoder, sort_keys=True).encode()


def signature(secret: str, timestamp: int, body: bytes) -> str:
    """`t=<unix>,v1=<hex HMAC-SHA256(secret, "<t>." + body)>`: what receivers verify."""
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"t={timestamp},v1={digest.hexdigest()}"


def post(delivery: Delivery) -> dict[str, Any]:
    """POST the event to the subscription's URL; a 2xx answer is a delivery."""
    subscription = delivery.subscription
    body = body_of(delivery)
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "Clarity-Connect-Events/1",
        "X-Clarity-Event": delivery.event,
        "X-Clarity-Delivery": str(delivery.pk),
        "X-Clarity-Signature": signature(
            subscription.secrets.get("secret", ""), int(time.time()), body
        ),
    }
    try:
        with GuardedSession() as session:
            response = session.post(
                subscription.url, data=body, headers=headers, timeout=SEND_TIMEOUT,
                allow_redirects=False,
            )  # fmt: skip
    except OutboundRefused as exc:
        return {"ok": False, "permanent": True, "error": exc.message}
    except requests.RequestException as exc:
        return {"ok": False, "error": f"Could not reach {subscription.url}: {exc}"[:2000]}
    return {
        "ok": 200 <= response.status_code < 300,
        "status_code": response.status_code,
        "response_excerpt": described(response),
    }


def start_flow(delivery: Delivery) -> dict[str, Any]:
    """Hand the event to the subscription's flow, through the inbox like a webhook."""
    flow = delivery.subscription.flow
    config = FlowConfig.objects.filter(pair=delivery.pair, flow=flow, enabled=True).first()
    event = WebhookEvent(
        kind=delivery.event,
        entity_key=str(delivery.payload.get("entity_key") or delivery.key),
        dedupe_key=f"event-{delivery.pk}",
        payload=delivery.payload,
    )
    if config is None or flow not in FLOWS:
        refused = f"The flow {flow!r} is not switched on for {delivery.pair.name}."
    elif not FLOWS[flow].accepts(config, event):
        refused = f"The flow {flow!r} does not take {delivery.event} events."
    else:
        refused = ""
    if refused:
        return {"ok": False, "permanent": True, "error": refused}
    result = take_in(delivery.pair, [event], source="event")
    return {"ok": True, "response_excerpt": f"{result.runs} run(s) started"}


def sweep() -> dict[str, int]:
    """Enqueue pending deliveries that are due (retries, and sends whose worker died). Each
    is rung once when it falls due and again only if it still waits RERING_AFTER later, so
    a backlog longer than a tick does not fill the queue with copies."""
    now = timezone.now()
    due = Delivery.objects.filter(status=Status.PENDING, next_attempt_at__lte=now).filter(
        Q(rung_at__isnull=True)
        | Q(rung_at__lt=F("next_attempt_at"))
        | Q(rung_at__lt=now - RERING_AFTER)
    )
    rung = list(due.order_by("next_attempt_at").only("pk")[:1000])
    Delivery.objects.filter(pk__in=[delivery.pk for delivery in rung]).update(rung_at=now)
    for delivery in rung:
        enqueue(delivery)
    return {"enqueued": len(rung)}
