"""An alert channel that cannot deliver says why in plain words and which of its settings to
check, never an exception's name, never a Slack URL (a secret) or a webhook's path, and
never the receiver's body (only Slack's documented answers, by name)."""

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from monitoring.alerts.channels import send_test
from monitoring.models import AlertChannel

pytestmark = pytest.mark.django_db
SECRET_PATH = "/services/T000/B000/very-secret"


@pytest.fixture
def answering() -> Iterator[list]:
    """A local receiver answering with the status and body put in the list it yields."""
    answer: list = [404, b"no_service"]

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.rfile.read(int(self.headers["Content-Length"]))
            self.send_response(answer[0])
            self.end_headers()
            self.wfile.write(answer[1])

        def log_message(self, *args) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    answer.append(f"http://127.0.0.1:{server.server_port}")
    yield answer
    server.shutdown()
    server.server_close()


def webhook(url: str) -> AlertChannel:
    return AlertChannel.objects.create(
        name="Ops hook", kind="webhook", settings={"url": url}, secrets={"secret": "s3cret"}
    )


def test_nothing_listening_is_said_in_words_with_the_setting_to_check():
    delivery = send_test(webhook("http://127.0.0.1:9/hooks/token-in-path"))

    assert delivery.status == "failed"
    assert delivery.error == (
        "Nothing answers at 127.0.0.1:9: the connection was refused. Check the channel's "
        "Webhook URL."
    )
    assert "Error" not in delivery.error and "token-in-path" not in delivery.error


def test_a_host_that_does_not_exist_is_named():
    delivery = send_test(webhook("http://no-such-host.invalid/alerts"))

    assert delivery.error.startswith("The name no-such-host.invalid could not be found")


def test_slack_refusing_a_deleted_webhook_is_explained_without_showing_the_url(answering):
    url = f"{answering[2]}{SECRET_PATH}"
    channel = AlertChannel.objects.create(name="Team Slack", kind="slack", secrets={"url": url})

    delivery = send_test(channel)

    assert delivery.error == (
        "Slack does not know this webhook URL (it was deleted or disabled) (404 no_service). "
        "Check the channel's Slack webhook URL."
    )
    assert "very-secret" not in delivery.error


def test_a_receiver_failing_says_so_with_its_status_not_its_body(answering):
    answering[:2] = [503, b"down for maintenance"]

    delivery = send_test(webhook(f"{answering[2]}/alerts"))

    host = answering[2].removeprefix("http://")
    assert delivery.error == (
        f"{host} had a failure of its own (it answered 503 Service Unavailable). Check the "
        "channel's Webhook URL."
    )
