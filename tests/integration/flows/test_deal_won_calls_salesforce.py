"""Calls per won Salesforce opportunity → Sage 100 order, counted exactly so a regression
fails: the deal's query (its account's fields come with it), the order, and the number
written back with the note in one Composite request. The deal's contact is kept per
connection a few minutes (connectors/salesforce/parties.py), and so are the describes the
mapped names are checked against (describes.py); the account, whose addresses go on the
order, is read with the deal every time."""

from collections import Counter

import pytest

from connectors.salesforce import contacts
from connectors.services import connector_for
from flows.models import InboundEvent, SyncRun
from flows.services import retry_run
from sandbox.salesforce.schema import OPPORTUNITY, text
from tests import won_deals as shared
from tests.integration.flows.test_salesforce_mapped_fields import (
    add_field,
    order_mapping,
    save_in_designer,
    with_rules,
)

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("runs_inline")]


@pytest.fixture
def calls(monkeypatch, salesforce_sandbox, sage100_sandbox) -> Counter:
    """Every API request the Salesforce and Sage 100 sandboxes answer, by kind."""
    return shared.count_api_calls(monkeypatch, (salesforce_sandbox, sage100_sandbox), 6)


def close_won(salesforce, opportunity_id: str) -> None:
    """A sales rep sets the opportunity's stage to Closed Won."""
    salesforce.update("Opportunity", opportunity_id, {"StageName": "Closed Won"}, "won")


def deliver(client, salesforce_sandbox, pair, token, opportunity_id: str) -> SyncRun:
    """The won opportunity's Outbound Message, delivered; its run."""
    outbound = salesforce_sandbox.app.outbound
    [message] = [m for m in outbound.messages() if m["opportunity_id"] == opportunity_id]
    body = outbound.envelope(message["id"], salesforce_sandbox.app.opportunity(opportunity_id))
    reply = client.post(f"/hooks/{pair.slug}/{token}/", data=body, content_type="text/xml")
    assert reply.status_code == 200, reply.content
    run = SyncRun.objects.get(pair=pair, entity_key=opportunity_id)
    assert run.status == SyncRun.Status.SUCCEEDED, run.error_message
    return run


def two_open_opportunities(salesforce) -> tuple[dict, dict]:
    """Two open opportunities of one account, the first selling items Sage 100 has."""
    first = shared.open_usd_opportunity(salesforce)
    [account] = salesforce.query(f"SELECT AccountId FROM Opportunity WHERE Id = '{first['Id']}'")
    soql = (
        "SELECT Id FROM Opportunity WHERE IsClosed = false AND CurrencyIsoCode = 'USD' "
        f"AND AccountId = '{account['AccountId']}' AND Id != '{first['Id']}'"
    )
    return first, next(iter(salesforce.query(soql)))


def second_after_the_first_won(client, salesforce_sandbox, pair, token) -> tuple[dict, str]:
    """Two open opportunities of one account, the first won and its order made: the second
    (still open) and the account's Id, for a test of what changes between two deals."""
    salesforce = connector_for(pair.crm)
    first, second = two_open_opportunities(salesforce)
    close_won(salesforce, first["Id"])
    deliver(client, salesforce_sandbox, pair, token, first["Id"])
    return second, salesforce.get("Opportunity", second["Id"])["AccountId"]


def test_a_won_opportunity_of_a_customer_already_linked_costs_three_calls(
    client, salesforce_sandbox, salesforce_pair, calls
):
    pair, token = salesforce_pair
    salesforce = connector_for(pair.crm)
    first, second = two_open_opportunities(salesforce)
    close_won(salesforce, first["Id"])
    linked = deliver(client, salesforce_sandbox, pair, token, first["Id"])
    close_won(salesforce, second["Id"])
    calls.clear()
    run = deliver(client, salesforce_sandbox, pair, token, second["Id"])
    assert run.references["sage_customer"] == linked.references["sage_customer"]
    assert dict(calls) == {
        # no describe: the mapped names are checked against the Opportunity's describe kept
        # for the connection since the first deal (connectors/salesforce/describes.py)
        "salesforce GET /services/data/v59.0/query/": 1,  # the deal with its account and lines
        "sage100 POST /v1/sales-orders": 1,  # the contact kept from the first deal
        "salesforce POST /services/data/v59.0/composite": 1,  # the number and the note
    }
    written = salesforce.get("Opportunity", second["Id"])
    number = run.references["sage_order_no"]
    assert written["Sage_Order_No__c"] == number
    [task] = salesforce.search("Task", WhatId=second["Id"])
    assert (task["Subject"], task["Status"]) == (f"Sage 100 sales order {number} created",
                                                 "Completed")  # fmt: skip


def test_a_field_added_to_the_opportunity_after_a_deal_and_mapped_reaches_the_next_order(
    client, monkeypatch, salesforce_sandbox, salesforce_pair, users, calls
):
    pair, token = salesforce_pair
    salesforce, sage = connector_for(pair.crm), connector_for(pair.erp)
    mapping = order_mapping(pair)  # mapped ahead of the field (the designer lets one type it)
    spec = with_rules(mapping.active_version.spec, notes={"source": "Region__c"})
    save_in_designer(client, users["admin"], mapping, spec, "Region to the order's comment")
    second, _ = second_after_the_first_won(client, salesforce_sandbox, pair, token)
    add_field(monkeypatch, OPPORTUNITY, text("Region__c", 20, label="Region"))  # in Setup, now
    salesforce.update("Opportunity", second["Id"], {"Region__c": "EMEA"}, "region")
    close_won(salesforce, second["Id"])
    calls.clear()
    run = deliver(client, salesforce_sandbox, pair, token, second["Id"])
    order = sage.get("sales_order", run.references["sage_order_no"])
    assert order["Comment"] == "EMEA"
    # the describe kept since the first deal lacks Region__c: read again once, right then
    assert calls["salesforce GET /services/data/v59.0/sobjects/Opportunity"] == 1


def test_a_mapped_field_deleted_from_the_org_while_its_describe_is_kept_is_left_out(
    client, monkeypatch, salesforce_sandbox, salesforce_pair, users
):
    add_field(monkeypatch, OPPORTUNITY, text("Region__c", 20, label="Region"))
    pair, token = salesforce_pair
    salesforce, sage = connector_for(pair.crm), connector_for(pair.erp)
    mapping = order_mapping(pair)
    spec = with_rules(mapping.active_version.spec, notes={"source": "Region__c"})
    save_in_designer(client, users["admin"], mapping, spec, "Region to the order's comment")
    second, _ = second_after_the_first_won(client, salesforce_sandbox, pair, token)
    # an admin deletes Region__c; the describe kept since the first deal still names it
    kept = [field for field in OPPORTUNITY.fields if field.name != "Region__c"]
    monkeypatch.setattr(OPPORTUNITY, "fields", kept)
    monkeypatch.delitem(OPPORTUNITY.by_name, "region__c")
    close_won(salesforce, second["Id"])
    run = deliver(client, salesforce_sandbox, pair, token, second["Id"])
    order = sage.get("sales_order", run.references["sage_order_no"])
    assert not order["Comment"]
    assert "Region__c" not in run.steps.get(name="read_deal").output["record"]


def test_an_address_changed_in_salesforce_between_two_deals_goes_on_the_second_order(
    client, salesforce_sandbox, salesforce_pair
):
    pair, token = salesforce_pair
    salesforce, sage = connector_for(pair.crm), connector_for(pair.erp)
    second, account = second_after_the_first_won(client, salesforce_sandbox, pair, token)
    salesforce.update("Account", account, {"ShippingStreet": "9 New Dock Rd"}, "moved")
    close_won(salesforce, second["Id"])
    run = deliver(client, salesforce_sandbox, pair, token, second["Id"])
    order = sage.get("sales_order", run.references["sage_order_no"])
    assert order["ShipToAddress1"] == "9 New Dock Rd"


def test_a_contact_changed_in_salesforce_reaches_the_next_order_once_its_change_is_stored(
    client, salesforce_sandbox, salesforce_pair
):
    pair, token = salesforce_pair
    salesforce, sage = connector_for(pair.crm), connector_for(pair.erp)
    second, account = second_after_the_first_won(client, salesforce_sandbox, pair, token)
    [contact] = salesforce.query(
        f"SELECT Id FROM Contact WHERE AccountId = '{account}' LIMIT 1"
    )  # the contact the deals read: the account's first
    salesforce.update("Contact", contact["Id"], {"Email": "new.buyer@example.com"}, "email")
    InboundEvent.objects.create(  # the change as the pair's Contact feed stores it
        pair=pair, source="poll", kind=contacts.KIND, entity_key=f"contact:{contact['Id']}",
        dedupe_key=f"contact:{contact['Id']}:1", status=InboundEvent.Status.ACCEPTED,
    )  # fmt: skip
    close_won(salesforce, second["Id"])
    run = deliver(client, salesforce_sandbox, pair, token, second["Id"])
    order = sage.get("sales_order", run.references["sage_order_no"])
    assert order["EmailAddress"] == "new.buyer@example.com"


def test_a_write_back_whose_reply_was_lost_does_not_add_the_note_twice(
    client, monkeypatch, salesforce_sandbox, salesforce_pair
):
    pair, token = salesforce_pair
    salesforce = connector_for(pair.crm)
    opportunity = shared.open_usd_opportunity(salesforce)
    app, dispatch = salesforce_sandbox.app, salesforce_sandbox.app.dispatch

    def reply_lost(request):
        response = dispatch(request)
        if request.path.endswith("/composite"):
            return app.fault_body("commit_then_fail", 500)  # written, but the reply is lost
        return response

    monkeypatch.setattr(app, "dispatch", reply_lost)
    close_won(salesforce, opportunity["Id"])
    with pytest.raises(AssertionError):
        deliver(client, salesforce_sandbox, pair, token, opportunity["Id"])
    run = SyncRun.objects.get(pair=pair, entity_key=opportunity["Id"])
    assert run.status == SyncRun.Status.RETRY_SCHEDULED
    monkeypatch.setattr(app, "dispatch", dispatch)
    run = retry_run(run)
    run.refresh_from_db()
    assert run.status == SyncRun.Status.SUCCEEDED, run.error_message
    number = run.references["sage_order_no"]
    assert salesforce.get("Opportunity", opportunity["Id"])["Sage_Order_No__c"] == number
    [task] = salesforce.search("Task", WhatId=opportunity["Id"])
    assert task["Subject"] == f"Sage 100 sales order {number} created"
