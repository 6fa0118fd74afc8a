"""Order keyed in Sage → CRM deal, the deal complete: the Streak box carries the order's
date in Expected Close Date, and the Salesforce opportunity the order's lines (through the
products' standard price book entries), so winning it passes the won-deal flow and makes no
second Sage order. Against the Sage 100, Streak and Salesforce sandboxes."""

from datetime import date
from decimal import Decimal

import pytest

from connectors.services import connector_for
from flows.models import ExternalLink, SyncRun
from tests import won_deals as shared
from tests.integration.flows.polling import poll_now
from tests.integration.flows.test_sage_order_to_deal import (
    FLOW,
    bind_customer,
    boxes_for,
    key_order_in_sage,
    switch_on,
)

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("runs_inline")]


def test_the_streak_box_gets_the_orders_date_as_its_expected_close_date(
    streak, sage100, streak_sandbox
):
    pair, _ = shared.make_pair("Streak Sage 100", streak, sage100, FLOW)
    switch_on(pair)
    organization = connector_for(streak).create("Organization", {"name": "Morrison"}, "org")
    bind_customer(pair, organization["key"])
    poll_now(pair, FLOW)
    order_no = key_order_in_sage(sage100, "close-date")
    poll_now(pair, FLOW)
    [box] = boxes_for(streak, order_no)
    made_on = connector_for(sage100).order_seen(order_no).made_on
    assert box["fieldsByName"]["Expected Close Date"] in (made_on, made_on.isoformat())


def opportunity_lines(crm, opportunity_id: str) -> list[tuple[str, Decimal, Decimal]]:
    rows = crm.query(
        "SELECT ProductCode, Quantity, UnitPrice FROM OpportunityLineItem "
        f"WHERE OpportunityId = '{opportunity_id}'"
    )
    return [(r["ProductCode"], Decimal(str(r["Quantity"])), Decimal(str(r["UnitPrice"])))
            for r in rows]  # fmt: skip


def test_the_opportunity_gets_the_orders_lines_and_winning_it_makes_no_second_order(
    client, salesforce_sandbox, salesforce_pair
):
    pair, token = salesforce_pair
    shared.without_anomaly_checks(pair)
    switch_on(pair)
    crm, sage = connector_for(pair.crm), connector_for(pair.erp)
    [account] = crm.query("SELECT Id, Name FROM Account ORDER BY Name LIMIT 1")
    bind_customer(pair, account["Id"])
    poll_now(pair, FLOW)
    order_no = key_order_in_sage(pair.erp, "lines")
    poll_now(pair, FLOW)
    poll_now(pair, FLOW)  # a retry of the same order adds no second set of lines

    [opportunity] = crm.search("Opportunity", Sage_Order_No__c=order_no)
    [line] = sage.document_lines("sales_order", order_no)
    assert opportunity_lines(crm, opportunity["Id"]) == [
        ("WIDGET-100", Decimal(3), line.unit_price)
    ]
    assert Decimal(str(opportunity["Amount"])) == sage.order_seen(order_no).net_total
    assert date.fromisoformat(opportunity["CloseDate"]) == sage.order_seen(order_no).made_on

    orders_before = sage.search("sales_order", CustomerNo="MORRISON")
    crm.update("Opportunity", opportunity["Id"], {"StageName": "Closed Won"}, "won")
    outbound = salesforce_sandbox.app.outbound
    [message] = [m for m in outbound.messages() if m["opportunity_id"] == opportunity["Id"]]
    body = outbound.envelope(message["id"], salesforce_sandbox.app.opportunity(opportunity["Id"]))
    reply = client.post(f"/hooks/{pair.slug}/{token}/", data=body, content_type="text/xml")
    assert reply.status_code == 200, reply.content
    run = SyncRun.objects.get(pair=pair, entity_key=opportunity["Id"])
    assert run.status == SyncRun.Status.SUCCEEDED, run.error_message
    assert sage.search("sales_order", CustomerNo="MORRISON") == orders_before
    made = run.steps.get(name="sales_order").output
    assert made["sales_order_no"] == order_no
    link = ExternalLink.objects.get(pair=pair, entity="sales_order", sage_id=order_no)
    assert link.crm_id == opportunity["Id"]
