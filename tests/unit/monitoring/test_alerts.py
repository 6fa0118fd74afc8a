"""Alerts: each channel delivers, each rule notices, throttling holds back and digests."""

import json
import threading
from collections.abc import Iterator
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from connectors.models import Connection
from flows.models import Approval, FlowConfig, SyncRun
from monitoring.alerts.channels import SIGNATURE_HEADER, send_test, verify
from monitoring.alerts.evaluation import evaluate
from monitoring.models import AlertChannel, AlertDelivery, AlertIncident, AlertRule
from tests.factories import IntegrationPairFactory

# The outbox's worker task runs at once, in this process: email alerts land in mail.outbox.
pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("runs_inline")]
Status = SyncRun.Status


class Receiver:
    """A local HTTP endpoint that keeps what it was sent."""

    def __init__(self) -> None:
        self.requests: list[tuple[dict[str, str], bytes]] = []
        self.status = 200
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.requests.append((dict(self.headers), body))
                self.send_response(receiver.status)
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/alerts"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    running = Receiver()
    yield running
    running.server.shutdown()
    running.server.server_close()


@pytest.fixture
def email_channel() -> AlertChannel:
    return AlertChannel.objects.create(
        name="Ops mailbox", kind="email", settings={"recipients": ["ops@example.com"]}
    )


@pytest.fixture
def pair():
    return IntegrationPairFactory()


def make_rule(channel: AlertChannel, kind: str = "run_failed", **fields) -> AlertRule:
    fields.setdefault("created_at", timezone.now() - timedelta(hours=1))
    rule = AlertRule.objects.create(name=f"{kind} rule", kind=kind, **fields)
    rule.channels.add(channel)
    return rule


def finished_run(pair, status: str = Status.FAILED, key: str = "box-1", **fields) -> SyncRun:
    defaults = {
        "error_class": "ValidationError",
        "error_message": "Item WIDGET-9 is not in Sage 100",
        "finished_at": timezone.now(),
        "attempt": 1,
    }
    return SyncRun.objects.create(
        flow_config=FlowConfig.objects.filter(pair=pair).first(),
        pair=pair,
        entity_key=key,
        status=status,
        **{**defaults, **fields},
    )


# ---------------------------------------------------------------- channels


def test_email_channel_sends_to_its_recipients_through_the_outbox(email_channel):
    delivery = send_test(email_channel)
    assert delivery.status == "queued" and delivery.is_test
    delivery.mail.refresh_from_db()
    assert (delivery.mail.kind, delivery.mail.status) == ("alert", "sent")
    [message] = mail.outbox
    assert message.to == ["ops@example.com"]
    assert "Test alert" in message.subject


def test_slack_channel_posts_text_to_the_webhook_url(receiver):
    channel = AlertChannel.objects.create(name="Slack", kind="slack", secrets={"url": receiver.url})
    assert send_test(channel).status == "sent"
    [(_headers, body)] = receiver.requests
    assert "Test alert" in json.loads(body)["text"]


def test_webhook_channel_signs_the_body_so_the_receiver_can_verify_it(receiver):
    channel = AlertChannel.objects.create(
        name="Hook", kind="webhook", settings={"url": receiver.url}, secrets={"secret": "s3cret"}
    )
    send_test(channel)
    [(headers, body)] = receiver.requests
    assert verify("s3cret", headers[SIGNATURE_HEADER], body)
    assert not verify("another secret", headers[SIGNATURE_HEADER], body)
    assert not verify("s3cret", headers[SIGNATURE_HEADER], body + b" ")
    assert json.loads(body)["test"] is True


def test_a_refused_delivery_is_recorded_with_the_reason(receiver):
    receiver.status = 500
    channel = AlertChannel.objects.create(name="Slack", kind="slack", secrets={"url": receiver.url})
    delivery = send_test(channel)
    assert delivery.status == "failed" and "answered 500" in delivery.error


def test_secrets_of_a_channel_are_stored_encrypted():
    AlertChannel.objects.create(name="Slack", kind="slack", secrets={"url": "https://hooks.x/T1"})
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT secrets FROM monitoring_alertchannel")
        [(stored,)] = cursor.fetchall()
    assert "hooks.x" not in stored


# ---------------------------------------------------------------- rules


def test_a_failed_and_a_dead_run_each_send_one_alert(email_channel, pair):
    make_rule(email_channel)
    finished_run(pair, Status.FAILED, "box-1")
    finished_run(IntegrationPairFactory(), Status.DEAD, "box-2", error_class="TransientError")
    evaluate()
    evaluate(timezone.now() + timedelta(minutes=2))
    subjects = sorted(message.subject for message in mail.outbox)
    assert len(subjects) == 2
    assert "failed: " in subjects[0] and "box-1" in subjects[0]
    assert "is dead (retries used up)" in subjects[1] and "box-2" in subjects[1]
    assert AlertIncident.objects.count() == 2  # noticing again adds nothing


def test_a_run_failing_again_after_a_retry_is_news_again(email_channel, pair):
    make_rule(email_channel, throttle_minutes=0)
    run = finished_run(pair)
    evaluate()
    SyncRun.objects.filter(pk=run.pk).update(attempt=2, finished_at=timezone.now())
    evaluate(timezone.now() + timedelta(seconds=1))
    assert len(mail.outbox) == 2
    assert "WIDGET-9" in mail.outbox[1].body


def test_runs_of_other_pairs_are_ignored_by_a_rule_for_one_pair(email_channel, pair):
    make_rule(email_channel, pair=pair)
    finished_run(IntegrationPairFactory())
    evaluate()
    assert mail.outbox == []


def test_a_failing_connection_alerts_once_until_it_recovers(email_channel, pair):
    make_rule(email_channel, kind="connection_failing", throttle_minutes=0)
    Connection.objects.filter(pk=pair.erp_id).update(
        status="needs_reauth", last_error="invalid_grant: token expired"
    )
    evaluate()
    evaluate(timezone.now() + timedelta(minutes=1))
    [message] = mail.outbox
    assert "needs re-authorisation" in message.subject and "invalid_grant" in message.body
    Connection.objects.filter(pk=pair.erp_id).update(status="ok")
    evaluate(timezone.now() + timedelta(minutes=2))
    Connection.objects.filter(pk=pair.erp_id).update(status="failing")
    evaluate(timezone.now() + timedelta(minutes=3))
    assert len(mail.outbox) == 2 and "failing" in mail.outbox[1].subject


def test_an_approval_waiting_longer_than_the_rule_allows_alerts(email_channel, pair):
    make_rule(email_channel, kind="approval_waiting", waiting_hours=4)
    run = finished_run(pair, Status.AWAITING_APPROVAL, finished_at=None)
    approval = Approval.objects.create(
        run=run, amount="25000.00", currency="USD", base_amount="25000.00",
        base_currency="USD", reason="Over the 10000 USD threshold",
    )  # fmt: skip
    evaluate()
    assert mail.outbox == []  # just created: not waiting long yet
    Approval.objects.filter(pk=approval.pk).update(created_at=timezone.now() - timedelta(hours=5))
    evaluate()
    [message] = mail.outbox
    assert "25000.00 USD has waited 5 h" in message.subject


def test_failure_rate_over_the_limit_alerts(email_channel, pair):
    make_rule(email_channel, kind="failure_rate", failure_percent=30, failure_minutes=15,
              failure_min_runs=4)  # fmt: skip
    for n in range(3):
        finished_run(pair, Status.SUCCEEDED, f"ok-{n}")
    finished_run(pair, Status.FAILED, "bad-1")
    evaluate()
    assert mail.outbox == []  # 25 %
    finished_run(pair, Status.FAILED, "bad-2")
    finished_run(pair, Status.FAILED, "old", finished_at=timezone.now() - timedelta(hours=1))
    evaluate()
    [message] = mail.outbox
    assert "40% of runs failed on" in message.subject
    assert "2 of 5 finished runs" in message.body


# ---------------------------------------------------------------- throttling


def test_throttle_sends_one_message_per_window_then_a_digest_with_the_count(email_channel, pair):
    rule = make_rule(email_channel, throttle_minutes=30)
    other_pair = IntegrationPairFactory()
    start = timezone.now()
    finished_run(pair, key="box-1")
    evaluate(start)
    assert len(mail.outbox) == 1
    for n in range(2, 5):
        finished_run(pair, key=f"box-{n}")
    finished_run(other_pair, key="elsewhere")
    evaluate(start + timedelta(minutes=5))
    evaluate(start + timedelta(minutes=10))
    assert len(mail.outbox) == 2  # held back for pair; the other pair has its own window
    assert "elsewhere" in mail.outbox[1].subject
    evaluate(start + timedelta(minutes=31))
    digest = mail.outbox[2]
    assert "Digest: 3 alerts" in digest.subject
    assert "box-2" in digest.body and "box-4" in digest.body
    evaluate(start + timedelta(minutes=70))
    assert len(mail.outbox) == 3  # nothing new, nothing sent
    deliveries = AlertDelivery.objects.filter(rule=rule, pair=pair).order_by("sent_at")
    assert [d.incident_count for d in deliveries] == [1, 3]
    assert [d.mail.kind for d in deliveries] == ["alert", "digest"]


def test_every_enabled_channel_of_a_rule_gets_the_alert(email_channel, pair, receiver):
    rule = make_rule(email_channel)
    slack = AlertChannel.objects.create(name="Slack", kind="slack", secrets={"url": receiver.url})
    AlertChannel.objects.create(name="Off", kind="email", enabled=False)
    rule.channels.add(slack)
    finished_run(pair)
    evaluate()
    assert len(mail.outbox) == 1 and len(receiver.requests) == 1
    statuses = sorted(AlertDelivery.objects.values_list("channel__kind", "status"))
    assert statuses == [("email", "queued"), ("slack", "sent")]  # the email by the outbox


# ---------------------------------------------------------------- pages


def test_send_test_button_delivers_and_the_page_lists_it(client, users, email_channel):
    client.force_login(users["admin"])
    reply = client.post(reverse("alert-channel-test", args=[email_channel.pk]), follow=True)
    assert "Test alert sent to “Ops mailbox”" in reply.content.decode()
    assert len(mail.outbox) == 1
    assert "Test alert from Clarity Connect" in reply.content.decode()  # in the sent list


def test_only_admins_may_send_tests_or_edit_channels(client, users, email_channel):
    client.force_login(users["operator"])
    assert client.get(reverse("alert-list")).status_code == 200
    assert client.post(reverse("alert-channel-test", args=[email_channel.pk])).status_code == 403
    assert client.get(reverse("alert-channel-edit", args=[email_channel.pk])).status_code == 403
    assert "Send test" not in client.get(reverse("alert-list")).content.decode()


def test_a_slack_url_is_kept_encrypted_and_never_shown_back(client, users):
    client.force_login(users["admin"])
    url = "https://hooks.slack.com/services/T000/B000/very-secret"
    reply = client.post(
        reverse("alert-channel-create"), {"name": "Team Slack", "kind": "slack", "slack_url": url}
    )
    assert reply.status_code == 302
    channel = AlertChannel.objects.get(name="Team Slack")
    assert channel.secrets == {"url": url}
    form_page = client.get(reverse("alert-channel-edit", args=[channel.pk])).content.decode()
    list_page = client.get(reverse("alert-list")).content.decode()
    assert "very-secret" not in form_page and "very-secret" not in list_page
    client.post(reverse("alert-channel-edit", args=[channel.pk]),
                {"name": "Team Slack", "kind": "slack", "enabled": "on"})  # fmt: skip
    channel.refresh_from_db()
    assert channel.secrets == {"url": url}  # left empty: kept


def test_a_rule_is_created_from_its_form(client, users, email_channel, pair):
    client.force_login(users["admin"])
    reply = client.post(reverse("alert-rule-create"), {
        "name": "Failures", "kind": "run_failed", "pair": pair.pk, "channels": [email_channel.pk],
        "waiting_hours": 4, "failure_percent": 20, "failure_minutes": 60, "failure_min_runs": 5,
        "throttle_minutes": 30, "enabled": "on",
    })  # fmt: skip
    assert reply.status_code == 302
    rule = AlertRule.objects.get(name="Failures")
    assert rule.pair == pair and list(rule.channels.all()) == [email_channel]
