"""Salesforce describes kept per connection (connectors/salesforce/describes.py), against the
live Salesforce sandbox: one connection's runs share them for a few minutes, another
connection (another org, or the same one re-pointed) never sees them, the schema pages'
live read refreshes them, and an unsaved connection keeps none."""

import pytest

from connectors.models import Connection
from connectors.salesforce.describes import describe_scope
from connectors.services import connector_for
from sandbox.salesforce.schema import OPPORTUNITY, text
from tests import won_deals as shared
from tests.integration.flows.test_salesforce_mapped_fields import add_field

pytestmark = pytest.mark.django_db

DESCRIBE = "salesforce GET /services/data/v59.0/sobjects/Opportunity"


@pytest.fixture
def calls(monkeypatch, salesforce_sandbox):
    return shared.count_api_calls(monkeypatch, (salesforce_sandbox,), 6)


def another_connection(salesforce: Connection, name: str) -> Connection:
    """A second saved connection with the same settings (the same org, as far as the
    sandbox goes; what matters is that it is another connection)."""
    return Connection.objects.create(
        name=name, system="salesforce", settings=dict(salesforce.settings),
        secrets=dict(salesforce.secrets),
    )  # fmt: skip


def test_a_connections_runs_share_its_describes_and_another_connection_reads_its_own(
    salesforce, calls
):
    connector_for(salesforce).fields("Opportunity")
    assert calls[DESCRIBE] == 1
    kept = connector_for(salesforce).fields("Opportunity")  # the next run: kept
    assert calls[DESCRIBE] == 1 and "stagename" in kept

    connector_for(another_connection(salesforce, "Globex Salesforce")).fields("Opportunity")
    assert calls[DESCRIBE] == 2


def test_re_pointing_a_connection_changes_whose_describes_it_reads(salesforce):
    before = describe_scope(salesforce)
    salesforce.settings = {**salesforce.settings, "login_url": "https://login.example.com"}
    assert describe_scope(salesforce) != before
    assert describe_scope(Connection(system="salesforce", settings={})) == ()  # unsaved: none


def test_the_schema_pages_live_read_refreshes_the_kept_describe(monkeypatch, salesforce, calls):
    assert "region__c" not in connector_for(salesforce).fields("Opportunity")
    add_field(monkeypatch, OPPORTUNITY, text("Region__c", 20, label="Region"))
    schema = connector_for(salesforce).schema("Opportunity")  # the mapping page: always live
    assert "Region__c" in {field.name for field in schema}
    assert calls[DESCRIBE] == 2
    assert "region__c" in connector_for(salesforce).fields("Opportunity")  # kept, refreshed
    assert calls[DESCRIBE] == 2


def test_a_name_missing_from_the_kept_describe_reads_it_again_once(monkeypatch, salesforce, calls):
    connector_for(salesforce).fields("Opportunity")
    add_field(monkeypatch, OPPORTUNITY, text("Region__c", 20, label="Region"))
    run = connector_for(salesforce)
    assert run.known_fields("Opportunity").get("region__c") is None  # kept: not there yet
    assert run.known_fields("Opportunity", fresh=True)["region__c"]["label"] == "Region"
    assert run.known_fields("Opportunity", fresh=True)  # read now already: not again
    assert calls[DESCRIBE] == 2
    assert "region__c" in connector_for(salesforce).fields("Opportunity")
    assert calls[DESCRIBE] == 2


def test_an_unsaved_connection_keeps_no_describe(salesforce, calls):
    unsaved = Connection(
        name="Being tested", system="salesforce", settings=dict(salesforce.settings),
        secrets=dict(salesforce.secrets),
    )  # fmt: skip
    connector_for(unsaved).fields("Opportunity")
    connector_for(unsaved).fields("Opportunity")
    assert calls[DESCRIBE] == 2
