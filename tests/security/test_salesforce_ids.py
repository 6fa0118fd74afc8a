"""Salesforce record ids come from deliveries, change events and mappings, and end up in
URL paths: one that is not an id (15 or 18 letters and digits, an 18-character one ending in
the checksum of the first 15) is a ValidationError naming the field, and nothing is sent."""

import pytest

from connectors.errors import ValidationError
from connectors.salesforce.record_ids import record_id
from connectors.services import connector_for
from sandbox.salesforce.ids import make_id

pytestmark = pytest.mark.django_db


@pytest.fixture
def connector(salesforce):
    return connector_for(salesforce)


def data_calls(connector) -> int:
    """Calls to the REST API (token requests apart)."""
    return connector.client.session.calls


@pytest.mark.parametrize(
    "key",
    [
        "006' OR Name != '",
        "006Dn000000001",  # 14 characters
        "006Dn0000000001IAX",  # 18, but the checksum does not match the first 15
        "006Dn0000000001IAA/../../limits",
        "https://evil.example/x",
    ],
)
def test_a_key_that_is_not_a_record_id_is_refused_before_any_request(connector, key):
    connector.client.token()  # signed in: what follows would be a data call

    with pytest.raises(ValidationError) as refused:
        connector.get("Opportunity", key)

    assert refused.value.fields == {"Id": "not a Salesforce record id"}
    assert "nothing was sent to Salesforce" in refused.value.message
    assert data_calls(connector) == 0


def test_an_update_with_a_bad_id_writes_nothing(connector):
    with pytest.raises(ValidationError, match="not a Salesforce record id"):
        connector.update("Opportunity", "006 OR 1=1", {"StageName": "Closed Lost"}, "key-1")

    assert data_calls(connector) == 0


def test_real_ids_pass_in_both_forms(connector):
    opportunity = make_id("006", 1)

    assert connector.get("Opportunity", opportunity[:15])["Id"] == opportunity
    assert record_id(opportunity) == opportunity and record_id(opportunity[:15])


def test_a_key_climbing_to_another_object_is_refused(connector):
    user = make_id("005", 1)
    with pytest.raises(ValidationError):
        connector.update("Opportunity", f"{make_id('006', 1)}/../../User/{user}", {}, "key-2")
