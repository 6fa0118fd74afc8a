"""`manage.py run_subscribers` as production runs it, a process of its own beside real qcluster
workers: killed outright in the middle of a stream of Salesforce changes and started again,
it misses none and stores none twice; told to stop, it stops within seconds."""

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection

from connectors.models import Connection
from connectors.services import connector_for
from flows.models import InboundEvent, StreamPosition, SyncRun
from tests import won_deals
from tests.integration.sandbox.salesforce_client import connect, control
from tests.reliability.conftest import settle, wait_for

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.xdist_group("reliability")]

TOPICS = ("/data/OpportunityChangeEvent", "/data/OrderChangeEvent", "/data/AccountChangeEvent")
UNUSABLE_CODES = {"WIDGET-140", "GADGET-229", "WIDGET-999", "GADGET-998"}


def start_subscribers(log: Path) -> subprocess.Popen:
    """`manage.py run_subscribers` on this test's database, leading its own process group."""
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{connection.settings_dict['NAME']}"}
    return subprocess.Popen(
        [sys.executable, "manage.py", "run_subscribers", "--look-every", "0.5"],
        cwd=settings.BASE_DIR, env=env, stdout=log.open("ab"), stderr=subprocess.STDOUT,
        start_new_session=True,
    )  # fmt: skip


def following(crm: Connection) -> bool:
    """Every topic of the connection has a stored position."""
    positions = StreamPosition.objects.filter(connection=crm, topic__in=TOPICS)
    return positions.exclude(position="").count() == len(TOPICS)


@pytest.fixture
def cdc_pair(salesforce_sandbox, sage100_sandbox):
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
            "won_deal_sources": "both",  # so the Order channel is followed too
        },
        secrets={"client_secret": "sandbox-secret"},
    )  # fmt: skip
    erp = won_deals.sage100_connection(sage100_sandbox)
    pair, _ = won_deals.make_pair("Salesforce CDC Sage 100", crm, erp, "deal_won_to_sales_order")
    return pair


def test_a_subscriber_killed_mid_stream_and_started_again_misses_and_duplicates_nothing(
    start_cluster, cdc_pair, salesforce_sandbox, tmp_path
):
    salesforce, sage = connector_for(cdc_pair.crm), connector_for(cdc_pair.erp)
    rows = list(salesforce.query(
        "SELECT Id, ExternalID__c, IsClosed, CurrencyIsoCode, Amount, "
        "(SELECT ProductCode FROM OpportunityLineItems) FROM Opportunity ORDER BY Id"
    ))  # fmt: skip
    to_win = [
        row for row in rows
        if not row["IsClosed"] and row["CurrencyIsoCode"] == "USD" and row["Amount"] < 10000
        and (codes := {line["ProductCode"] for line in row["OpportunityLineItems"]["records"]})
        and not codes & UNUSABLE_CODES
    ][:6]  # fmt: skip
    edited = [row for row in rows if row not in to_win][:15]
    # 60 changes by a Salesforce user: four edits of each of 15 opportunities, six wins among them.
    changes = [(row["Id"], {"Description": f"Call {n} about {row['Id']}"})
               for n in range(4) for row in edited]  # fmt: skip
    for number, row in enumerate(to_win):
        changes.insert(10 * number + 5, (row["Id"], {"StageName": "Closed Won"}))
    log = tmp_path / "subscribers.log"
    start_cluster()
    subscriber = start_subscribers(log)
    assert wait_for(lambda: following(cdc_pair.crm), timeout=30), log.read_text()

    def make_changes() -> None:
        user = connect(salesforce_sandbox)
        for record_id, values in changes:
            user.Opportunity.update(record_id, values)
            time.sleep(0.05)

    writer = threading.Thread(target=make_changes)
    writer.start()
    stored = InboundEvent.objects.filter(pair=cdc_pair, source="stream",
                                         kind="ChangeEvent:Opportunity")  # fmt: skip
    assert wait_for(lambda: stored.count() >= 15, timeout=30), log.read_text()
    os.killpg(subscriber.pid, signal.SIGKILL)  # mid-stream: changes keep coming meanwhile
    subscriber.wait(timeout=10)
    killed_at = stored.count()
    time.sleep(1)
    subscriber = start_subscribers(log)
    try:
        writer.join(timeout=60)
        assert wait_for(lambda: stored.count() >= len(changes), timeout=30), log.read_text()
        time.sleep(1)  # anything stored twice would be in by now

        assert killed_at < len(changes)
        assert stored.count() == len(changes)
        assert stored.values("dedupe_key").distinct().count() == len(changes)
        for row in to_win:
            [run] = settle(lambda row=row: list(SyncRun.objects.filter(entity_key=row["Id"])), 60)
            assert run.status == SyncRun.Status.SUCCEEDED, run.error_message
            assert len(won_deals.orders_for(sage, row["ExternalID__c"])) == 1
        assert SyncRun.objects.filter(pair=cdc_pair).count() == len(to_win)
    finally:
        os.killpg(subscriber.pid, signal.SIGKILL)
        subscriber.wait(timeout=10)


def test_sigterm_stops_the_subscribers_within_seconds(cdc_pair, tmp_path):
    log = tmp_path / "subscribers.log"
    subscriber = start_subscribers(log)
    try:
        assert wait_for(lambda: following(cdc_pair.crm), timeout=30), log.read_text()
        started = time.monotonic()
        subscriber.send_signal(signal.SIGTERM)
        assert subscriber.wait(timeout=10) == 0, log.read_text()
        assert time.monotonic() - started < 5
    finally:
        if subscriber.poll() is None:
            os.killpg(subscriber.pid, signal.SIGKILL)
            subscriber.wait(timeout=10)
