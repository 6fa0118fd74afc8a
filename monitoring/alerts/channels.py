"""Sending one message through one channel, and recording that it was sent (or why not).

HTTP channels use plain requests with short timeouts: an alert must never hold a worker.
Email goes through the outbox (`clarity.outbox`), which sends and retries it on its own.
"""

import hashlib
import hmac
import json
import time
from collections.abc import Callable
from dataclasses import dataclass

import requests

from clarity.models import OutboxMessage
from clarity.outbox import Kind, queue_mail
from connectors.models import IntegrationPair
from monitoring.models import AlertChannel, AlertDelivery, AlertRule

TIMEOUT = (3.0, 10.0)  # connect, read (seconds)
SIGNATURE_HEADER = "X-Clarity-Signature"


@dataclass
class Message:
    subject: str
    body: str
    url: str = ""
    rule: AlertRule | None = None
    pair: IntegrationPair | None = None
    incident_count: int = 1
    is_test: bool = False


class DeliveryFailed(Exception):
    """The channel did not accept the message; the text says what it answered."""


def sign(secret: str, timestamp: int, body: bytes) -> str:
    """The signature header: HMAC-SHA256 over "<timestamp>.<body>", Stripe-style."""
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"t={timestamp},v1={digest.hexdigest()}"


def verify(secret: str, header: str, body: bytes, tolerance: int = 300) -> bool:
    """What a receiver does with the header; shown to integrators and used by the tests."""
    parts = dict(part.split("=", 1) for part in header.split(",") if "=" in part)
    try:
        timestamp = int(parts["t"])
    except (KeyError, ValueError):
        return False
    if abs(time.time() - timestamp) > tolerance:
        return False
    expected = sign(secret, timestamp, body).split("v1=", 1)[1]
    return hmac.compare_digest(expected, parts.get("v1", ""))


def text_of(message: Message) -> str:
    return f"{message.body}\n{message.url}".strip()


def send_email(channel: AlertChannel, message: Message) -> OutboxMessage:
    """Queue the email in the outbox, which sends it (and retries) apart from the alert."""
    recipients = channel.settings.get("recipients") or []
    if not recipients:
        raise DeliveryFailed("No recipients: add at least one email address to the channel.")
    kind = Kind.DIGEST if message.incident_count > 1 else Kind.ALERT
    return queue_mail(kind, f"[Clarity Connect] {message.subject}", text_of(message), recipients)


def post(url: str, body: bytes, headers: dict[str, str]) -> None:
    try:
        reply = requests.post(
            url, data=body, headers={"Content-Type": "application/json", **headers},
            timeout=TIMEOUT,
        )  # fmt: skip
    except requests.RequestException as exc:
        raise DeliveryFailed(f"Could not reach the URL: {type(exc).__name__}") from exc
    if reply.status_code >= 300:
        raise DeliveryFailed(f"The URL answered {reply.status_code}: {reply.text[:200]}")


def send_slack(channel: AlertChannel, message: Message) -> None:
    url = (channel.secrets or {}).get("url")
    if not url:
        raise DeliveryFailed("No Slack webhook URL: paste one into the channel.")
    text = f"*{message.subject}*\n{text_of(message)}"
    post(url, json.dumps({"text": text}).encode(), {})


def send_webhook(channel: AlertChannel, message: Message) -> None:
    url = channel.settings.get("url")
    secret = (channel.secrets or {}).get("secret", "")
    if not url or not secret:
        raise DeliveryFailed("The webhook channel needs a URL and a signing secret.")
    payload = {
        "subject": message.subject,
        "body": message.body,
        "url": message.url,
        "rule": message.rule.kind if message.rule else None,
        "pair": message.pair.slug if message.pair else None,
        "count": message.incident_count,
        "test": message.is_test,
    }
    body = json.dumps(payload, sort_keys=True).encode()
    post(url, body, {SIGNATURE_HEADER: sign(secret, int(time.time()), body)})


# Each sends, or raises DeliveryFailed; email returns the message it queued.
SENDERS: dict[str, Callable[[AlertChannel, Message], OutboxMessage | None]] = {
    AlertChannel.Kind.EMAIL: send_email,
    AlertChannel.Kind.SLACK: send_slack,
    AlertChannel.Kind.WEBHOOK: send_webhook,
}


def deliver(channel: AlertChannel, message: Message) -> AlertDelivery:
    """Send (email: queue) and record; a failure is recorded with its reason, never raised."""
    error, mail = "", None
    try:
        mail = SENDERS[channel.kind](channel, message)
        status = AlertDelivery.Status.QUEUED if mail else AlertDelivery.Status.SENT
    except DeliveryFailed as exc:
        status, error = AlertDelivery.Status.FAILED, str(exc)
    except Exception as exc:  # one channel's unexpected error must not stop the others
        status, error = AlertDelivery.Status.FAILED, f"{type(exc).__name__}: {exc}"[:500]
    return AlertDelivery.objects.create(
        rule=message.rule,
        channel=channel,
        pair=message.pair,
        subject=message.subject,
        body=text_of(message),
        incident_count=message.incident_count,
        is_test=message.is_test,
        status=status,
        error=error,
        mail=mail,
    )


def send_test(channel: AlertChannel) -> AlertDelivery:
    return deliver(
        channel,
        Message(
            subject=f"Test alert from Clarity Connect to “{channel.name}”",
            body="If you can read this, alerts reach this channel. Nothing is wrong.",
            is_test=True,
        ),
    )
