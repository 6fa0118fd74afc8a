"""Salesforce failures as the runner sees them: each error class with Salesforce's own code
and message kept, rate limits with their wait, and a write whose reply was lost."""

import pytest
from auditlog.models import LogEntry

from connectors.errors import (
    Conflict,
    NotFound,
    RateLimited,
    TransientError,
    ValidationError,
)
from connectors.models import Connection
from connectors.salesforce.connector import SalesforceConnector
from tests.integration.connectors.salesforce.accounts import count
from tests.integration.sandbox.salesforce_client import control

pytestmark = pytest.mark.django_db


@pytest.fixture
def warm(connector) -> SalesforceConnector:
    """A connector holding a token and the Account describe, so faults hit only the call."""
    connector.external_id_field("Account")
    return connector


def test_missing_record_is_not_found(warm):
    with pytest.raises(NotFound) as caught:
        warm.get("Account", "001Dn0000000zzzIAA")
    assert "NOT_FOUND" in caught.value.detail and caught.value.status == 404


def test_refused_data_names_the_field(warm):
    with pytest.raises(ValidationError) as caught:
        warm.create("Account", {"Phone": "555"}, "no-name")
    assert caught.value.fields == {"Name": "Required fields are missing: [Name]"}
    assert caught.value.detail.startswith("REQUIRED_FIELD_MISSING")
    with pytest.raises(ValidationError, match="No such column 'Colour__c'"):
        warm.create("Contact", {"LastName": "X", "Colour__c": "red"}, "bad-field")
    with pytest.raises(ValidationError, match="MALFORMED_QUERY"):
        list(warm.query("SELECT FROM Account"))
    with pytest.raises(ValidationError, match="not a Salesforce object name"):
        warm.get("Account/../../limits", "001000000000001")
    with pytest.raises(ValidationError, match="climbs out of the record"):
        warm.get("Account", "../../limits")
    with pytest.raises(ValidationError, match="not a Salesforce record id"):
        warm.get("Account", "001'OR'1")


def test_duplicate_external_id_is_a_conflict(warm):
    first = warm.create("Account", {"Name": "One", "ExternalID__c": "DUP-1"}, "d1")
    warm.create("Account", {"Name": "Two", "ExternalID__c": "DUP-2"}, "d2")
    with pytest.raises(Conflict) as caught:
        warm.update("Account", first["Id"], {"ExternalID__c": "DUP-2"}, "d3")
    assert "DUPLICATE_VALUE" in caught.value.detail


def test_429_is_rate_limited_with_the_sandbox_retry_after(warm, salesforce_sandbox):
    control(salesforce_sandbox, "faults", {"rate_limit_rate": 1.0, "retry_after": 7})
    with pytest.raises(RateLimited) as caught:
        warm.sample("Account", 1)
    assert caught.value.retry_after == 7 and caught.value.status == 429


def test_daily_request_limit_exceeded_is_rate_limited_for_long(warm, salesforce_sandbox):
    control(salesforce_sandbox, "settings", {"api_limit": 100, "api_used": 100})
    with pytest.raises(RateLimited) as caught:
        warm.sample("Account", 1)
    error = caught.value
    assert error.retry_after >= 3600 and error.detail.startswith("REQUEST_LIMIT_EXCEEDED")
    assert error.message.startswith("Salesforce's daily API request limit is used up")


def test_server_errors_and_outages_are_transient(warm, salesforce_sandbox):
    control(salesforce_sandbox, "faults", {"error_rate": 1.0})
    with pytest.raises(TransientError) as caught:
        warm.sample("Account", 1)
    assert "UNKNOWN_EXCEPTION" in caught.value.detail
    control(salesforce_sandbox, "faults", {"outage": True})
    with pytest.raises(TransientError, match="SERVER_UNAVAILABLE"):
        warm.get("Account", "001Dn0000000001IAA")


def test_dropped_connection_is_transient(warm, salesforce_sandbox):
    control(salesforce_sandbox, "faults", {"commit_then_fail_rate": 1.0, "drop_connection": True})
    with pytest.raises(TransientError, match="connection failed or was dropped"):
        warm.create("Contact", {"LastName": "Dropped"}, "drop-1")


def test_unreachable_login_url_is_transient(make_connection):
    gone = SalesforceConnector(make_connection(login_url="https://127.0.0.1:9"))
    with pytest.raises(TransientError, match="Could not reach Salesforce"):
        gone.sample("Account", 1)


def test_token_endpoint_outage_is_transient_not_reauth(make_connection, salesforce_sandbox):
    control(salesforce_sandbox, "faults", {"outage": True})
    health = SalesforceConnector(make_connection()).test()
    assert not health.ok and not health.needs_reauth and "503" in health.message


def test_commit_then_fail_upsert_then_the_same_upsert_is_one_account(warm, salesforce_sandbox):
    data = {"Name": "Lost Reply Ltd", "ExternalID__c": "SAGE-LOST"}
    control(salesforce_sandbox, "faults", {"commit_then_fail_rate": 1.0})
    with pytest.raises(TransientError):
        warm.create("Account", data, "lost-1")
    control(salesforce_sandbox, "faults", {})
    retried = warm.create("Account", data, "lost-1")
    assert not retried["created"]
    assert count(warm, "WHERE ExternalID__c = 'SAGE-LOST'") == 1


def test_commit_then_fail_batch_upsert_repeated_is_one_record_each(warm, salesforce_sandbox):
    records = [{"ExternalID__c": f"LOST-{n}", "Name": f"Lost {n}"} for n in range(5)]
    control(salesforce_sandbox, "faults", {"commit_then_fail_rate": 1.0})
    with pytest.raises(TransientError):
        warm.upsert_many("Account", "ExternalID__c", records)
    control(salesforce_sandbox, "faults", {})
    assert all(
        r.success and not r.created for r in warm.upsert_many("Account", "ExternalID__c", records)
    )
    assert count(warm, "WHERE ExternalID__c LIKE 'LOST-%'") == 5


def test_commit_then_fail_lookup_before_create_finds_the_first_attempt(warm, salesforce_sandbox):
    data = {"LastName": "Curie", "Email": "marie@radium.example"}
    control(salesforce_sandbox, "faults", {"commit_then_fail_rate": 1.0})
    with pytest.raises(TransientError):
        warm.create("Contact", data, "curie", match_on="Email")
    control(salesforce_sandbox, "faults", {})
    retried = warm.create("Contact", data, "curie", match_on="Email")
    assert not retried["created"]
    assert len(warm.search("Contact", Email="marie@radium.example")) == 1


def test_usage_is_stored_once_per_call_batch_and_is_no_audit_entry(warm):
    connection = Connection.objects.get(pk=warm.connection.pk)
    before = connection.settings["api_usage"]["used"]
    audited = LogEntry.objects.get_for_object(connection).count()
    warm.upsert_many("Account", "ExternalID__c", [{"ExternalID__c": "U-1", "Name": "U"}])
    connection.refresh_from_db()
    assert connection.settings["api_usage"]["used"] == before + 1
    assert connection.settings["api_usage"]["limit"] == 15000
    assert connection.settings["login_url"]  # the rest of the settings kept
    # No person changed the connection: the audit log does not fill with every call batch.
    assert LogEntry.objects.get_for_object(connection).count() == audited
