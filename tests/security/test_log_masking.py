"""Webhook tokens never reach the log: every answer of 400 and above that Django's request
logger writes ("Bad Request: /hooks/<pair>/<token>/"), in the plain and the JSON format, says
which pair but not its token. Read from the console handler settings.LOGGING configures."""

import io
import json
import logging
from collections.abc import Iterator

import pytest
from django.conf import settings as django_settings
from django.http import HttpResponse
from django.test import RequestFactory
from django.utils.log import log_response

from clarity.logs import JSONFormatter
from connectors.models import Connection, hash_token
from connectors.streak.webhooks import SENDER_TOKENS
from tests.security.webhooks import STAGE_CHANGE, streak_pair

pytestmark = pytest.mark.django_db


@pytest.fixture(params=["plain", "json"])
def console(request) -> Iterator[io.StringIO]:
    """What the configured console handler writes, in each of the two formats."""
    handler = next(h for h in logging.getLogger().handlers if h.name == "console")
    plain = logging.Formatter(django_settings.LOGGING["formatters"]["plain"]["format"])
    formatter = JSONFormatter() if request.param == "json" else plain
    buffer = io.StringIO()
    previous_stream, previous_formatter = handler.setStream(buffer), handler.formatter
    handler.setFormatter(formatter)
    try:
        yield buffer
    finally:
        handler.setStream(previous_stream)
        handler.setFormatter(previous_formatter)


@pytest.fixture
def pair():
    """A Streak pair whose URL was registered with a header token (so a 403 can happen)."""
    pair, token = streak_pair()
    crm: Connection = pair.crm
    crm.settings = {**crm.settings, SENDER_TOKENS: {hash_token(token): hash_token("header")}}
    crm.save()
    return pair, token


def lines(buffer: io.StringIO) -> list[str]:
    return [line for line in buffer.getvalue().splitlines() if line]


def test_no_answer_of_a_hook_logs_its_token(client, pair, console, settings, caplog):
    pair, token = pair
    settings.CLARITY_WEBHOOK_BURST = 6
    settings.CLARITY_WEBHOOK_RATE_PER_SECOND = 0.01
    url = f"/hooks/{pair.slug}/{token}/?event=BOX_CHANGE_STAGE"
    answers = {
        400: client.post(url, b"not json", content_type="application/json"),
        403: client.post(url, STAGE_CHANGE, content_type="application/json"),
        404: client.post(f"/hooks/{pair.slug}/{token}", b"[]", content_type="application/json"),
        405: client.get(url),
        413: client.post(url, b" " * (1024 * 1024 + 1), content_type="application/json"),
    }
    while 429 not in answers:  # the burst of six spent, the next is refused
        reply = client.post(url, STAGE_CHANGE, content_type="application/json")
        answers[reply.status_code] = reply
    assert {status: reply.status_code for status, reply in answers.items()} == {
        status: status for status in answers
    }

    messages = [
        json.loads(line)["message"] if line.startswith("{") else line for line in lines(console)
    ]
    reasons = ("Bad Request", "Forbidden", "Not Found", "Method Not Allowed",
               "Request Entity Too Large", "Too Many Requests")  # fmt: skip
    assert all(any(reason in message for message in messages) for reason in reasons), messages
    for message in messages:
        assert token not in message
        assert f"/hooks/{pair.slug}/[token]" in message, message
    requests_logged = [record for record in caplog.records if hasattr(record, "request")]
    assert len(requests_logged) == len(messages)
    for record in requests_logged:  # the records themselves, the request attached included
        assert token not in record.getMessage()
        assert token not in record.request.path and token not in repr(record.request)
        assert token not in str(record.request.META)


def test_an_internal_error_on_a_hook_logs_no_token_in_its_traceback(console):
    """No delivery answers 500 any more (tests/security/test_webhook_fuzz.py); should one,
    Django's request logger writes it with the request and the traceback."""
    token = "Sekr1t-t0ken-value"
    request = RequestFactory().post(f"/hooks/acme-deals/{token}/", b"[]", "application/json")
    try:
        raise ValueError(f"could not resolve {request.path} (hooks/acme-deals/{token}/)")
    except ValueError as exc:
        log_response(
            "%s: %s",
            "Internal Server Error",
            request.path,
            response=HttpResponse(status=500),
            request=request,
            exception=exc,
        )
    written = console.getvalue()
    assert "Internal Server Error: /hooks/acme-deals/[token]/" in written
    assert "ValueError: could not resolve /hooks/acme-deals/[token]/" in written.replace(
        "\\n", "\n"
    )
    assert token not in written
    assert request.path == f"/hooks/acme-deals/{token}/"  # the live request is left alone
