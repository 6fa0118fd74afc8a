"""SSRF through each door a URL comes in by: connection forms and the API, Salesforce's
token reply (`instance_url`) and the simple-salesforce session, the Pub/Sub address, Sage's
`$next` links, the agents, event subscriptions and alert channels. A refused address is
refused where the URL is saved, so the admin learns at once, and again when it is used."""

import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from django.urls import reverse

from connectors.errors import OutboundRefused
from connectors.models import Connection
from connectors.sage50.client import SageClient
from connectors.sage100.bridge_client import BridgeClient
from connectors.salesforce.client import TOKEN_SECRET, SalesforceClient
from connectors.salesforce.oauth import AccessToken, OAuthClient
from connectors.salesforce.pubsub.client import open_channel
from connectors.services import check_connection
from flows import publishing
from flows.models import Delivery, Subscription
from monitoring.alerts.channels import send_test
from monitoring.models import AlertChannel
from tests.factories import IntegrationPairFactory
from tests.security.outbound_probe import Probe, serving

pytestmark = pytest.mark.django_db
METADATA = "http://169.254.169.254/latest/meta-data/"


@pytest.fixture
def probe() -> Iterator[Probe]:
    with serving() as running:
        yield running


@pytest.fixture
def second_probe() -> Iterator[Probe]:
    with serving() as running:
        yield running


@pytest.fixture
def admin(client, users):
    client.force_login(users["admin"])
    return client


# ---------------------------------------------------------------- forms and the API


def test_the_connection_form_refuses_a_private_url_when_saved(admin):
    page = admin.post(
        reverse("connection-create", args=["streak"]),
        {"name": "Acme Streak", "base_url": "http://10.0.0.5:8101", "api_key": "k" * 20},
    )

    assert page.status_code == 200 and not Connection.objects.exists()
    [error] = page.context["form"].errors["base_url"]
    assert error.startswith("Refused to connect to 10.0.0.5: it is a private network address")
    assert error.endswith("add 10.0.0.5 to CLARITY_OUTBOUND_ALLOWED_HOSTS.")


def test_an_allowed_private_agent_is_saved(admin, settings):
    form = {"name": "Sage 100", "odbc_connection_string": "DSN=SOTAMAS90",
            "odbc_dialect": "providex", "company_code": "ABC", "default_warehouse": "000",
            "bridge_url": "https://192.168.1.20:8105", "bridge_key": "k" * 20}  # fmt: skip
    page = admin.post(reverse("connection-create", args=["sage100"]), form)
    assert "192.168.1.20" in page.context["form"].errors["bridge_url"][0]

    settings.CLARITY_OUTBOUND_ALLOWED_HOSTS = ["192.168.1.20:8105"]  # the Sage server
    assert admin.post(reverse("connection-create", args=["sage100"]), form).status_code == 302


def test_the_api_refuses_a_private_url_and_credentials_in_a_url(admin):
    for url, words in ((METADATA, "link-local"), ("https://me:pw@api.streak.com", "password")):
        reply = admin.post(
            "/api/v1/connections/",
            {"name": "Acme Streak", "system": "streak", "settings": {"base_url": url},
             "secrets": {"api_key": "k" * 20}},
            "application/json",
        )  # fmt: skip
        assert reply.status_code == 400
        assert words in reply.json()["settings"]["base_url"][0]


def test_the_pubsub_address_is_checked_when_saved_and_when_the_channel_opens(admin):
    page = admin.post(
        reverse("connection-create", args=["salesforce"]),
        {"name": "SF", "login_url": "https://login.salesforce.com", "auth_flow":
         "client_credentials", "client_id": "c", "api_version": "59.0",
         "client_secret": "s", "pubsub_address": "169.254.169.254:7443"},
    )  # fmt: skip
    assert "link-local" in page.context["form"].errors["pubsub_address"][0]

    with pytest.raises(OutboundRefused, match=r"10\.9\.8\.7: it is a private network address"):
        open_channel("10.9.8.7:7443")


# ---------------------------------------------------------------- replies that point elsewhere


def salesforce_connection(probe: Probe, secrets: dict | None = None) -> Connection:
    return Connection.objects.create(
        name="Acme Salesforce",
        system="salesforce",
        settings={"login_url": probe.url, "auth_flow": "client_credentials",
                  "client_id": "c", "api_version": "59.0"},
        secrets={"client_secret": "the-consumer-secret", **(secrets or {})},
    )  # fmt: skip


def test_an_instance_url_in_the_token_reply_is_checked_before_it_is_used(probe):
    probe.routes["/services/oauth2/token"] = (200, {
        "access_token": "session-id-1", "instance_url": "http://169.254.169.254",
        "id": f"{probe.url}/id/00DAA0000000001MAA/005AA0000000001MAA",
    })  # fmt: skip
    connection = salesforce_connection(probe)

    health = check_connection(connection)

    assert not health.ok
    assert health.message.startswith(
        "Salesforce's token reply names an instance this server will not call: Refused to "
        "connect to 169.254.169.254: it is a link-local address"
    )
    connection.refresh_from_db()
    assert TOKEN_SECRET not in connection.secrets  # the token was not kept


def test_the_simple_salesforce_session_goes_through_the_guard(probe, settings):
    settings.CLARITY_OUTBOUND_ALLOWED_HOSTS = ["127.0.0.1"]
    connection = salesforce_connection(probe)
    stored = AccessToken(
        access_token="session-id-2", instance_url=f"http://localhost:{probe.port}",
        identity_url="", expires_at=time.time() + 3600,
        fingerprint=OAuthClient(connection.settings, True).fingerprint(connection.secrets),
    )  # fmt: skip
    connection.secrets = {**connection.secrets, TOKEN_SECRET: stored.as_secret()}
    connection.save()

    with pytest.raises(OutboundRefused, match="localhost"):
        SalesforceClient(connection).call(lambda sf: sf.query("SELECT Id FROM Account"))
    assert not probe.heard("session-id-2")


def test_a_sage_next_link_to_another_host_never_gets_the_token(probe, second_probe):
    probe.routes["/v3.1/contacts"] = (200, {
        "$items": [{"id": "c1"}], "$next": f"{second_probe.url}/v3.1/contacts?page=2",
    })  # fmt: skip
    expires = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
    connection = Connection.objects.create(
        name="Sage", system="sage50",
        settings={"api_url": f"{probe.url}/v3.1", "token_url": f"{probe.url}/token"},
        secrets={"access_token": "bearer-xyz", "access_token_expires_at": expires},
    )  # fmt: skip
    items = SageClient(connection).items("/contacts")

    assert next(items) == {"id": "c1"}
    with pytest.raises(OutboundRefused, match=f"points to 127.0.0.1:{second_probe.port}"):
        next(items)
    assert second_probe.seen == [] and probe.heard("bearer-xyz")


def test_an_agent_on_a_private_address_is_refused_unless_allowed():
    with pytest.raises(OutboundRefused, match=r"192\.168\.7\.7"):
        BridgeClient("https://192.168.7.7:8105", "agent-key").health()


# ---------------------------------------------------------------- subscriptions and alerts


@pytest.mark.usefixtures("runs_inline")
def test_a_subscription_url_is_checked_when_saved_and_when_delivered(admin):
    wanted = {"name": "Hook", "target": "url", "url": METADATA, "secret": "s" * 20}
    reply = admin.post("/api/v1/subscriptions/", wanted, "application/json")
    assert reply.status_code == 400 and "link-local" in reply.json()["url"][0]

    pair = IntegrationPairFactory()
    Subscription.objects.create(  # saved before the guard existed
        name="Old hook", target="url", url="http://10.20.30.40/hook", secrets={"secret": "s"}
    )
    publishing.publish(pair, "order.created", {"sales_order_no": "1"}, "1")

    delivery = Delivery.objects.get()
    assert delivery.status == Delivery.Status.FAILED  # refused for good, not retried
    assert delivery.last_error.startswith("Refused to connect to 10.20.30.40")


def test_an_alert_webhook_is_checked_when_saved_and_when_sent(admin):
    page = admin.post(
        reverse("alert-channel-create"),
        {"name": "Ops", "kind": "webhook", "enabled": "on", "webhook_url": METADATA,
         "webhook_secret": "s3cret"},
    )  # fmt: skip
    assert "link-local" in page.context["form"].errors["webhook_url"][0]

    channel = AlertChannel.objects.create(
        name="Ops", kind="webhook", settings={"url": "http://[::ffff:10.0.0.1]/a"},
        secrets={"secret": "s3cret"},
    )  # fmt: skip
    delivery = send_test(channel)

    assert delivery.status == "failed"
    assert "it is a private network address" in delivery.error
    assert delivery.error.endswith("Check the channel's Webhook URL.")
