"""Salesforce won deals by polling instead of Outbound Messages: an opportunity moved to
Closed Won is found by the poller and becomes one Sage 100 order; our own write-back of the
order number changes the opportunity again, and that change starts no second run."""

import pytest
from django.utils import timezone

from connectors.services import connector_for
from flows.models import FlowConfig, InboundEvent, SyncRun, Watermark
from flows.polling import poll
from tests.won_deals import open_usd_opportunity, orders_for

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("runs_inline")]


def test_an_opportunity_won_in_salesforce_is_polled_into_one_order(salesforce_pair):
    pair, _token = salesforce_pair
    config = FlowConfig.objects.get(pair=pair, flow="deal_won_to_sales_order")
    config.trigger = FlowConfig.Trigger.POLL
    config.save()
    Watermark.objects.create(  # only changes from now on, not the seed's
        pair=pair, flow=config.flow, value={"feeds": {"Opportunity": timezone.now().isoformat()}}
    )
    salesforce, sage = connector_for(pair.crm), connector_for(pair.erp)
    opportunity = open_usd_opportunity(salesforce)
    salesforce.update("Opportunity", opportunity["Id"], {"StageName": "Closed Won"}, "test-won")

    first = poll(config)

    assert first.runs == 1
    run = SyncRun.objects.get(pair=pair)
    assert run.entity_key == opportunity["Id"]
    assert run.status == SyncRun.Status.SUCCEEDED, run.error_message
    [order] = orders_for(sage, opportunity["ExternalID__c"] or opportunity["Id"])
    assert (
        salesforce.get("Opportunity", opportunity["Id"])["Sage_Order_No__c"]
        == (order["SalesOrderNo"])
    )

    again = poll(config)  # the write-back changed the opportunity: read, but no new run

    assert again.read >= 1 and again.runs == 0
    assert InboundEvent.objects.filter(pair=pair, status=InboundEvent.Status.IGNORED).exists()
    assert SyncRun.objects.filter(pair=pair).count() == 1
    assert len(orders_for(sage, opportunity["ExternalID__c"] or opportunity["Id"])) == 1
