"""Published events: a won deal's new customer and order reach a subscriber's URL signed with
its secret; a failing receiver is retried and every try recorded; a retried run publishes
nothing twice; a flow subscription starts a run of that flow."""

import hashlib
import hmac
import json
import threading
from collections.abc import Iterator
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.db.models import F
from django.utils import timezone

from flows import events, publishing
from flows.base import Flow, Step
from flows.models import Delivery, FlowConfig, Subscription, SyncRun
from flows.registry import FLOWS
from flows.services import FROM_START, retry_run
from tests import won_deals as shared
from tests.factories import IntegrationPairFactory

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("runs_inline")]
SECRET = "a-receiver-secret-of-some-length"


class Receiver:
    """A subscriber's endpoint on 127.0.0.1: records each request, answers the next status."""

    def __init__(self) -> None:
        self.requests: list[dict] = []
        self.statuses: list[int] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.requests.append({"headers": dict(self.headers), "body": body})
                status = receiver.statuses.pop(0) if receiver.statuses else 200
                self.send_response(status)
                self.end_headers()
                self.wfile.write(b"thanks" if status < 300 else b"try again later")

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/clarity-events"

    def events(self) -> list[str]:
        return [request["headers"]["X-Clarity-Event"] for request in self.requests]


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    receiver = Receiver()
    thread = threading.Thread(target=receiver.server.serve_forever, daemon=True)
    thread.start()
    yield receiver
    receiver.server.shutdown()
    receiver.server.server_close()


def subscribe(receiver: Receiver, pair=None, names=()) -> Subscription:
    return Subscription.objects.create(
        name="ERP listener", pair=pair, events=list(names), target=Subscription.Target.URL,
        url=receiver.url, secrets={"secret": SECRET},
    )  # fmt: skip


def verified(request: dict) -> dict:
    """The body, after checking X-Clarity-Signature as a receiver would."""
    parts = dict(
        part.split("=", 1) for part in request["headers"]["X-Clarity-Signature"].split(",")
    )
    signed = f"{parts['t']}.".encode() + request["body"]
    expected = hmac.new(SECRET.encode(), signed, hashlib.sha256).hexdigest()
    assert hmac.compare_digest(parts["v1"], expected)
    assert abs(int(parts["t"]) - timezone.now().timestamp()) < 60
    return json.loads(request["body"])


def test_a_won_deal_publishes_its_new_customer_and_order_signed(
    client, streak_sandbox, sage100_pair, sage, receiver
):
    pair, token = sage100_pair
    subscribe(receiver, pair, ["customer.created", "order.created"])
    key, run = shared.win_box(client, streak_sandbox, pair, token, "SAL-1005")
    run.refresh_from_db()
    assert run.status == SyncRun.Status.SUCCEEDED, run.error_message
    assert receiver.events() == ["customer.created", "order.created"]
    customer, order = (verified(request) for request in receiver.requests)
    [sage_order] = shared.orders_for(sage, "SAL-1005")
    assert customer["data"]["sage_id"] == run.references["sage_customer"]
    assert customer["data"]["crm_id"] and customer["pair"] == pair.slug
    assert order["data"]["sales_order_no"] == sage_order["SalesOrderNo"]
    assert order["data"]["crm_id"] == key and order["data"]["total"] == "988.81"
    for request, body in zip(receiver.requests, (customer, order), strict=True):
        delivery = Delivery.objects.get(pk=body["id"])
        assert request["headers"]["X-Clarity-Delivery"] == str(delivery.pk)
        assert (delivery.status, delivery.attempts) == (Delivery.Status.DELIVERED, 1)
        [attempt] = delivery.tries.all()
        assert (attempt.ok, attempt.status_code) == (True, 200)
        assert attempt.response_excerpt == "a reply of 6 bytes of no stated type"  # not quoted


def test_a_retried_run_publishes_nothing_twice(
    client, streak_sandbox, sage100_pair, sage, receiver
):
    pair, token = sage100_pair
    subscribe(receiver)  # every pair, every event
    _, run = shared.win_box(client, streak_sandbox, pair, token, "SAL-1005")
    run.refresh_from_db()
    assert run.status == SyncRun.Status.SUCCEEDED, run.error_message
    SyncRun.objects.filter(pk=run.pk).update(status=SyncRun.Status.FAILED)  # as if it had
    retry_run(run, FROM_START)
    run.refresh_from_db()
    assert run.status == SyncRun.Status.SUCCEEDED, run.error_message
    assert run.attempt == 2 and len(shared.orders_for(sage, "SAL-1005")) == 1
    assert receiver.events() == ["customer.created", "order.created"]
    assert Delivery.objects.count() == 2


def test_a_failing_receiver_is_retried_and_every_try_is_recorded(client, users, receiver):
    pair = IntegrationPairFactory()
    subscribe(receiver, pair, ["order.created"])
    receiver.statuses = [500, 200]
    assert publishing.publish(pair, "order.created", {"sales_order_no": "0000042"}, "0000042") == 1
    assert publishing.publish(pair, "invoice.created", {"invoice_id": "x"}, "x") == 0  # not wanted
    delivery = Delivery.objects.get()
    assert (delivery.status, delivery.attempts, delivery.last_error) == ("pending", 1, "HTTP 500")
    assert delivery.next_attempt_at > timezone.now()  # backoff: not sent again at once
    assert events.sweep() == {"enqueued": 0}
    a_day = timedelta(1)  # a day passes
    Delivery.objects.filter(pk=delivery.pk).update(
        next_attempt_at=F("next_attempt_at") - a_day, rung_at=F("rung_at") - a_day
    )
    assert events.sweep() == {"enqueued": 1}
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts) == (Delivery.Status.DELIVERED, 2)
    assert len(receiver.requests) == 2
    assert receiver.requests[0]["body"] == receiver.requests[1]["body"]  # the same event
    client.force_login(users["viewer"])
    [listed] = client.get("/api/v1/deliveries/?event=order.created").json()["results"]
    assert [(t["number"], t["ok"], t["status_code"], t["response_excerpt"])
            for t in listed["tries"]] == [
        (1, False, 500, "a reply of 15 bytes of no stated type"),
        (2, True, 200, "a reply of 6 bytes of no stated type"),
    ]  # the receiver's words are not read back through us  # fmt: skip


def test_an_unreachable_receiver_is_recorded_with_the_reason(receiver):
    pair = IntegrationPairFactory()
    subscription = subscribe(receiver, pair)
    subscription.url = "http://127.0.0.1:9/nobody-listens"
    subscription.save()
    publishing.publish(pair, "payment.received", {"amount": "10.00"}, "receipt-1")
    [attempt] = Delivery.objects.get().tries.all()
    assert not attempt.ok and attempt.status_code is None
    assert attempt.error.startswith("Could not reach http://127.0.0.1:9/nobody-listens")


def test_a_flow_subscription_starts_a_run_of_that_flow(monkeypatch):
    pair = IntegrationPairFactory()
    seen = []
    flow = Flow(
        name="order_listener", label="Order listener", description="Notes new orders.",
        steps=(Step("note", lambda ctx: seen.append(ctx.run.event.payload) or {}),),
        accepts=lambda config, event: event.kind == "order.created",
    )  # fmt: skip
    monkeypatch.setitem(FLOWS, flow.name, flow)
    FlowConfig.objects.update_or_create(pair=pair, flow=flow.name, defaults={"enabled": True})
    Subscription.objects.create(name="To a flow", target="flow", flow=flow.name)
    publishing.publish(pair, "order.created", {"sales_order_no": "0000042"}, "0000042")
    run = SyncRun.objects.get(flow_config__flow=flow.name)
    assert run.status == SyncRun.Status.SUCCEEDED and run.entity_key == "0000042"
    assert seen == [{"sales_order_no": "0000042"}]
    assert Delivery.objects.get().status == Delivery.Status.DELIVERED
    publishing.publish(pair, "customer.created", {"sage_id": "00-ACME"}, "00-ACME")
    refused = Delivery.objects.get(event="customer.created")
    assert refused.status == Delivery.Status.FAILED
    assert refused.last_error == "The flow 'order_listener' does not take customer.created events."


def test_only_admins_manage_subscriptions_and_secrets_are_never_shown(client, users, receiver):
    wanted = {"name": "Warehouse app", "target": "url", "url": receiver.url,
              "events": ["order.created"], "secret": SECRET}  # fmt: skip
    client.force_login(users["operator"])
    assert client.post("/api/v1/subscriptions/", wanted, "application/json").status_code == 403
    client.force_login(users["admin"])
    reply = client.post("/api/v1/subscriptions/", {**wanted, "secret": ""}, "application/json")
    assert reply.status_code == 400 and "secret" in reply.json()
    reply = client.post("/api/v1/subscriptions/", wanted, "application/json")
    assert reply.status_code == 201, reply.content
    assert reply.json()["has_secret"] is True and "secret" not in reply.json()
    assert Subscription.objects.get().secrets == {"secret": SECRET}
    reply = client.post(
        "/api/v1/subscriptions/", {**wanted, "events": ["order.shipped"]}, "application/json"
    )
    assert reply.status_code == 400 and "events" in reply.json()
