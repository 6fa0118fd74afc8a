"""Viewers see no raw reply bodies: whatever an admin-pointed URL answers (an internal admin
page, a JSON document that is not the system's error) is described, never quoted, on the
pages and in the API a viewer reads: the connection's Test result and health, run step
errors (the connector error's message and detail), event delivery attempts and alert
deliveries. A system's own error message, parsed from its known error shape, still shows."""

from collections.abc import Iterator

import pytest
from django.urls import reverse

from connectors.errors import ConnectorError
from connectors.models import Connection
from connectors.sage100.bridge_client import BridgeClient
from flows import publishing
from flows.models import Subscription
from monitoring.alerts.channels import send_test
from monitoring.models import AlertChannel
from tests.factories import IntegrationPairFactory
from tests.security.outbound_probe import MARKER, Probe, serving

pytestmark = pytest.mark.django_db


@pytest.fixture
def probe() -> Iterator[Probe]:
    with serving() as running:
        yield running


def as_viewer(client, users, *urls: str) -> str:
    client.force_login(users["viewer"])
    pages = [client.get(url) for url in urls]
    assert all(page.status_code == 200 for page in pages)
    return "".join(page.content.decode() for page in pages)


def test_a_connection_test_shows_no_body_of_what_the_url_reached(client, users, probe):
    connection = Connection.objects.create(
        name="Acme Streak", system="streak", settings={"base_url": probe.url},
        secrets={"api_key": "k" * 20},
    )  # fmt: skip
    client.force_login(users["admin"])
    client.post(reverse("connection-test", args=[connection.pk]))
    connection.refresh_from_db()
    assert probe.seen  # the admin's URL was reached and answered

    seen = as_viewer(
        client, users, reverse("connection-list"), connection.get_absolute_url(),
        "/api/v1/connections/", f"/api/v1/connections/{connection.pk}/",
    )  # fmt: skip

    assert MARKER not in seen
    size = len(probe.body)
    assert connection.last_error.endswith(
        f"an HTML page of {size} bytes (not Streak's error format)"
    )
    assert connection.last_error in seen


def test_a_system_error_message_of_its_own_shape_still_shows(probe):
    probe.status, probe.content_type = 404, "application/json"
    probe.body = '{"error": {"code": "not_found", "message": "No such customer 00-ACME"}}'

    with pytest.raises(ConnectorError) as refused:
        BridgeClient(probe.url, "agent-key").call("GET", "/v1/customers/00/ACME")

    assert refused.value.message == "Sage 100 bridge answered 404: No such customer 00-ACME"


def test_a_json_body_that_is_not_the_systems_error_is_not_quoted(probe):
    probe.status, probe.content_type = 500, "application/json"
    probe.body = f'{{"internal": "{MARKER}", "debug": true}}'

    with pytest.raises(ConnectorError) as refused:
        BridgeClient(probe.url, "agent-key").call("POST", "/v1/customers", {}, "key-1")

    error = refused.value  # a run step keeps its message and detail
    assert MARKER not in error.message and MARKER not in error.detail
    size = len(probe.body)
    assert error.message == (
        f"Sage 100 bridge answered 500: a reply of {size} bytes of application/json (not "
        "Sage 100 bridge's error format)"
    )


@pytest.mark.usefixtures("runs_inline")
def test_a_delivery_attempt_shows_no_body_of_the_receivers_answer(client, users, probe):
    probe.status = 500
    Subscription.objects.create(
        name="Hook", target="url", url=f"{probe.url}/hook", secrets={"secret": "s" * 20}
    )
    publishing.publish(IntegrationPairFactory(), "order.created", {"sales_order_no": "1"}, "1")

    seen = as_viewer(client, users, "/api/v1/deliveries/")

    assert MARKER not in seen and "an HTML page of" in seen


def test_an_alert_delivery_shows_no_body_of_the_receivers_answer(client, users, probe):
    probe.status = 400
    channel = AlertChannel.objects.create(
        name="Ops", kind="webhook", settings={"url": f"{probe.url}/alerts"},
        secrets={"secret": "s3cret"},
    )  # fmt: skip
    send_test(channel)

    seen = as_viewer(client, users, reverse("alert-list"))

    assert MARKER not in seen and "refused the alert (it answered 400 BAD REQUEST)" in seen
