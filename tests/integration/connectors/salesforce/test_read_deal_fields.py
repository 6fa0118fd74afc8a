"""A won deal is read with every Opportunity and Account field the pair's mappings name, so a
field mapped in the designer has its value when the flow runs; a name the org does not have
(a typo, a field deleted since) is left out instead of failing the run, and a path that is
not field names never reaches the query."""

import pytest

from connectors.salesforce.connector import SalesforceConnector
from connectors.salesforce.soql import field_path

pytestmark = pytest.mark.django_db


def won_opportunity(connector: SalesforceConnector) -> dict:
    soql = "SELECT Id, AccountId FROM Opportunity WHERE AccountId != null LIMIT 1"
    opportunity = next(iter(connector.query(soql)))
    connector.update(
        "Opportunity",
        opportunity["Id"],
        {"StageName": "Closed Won", "LeadSource": "Trade Show", "Probability": 90},
        "test-won",
    )
    connector.update("Account", opportunity["AccountId"], {"Website": "https://acme.example"}, "k")
    return opportunity


def test_mapped_opportunity_and_account_fields_are_read(connector):
    opportunity = won_opportunity(connector)
    mapped = [
        "Name",
        "LeadSource",
        "Probability",
        "Account.Website",
        "Account.Name",
        "Contact.Email",
    ]

    read = connector.read_deal(opportunity["Id"], "Closed Won", mapped)

    assert read.won and read.stage == "Closed Won"
    assert read.record["LeadSource"] == "Trade Show"
    assert read.record["Probability"] == 90
    assert read.record["Account"]["Website"] == "https://acme.example"


def test_fields_not_mapped_are_not_read(connector):
    opportunity = won_opportunity(connector)

    read = connector.read_deal(opportunity["Id"], "Closed Won")

    assert "LeadSource" not in read.record and "Website" not in read.record["Account"]


def test_a_mapped_field_the_org_lacks_is_left_out_and_the_rest_read(connector):
    opportunity = won_opportunity(connector)
    mapped = ["LeadSource", "No_Such_Field__c", "Account.Website", "Account.Gone__c"]

    read = connector.read_deal(opportunity["Id"], "Closed Won", mapped)

    assert read.record["LeadSource"] == "Trade Show"
    assert read.record["Account"]["Website"] == "https://acme.example"
    assert "No_Such_Field__c" not in read.record


def test_a_mapped_path_that_is_not_a_field_name_never_reaches_the_query(connector):
    opportunity = won_opportunity(connector)
    mapped = ["Name FROM Account --", "Account.Name, (SELECT Id FROM Contacts)"]
    for path in mapped:  # neither is a field path: not put in the query
        assert field_path(connector.known_fields, "Opportunity", path) == ""

    read = connector.read_deal(opportunity["Id"], "Closed Won", mapped)

    assert read.won and read.record["Id"] == opportunity["Id"]
