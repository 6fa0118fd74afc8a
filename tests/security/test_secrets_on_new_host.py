"""Write-only secrets never follow a changed address: when an admin re-points a connection
(or a subscription, or an alert webhook), the stored secrets are dropped unless typed again
in the same form, and a required one left blank is an error naming it. So the next Test
cannot carry a secret, typed for one host, to another."""

import base64
from collections.abc import Iterator

import pytest
from django.urls import reverse

from connectors.models import Connection
from flows.models import Subscription
from monitoring.models import AlertChannel
from tests.security.outbound_probe import Probe, serving

pytestmark = pytest.mark.django_db
STORED = "streak-key-typed-for-streak-1"
RETYPED = "streak-key-typed-for-the-new-host"


@pytest.fixture
def probe() -> Iterator[Probe]:
    with serving() as running:
        yield running


@pytest.fixture
def admin(client, users):
    client.force_login(users["admin"])
    return client


@pytest.fixture
def streak() -> Connection:
    return Connection.objects.create(
        name="Acme Streak", system="streak",
        settings={"base_url": "https://api.streak.com", "requests_per_second": 10},
        secrets={"api_key": STORED},
    )  # fmt: skip


def heard_key(probe: Probe, key: str) -> bool:
    """The key reached the probe, as Streak's Basic user or in clear."""
    return probe.heard(key) or probe.heard(base64.b64encode(f"{key}:".encode()).decode())


def edit(admin, connection: Connection, **changes: str):
    form = {"name": connection.name, **connection.settings, **changes}
    return admin.post(reverse("connection-edit", args=[connection.pk]), form)


def test_a_new_address_without_the_key_typed_again_is_refused(admin, streak, probe):
    page = edit(admin, streak, base_url=probe.url)

    assert page.status_code == 200
    assert page.context["form"].errors["api_key"] == [
        "API key is required. The API base URL changed, and a stored secret is never sent to "
        "a new address: type it again."
    ]
    streak.refresh_from_db()
    assert streak.settings["base_url"] == "https://api.streak.com"
    admin.post(reverse("connection-test", args=[streak.pk]))
    assert not heard_key(probe, STORED)


def test_the_key_typed_again_goes_to_the_new_address_and_the_old_one_never(admin, streak, probe):
    assert edit(admin, streak, base_url=probe.url, api_key=RETYPED).status_code == 302
    streak.refresh_from_db()
    assert streak.secrets == {"api_key": RETYPED}

    admin.post(reverse("connection-test", args=[streak.pk]))

    assert heard_key(probe, RETYPED) and not heard_key(probe, STORED)


def test_the_edit_page_says_what_changing_the_address_does(admin, streak):
    page = admin.get(reverse("connection-edit", args=[streak.pk])).content.decode()

    assert "Changing it clears the stored API key: type it again." in page
    assert "Changing the API base URL clears it." in page


def test_an_edit_that_keeps_the_address_keeps_the_key(admin, streak):
    assert edit(admin, streak, base_url="https://api.streak.com/", pipeline_key="p2").status_code
    streak.refresh_from_db()
    assert streak.secrets == {"api_key": STORED} and streak.settings["pipeline_key"] == "p2"


def test_the_api_refuses_a_new_address_without_the_key(admin, streak, probe):
    url = f"/api/v1/connections/{streak.pk}/"
    reply = admin.patch(url, {"settings": {"base_url": probe.url}}, "application/json")

    assert reply.status_code == 400
    assert "type it again" in reply.json()["secrets"]["api_key"][0]


def test_tokens_and_optional_secrets_are_dropped_and_the_page_says_so(admin):
    sage = Connection.objects.create(
        name="Sage", system="sage50",
        settings={"api_url": "https://api.accounting.sage.com/v3.1",
                  "auth_url": "https://www.sageone.com/oauth2/auth/central",
                  "token_url": "https://oauth.accounting.sage.com/token", "client_id": "c"},
        secrets={"client_secret": "cs-1", "refresh_token": "rt-1", "access_token": "at-1"},
    )  # fmt: skip

    page = edit(admin, sage, api_url="https://api.eu.example.com/v3.1", client_secret="cs-2")

    sage.refresh_from_db()
    assert sage.secrets == {"client_secret": "cs-2"}  # no token for the old address travels
    messages = [str(message) for message in page.wsgi_request._messages]
    assert "these stored secrets were cleared: refresh token." in messages[-1]


def test_salesforce_needs_its_flow_secret_again_when_the_pubsub_address_changes(admin):
    salesforce = Connection.objects.create(
        name="SF", system="salesforce",
        settings={"login_url": "https://login.salesforce.com", "auth_flow": "client_credentials",
                  "client_id": "c", "api_version": "59.0"},
        secrets={"client_secret": "consumer-secret", "access_session": {"access_token": "x"}},
    )  # fmt: skip

    page = edit(admin, salesforce, pubsub_address="api.pubsub.salesforce.com:7443")

    [error] = page.context["form"].errors["client_secret"]
    assert error == (
        "Consumer secret is required for the client credentials flow. The Pub/Sub API address "
        "changed, and a stored secret is never sent to a new address: type it again."
    )


def test_an_alert_webhook_and_a_subscription_need_their_secret_again(admin, probe):
    channel = AlertChannel.objects.create(
        name="Ops", kind="webhook", settings={"url": "https://hooks.example.com/a"},
        secrets={"secret": "signing-1"},
    )  # fmt: skip
    page = admin.post(
        reverse("alert-channel-edit", args=[channel.pk]),
        {"name": "Ops", "kind": "webhook", "enabled": "on", "webhook_url": f"{probe.url}/a"},
    )
    assert "type it again" in page.context["form"].errors["webhook_secret"][0]

    subscription = Subscription.objects.create(
        name="Hook", target="url", url="https://hooks.example.com/e", secrets={"secret": "s" * 20}
    )
    reply = admin.patch(
        f"/api/v1/subscriptions/{subscription.pk}/", {"url": f"{probe.url}/e"}, "application/json"
    )
    assert reply.status_code == 400 and "send the secret again" in reply.json()["secret"][0]
