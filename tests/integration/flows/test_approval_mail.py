"""A won deal over the threshold, an approver with an e-mail address, and a mail server that
refuses (issue 14): the run still waits for approval with its approval recorded; the outbox
keeps the e-mail with the reason and the setting that fixes it, the alerts page says so, and
Retry delivers it once mail works."""

import html
import socket

import environ
import pytest
from django.core import mail
from django.urls import reverse

from clarity.models import OutboxMessage
from clarity.outbox import SET_EMAIL_URL
from flows.models import Approval, SyncRun
from tests import won_deals as shared

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("runs_inline")]
PASSWORD = "mail-s3cret"


@pytest.fixture
def approver(users):
    user = users["approver"]
    user.email = "approver@example.com"
    user.save()
    return user


@pytest.fixture
def closed_port() -> int:
    """A port on 127.0.0.1 that nothing listens on."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def refusing_mail_server(settings, closed_port) -> int:
    """EMAIL_URL pointing at the closed port, applied as clarity/settings.py applies it."""
    url = f"smtp+tls://clarity:{PASSWORD}@127.0.0.1:{closed_port}"
    for name, value in environ.Env.email_url_config(url).items():
        setattr(settings, name, value)
    return closed_port


def test_a_refusing_mail_server_leaves_the_run_waiting_and_retry_delivers(
    client, streak_sandbox, sage100_pair, sage, approver, users, refusing_mail_server, settings
):
    pair, token = sage100_pair
    _, run = shared.win_box(client, streak_sandbox, pair, token, "SAL-1006")
    run.refresh_from_db()
    assert run.status == SyncRun.Status.AWAITING_APPROVAL, run.error_message
    assert Approval.objects.get(run=run).status == Approval.Status.PENDING
    assert not shared.orders_for(sage, "SAL-1006")

    [message] = OutboxMessage.objects.all()
    assert (message.kind, message.status, message.attempts, message.recipients) == (
        "approval", "queued", 1, ["approver@example.com"],
    )  # fmt: skip
    reason = (
        f"the mail server at 127.0.0.1:{refusing_mail_server} refused the connection (nothing "
        f"listens there). {SET_EMAIL_URL}"
    )
    assert message.last_error == reason
    assert mail.outbox == []

    client.force_login(users["operator"])
    page = html.unescape(client.get(reverse("alert-list")).content.decode())
    assert f"1 approval e-mail could not be sent: {reason}" in page
    assert message.subject in page and "try 1 of 8 failed" in page
    assert PASSWORD not in page

    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"  # mail works now
    assert client.post(reverse("alert-mail-retry")).status_code == 302
    [sent] = mail.outbox
    assert sent.to == ["approver@example.com"] and sent.subject == message.subject
    assert "12,155.70 USD" in sent.body and f"/{run.pk}/" in sent.body
    message.refresh_from_db()
    assert (message.status, message.last_error) == ("sent", "")
    run.refresh_from_db()
    assert run.status == SyncRun.Status.AWAITING_APPROVAL  # mail never moves the run
    page = html.unescape(client.get(reverse("alert-list")).content.decode())
    assert "could not be sent" not in page
