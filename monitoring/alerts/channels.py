"""Sending one message through one channel, and recording that it was sent (or why not).

HTTP channels use short timeouts (an alert must never hold a worker) and the outbound guard
(`connectors.outbound`: no private address unless allowed, redirects checked hop by hop).
A receiver's reply is described, never quoted, in what is recorded: every viewer reads the
alert page. Email goes through the outbox (`clarity.outbox`), which sends and retries it on
its own.
"""

import hashlib
import hmac
import json
import logging
import socket
import ssl
import time
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlsplit

import requests

from clarity.models import OutboxMessage
from clarity.outbox import Kind, queue_mail
from connectors.errors import OutboundRefused
from connectors.models import IntegrationPair
from connectors.outbound import GuardedSession
from monitoring.models import AlertChannel, AlertDelivery, AlertRule

logger = logging.getLogger(__name__)

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


def post(url: str, body: bytes, headers: dict[str, str], setting: str) -> None:
    """POST, or DeliveryFailed saying in plain words what went wrong and which of the
    channel's settings (`setting`) to check. Only the URL's host is named: a Slack URL is a
    secret, and a webhook URL's path may hold a token."""
    try:
        with GuardedSession() as session:
            reply = session.post(
                url, data=body, headers={"Content-Type": "application/json", **headers},
                timeout=TIMEOUT,
            )  # fmt: skip
    except OutboundRefused as exc:
        raise DeliveryFailed(f"{exc.message} Check the channel's {setting}.") from exc
    except requests.RequestException as exc:
        raise DeliveryFailed(f"{unreachable(url, exc)}. Check the channel's {setting}.") from exc
    if reply.status_code >= 300:
        raise DeliveryFailed(f"{refused(url, reply)}. Check the channel's {setting}.")


def host_of(url: str) -> str:
    parts = urlsplit(url)
    return parts.netloc.rpartition("@")[2] or url[:40]


def causes(error: BaseException) -> list[BaseException]:
    """The error and what it wraps (requests wraps urllib3, which wraps the socket's)."""
    found: list[BaseException] = []
    waiting: list[object] = [error]
    while waiting:
        item = waiting.pop()
        if isinstance(item, BaseException) and item not in found:
            found.append(item)
            waiting += [item.__cause__, item.__context__, getattr(item, "reason", None)]
            waiting += list(item.args)
    return found


def unreachable(url: str, error: requests.RequestException) -> str:
    """Why the request did not get an answer, in words."""
    host, inner = host_of(url), causes(error)
    if any(isinstance(e, requests.exceptions.SSLError | ssl.SSLError) for e in inner):
        return f"The secure connection to {host} failed (its certificate is not trusted here)"
    if any(isinstance(e, requests.exceptions.ConnectTimeout) for e in inner):
        return f"{host} did not accept a connection within {TIMEOUT[0]:g} s"
    if any(isinstance(e, requests.exceptions.Timeout | TimeoutError) for e in inner):
        return f"{host} did not answer within {TIMEOUT[1]:g} s"
    if any(isinstance(e, socket.gaierror) for e in inner):
        return f"The name {urlsplit(url).hostname} could not be found (no such host)"
    if any(isinstance(e, ConnectionRefusedError) for e in inner):
        return f"Nothing answers at {host}: the connection was refused"
    if isinstance(error, requests.exceptions.InvalidURL | requests.exceptions.MissingSchema):
        return "The URL is not a web address (it should start with https://)"
    return f"{host} could not be reached (the connection failed)"


SLACK_ANSWERS = {  # Slack's documented incoming-webhook errors
    "invalid_token": "Slack no longer accepts this webhook URL (its token is revoked)",
    "no_service": "Slack does not know this webhook URL (it was deleted or disabled)",
    "channel_not_found": "The Slack channel of this webhook no longer exists",
    "channel_is_archived": "The Slack channel of this webhook is archived",
    "action_prohibited": "A Slack admin does not allow this webhook to post",
}


def refused(url: str, reply: requests.Response) -> str:
    """What the receiver's answer means, in words: Slack's documented answers by name, any
    other body not quoted (whatever the URL reaches must not be read back through us)."""
    said = reply.text.strip()[:40]
    if said in SLACK_ANSWERS:
        return f"{SLACK_ANSWERS[said]} ({reply.status_code} {said})"
    meaning = {
        401: "refused our credentials", 403: "refused us access", 404: "has no such address",
        410: "says the address is gone", 413: "found the message too large",
    }.get(reply.status_code)  # fmt: skip
    if meaning is None:
        meaning = "had a failure of its own" if reply.status_code >= 500 else "refused the alert"
    answer = f"{reply.status_code} {reply.reason or ''}".strip()
    return f"{host_of(url)} {meaning} (it answered {answer})"


def send_slack(channel: AlertChannel, message: Message) -> None:
    url = (channel.secrets or {}).get("url")
    if not url:
        raise DeliveryFailed("No Slack webhook URL: paste one into the channel.")
    text = f"*{message.subject}*\n{text_of(message)}"
    post(url, json.dumps({"text": text}).encode(), {}, "Slack webhook URL")


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
    post(url, body, {SIGNATURE_HEADER: sign(secret, int(time.time()), body)}, "Webhook URL")


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
    except Exception:  # one channel's unexpected error must not stop the others
        logger.exception("Alert channel %s failed unexpectedly", channel.pk)
        status = AlertDelivery.Status.FAILED
        error = "Sending failed on an unexpected error, written to the server's log."
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
