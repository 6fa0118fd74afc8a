"""Sender checks beyond the URL token, where the CRM offers one.

- Streak sends back in X-Streak-Webhook-Token the token our registration gave it: a
  delivery to a URL registered that way without it is refused (403) and kept as invalid.
- A delivery about a box of another pipeline than the connection's runs nothing and is kept
  as ignored; a forged one naming such a box as ours writes nothing and leaves the won-deal
  flow on the connection's pipeline (before, one such delivery moved the flow to the box's
  pipeline and booked its deal).
- An Outbound Message from another Salesforce org than the connection's (recorded by its
  Test) is refused (403) and kept as invalid; the 15- and 18-character org ids are one org.
"""

import time
from urllib.parse import urlsplit

import pytest
import requests

from connectors.services import check_connection, connector_for, register_pair_webhook
from flows.models import FlowConfig, InboundEvent, SyncRun
from sandbox.salesforce.schema import ORG_ID
from sandbox.streak import data as streak_data
from tests import won_deals as shared
from tests.factories import IntegrationPairFactory
from tests.security.webhooks import BOX, OTHER_ORG, outbound_message, salesforce_pair, streak_pair

pytestmark = pytest.mark.django_db


def wait_for_events(pair, count: int, timeout: float = 10) -> list[InboundEvent]:
    deadline = time.monotonic() + timeout
    while len(events := list(InboundEvent.objects.filter(pair=pair))) < count:
        assert time.monotonic() < deadline, f"{len(events)} of {count} deliveries came"
        time.sleep(0.05)
    return events


# ---------------------------------------------------------------- Streak's header token


@pytest.mark.django_db(transaction=True)
def test_a_registered_url_takes_streaks_deliveries_and_refuses_ones_without_its_token(
    live_server, settings, streak_sandbox
):
    settings.CLARITY_PUBLIC_URL = live_server.url
    crm = shared.streak_connection(streak_sandbox)
    pair = IntegrationPairFactory(name="Acme deals", crm=crm)
    registered, _ = register_pair_webhook(pair)
    url = urlsplit(registered[0]["targetUrl"])
    hook = f"{live_server.url}{url.path}?{url.query}"

    box_key = shared.seeded_box_key("SAL-1005")
    box = shared.move_box(streak_sandbox, box_key, "5002")  # Streak posts, header and all
    [delivered] = wait_for_events(pair, 1)
    assert delivered.status != "invalid" and delivered.entity_key == box_key

    forged = [box | {"lastUpdatedTimestamp": box["lastUpdatedTimestamp"] + n} for n in (1, 2)]
    for headers, item in zip(({}, {"X-Streak-Webhook-Token": "guessed"}), forged, strict=True):
        reply = requests.post(hook, json=[item], headers=headers, timeout=10)
        assert reply.status_code == 403, reply.text
        assert "X-Streak-Webhook-Token header is" in reply.text
    kept = InboundEvent.objects.filter(pair=pair, status="invalid")
    assert kept.count() == 2
    assert all("register the webhook again from the pair page" in e.error for e in kept)
    assert not SyncRun.objects.filter(event__status="invalid").exists()


def test_a_url_registered_without_a_header_token_takes_deliveries_without_one(client):
    """A URL issued before header tokens (or pasted into Streak by hand) is not refused."""
    pair, token = streak_pair()
    reply = client.post(
        f"/hooks/{pair.slug}/{token}/?event=BOX_CHANGE_STAGE", [BOX], "application/json"
    )
    assert reply.status_code == 200
    assert InboundEvent.objects.get().status == "accepted"


# ---------------------------------------------------------------- Streak pipelines


def test_a_box_of_another_pipeline_is_kept_as_ignored_and_runs_nothing(client):
    pair, token = streak_pair(pipeline_key="p1")
    other = BOX | {"pipelineKey": "p2"}
    reply = client.post(
        f"/hooks/{pair.slug}/{token}/?event=BOX_CHANGE_STAGE", [other], "application/json"
    )
    assert reply.status_code == 200
    event = InboundEvent.objects.get()
    assert event.status == "ignored"
    assert "not of the connection's pipeline p1" in event.error
    assert not SyncRun.objects.exists()
    assert (
        "trigger_pipeline_key"
        not in FlowConfig.objects.get(pair=pair, flow="deal_won_to_sales_order").options
    )


@pytest.fixture
def runs_inline(monkeypatch) -> None:
    monkeypatch.setattr("django_q.conf.Conf.SYNC", True)


def test_a_forged_delivery_cannot_move_the_won_deal_flow_to_another_pipeline(
    client, streak_sandbox, sage100_sandbox, runs_inline
):
    crm = shared.streak_connection(streak_sandbox)  # the Sales pipeline
    erp = shared.sage100_connection(sage100_sandbox)
    pair, token = shared.make_pair("Acme deals", crm, erp, "deal_won_to_sales_order")
    shared.eur_rate(pair)
    services_box = shared.won_clone(streak_sandbox, "SAL-1005", "SVC-9001")
    streak_sandbox.app.store.put(
        "boxes",
        services_box["key"],
        streak_sandbox.app.store.get("boxes", services_box["key"])
        | {"pipelineKey": streak_data.SERVICES["key"]},
    )
    claimed_ours = services_box | {"pipelineKey": streak_data.SALES["key"]}

    reply = shared.deliver_streak(client, pair, token, claimed_ours)
    assert reply.status_code == 200
    run = SyncRun.objects.get(pair=pair, entity_key=services_box["key"])
    assert "another pipeline" in run.summary and "nothing was written" in run.summary
    sage = connector_for(erp)
    assert not shared.orders_for(sage, "SVC-9001")
    options = FlowConfig.objects.get(pair=pair, flow="deal_won_to_sales_order").options
    assert options.get("trigger_pipeline_key") == streak_data.SALES["key"]

    _, won = shared.win_box(client, streak_sandbox, pair, token, "SAL-1005")
    won.refresh_from_db()
    assert won.status == SyncRun.Status.SUCCEEDED, won.error_message
    assert shared.orders_for(sage, "SAL-1005")


# ---------------------------------------------------------------- Salesforce's org


@pytest.fixture
def tested_salesforce(salesforce, sage100_sandbox):
    """The sandbox connection after its Test, which records the org it signs in to."""
    assert check_connection(salesforce).ok
    salesforce.refresh_from_db()
    return salesforce


def test_a_test_keeps_the_org_id_in_the_connections_settings(tested_salesforce):
    assert tested_salesforce.settings["org_id"] == ORG_ID


def test_an_outbound_message_from_another_org_is_refused_and_kept(client, tested_salesforce):
    pair = IntegrationPairFactory(name="Acme Salesforce", crm=tested_salesforce)
    token = pair.rotate_webhook_token()
    pair.save()
    hook = f"/hooks/{pair.slug}/{token}/"
    for number, org in enumerate((ORG_ID, ORG_ID[:15]), start=1):  # both forms: one org
        body = outbound_message(org, notification_id=f"04lDn000000000{number}IAA")
        reply = client.post(hook, body, content_type="text/xml")
        assert reply.status_code == 200 and b"<Ack>true</Ack>" in reply.content

    reply = client.post(hook, outbound_message(OTHER_ORG), content_type="text/xml")
    assert reply.status_code == 403
    assert f"from Salesforce org {OTHER_ORG}" in reply.content.decode()
    kept = InboundEvent.objects.get(pair=pair, status="invalid")
    assert f"the connection is signed in to org {ORG_ID}" in kept.error
    assert InboundEvent.objects.filter(pair=pair).exclude(status="invalid").count() == 2
    assert not SyncRun.objects.filter(event=kept).exists()


def test_an_org_not_known_yet_takes_messages_unchecked_and_says_so(client, caplog):
    """Connections tested before this check have no org id until their next Test: their
    Outbound Messages are not stopped, and the log says how to switch the check on."""
    pair, token = salesforce_pair()
    reply = client.post(f"/hooks/{pair.slug}/{token}/", outbound_message(OTHER_ORG), "text/xml")
    assert reply.status_code == 200
    assert InboundEvent.objects.get().status != "invalid"
    assert "Test the connection to record it" in caplog.text
