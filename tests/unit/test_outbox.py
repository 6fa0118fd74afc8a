"""The outbox: mail is queued with its task in one transaction, sent by the worker, retried
with backoff a bounded number of times, explained in plain words without the password, and
kept waiting (not failed) while EMAIL_URL is not set."""

import base64
import importlib.util
import logging
import smtplib
from datetime import timedelta

import pytest
from django.conf import settings as django_settings
from django.core import mail
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django_q.models import OrmQ

from clarity import outbox
from clarity.models import OutboxMessage

pytestmark = pytest.mark.django_db
PASSWORD = "s3cret-pw/+="
Status = OutboxMessage.Status


class FakeSMTP:
    """Stands in for smtplib.SMTP under Django's real SMTP backend: fails where told."""

    fail_at: str = ""
    error: Exception | None = None
    sent: list[tuple[str, list[str], bytes]] = []

    def __init__(self, host: str, port: int, **kwargs: object) -> None:
        self.stage("connect")

    def stage(self, name: str) -> None:
        if self.fail_at == name and self.error is not None:
            raise self.error

    def starttls(self, **kwargs: object) -> None:
        self.stage("starttls")

    def login(self, user: str, password: str) -> None:
        self.stage("login")

    def sendmail(self, from_addr: str, to_addrs: list[str], msg: bytes) -> None:
        self.stage("send")
        FakeSMTP.sent.append((from_addr, to_addrs, msg))

    def quit(self) -> None:
        pass

    close = quit


@pytest.fixture
def smtp(settings, monkeypatch) -> type[FakeSMTP]:
    """Django's SMTP backend as EMAIL_URL smtp+tls://mailer:<PASSWORD>@smtp.example.com:587
    would set it, talking to FakeSMTP."""
    settings.EMAIL_BACKEND = outbox.SMTP_BACKEND
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_USE_TLS = "smtp.example.com", 587, True
    settings.EMAIL_HOST_USER, settings.EMAIL_HOST_PASSWORD = "mailer", PASSWORD
    monkeypatch.setattr(FakeSMTP, "sent", [])
    monkeypatch.setattr(smtplib, "SMTP", FakeSMTP)
    return FakeSMTP


def failing(smtp: type[FakeSMTP], monkeypatch, stage: str, error: Exception) -> None:
    monkeypatch.setattr(smtp, "fail_at", stage)
    monkeypatch.setattr(smtp, "error", error)


def queued(**fields: object) -> OutboxMessage:
    """A queued approval e-mail, due now, as queue_mail leaves it (without ringing)."""
    defaults = {
        "kind": "approval",
        "subject": "Approval needed: Acme",
        "body": "Please decide.",
        "recipients": ["approver@example.com"],
        "next_attempt_at": timezone.now(),
    }
    return OutboxMessage.objects.create(**{**defaults, **fields})


def make_due(message: OutboxMessage) -> None:
    OutboxMessage.objects.filter(pk=message.pk).update(
        next_attempt_at=timezone.now() - timedelta(seconds=1)
    )


def mail_tasks() -> list[int]:
    return [task.args()[0] for task in OrmQ.objects.all() if task.func() == outbox.SEND_TASK]


# ---------------------------------------------------------------- queue


def test_queue_mail_stores_the_message_and_its_task_together():
    message = outbox.queue_mail("alert", "Run 7 failed", "Body", ["ops@example.com"])
    assert (message.status, message.attempts, message.recipients) == (
        "queued", 0, ["ops@example.com"],
    )  # fmt: skip
    assert mail_tasks() == [message.pk]
    assert mail.outbox == []  # nothing is sent by whoever queues

    with pytest.raises(RuntimeError), transaction.atomic():
        outbox.queue_mail("alert", "Rolled back", "Body", ["ops@example.com"])
        raise RuntimeError("the caller's transaction fails")
    assert list(OutboxMessage.objects.values_list("subject", flat=True)) == ["Run 7 failed"]
    assert mail_tasks() == [message.pk]  # the task went with its row


# ---------------------------------------------------------------- send


def test_the_worker_sends_a_queued_message_once(settings):
    settings.DEFAULT_FROM_EMAIL = "Clarity Connect <clarity@example.com>"
    message = queued()
    assert outbox.send(message.pk) == "sent"
    [sent] = mail.outbox
    assert (sent.subject, sent.to, sent.from_email) == (
        "Approval needed: Acme", ["approver@example.com"], "Clarity Connect <clarity@example.com>",
    )  # fmt: skip
    message.refresh_from_db()
    assert (message.status, message.attempts, message.last_error) == ("sent", 1, "")
    assert message.sent_at is not None and message.next_attempt_at is None
    assert outbox.send(message.pk) == "not claimed"  # a second ring sends nothing
    assert len(mail.outbox) == 1


def test_a_refused_connection_is_retried_with_doubling_waits_then_given_up(smtp, monkeypatch):
    failing(smtp, monkeypatch, "connect", ConnectionRefusedError(111, "Connection refused"))
    message = queued()
    waits = []
    for attempt in range(1, outbox.MAX_ATTEMPTS):
        before = timezone.now()
        assert outbox.send(message.pk) == "retry scheduled"
        assert outbox.send(message.pk) == "not claimed"  # not due before its wait is over
        message.refresh_from_db()
        assert (message.status, message.attempts) == ("queued", attempt)
        waits.append(round((message.next_attempt_at - before).total_seconds() / 60))
        make_due(message)
    assert waits == [1, 2, 4, 8, 16, 32, 60]  # minutes, doubling up to the one-hour cap
    assert outbox.send(message.pk) == "failed"
    message.refresh_from_db()
    assert (message.status, message.attempts, message.next_attempt_at) == (
        "failed", outbox.MAX_ATTEMPTS, None,
    )  # fmt: skip
    assert message.last_error == (
        "the mail server at smtp.example.com:587 refused the connection (nothing listens "
        f"there). {outbox.SET_EMAIL_URL}"
    )
    make_due(message)
    assert outbox.send(message.pk) == "not claimed"  # given up on: only Retry sends it again


def test_a_try_that_fails_once_then_succeeds_is_sent(smtp, monkeypatch):
    failing(smtp, monkeypatch, "connect", TimeoutError("timed out"))
    message = queued()
    assert outbox.send(message.pk) == "retry scheduled"
    message.refresh_from_db()
    assert "did not answer within 10 s" in message.last_error
    monkeypatch.setattr(smtp, "error", None)
    make_due(message)
    assert outbox.send(message.pk) == "sent"
    [(sender, recipients, _)] = smtp.sent
    assert recipients == ["approver@example.com"]
    assert sender == django_settings.DEFAULT_FROM_EMAIL
    message.refresh_from_db()
    assert (message.status, message.attempts, message.last_error) == ("sent", 2, "")


@pytest.mark.parametrize(
    ("stage", "error", "expected"),
    [
        ("login", smtplib.SMTPAuthenticationError(535, b"5.7.8 Bad credentials"),
         "the mail server at smtp.example.com:587 refused the login. Check the user name and "
         "password in EMAIL_URL."),
        ("send", smtplib.SMTPSenderRefused(550, b"not yours", "clarity@localhost"),
         "the mail server at smtp.example.com:587 refused the sender address clarity@localhost. "
         "Set DEFAULT_FROM_EMAIL to an address this mail server may send from."),
        ("starttls", smtplib.SMTPNotSupportedError("STARTTLS extension not supported"),
         "the mail server at smtp.example.com:587 does not offer STARTTLS. In EMAIL_URL use "
         "smtp+ssl:// for port 465, or smtp:// for a server without TLS."),
        ("connect", OSError(-2, "Name or service not known"),
         "the mail server at smtp.example.com:587 could not be reached (Name or service not "
         f"known). {outbox.SET_EMAIL_URL}"),
    ],
    ids=["login", "sender", "starttls", "unreachable"],
)  # fmt: skip
def test_each_failure_is_said_in_plain_words_with_its_fix(smtp, monkeypatch, stage, error,
                                                          expected):  # fmt: skip
    failing(smtp, monkeypatch, stage, error)
    message = queued()
    outbox.send(message.pk)
    message.refresh_from_db()
    assert message.last_error == expected


def test_the_password_never_reaches_the_error_the_log_or_the_page(smtp, monkeypatch, caplog,
                                                                  client, users):  # fmt: skip
    plain = base64.b64encode(f"\0mailer\0{PASSWORD}".encode()).decode()
    echo = f"5.7.8 rejected AUTH PLAIN {plain} ({PASSWORD}, {base64.b64encode(PASSWORD.encode())})"
    failing(smtp, monkeypatch, "login", smtplib.SMTPResponseException(454, echo.encode()))
    message = queued()
    with caplog.at_level(logging.WARNING, logger="clarity.outbox"):
        outbox.send(message.pk)
    message.refresh_from_db()
    assert message.last_error.startswith("the mail server at smtp.example.com:587 answered 454")
    assert "[password]" in message.last_error
    client.force_login(users["viewer"])
    page = client.get(reverse("alert-list")).content.decode()
    assert "answered 454" in page and "mailer" not in page
    for text in (message.last_error, caplog.text, page):
        assert PASSWORD not in text and plain not in text
        assert base64.b64encode(PASSWORD.encode()).decode() not in text


# ---------------------------------------------------------------- not set up, sweeper, retry


def test_without_email_url_mail_waits_without_using_its_tries(settings):
    settings.EMAIL_BACKEND = outbox.NOT_SET_UP_BACKEND
    message = queued()
    assert outbox.send(message.pk) == "waiting for EMAIL_URL"
    message.refresh_from_db()
    assert (message.status, message.attempts) == ("queued", 0)
    assert message.last_error.startswith("e-mail is not set up on this server. Set EMAIL_URL")
    assert outbox.sweep() == {"enqueued": 0}  # nothing to gain by trying again

    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"  # set, restarted
    assert outbox.sweep() == {"enqueued": 1}
    assert mail_tasks() == [message.pk]
    assert outbox.send(message.pk) == "sent" and len(mail.outbox) == 1


def test_the_sweeper_rings_for_due_mail_only():
    due, waiting = queued(), queued()
    OutboxMessage.objects.filter(pk=waiting.pk).update(
        next_attempt_at=timezone.now() + timedelta(minutes=4)
    )
    queued(status=Status.SENT)
    queued(status=Status.FAILED)
    make_due(due)
    assert outbox.sweep() == {"enqueued": 1}
    assert mail_tasks() == [due.pk]


def test_retry_gives_unsent_mail_a_new_set_of_tries(smtp, monkeypatch):
    failing(smtp, monkeypatch, "login", smtplib.SMTPAuthenticationError(535, b"no"))
    gave_up = queued(status=Status.FAILED, attempts=outbox.MAX_ATTEMPTS, last_error="refused")
    retrying = queued()
    outbox.send(retrying.pk)
    fresh = queued()  # not tried yet: nothing to retry
    assert outbox.retry_unsent() == 2
    assert sorted(mail_tasks()) == [gave_up.pk, retrying.pk]
    for message in (gave_up, retrying):
        message.refresh_from_db()
        assert (message.status, message.attempts, message.last_error) == ("queued", 0, "")
    monkeypatch.setattr(smtp, "error", None)  # the operator fixed EMAIL_URL
    assert [outbox.send(m.pk) for m in (gave_up, retrying, fresh)] == ["sent"] * 3


def test_unsent_mail_is_summed_up_by_reason_and_kind():
    reason = "the mail server at smtp.example.com:587 refused the login. Check EMAIL_URL."
    for _ in range(3):
        queued(status=Status.FAILED, attempts=8, last_error=reason)
    queued(kind="digest", attempts=2, last_error=reason)
    queued(last_error="")  # not tried yet
    earlier = timezone.now() - timedelta(hours=1)
    queued(kind="alert", attempts=1, last_error="older reason.", created_at=earlier)
    trouble, older = outbox.troubles()  # the newest reason first
    assert older.sentence == "1 alert e-mail could not be sent: older reason."
    assert trouble.sentence == (
        "3 approval e-mails and 1 alert digest e-mail could not be sent: " + reason
    )
    states = sorted(state for _, state in trouble.messages)
    assert states[:3] == ["given up after 8 tries"] * 3
    assert states[3].startswith("try 2 of 8 failed; next try ")


# ---------------------------------------------------------------- settings


def load_settings(monkeypatch, **environment: str):
    """clarity/settings.py read afresh with `environment` (empty means unset)."""
    for name in ("DEBUG", "EMAIL_URL"):
        monkeypatch.setenv(name, environment.get(name, ""))
    spec = importlib.util.spec_from_file_location(
        "settings_under_test", django_settings.BASE_DIR / "clarity" / "settings.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_email_url_configures_mail_and_its_absence_is_a_named_state(monkeypatch):
    production = load_settings(monkeypatch)
    assert production.EMAIL_BACKEND == outbox.NOT_SET_UP_BACKEND  # never localhost:25
    assert load_settings(monkeypatch, DEBUG="1").EMAIL_BACKEND.endswith("console.EmailBackend")
    configured = load_settings(monkeypatch, EMAIL_URL="smtp+tls://mailer:p%40ss@mx.example.com:587")
    assert (configured.EMAIL_BACKEND, configured.EMAIL_HOST, configured.EMAIL_PORT) == (
        outbox.SMTP_BACKEND, "mx.example.com", 587,
    )  # fmt: skip
    assert (configured.EMAIL_HOST_USER, configured.EMAIL_HOST_PASSWORD) == ("mailer", "p@ss")
    assert configured.EMAIL_USE_TLS and configured.EMAIL_TIMEOUT == 10
    assert not hasattr(configured, "EMAIL_URL")  # error pages would show its password
