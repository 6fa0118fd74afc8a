"""The connectors' HTTP helper against a real local server with fault knobs."""

import time

import pytest
import requests

from connectors.errors import (
    AuthError,
    Conflict,
    NotFound,
    RateLimited,
    TransientError,
    ValidationError,
)
from connectors.http import HttpClient
from sandbox.core.server import start
from tests.integration.echo_sandbox import EchoSandbox


@pytest.fixture
def echo(tmp_path):
    running = start("echo", EchoSandbox(tmp_path))
    yield running
    running.stop()


@pytest.fixture
def client(echo):
    return HttpClient(
        "Echo", echo.url, error_message=lambda response: response.json().get("message", "")
    )


def set_faults(url, **knobs):
    requests.post(f"{url}/_control/faults", json=knobs, timeout=5).raise_for_status()


@pytest.mark.parametrize(
    ("code", "error_class"),
    [
        (400, ValidationError),
        (422, ValidationError),
        (401, AuthError),
        (403, AuthError),
        (404, NotFound),
        (409, Conflict),
        (500, TransientError),
        (502, TransientError),
    ],
)
def test_status_codes_become_error_classes_with_the_system_message(client, code, error_class):
    with pytest.raises(error_class) as caught:
        client.get(f"/api/status/{code}")
    assert caught.value.status == code
    assert caught.value.detail == f"echo says {code}"
    assert str(caught.value) == f"Echo answered {code}: echo says {code}"
    assert caught.value.permanent is (error_class is not TransientError)


def test_429_becomes_rate_limited_with_the_servers_retry_after(client, echo):
    set_faults(echo.url, rate_limit_rate=1.0, retry_after=17)
    with pytest.raises(RateLimited) as caught:
        client.get("/api/status/200")
    assert caught.value.retry_after == 17
    assert not caught.value.permanent


def test_outage_and_dropped_connections_are_transient(client, echo):
    set_faults(echo.url, outage=True)
    with pytest.raises(TransientError):
        client.get("/api/status/200")
    set_faults(echo.url, commit_then_fail_rate=1.0, drop_connection=True)
    with pytest.raises(TransientError, match="connection failed or was dropped"):
        client.post("/api/items")


def test_a_failed_read_is_tried_twice_more_before_the_error_is_raised(client, echo):
    set_faults(echo.url, error_rate=1.0)
    with pytest.raises(TransientError):
        client.get("/api/status/200")
    assert client.calls == 3


def test_a_write_is_never_retried_by_the_client(client, echo):
    set_faults(echo.url, commit_then_fail_rate=1.0)
    with pytest.raises(TransientError):
        client.post("/api/items")
    assert client.calls == 1


def test_timeouts_are_transient_and_say_the_write_may_have_happened(echo):
    set_faults(echo.url, latency_ms=500)
    slow = HttpClient("Echo", echo.url, timeout=(1, 0.1))
    with pytest.raises(TransientError, match="may or may not have been applied"):
        slow.post("/api/items")


@pytest.mark.django_db  # the bucket is shared through the database (`connectors.budgets`)
def test_the_throttle_spaces_requests_to_the_configured_rate(echo):
    throttled = HttpClient("Echo", echo.url, rate=20, throttle_key="throttle-test")
    started = time.monotonic()
    for _ in range(30):
        throttled.get("/api/status/200")
    # a full bucket of 20 goes at once; the other 10 need at least 10/20 s
    assert time.monotonic() - started >= 0.5
