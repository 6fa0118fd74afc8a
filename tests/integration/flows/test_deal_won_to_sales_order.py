"""Won deals → Sage 100 customer and sales order, end to end: the Streak and Salesforce
sandboxes deliver to our webhook endpoint, runs execute inline (django-q2 sync mode), and
the result is read back from Sage 100 over ODBC and from the CRM over its API.

Shared helpers: `tests/won_deals.py`."""

from decimal import Decimal

import pytest
from django.utils.timezone import localdate

from connectors.services import connector_for
from flows.models import ExternalLink, FlowConfig, InboundEvent, SyncRun
from flows.services import retry_run
from mappings.defaults.base import PRODUCT_TO_SAGE100_ITEM
from mappings.versions import import_table
from sandbox.streak import data as streak_data
from tests import won_deals as shared

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("runs_inline")]
CLOSED_WON, PROPOSAL = streak_data.CLOSED_WON, "5003"


# ---------------------------------------------------------------- Streak → Sage 100


def test_a_box_won_in_streak_becomes_one_customer_and_order_with_its_number_on_the_box(
    client, streak_sandbox, sage100_pair, streak_crm, sage
):
    pair, token = sage100_pair
    key, run = shared.win_box(client, streak_sandbox, pair, token, "SAL-1005")
    run.refresh_from_db()
    assert run.status == SyncRun.Status.SUCCEEDED, run.error_message
    box = streak_crm.get("Box", key)
    [order] = shared.orders_for(sage, "SAL-1005")
    number = order["SalesOrderNo"]
    assert box["fieldsByName"]["Sage Order No"] == number
    assert [(line["ItemCode"], line["QuantityOrdered"], line["UnitPrice"])
            for line in order["lines"]] == shared.products(box)  # fmt: skip
    assert sum(line["ExtensionAmt"] for line in order["lines"]) == Decimal("988.81")
    organization = streak_crm.get("Organization", box["organizations"][0]["key"])
    [customer] = shared.customers_named(sage, organization["name"][:30])
    assert (order["ARDivisionNo"], order["CustomerNo"]) == (
        customer["ARDivisionNo"], customer["CustomerNo"]
    )  # fmt: skip
    comments = [c["message"] for c in streak_crm.search("Comment", box_key=key)]
    assert any(f"Sage 100 sales order {number} created" in message for message in comments)
    assert run.references == {
        "sage_customer": f"{customer['ARDivisionNo']}-{customer['CustomerNo']}",
        "sage_order_no": number,
    }
    assert run.summary.startswith(organization["name"]) and "988.81 USD" in run.summary


def test_the_same_webhook_delivered_five_times_makes_one_order(
    client, streak_sandbox, sage100_pair, sage
):
    pair, token = sage100_pair
    key = shared.seeded_box_key("SAL-1029")
    box = shared.move_box(streak_sandbox, key, CLOSED_WON)
    for _ in range(5):
        assert shared.deliver_streak(client, pair, token, box).status_code == 200
    assert InboundEvent.objects.filter(pair=pair).count() == 1
    assert SyncRun.objects.get(pair=pair).status == SyncRun.Status.SUCCEEDED
    assert len(shared.orders_for(sage, "SAL-1029")) == 1


def test_a_box_moved_to_another_stage_starts_no_run_once_the_stage_is_known(
    client, streak_sandbox, sage100_pair, streak_crm, sage
):
    pair, token = sage100_pair
    first = shared.seeded_box_key("SAL-1003")
    shared.deliver_streak(client, pair, token, shared.move_box(streak_sandbox, first, PROPOSAL))
    run = SyncRun.objects.get(pair=pair, entity_key=first)  # resolves the trigger stage
    assert run.status == SyncRun.Status.SUCCEEDED
    assert run.summary == "The deal is in Proposal, not Closed-Won: nothing was written."
    assert not shared.orders_for(sage, "SAL-1003")
    assert not streak_crm.get("Box", first)["fieldsByName"].get("Sage Order No")
    second = shared.seeded_box_key("SAL-1014")
    shared.deliver_streak(client, pair, token, shared.move_box(streak_sandbox, second, PROPOSAL))
    assert not SyncRun.objects.filter(entity_key=second).exists()
    assert InboundEvent.objects.get(entity_key=second).status == InboundEvent.Status.IGNORED


def test_a_webhook_for_a_deal_no_longer_won_writes_nothing(
    client, streak_sandbox, sage100_pair, sage
):
    pair, token = sage100_pair
    key = shared.seeded_box_key("SAL-1024")
    won = shared.move_box(streak_sandbox, key, CLOSED_WON)
    shared.move_box(streak_sandbox, key, PROPOSAL)  # changed back before the run read it
    shared.deliver_streak(client, pair, token, won)
    run = SyncRun.objects.get(pair=pair, entity_key=key)
    assert run.status == SyncRun.Status.SUCCEEDED and "nothing was written" in run.summary
    assert not shared.orders_for(sage, "SAL-1024")


def test_an_unknown_item_fails_with_the_fix_and_a_retry_after_fixing_the_lookup_succeeds(
    client, streak_sandbox, sage100_pair, streak_crm, sage
):
    pair, token = sage100_pair
    shared.eur_rate(pair)
    key, run = shared.win_box(client, streak_sandbox, pair, token, "SAL-1008")  # sells WIDGET-999
    run.refresh_from_db()
    assert run.status == SyncRun.Status.FAILED
    assert run.error_message == (
        "Item WIDGET-999 is not in Sage 100: add it to the product lookup table or create "
        "the item, then retry"
    )
    assert not shared.orders_for(sage, "SAL-1008")
    import_table(pair, {"name": PRODUCT_TO_SAGE100_ITEM, "entries": {"WIDGET-999": "WIDGET-100"}})
    retry_run(run)
    run.refresh_from_db()
    assert run.status == SyncRun.Status.SUCCEEDED, run.error_message
    [order] = shared.orders_for(sage, "SAL-1008")
    assert "WIDGET-100" in [line["ItemCode"] for line in order["lines"]]
    customer = sage.get("customer", run.references["sage_customer"])
    assert len(shared.customers_named(sage, customer["CustomerName"])) == 1
    assert ExternalLink.objects.filter(pair=pair, entity="customer").count() == 1
    assert streak_crm.get("Box", key)["fieldsByName"]["Sage Order No"] == order["SalesOrderNo"]


def test_skip_line_policy_leaves_the_unknown_item_out_and_says_so(
    client, streak_sandbox, sage100_pair, streak_crm, sage
):
    pair, token = sage100_pair
    config = FlowConfig.objects.get(pair=pair, flow="deal_won_to_sales_order")
    config.options = {"unknown_item_policy": "skip_line"}
    config.save()
    shared.eur_rate(pair)
    key, run = shared.win_box(client, streak_sandbox, pair, token, "SAL-1008")
    run.refresh_from_db()
    assert run.status == SyncRun.Status.SUCCEEDED, run.error_message
    [order] = shared.orders_for(sage, "SAL-1008")
    assert "WIDGET-999" not in [line["ItemCode"] for line in order["lines"]]
    comments = [c["message"] for c in streak_crm.search("Comment", box_key=key)]
    assert any("Left out, not in Sage 100: WIDGET-999." in message for message in comments)


def test_a_eur_deal_becomes_an_order_in_the_companys_dollars_at_the_approval_rate(
    client, streak_sandbox, sage100_pair, streak_crm, sage
):
    pair, token = sage100_pair
    shared.eur_rate(pair)  # 1.08 USD per EUR; Sage 100 keeps one currency, USD
    key, run = shared.win_box(client, streak_sandbox, pair, token, "SAL-1001")
    run.refresh_from_db()
    assert run.status == SyncRun.Status.SUCCEEDED, run.error_message
    box = streak_crm.get("Box", key)
    assert box["fieldsByName"]["Currency"] == "EUR"
    [order] = shared.orders_for(sage, "SAL-1001")
    in_eur = shared.products(box)
    assert [(line["ItemCode"], line["QuantityOrdered"], line["UnitPrice"])
            for line in order["lines"]] == [
        (code, quantity, (price * Decimal("1.08")).quantize(Decimal("0.01")))
        for code, quantity, price in in_eur
    ]  # fmt: skip
    eur_total = sum((quantity * price for _, quantity, price in in_eur), Decimal(0))
    usd_total = sum(line["ExtensionAmt"] for line in order["lines"])
    # Unit prices round to the cent, so the order may differ from the converted total by one.
    assert abs(usd_total - eur_total * Decimal("1.08")) <= Decimal("0.01")
    comments = [c["message"] for c in streak_crm.search("Comment", box_key=key)]
    assert any(
        f": {usd_total} USD. Converted from {eur_total:.2f} EUR at 1.08 USD per EUR." in message
        for message in comments
    ), comments
    assert order["Comment"].startswith(f"EUR {eur_total:.2f} @ 1.08")
    conversion = run.steps.get(name="sales_order").output["conversion"]
    assert (conversion["currency"], conversion["rate"]) == ("EUR", "1.08")
    assert Decimal(conversion["base_total"]) == usd_total


def test_a_deal_whose_lines_do_not_come_to_its_amount_stops_before_sage_with_both_numbers(
    client, streak_sandbox, sage100_pair, streak_crm, sage
):
    pair, token = sage100_pair
    box = streak_crm.search("Box", **{"Deal ID": "SAL-1005"})[0]
    streak_crm.update("Box", box["key"], {"Amount": "1000.00"}, "test-amount")  # lines: 988.81
    _, run = shared.win_box(client, streak_sandbox, pair, token, "SAL-1005")
    run.refresh_from_db()
    assert run.status == SyncRun.Status.FAILED
    assert "lines come to 988.81 USD but its amount is 1,000.00 USD" in run.error_message
    assert not shared.orders_for(sage, "SAL-1005")


def test_two_sage_customers_matching_the_organization_stop_the_run_until_one_is_chosen(
    client, streak_sandbox, sage100_pair, streak_crm, sage, users
):
    pair, token = sage100_pair
    name = "Twin Brothers Trading"
    twins = [
        sage.create("customer", {"ARDivisionNo": "00", "CustomerName": name}, f"twin-{n}")
        for n in (1, 2)
    ]
    refs = [f"00-{twin['CustomerNo']}" for twin in twins]
    organization = streak_crm.create("Organization", {"name": name}, "org")
    box = shared.won_clone(streak_sandbox, "SAL-1005", "TWIN-1")
    stored = streak_sandbox.app.store.get("boxes", box["key"])
    stored |= {"organizations": [{"key": organization["key"]}], "contacts": []}
    streak_sandbox.app.store.put("boxes", box["key"], stored)
    shared.deliver_streak(client, pair, token, shared.raw_box(streak_sandbox, box["key"]))
    run = SyncRun.objects.get(pair=pair, entity_key=box["key"])
    assert (run.status, run.error_class) == (SyncRun.Status.FAILED, "Ambiguous")
    assert all(ref in run.error_message for ref in refs)
    assert not shared.orders_for(sage, "TWIN-1")

    client.force_login(users["operator"])
    page = client.get(run.get_absolute_url()).content.decode()
    assert "Which customer does this organization buy as?" in page
    assert all(ref in page.split('id="customer-candidates"')[1] for ref in refs)
    client.post(f"/runs/{run.pk}/customer/", {"sage_id": refs[1]})

    run.refresh_from_db()
    assert run.status == SyncRun.Status.SUCCEEDED, run.error_message
    [order] = shared.orders_for(sage, "TWIN-1")
    assert f"{order['ARDivisionNo']}-{order['CustomerNo']}" == refs[1]
    assert len(shared.customers_named(sage, name)) == 2  # none made: one of the two chosen


def test_a_bridge_that_commits_then_fails_still_ends_with_exactly_one_order(
    client, streak_sandbox, sage100_sandbox, sage100_pair, streak_crm, sage
):
    pair, token = sage100_pair
    shared.set_faults(sage100_sandbox, commit_then_fail_rate=1.0)
    key, run = shared.win_box(client, streak_sandbox, pair, token, "SAL-1013")
    run.refresh_from_db()
    assert run.status == SyncRun.Status.RETRY_SCHEDULED  # the customer was made, reply lost
    retry_run(run)
    run.refresh_from_db()
    assert run.status == SyncRun.Status.RETRY_SCHEDULED  # the order was made, reply lost
    assert len(shared.orders_for(sage, "SAL-1013")) == 1
    shared.set_faults(sage100_sandbox)
    retry_run(run)
    run.refresh_from_db()
    assert run.status == SyncRun.Status.SUCCEEDED, run.error_message
    [order] = shared.orders_for(sage, "SAL-1013")
    assert streak_crm.get("Box", key)["fieldsByName"]["Sage Order No"] == order["SalesOrderNo"]
    customer = sage.get("customer", run.references["sage_customer"])
    assert len(shared.customers_named(sage, customer["CustomerName"])) == 1


# ---------------------------------------------------------------- Salesforce → Sage 100


def test_an_opportunity_closed_won_in_salesforce_becomes_an_order_with_its_number_written_back(
    client, salesforce_sandbox, salesforce_pair
):
    pair, token = salesforce_pair
    salesforce, sage = connector_for(pair.crm), connector_for(pair.erp)
    opportunity = shared.open_usd_opportunity(salesforce)
    salesforce.update("Opportunity", opportunity["Id"], {"StageName": "Closed Won"}, "test-won")
    outbound = salesforce_sandbox.app.outbound
    [message] = [m for m in outbound.messages() if m["opportunity_id"] == opportunity["Id"]]
    body = outbound.envelope(message["id"], salesforce_sandbox.app.opportunity(opportunity["Id"]))
    for _ in range(2):  # Salesforce resends until it sees our Ack
        reply = client.post(f"/hooks/{pair.slug}/{token}/", data=body, content_type="text/xml")
        assert reply.status_code == 200 and b"<Ack>true</Ack>" in reply.content
    run = SyncRun.objects.get(pair=pair)
    assert run.status == SyncRun.Status.SUCCEEDED, run.error_message
    deal_id = opportunity["ExternalID__c"] or opportunity["Id"]
    [order] = shared.orders_for(sage, deal_id)
    written = salesforce.get("Opportunity", opportunity["Id"])
    assert written["Sage_Order_No__c"] == order["SalesOrderNo"]
    [task] = salesforce.search("Task", WhatId=opportunity["Id"])  # the note: a done task
    assert task["Subject"] == f"Sage 100 sales order {order['SalesOrderNo']} created"
    assert task["Description"].startswith(f"{task['Subject']} for ")
    assert f"({run.references['sage_customer']})" in task["Description"]
    assert (task["Status"], task["ActivityDate"]) == ("Completed", localdate().isoformat())
    assert sum(line["ExtensionAmt"] for line in order["lines"]) == Decimal(
        str(opportunity["Amount"])
    )
    customer = sage.get("customer", run.references["sage_customer"])
    assert customer["UDF_CRM_ID"] == written["AccountId"]
