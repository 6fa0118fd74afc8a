"""Order keyed in Sage → CRM deal against the Sage 100, Streak and Salesforce sandboxes: an
order keyed for a bound customer becomes one deal on its organization or account, bound to
the order, and moving that deal to won makes no second Sage order."""

from decimal import Decimal

import pytest

from connectors.services import connector_for
from flows.models import ExternalLink, FlowConfig, SyncRun
from sandbox.streak import data as streak_data
from tests import won_deals as shared
from tests.integration.flows.polling import poll_now

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("runs_inline")]
FLOW = "sage_order_to_deal"
CUSTOMER = "00-MORRISON"


def switch_on(pair, **options) -> None:
    FlowConfig.objects.filter(pair=pair, flow=FLOW).update(
        enabled=True, trigger=FlowConfig.Trigger.POLL, options=options
    )


def bind_customer(pair, crm_key: str) -> None:
    """What Customer sync or a won deal records: the Sage customer is this CRM record's."""
    ExternalLink.objects.create(pair=pair, entity="customer", crm_id=crm_key, sage_id=CUSTOMER)


def key_order_in_sage(sage100, name: str) -> str:
    """An order keyed by a Sage user: no deal named on it."""
    order = connector_for(sage100).create(
        "sales_order",
        {"ARDivisionNo": "00", "CustomerNo": "MORRISON",
         "lines": [{"ItemCode": "WIDGET-100", "QuantityOrdered": 3}]},
        f"keyed-{name}",
    )  # fmt: skip
    return order["SalesOrderNo"]


def boxes_for(streak, order_no: str) -> list[dict]:
    return connector_for(streak).search("Box", **{"Sage Order No": order_no})


def test_an_order_keyed_in_sage_becomes_one_streak_box_and_winning_it_makes_no_second_order(
    client, streak_sandbox, sage100_pair, sage
):
    pair, token = sage100_pair
    shared.without_anomaly_checks(pair)
    switch_on(pair, deal_stage="Qualified")
    streak = connector_for(pair.crm)
    organization = streak.create("Organization", {"name": "Morrison Hardware Co"}, "org")
    bind_customer(pair, organization["key"])
    poll_now(pair, FLOW)  # what was there before is looked at now, not again
    order_no = key_order_in_sage(pair.erp, "streak")
    poll_now(pair, FLOW)

    [box] = boxes_for(pair.crm, order_no)
    assert box["name"] == f"SO {order_no} · Morrison Hardware Co"
    assert box["stageName"] == "Qualified"
    seen = sage.order_seen(order_no)
    assert seen.net_total > 0
    assert Decimal(box["fieldsByName"]["Amount"]) == seen.net_total
    [line] = sage.document_lines("sales_order", order_no)
    assert box["fieldsByName"]["Products"] == f"WIDGET-100 x 3 @ {line.unit_price:.2f}"
    raw = shared.raw_box(streak_sandbox, box["key"])
    assert [org["key"] for org in raw["organizations"]] == [organization["key"]]
    assert (
        ExternalLink.objects.get(pair=pair, entity="sales_order", sage_id=order_no).crm_id
        == (box["key"])
    )

    poll_now(pair, FLOW)  # the order's later changes make no second deal
    assert len(boxes_for(pair.crm, order_no)) == 1
    assert SyncRun.objects.filter(pair=pair, flow_config__flow=FLOW).count() == 1

    orders_before = sage.search("sales_order", CustomerNo="MORRISON")
    shared.move_box(streak_sandbox, box["key"], "5001")
    won = shared.move_box(streak_sandbox, box["key"], streak_data.CLOSED_WON)
    reply = shared.deliver_streak(client, pair, token, won)
    assert reply.status_code == 200, reply.content
    run = SyncRun.objects.get(pair=pair, entity_key=box["key"])
    assert sage.search("sales_order", CustomerNo="MORRISON") == orders_before
    run.refresh_from_db()
    assert run.status == SyncRun.Status.SUCCEEDED, run.error_message
    made = run.steps.get(name="sales_order").output
    assert (made["sales_order_no"], made["how"]) == (order_no, "found (made by an earlier attempt)")


def test_an_order_of_a_customer_bound_to_nothing_makes_no_deal_and_says_why(
    streak, sage100, streak_sandbox
):
    pair, _ = shared.make_pair("Streak Sage 100", streak, sage100, FLOW)
    switch_on(pair)
    poll_now(pair, FLOW)
    order_no = key_order_in_sage(sage100, "unbound")
    poll_now(pair, FLOW)
    assert boxes_for(streak, order_no) == []
    run = SyncRun.objects.get(pair=pair, entity_key=f"sales_order:{order_no}")
    assert "bound to no Streak record" in run.summary
    assert "Bind the customer on the Bindings page" in run.summary


def test_an_order_keyed_in_sage_becomes_a_salesforce_opportunity_on_the_account(
    salesforce, sage100, salesforce_sandbox
):
    pair, _ = shared.make_pair("Salesforce Sage 100", salesforce, sage100, FLOW)
    switch_on(pair)
    crm = connector_for(salesforce)
    [account] = crm.query("SELECT Id, Name FROM Account ORDER BY Name LIMIT 1")
    bind_customer(pair, account["Id"])
    poll_now(pair, FLOW)
    order_no = key_order_in_sage(sage100, "salesforce")
    poll_now(pair, FLOW)
    poll_now(pair, FLOW)

    [opportunity] = crm.search("Opportunity", Sage_Order_No__c=order_no)
    assert opportunity["AccountId"] == account["Id"]
    assert opportunity["Name"] == f"SO {order_no} · {account['Name']}"
    assert opportunity["StageName"] == crm.deal_stages()[0]
    assert (
        Decimal(str(opportunity["Amount"])) == connector_for(sage100).order_seen(order_no).net_total
    )
    link = ExternalLink.objects.get(pair=pair, entity="sales_order", sage_id=order_no)
    assert link.crm_id == opportunity["Id"]
