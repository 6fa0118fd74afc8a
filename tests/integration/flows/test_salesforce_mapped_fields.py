"""Every field the pair's mappings name is read when the won-deal flow runs: a custom field an
admin adds to the Salesforce org today and maps in the designer reaches the Sage 100 order,
whether the rule reads the opportunity, its account, one of its lines, or the opportunity
from inside a line rule (`$.`). Paths are checked step by step against the org's describe,
however many parents deep, and a path the org lacks never reaches a query."""

import json

import pytest
from django.urls import reverse

from connectors.salesforce.soql import field_path
from connectors.services import connector_for
from flows.models import SyncRun
from mappings.models import Mapping
from sandbox.salesforce.schema import OPPORTUNITY, OPPORTUNITY_LINE_ITEM, Field, SObject, text
from tests import won_deals as shared

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("runs_inline")]


def add_field(monkeypatch, obj: SObject, field: Field) -> None:
    """A custom field made in Setup → Object Manager, for this test only."""
    monkeypatch.setattr(obj, "fields", [*obj.fields, field])
    monkeypatch.setitem(obj.by_name, field.name.lower(), field)


def save_in_designer(client, admin, mapping: Mapping, spec: dict, note: str) -> None:
    """The admin's draft saved as the designer's Save button posts it."""
    client.force_login(admin)
    page = client.get(reverse("mapping-designer", args=[mapping.pk]))
    assert page.status_code == 200
    reply = client.post(
        reverse("mapping-save", args=[mapping.pk]), {"spec": json.dumps(spec), "note": note}
    )
    assert reply.status_code == 302
    mapping.refresh_from_db()
    assert mapping.active_version.number == 2 and mapping.active_version.note == note


def order_mapping(pair) -> Mapping:
    return Mapping.objects.get(pair=pair, source_entity="Opportunity", target_entity="SalesOrder")


def with_rules(spec: dict, **rules: dict) -> dict:
    """The spec with the rules for these targets replaced (or added)."""
    kept = [rule for rule in spec["rules"] if rule["target"] not in rules]
    return {**spec, "rules": [*kept, *({"target": t, **r} for t, r in rules.items())]}


def win_by_outbound_message(client, salesforce_sandbox, pair, token, opportunity_id: str):
    """Closed Won on the org, and its Outbound Message delivered to the pair's webhook."""
    salesforce = connector_for(pair.crm)
    salesforce.update("Opportunity", opportunity_id, {"StageName": "Closed Won"}, "test-won")
    outbound = salesforce_sandbox.app.outbound
    [message] = [m for m in outbound.messages() if m["opportunity_id"] == opportunity_id]
    body = outbound.envelope(message["id"], salesforce_sandbox.app.opportunity(opportunity_id))
    reply = client.post(f"/hooks/{pair.slug}/{token}/", data=body, content_type="text/xml")
    assert reply.status_code == 200
    return SyncRun.objects.get(pair=pair, entity_key=opportunity_id)


def test_custom_fields_added_to_the_org_and_mapped_in_the_designer_reach_the_sage_order(
    client, monkeypatch, salesforce_sandbox, salesforce_pair, users
):
    add_field(monkeypatch, OPPORTUNITY, text("Region__c", 20, label="Region"))
    add_field(monkeypatch, OPPORTUNITY, text("Gift_Card__c", 20, label="Gift Card"))
    add_field(monkeypatch, OPPORTUNITY_LINE_ITEM, text("Line_Note__c", 40, label="Line Note"))
    pair, token = salesforce_pair
    salesforce, sage = connector_for(pair.crm), connector_for(pair.erp)
    opportunity = shared.open_usd_opportunity(salesforce)
    key = opportunity["Id"]
    salesforce.update("Opportunity", key, {"Region__c": "EMEA", "Gift_Card__c": "Card"}, "t1")
    soql = f"SELECT Id FROM OpportunityLineItem WHERE OpportunityId = '{key}' ORDER BY Id"
    first_line = next(iter(salesforce.query(soql)))["Id"]
    salesforce.update("OpportunityLineItem", first_line, {"Line_Note__c": "Gift wrap"}, "t2")
    mapping = order_mapping(pair)
    spec = mapping.active_version.spec
    [lines] = [rule for rule in spec["rules"] if rule["target"] == "lines"]
    trim = [{"name": "trim"}]
    line_rules = with_rules(
        lines,
        description={"template": "{custom.Line_Note__c} {$.Gift_Card__c}", "transforms": trim},
    )
    spec = with_rules(
        spec,
        notes={"template": "{Region__c} {Account.Type}", "transforms": trim},
        lines=line_rules,
    )

    save_in_designer(client, users["admin"], mapping, spec, "Region and gift notes to Sage")
    run = win_by_outbound_message(client, salesforce_sandbox, pair, token, key)

    assert run.status == SyncRun.Status.SUCCEEDED, run.error_message
    [order] = shared.orders_for(sage, opportunity["ExternalID__c"] or key)
    assert order["Comment"] == "EMEA Customer - Direct"  # the account's Type: a parent field
    descriptions = [line["ItemCodeDesc"] for line in order["lines"]]
    assert descriptions[0] == "Gift wrap Card" and set(descriptions[1:]) <= {"Card"}
    read = run.steps.get(name="read_deal").output["record"]
    assert (read["Region__c"], read["Gift_Card__c"], read["Account"]["Type"]) == (
        "EMEA", "Card", "Customer - Direct"
    )  # fmt: skip
    assert "Line_Note__c" in read["OpportunityLineItems"]["records"][0]


def test_a_field_mapped_then_deleted_from_the_org_is_left_out_and_the_order_still_made(
    client, monkeypatch, salesforce_sandbox, salesforce_pair, users
):
    pair, token = salesforce_pair
    salesforce, sage = connector_for(pair.crm), connector_for(pair.erp)
    opportunity = shared.open_usd_opportunity(salesforce)
    mapping = order_mapping(pair)
    spec = with_rules(mapping.active_version.spec, notes={"source": "Retired_Field__c"})
    save_in_designer(client, users["admin"], mapping, spec, "A field the org no longer has")

    run = win_by_outbound_message(client, salesforce_sandbox, pair, token, opportunity["Id"])

    assert run.status == SyncRun.Status.SUCCEEDED, run.error_message
    [order] = shared.orders_for(sage, opportunity["ExternalID__c"] or opportunity["Id"])
    assert not order["Comment"]
    assert "Retired_Field__c" not in run.steps.get(name="read_deal").output["record"]


def test_paths_are_checked_against_the_describe_however_many_parents_deep(salesforce):
    connector = connector_for(salesforce)
    known = connector.known_fields

    assert field_path(known, "Opportunity", "account.parent.NAME") == "Account.Parent.Name"
    assert (
        field_path(known, "OpportunityLineItem", "PricebookEntry.Product2.Family")
        == "PricebookEntry.Product2.Family"
    )
    assert (
        field_path(known, "Order", "Opportunity.Account.Owner.Name")
        == "Opportunity.Account.Owner.Name"
    )
    assert field_path(known, "Opportunity", "Account.Nothing__c") == ""
    six_hops = "Account.Parent.Parent.Parent.Parent.Parent.Name"
    assert field_path(known, "Opportunity", six_hops) == ""  # SOQL stops at five
    assert field_path(known, "Opportunity", "Account.Parent.Parent.Parent.Parent.Name")
    assert field_path(known, "Opportunity", "Name) FROM User --") == ""
