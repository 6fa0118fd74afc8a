"""The outbox: every e-mail (approvals, alerts, alert digests) is a row before it is a message.

`queue_mail` stores the row and enqueues its sending in one transaction (the ORM broker makes
the queue row part of it), so whoever queues mail never waits on a mail server and never
fails because of one: a run waits for approval whether or not its e-mail can leave. `send`,
the worker's task, tries once and settles: sent; tried again later with backoff; or, after
MAX_ATTEMPTS tries, failed. `sweep` rings again for what is due. Why a try failed is kept in
plain words with the setting that fixes it, and never holds the mail server's password.
"""

import base64
import logging
import smtplib
import socket
import ssl
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import timedelta
from urllib.parse import quote

from django.conf import settings
from django.core.mail import send_mail
from django.core.mail.backends.base import BaseEmailBackend
from django.db import transaction
from django.db.models import Count, Q, QuerySet
from django.utils import timezone
from django_q.tasks import async_task

from clarity.models import OutboxMessage

logger = logging.getLogger(__name__)
Kind = OutboxMessage.Kind
Status = OutboxMessage.Status

MAX_ATTEMPTS = 8  # 1, 2, 4 … 60 minutes apart: a mail server down for about two hours
RETRY_BASE = timedelta(minutes=1)
RETRY_CAP = timedelta(hours=1)
SEND_LEASE = timedelta(minutes=5)  # a send still "in flight" after this is rung again
SWEEP_BATCH = 500
SEND_TASK = "clarity.outbox.send"
SMTP_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
# EMAIL_BACKEND when production has no EMAIL_URL (clarity/settings.py).
NOT_SET_UP_BACKEND = "clarity.outbox.NotSetUpBackend"
EXAMPLE_URL = "smtp+tls://user:password@smtp.example.com:587"
SET_EMAIL_URL = f"Set EMAIL_URL to a mail server this machine can reach, e.g. {EXAMPLE_URL}."


class MailNotSetUp(Exception):
    """No EMAIL_URL: mail waits in the outbox, without using up its tries."""


class NotSetUpBackend(BaseEmailBackend):
    """Refuses every message, so nothing tries Django's default server on localhost:25."""

    def send_messages(self, email_messages: Sequence[object]) -> int:
        raise MailNotSetUp("EMAIL_URL is not set")


def mail_is_set_up() -> bool:
    return settings.EMAIL_BACKEND != NOT_SET_UP_BACKEND


def queue_mail(kind: str, subject: str, body: str, recipients: Iterable[str]) -> OutboxMessage:
    """Store one message to `recipients` and ring the worker, in one transaction."""
    with transaction.atomic():
        message = OutboxMessage.objects.create(
            kind=kind,
            subject=subject[:255],
            body=body,
            recipients=list(recipients),
            next_attempt_at=timezone.now(),
        )
        enqueue(message.pk)
    return message


def enqueue(message_id: int) -> None:
    async_task(SEND_TASK, message_id, task_name=f"mail-{message_id}", group="mail")


def claim(message_id: int) -> bool:
    """Take the message if it is queued and due, leasing it for one send."""
    now = timezone.now()
    return bool(
        OutboxMessage.objects.filter(pk=message_id, status=Status.QUEUED)
        .filter(Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now))
        .update(next_attempt_at=now + SEND_LEASE)
    )


def send(message_id: int) -> str:
    """The task: one try, then settle (sent, tried again later, or given up on)."""
    if not claim(message_id):
        return "not claimed"
    message = OutboxMessage.objects.get(pk=message_id)
    try:
        send_mail(message.subject, message.body, None, message.recipients)
    except Exception as exc:  # whatever the mail server did, the message stays to be retried
        return settle_failure(message, exc)
    OutboxMessage.objects.filter(pk=message.pk).update(
        status=Status.SENT,
        attempts=message.attempts + 1,
        sent_at=timezone.now(),
        next_attempt_at=None,
        last_error="",
    )
    return "sent"


def retry_delay(attempts: int) -> timedelta:
    """Doubling from RETRY_BASE after each failed try, at most RETRY_CAP."""
    return min(RETRY_CAP, RETRY_BASE * 2 ** max(0, attempts - 1))


def settle_failure(message: OutboxMessage, error: Exception) -> str:
    now = timezone.now()
    reason = explain(error)
    mine = OutboxMessage.objects.filter(pk=message.pk)
    if isinstance(error, MailNotSetUp):
        # Not a try: nothing left this machine. Due at once, so the sweeper sends it as soon
        # as a worker runs with EMAIL_URL set.
        mine.update(last_error=reason, next_attempt_at=now)
        return "waiting for EMAIL_URL"
    attempts = message.attempts + 1
    logger.warning("E-mail %s not sent (try %s of %s): %s", message.pk, attempts, MAX_ATTEMPTS,
                   reason)  # fmt: skip
    if attempts >= MAX_ATTEMPTS:
        mine.update(status=Status.FAILED, attempts=attempts, next_attempt_at=None,
                    last_error=reason)  # fmt: skip
        return "failed"
    mine.update(attempts=attempts, last_error=reason, next_attempt_at=now + retry_delay(attempts))
    return "retry scheduled"


def server() -> str:
    """The mail server as pages name it: host and port, never the user or password."""
    if settings.EMAIL_BACKEND == SMTP_BACKEND:
        return f"the mail server at {settings.EMAIL_HOST}:{settings.EMAIL_PORT}"
    return f"the mail backend {settings.EMAIL_BACKEND}"


def explain(error: Exception) -> str:
    """Why a try failed and what fixes it, in plain words, with no secret in it."""
    where = server()
    fix = SET_EMAIL_URL
    # smtplib's errors and ssl's are OSErrors too: the specific ones come first.
    if isinstance(error, MailNotSetUp):
        what = "e-mail is not set up on this server"
        fix = f"Set EMAIL_URL (e.g. {EXAMPLE_URL}) and DEFAULT_FROM_EMAIL."
    elif isinstance(error, smtplib.SMTPAuthenticationError):
        what = f"{where} refused the login"
        fix = "Check the user name and password in EMAIL_URL."
    elif isinstance(error, smtplib.SMTPSenderRefused):
        what = f"{where} refused the sender address {error.sender}"
        fix = "Set DEFAULT_FROM_EMAIL to an address this mail server may send from."
    elif isinstance(error, smtplib.SMTPRecipientsRefused):
        what = f"{where} refused every recipient ({', '.join(sorted(error.recipients))})"
        fix = "Correct the addresses: approvers' e-mail on their users, or the alert channel's."
    elif isinstance(error, smtplib.SMTPNotSupportedError):
        what = f"{where} does not offer STARTTLS"
        fix = "In EMAIL_URL use smtp+ssl:// for port 465, or smtp:// for a server without TLS."
    elif isinstance(error, smtplib.SMTPResponseException):
        answer = error.smtp_error
        text = answer.decode(errors="replace") if isinstance(answer, bytes) else str(answer)
        what = f"{where} answered {error.smtp_code} {text}"
    elif isinstance(error, smtplib.SMTPServerDisconnected):
        what = f"{where} closed the connection"
    elif isinstance(error, smtplib.SMTPException):
        what = f"{where} said: {error}"
    elif isinstance(error, ssl.SSLError):
        what = f"the secure connection to {where} failed ({error.reason or 'TLS error'})"
        fix = "In EMAIL_URL use smtp+tls:// with port 587 (STARTTLS) or smtp+ssl:// with 465."
    elif isinstance(error, ConnectionRefusedError):
        what = f"{where} refused the connection (nothing listens there)"
    elif isinstance(error, socket.gaierror):
        what = f"the mail server's name {settings.EMAIL_HOST} could not be found"
    elif isinstance(error, TimeoutError):
        what = f"{where} did not answer within {settings.EMAIL_TIMEOUT} s"
    elif isinstance(error, OSError):
        what = f"{where} could not be reached ({error.strerror or type(error).__name__})"
    else:
        what = f"sending failed: {type(error).__name__}: {error}"
    return redact(f"{what}. {fix}")[:2000]


def redact(text: str) -> str:
    """`text` without the mail server's password, in any form an SMTP reply might echo."""
    password = settings.EMAIL_HOST_PASSWORD
    if not password:
        return text
    plain_login = f"\0{settings.EMAIL_HOST_USER}\0{password}"  # AUTH PLAIN
    forms = {
        password,
        quote(password, safe=""),
        base64.b64encode(password.encode()).decode(),
        base64.b64encode(plain_login.encode()).decode(),
    }
    for form in sorted(forms, key=len, reverse=True):
        text = text.replace(form, "[password]")
    return text


def sweep() -> dict[str, int]:
    """The schedule: ring again for queued mail that is due (retries, sends whose worker
    died, and what waited for EMAIL_URL once it is set)."""
    if not mail_is_set_up():
        return {"enqueued": 0}
    due = OutboxMessage.objects.filter(status=Status.QUEUED, next_attempt_at__lte=timezone.now())
    ids = list(due.order_by("next_attempt_at").values_list("pk", flat=True)[:SWEEP_BATCH])
    for message_id in ids:
        enqueue(message_id)
    return {"enqueued": len(ids)}


def unsent() -> QuerySet[OutboxMessage]:
    """Mail that has not left and says why: given up on, or waiting for another try."""
    return OutboxMessage.objects.filter(
        Q(status=Status.FAILED) | (Q(status=Status.QUEUED) & ~Q(last_error=""))
    )


def retry_unsent() -> int:
    """Queue every unsent message again with a full set of tries, starting now (the alerts
    page's Retry, once the setting is fixed); returns how many."""
    with transaction.atomic():
        ids = list(unsent().values_list("pk", flat=True))
        OutboxMessage.objects.filter(pk__in=ids).update(
            status=Status.QUEUED, attempts=0, next_attempt_at=timezone.now(), last_error=""
        )
        for message_id in ids:
            enqueue(message_id)
    return len(ids)


@dataclass(frozen=True)
class Trouble:
    """Unsent mail that failed for one reason: a sentence, and the messages with their state."""

    sentence: str
    messages: list[tuple[OutboxMessage, str]]


def troubles(shown: int = 50) -> list[Trouble]:
    """Unsent mail grouped by why, newest reason first, for the alerts page."""
    counts: dict[str, Counter[str]] = {}
    rows = unsent().values("last_error", "kind").annotate(n=Count("pk")).order_by()
    for row in rows:
        counts.setdefault(row["last_error"], Counter())[row["kind"]] += row["n"]
    listed: dict[str, list[tuple[OutboxMessage, str]]] = {}
    for message in unsent().order_by("-created_at", "-pk")[:shown]:
        if message.last_error in counts:  # else it failed anew between the two reads
            listed.setdefault(message.last_error, []).append((message, state_of(message)))
    order = [*listed, *(reason for reason in counts if reason not in listed)]
    return [Trouble(sentence(counts[reason], reason), listed.get(reason, [])) for reason in order]


def sentence(kinds: Counter[str], reason: str) -> str:
    """E.g. "3 approval e-mails could not be sent: the mail server at … refused the login.
    Check the user name and password in EMAIL_URL." """
    parts = [f"{n} {Kind(kind).label} e-mail{'s' if n != 1 else ''}" for kind, n in
             sorted(kinds.items())]  # fmt: skip
    listing = parts[0] if len(parts) == 1 else f"{', '.join(parts[:-1])} and {parts[-1]}"
    return f"{listing} could not be sent: {reason}"


def state_of(message: OutboxMessage) -> str:
    if message.status == Status.FAILED:
        return f"given up after {message.attempts} tries"
    if not message.attempts:
        return "waiting for EMAIL_URL"
    when = timezone.localtime(message.next_attempt_at).strftime("%Y-%m-%d %H:%M")
    return f"try {message.attempts} of {MAX_ATTEMPTS} failed; next try {when}"
