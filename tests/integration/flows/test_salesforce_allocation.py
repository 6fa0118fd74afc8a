"""Salesforce's daily API allocation, read from `Sforce-Limit-Info` on every reply: once it is
spent a won deal's run is parked with the reason on it and no call goes out; the run looks
again at most every ten minutes and goes through once the org's usage has dropped."""

from datetime import timedelta

import pytest
from django.utils import timezone

from connectors.errors import RateLimited
from connectors.models import Connection
from connectors.services import connector_for
from flows.models import SyncRun
from flows.runner import execute_run
from tests.won_deals import open_usd_opportunity, orders_for, salesforce_reading_aged

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("runs_inline")]


def next_attempt(run: SyncRun) -> SyncRun:
    """Its retry falls due and a worker takes it, as the queue would ring for it."""
    SyncRun.objects.filter(pk=run.pk).update(next_attempt_at=timezone.now())
    execute_run(run.pk)
    run.refresh_from_db()
    return run


def test_a_spent_allocation_parks_the_run_until_salesforce_has_room_again(
    client, salesforce_sandbox, salesforce_pair
):
    pair, token = salesforce_pair
    salesforce, sage = connector_for(pair.crm), connector_for(pair.erp)
    opportunity = open_usd_opportunity(salesforce)
    salesforce.update("Opportunity", opportunity["Id"], {"StageName": "Closed Won"}, "test-won")
    outbound = salesforce_sandbox.app.outbound
    [message] = [m for m in outbound.messages() if m["opportunity_id"] == opportunity["Id"]]
    envelope = outbound.envelope(
        message["id"], salesforce_sandbox.app.opportunity(opportunity["Id"])
    )
    limits = salesforce_sandbox.app.limits
    salesforce_sandbox.app.apply_settings({"api_limit": 40, "api_used": 40})
    with pytest.raises(RateLimited):  # Salesforce refuses, and its reply says 40/40
        connector_for(Connection.objects.get(pk=pair.crm_id)).get("Opportunity", opportunity["Id"])

    reply = client.post(f"/hooks/{pair.slug}/{token}/", data=envelope, content_type="text/xml")

    assert reply.status_code == 200
    run = SyncRun.objects.get(pair=pair, entity_key=opportunity["Id"])
    assert run.status == SyncRun.Status.RETRY_SCHEDULED
    assert run.error_message.startswith(
        "Salesforce's daily API allocation is spent (40/40): waiting"
    ), run.error_message
    assert timedelta(minutes=9) < run.next_attempt_at - timezone.now() <= timedelta(minutes=10)

    salesforce_sandbox.app.apply_settings({"api_used": 0})  # the rolling window frees up
    run = next_attempt(run)  # too soon to look again: no call is spent on looking
    assert run.status == SyncRun.Status.RETRY_SCHEDULED
    assert limits.usage() == (0, 40)

    salesforce_reading_aged(pair.crm, minutes=11)
    run = next_attempt(run)

    assert run.status == SyncRun.Status.SUCCEEDED, run.error_message
    assert len(orders_for(sage, opportunity["ExternalID__c"] or opportunity["Id"])) == 1
    used, _ = limits.usage()
    assert Connection.objects.get(pk=pair.crm_id).settings["api_usage"]["used"] == used > 0
