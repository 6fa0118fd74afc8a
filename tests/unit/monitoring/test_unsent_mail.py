"""The alerts page says in plain words which e-mails could not be sent and why, and operators
and admins can send them again."""

import html

import pytest
from django.core import mail
from django.urls import reverse

from clarity import outbox
from clarity.models import OutboxMessage
from monitoring.models import AlertChannel

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("runs_inline")]
REASON = (
    "the mail server at smtp.example.com:587 refused the login. Check the user name and "
    "password in EMAIL_URL."
)


@pytest.fixture
def unsent() -> list[OutboxMessage]:
    return [
        OutboxMessage.objects.create(
            kind="approval",
            subject=f"Approval needed: Deal {n}",
            body="Please decide.",
            recipients=["approver@example.com"],
            status="failed",
            attempts=8,
            last_error=REASON,
        )
        for n in range(3)
    ]


def page_for(client, user) -> str:
    client.force_login(user)
    return html.unescape(client.get(reverse("alert-list")).content.decode())


def test_the_page_says_what_was_not_sent_why_and_what_to_set(client, users, unsent):
    page = page_for(client, users["viewer"])
    assert f"3 approval e-mails could not be sent: {REASON}" in page
    assert all(f"Approval needed: Deal {n}" in page for n in range(3))
    assert "given up after 8 tries" in page
    assert "Retry unsent e-mail" not in page  # viewers only look


@pytest.mark.parametrize(("role", "allowed"), [("admin", True), ("operator", True),
                                               ("approver", False), ("viewer", False)])  # fmt: skip
def test_operators_and_admins_retry_unsent_mail(client, users, unsent, role, allowed):
    assert ("Retry unsent e-mail" in page_for(client, users[role])) is allowed
    reply = client.post(reverse("alert-mail-retry"))
    if not allowed:
        assert reply.status_code == 403
        assert OutboxMessage.objects.filter(status="failed").count() == 3
        return
    assert reply.status_code == 302
    assert sorted(message.subject for message in mail.outbox) == [
        f"Approval needed: Deal {n}" for n in range(3)
    ]
    assert set(OutboxMessage.objects.values_list("status", flat=True)) == {"sent"}
    assert "could not be sent" not in page_for(client, users[role])


def test_without_email_url_the_page_says_to_set_it(client, users, settings):
    settings.EMAIL_BACKEND = outbox.NOT_SET_UP_BACKEND
    outbox.queue_mail("alert", "Run 7 failed", "Body", ["ops@example.com"])
    page = page_for(client, users["operator"])
    assert "E-mail is not set up" in page
    assert (
        "1 alert e-mail could not be sent: e-mail is not set up on this server. Set EMAIL_URL"
        in page
    )
    assert "waiting for EMAIL_URL" in page


def test_a_test_alert_that_cannot_leave_says_why_at_once(client, users, settings):
    settings.EMAIL_BACKEND = outbox.NOT_SET_UP_BACKEND
    channel = AlertChannel.objects.create(
        name="Ops mailbox", kind="email", settings={"recipients": ["ops@example.com"]}
    )
    client.force_login(users["admin"])
    reply = client.post(reverse("alert-channel-test", args=[channel.pk]), follow=True)
    page = html.unescape(reply.content.decode())
    assert "The test e-mail to “Ops mailbox” is not sent yet: e-mail is not set up" in page
    assert "e-mail waiting" in page  # its row in the sent list
