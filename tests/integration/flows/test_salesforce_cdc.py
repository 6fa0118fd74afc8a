"""Salesforce Change Data Capture into Sage 100 orders: the sandbox's Pub/Sub API over real
gRPC, the subscriber's followers in threads of this process, real qcluster workers doing the
runs, and Outbound Messages switched off, so change events are the only way in."""

import time
from collections.abc import Callable, Iterator
from datetime import timedelta

import pytest
from django.utils import timezone

from connectors.models import Connection, IntegrationPair
from connectors.services import check_connection, connector_for
from flows.models import InboundEvent, StreamPosition, SyncRun, Watermark
from flows.subscribers import StreamFollower
from monitoring.alerts.evaluation import evaluate
from monitoring.models import AlertIncident, AlertRule
from tests import won_deals
from tests.integration.sandbox.salesforce_client import connect, control, https_session
from tests.qcluster import kill_qcluster, start_qcluster

pytestmark = pytest.mark.django_db(transaction=True)

OPPORTUNITY_TOPIC, REQUEST_CHANNEL = "/data/OpportunityChangeEvent", "/event/Sage_Order_Request__e"
FAST_RETRIES = {"CLARITY_RETRY_BASE_SECONDS": "0.2", "CLARITY_RETRY_CAP_SECONDS": "1"}
UNUSABLE_CODES = {"WIDGET-140", "GADGET-229", "WIDGET-999", "GADGET-998"}


def wait_for(predicate: Callable[[], object], timeout: float, every: float = 0.1) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(every)
    return bool(predicate())


def open_opportunities(salesforce, count: int) -> list[dict]:
    """Open USD opportunities under the approval threshold selling items Sage 100 has."""
    soql = (
        "SELECT Id, ExternalID__c, (SELECT ProductCode FROM OpportunityLineItems) FROM "
        "Opportunity WHERE IsClosed = false AND CurrencyIsoCode = 'USD' AND Amount < 10000"
    )
    found = [
        row for row in salesforce.query(soql)
        if (codes := {line["ProductCode"] for line in row["OpportunityLineItems"]["records"]})
        and not codes & UNUSABLE_CODES
    ]  # fmt: skip
    return found[:count]


@pytest.fixture
def cdc_pair(salesforce_sandbox, sage100_sandbox) -> IntegrationPair:
    """Salesforce (with its Pub/Sub address and the order-request channel) → Sage 100, the
    won-deal flow on, Outbound Messages off, keepalives every 0.2 s."""
    control(salesforce_sandbox, "outbound-messages", {"enabled": False})
    control(salesforce_sandbox, "pubsub", {"keepalive_seconds": 0.2, "idle_close_seconds": 1})
    crm = Connection.objects.create(
        name="Salesforce CDC",
        system="salesforce",
        settings={
            "login_url": salesforce_sandbox.url, "auth_flow": "client_credentials",
            "client_id": "sandbox-client", "api_version": "59.0",
            "ca_bundle": str(salesforce_sandbox.app.data_dir / "salesforce-cert.pem"),
            "pubsub_address": salesforce_sandbox.app.pubsub_address,
            "platform_event_channel": REQUEST_CHANNEL,
        },
        secrets={"client_secret": "sandbox-secret"},
    )  # fmt: skip
    erp = won_deals.sage100_connection(sage100_sandbox)
    pair, _token = won_deals.make_pair("Salesforce CDC Sage 100", crm, erp,
                                       "deal_won_to_sales_order")  # fmt: skip
    return pair


@pytest.fixture
def follow(cdc_pair) -> Iterator[Callable[..., list[StreamFollower]]]:
    """Start followers of the pair's CRM topics (as `run_subscribers` does, in threads) and
    wait until each has stored a position; all are stopped at the end."""
    started: list[StreamFollower] = []

    def start(*topics: str) -> list[StreamFollower]:
        streams = [s for s in connector_for(cdc_pair.crm).streams() if s.topic in topics]
        followers = [StreamFollower(cdc_pair.crm_id, stream) for stream in streams]
        for follower in followers:
            follower.start()
        started.extend(followers)
        positions = StreamPosition.objects.filter(connection=cdc_pair.crm, topic__in=topics)
        assert wait_for(lambda: positions.exclude(position="").count() == len(topics), 10)
        return followers

    yield start
    stop(started)


def stop(followers: list[StreamFollower]) -> None:
    for follower in followers:
        follower.stopping.set()
    for follower in followers:
        follower.join(10)
        assert not follower.is_alive(), f"{follower.name} did not stop"


@pytest.fixture
def workers(client, cdc_pair) -> Iterator[None]:
    cluster = start_qcluster(2, **FAST_RETRIES)
    try:
        assert wait_for(lambda: client.get("/readyz").status_code == 200, 60, every=0.5)
        yield
    finally:
        kill_qcluster(cluster)


@pytest.fixture
def sage(cdc_pair):
    return connector_for(cdc_pair.erp)


def one_order(sage, pair: IntegrationPair, opportunity: dict, timeout: float = 30) -> dict:
    """The single Sage order made for the opportunity, by its single succeeded run."""
    reference = opportunity["ExternalID__c"]
    runs = SyncRun.objects.filter(pair=pair, entity_key=opportunity["Id"])
    assert wait_for(lambda: runs.filter(status=SyncRun.Status.SUCCEEDED).exists(), timeout)
    assert runs.count() == 1
    [order] = won_deals.orders_for(sage, reference)
    return order


def test_an_opportunity_won_in_salesforce_becomes_one_sage_order_within_5_seconds(
    cdc_pair, follow, workers, sage, salesforce_sandbox
):
    follow(OPPORTUNITY_TOPIC)
    salesforce = connector_for(cdc_pair.crm)
    [opportunity] = open_opportunities(salesforce, 1)
    user = connect(salesforce_sandbox)  # a Salesforce user's own client, not ours

    started = time.monotonic()
    user.Opportunity.update(opportunity["Id"], {"StageName": "Closed Won"})
    assert wait_for(lambda: won_deals.orders_for(sage, opportunity["ExternalID__c"]), 5)
    assert time.monotonic() - started < 5

    order = one_order(sage, cdc_pair, opportunity)
    assert wait_for(
        lambda: salesforce.get("Opportunity", opportunity["Id"]).get("Sage_Order_No__c"), 10
    )
    assert (
        salesforce.get("Opportunity", opportunity["Id"])["Sage_Order_No__c"]
        == (order["SalesOrderNo"])
    )
    time.sleep(1.5)  # keepalives every 0.2 s: the write-back's change event has come and gone
    [event] = InboundEvent.objects.filter(pair=cdc_pair, entity_key=opportunity["Id"])
    assert event.source == "stream" and event.kind == "ChangeEvent:Opportunity"
    assert event.payload["fields"]["StageName"] == "Closed Won"
    assert SyncRun.objects.filter(pair=cdc_pair).count() == 1


def test_our_own_writes_are_not_taken_in_but_a_users_are(cdc_pair, follow, salesforce_sandbox):
    follow(OPPORTUNITY_TOPIC)
    ours, theirs = open_opportunities(connector_for(cdc_pair.crm), 2)

    connector_for(cdc_pair.crm).update("Opportunity", ours["Id"], {"Description": "Sage: 7"}, "k")
    connect(salesforce_sandbox).Opportunity.update(theirs["Id"], {"Description": "Call back"})

    events = InboundEvent.objects.filter(pair=cdc_pair)
    assert wait_for(lambda: events.filter(entity_key=theirs["Id"]).exists(), 5)
    time.sleep(1)
    assert list(events.values_list("entity_key", "status")) == [
        (theirs["Id"], InboundEvent.Status.IGNORED)  # no stage change: no flow wants it
    ]


@pytest.mark.parametrize(
    "fault", ["unavailable", "reset", "redeliver", "schema_change", "expire_token"]
)
def test_the_stream_survives_each_fault_and_stores_every_change_once(
    cdc_pair, follow, salesforce_sandbox, fault
):
    follow(OPPORTUNITY_TOPIC)
    first, second = open_opportunities(connector_for(cdc_pair.crm), 2)
    knobs = f"{salesforce_sandbox.url}/_control/pubsub"

    control(salesforce_sandbox, "pubsub", {"fault": fault})
    pending = https_session(salesforce_sandbox).get
    assert wait_for(lambda: pending(knobs, timeout=5).json()["fault"] is None, 10)  # taken
    user = connect(salesforce_sandbox)  # after expire_token, too, a user signs in again
    user.Opportunity.update(first["Id"], {"Description": f"After {fault}"})
    user.Opportunity.update(second["Id"], {"Description": f"After {fault}, too"})

    events = InboundEvent.objects.filter(pair=cdc_pair, source="stream")
    assert wait_for(lambda: events.count() >= 2, 15)
    time.sleep(1)  # a redelivery would be in by now
    assert sorted(events.values_list("entity_key", flat=True)) == sorted(
        [first["Id"], second["Id"]]
    )
    assert events.get(entity_key=second["Id"]).payload["fields"]["Description"] == (
        f"After {fault}, too"
    )


def test_a_change_hidden_by_a_gap_is_read_again_and_becomes_one_order(
    cdc_pair, follow, workers, sage, salesforce_sandbox
):
    follow(OPPORTUNITY_TOPIC)
    salesforce = connector_for(cdc_pair.crm)
    [opportunity] = open_opportunities(salesforce, 1)
    # Written through our own client, its change event is dropped as ours: the stand-in for
    # a change Salesforce could not send, of which a GAP_UPDATE tells.
    salesforce.update("Opportunity", opportunity["Id"], {"StageName": "Closed Won"}, "k")
    assert not InboundEvent.objects.filter(pair=cdc_pair).exists()

    control(salesforce_sandbox, "pubsub", {"fault": "gap"})

    one_order(sage, cdc_pair, opportunity)
    [event] = InboundEvent.objects.filter(pair=cdc_pair, entity_key=opportunity["Id"])
    assert event.payload["gap"] is True
    assert event.payload["header"]["changeType"] == "GAP_UPDATE"
    assert event.payload["fields"]["StageName"] == "Closed Won"  # read over REST


def test_an_overflow_has_the_polls_read_the_changes_again(
    cdc_pair, follow, workers, sage, salesforce_sandbox
):
    [opportunity] = open_opportunities(connector_for(cdc_pair.crm), 1)
    # Won before the stream was ever followed: a first subscription starts at the newest
    # event, so only a poll can find this change.
    connect(salesforce_sandbox).Opportunity.update(opportunity["Id"], {"StageName": "Closed Won"})
    follow(OPPORTUNITY_TOPIC)
    overflowed_at = timezone.now()

    control(salesforce_sandbox, "pubsub", {"fault": "overflow"})

    one_order(sage, cdc_pair, opportunity)
    [event] = InboundEvent.objects.filter(pair=cdc_pair, entity_key=opportunity["Id"])
    assert event.source == "poll"
    mark = Watermark.objects.get(pair=cdc_pair, flow="deal_won_to_sales_order")
    assert mark.value["polled_at"] > (overflowed_at - timedelta(seconds=1)).isoformat()


def test_an_expired_position_starts_again_from_the_newest_event_alerts_and_polls_the_gap(
    cdc_pair, follow, workers, sage, salesforce_sandbox
):
    rule = AlertRule.objects.create(name="Connections", kind=AlertRule.Kind.CONNECTION_FAILING)
    missed, later = open_opportunities(connector_for(cdc_pair.crm), 2)
    user = connect(salesforce_sandbox)
    stop(follow(OPPORTUNITY_TOPIC))  # the subscriber is down…
    user.Opportunity.update(missed["Id"], {"StageName": "Closed Won"})
    control(salesforce_sandbox, "pubsub", {"advance_hours": 73})  # …for longer than kept

    follow(OPPORTUNITY_TOPIC)

    positions = StreamPosition.objects.filter(connection=cdc_pair.crm, topic=OPPORTUNITY_TOPIC)
    assert wait_for(lambda: positions.filter(lost_at__isnull=False).exists(), 10)
    [position] = positions
    assert "could not resume the stream /data/OpportunityChangeEvent" in position.note
    assert "polling reads the changes since" in position.note
    one_order(sage, cdc_pair, missed)  # read by the poll
    cdc_pair.crm.refresh_from_db()
    assert cdc_pair.crm.status == Connection.Status.FAILING
    assert cdc_pair.crm.last_error == position.note
    evaluate()
    [incident] = AlertIncident.objects.filter(rule=rule)
    assert incident.subject.startswith("Salesforce CDC is failing")
    assert "started again from the newest event" in incident.body

    user.Opportunity.update(later["Id"], {"StageName": "Closed Won"})  # the stream goes on
    one_order(sage, cdc_pair, later)
    won = InboundEvent.objects.filter(pair=cdc_pair, entity_key=later["Id"], status="accepted")
    assert [event.source for event in won] == ["stream"]


def test_a_position_older_than_salesforce_keeps_events_is_not_tried(cdc_pair, follow):
    stop(follow(OPPORTUNITY_TOPIC))
    positions = StreamPosition.objects.filter(connection=cdc_pair.crm, topic=OPPORTUNITY_TOPIC)
    positions.update(updated_at=timezone.now() - timedelta(hours=71))

    follow(OPPORTUNITY_TOPIC)

    assert wait_for(lambda: positions.filter(lost_at__isnull=False).exists(), 10)
    [position] = positions
    assert "more than the 70 hours a resume is safe for" in position.note
    mark = Watermark.objects.get(pair=cdc_pair, flow="deal_won_to_sales_order")
    cursor = mark.cursor("Opportunity")
    assert timezone.now() - cursor.since > timedelta(hours=71)


def test_a_platform_event_asking_for_an_order_makes_one(
    cdc_pair, follow, workers, sage, salesforce_sandbox
):
    follow(OPPORTUNITY_TOPIC, REQUEST_CHANNEL)
    salesforce = connector_for(cdc_pair.crm)
    [opportunity] = open_opportunities(salesforce, 1)
    salesforce.update("Opportunity", opportunity["Id"], {"StageName": "Closed Won"}, "k")  # ours

    payload = {"Record_Id__c": opportunity["Id"], "Action__c": "create_order"}
    control(salesforce_sandbox, "pubsub/publish", {"topic": REQUEST_CHANNEL, "payload": payload})

    one_order(sage, cdc_pair, opportunity)
    event = InboundEvent.objects.get(pair=cdc_pair, entity_key=opportunity["Id"])
    assert event.kind == "PlatformEvent" and event.payload["event"]["Action__c"] == "create_order"


def test_the_connection_test_says_whether_the_pubsub_api_answers(cdc_pair, salesforce_sandbox):
    connection = cdc_pair.crm
    answering = check_connection(connection)
    connection.settings = {**connection.settings, "pubsub_address": "127.0.0.1:1"}
    connection.save()
    silent = check_connection(connection)

    address = salesforce_sandbox.app.pubsub_address
    assert answering.ok, answering.message
    assert f"The Pub/Sub API at {address} answers: {OPPORTUNITY_TOPIC}" in answering.message
    assert not silent.ok
    assert "But the Pub/Sub API at 127.0.0.1:1 did not answer" in silent.message
    connection.refresh_from_db()
    assert connection.status == Connection.Status.FAILING
