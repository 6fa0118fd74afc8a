"""The Salesforce connector against the live sandbox over verified TLS, with real Connection
rows: OAuth flows and token renewal, schema, reads, changes and writes."""

import time
from datetime import datetime

import pytest
from django.db import connection as db

from connectors.errors import AuthError, ValidationError
from connectors.models import Connection
from connectors.salesforce.client import TOKEN_SECRET
from connectors.salesforce.connector import SalesforceConnector
from connectors.services import cached_schema, check_connection
from sandbox.salesforce import schema as sandbox_schema
from tests.integration.connectors.salesforce.accounts import count
from tests.integration.sandbox.salesforce_client import control

pytestmark = pytest.mark.django_db


def stamp(value: str) -> datetime:
    return datetime.strptime(value, "%Y-%m-%dT%H:%M:%S.%f%z")


# ---------------------------------------------------------------- OAuth and health


def test_client_credentials_test_names_org_instance_and_usage(connector, salesforce_sandbox):
    health = connector.test()
    assert health.ok, health.message
    assert "00DDn00000SbXc1MAF" in health.message and salesforce_sandbox.url in health.message
    assert "of 15000 daily API requests used" in health.message
    row = Connection.objects.get(pk=connector.connection.pk)
    stored = row.secrets[TOKEN_SECRET]
    assert stored["instance_url"] == salesforce_sandbox.url
    assert stored["expires_at"] == pytest.approx(time.time() + 7200, abs=60)
    with db.cursor() as cursor:  # the token is stored encrypted, never in clear
        cursor.execute("SELECT secrets FROM connectors_connection WHERE id = %s", [row.pk])
        assert stored["access_token"] not in cursor.fetchone()[0]
    assert row.settings["api_usage"]["limit"] == 15000 and row.settings["api_usage"]["used"] >= 1


def test_stored_token_is_reused_by_the_next_connector(connector):
    connector.get("Account", connector.sample("Account", 1)[0]["Id"])
    again = SalesforceConnector(Connection.objects.get(pk=connector.connection.pk))
    assert again.sample("Account", 2)
    assert again.client.oauth.http.calls == 0


def test_jwt_bearer_flow_signs_with_the_stored_private_key(make_connection, salesforce_sandbox):
    key = (salesforce_sandbox.app.data_dir / "salesforce-jwt-private.pem").read_text()
    jwt_connector = SalesforceConnector(
        make_connection(
            "jwt_bearer",
            secrets={"private_key": key},
            username="integration@clarity-sandbox.example",
        )
    )
    assert jwt_connector.test().ok
    assert len(jwt_connector.sample("Opportunity", 3)) == 3


def test_jwt_bearer_with_unknown_user_or_bad_key_is_a_plain_auth_failure(
    make_connection, salesforce_sandbox
):
    key = (salesforce_sandbox.app.data_dir / "salesforce-jwt-private.pem").read_text()
    stranger = make_connection("jwt_bearer", secrets={"private_key": key}, username="x@y.z")
    health = check_connection(stranger)
    assert health.message == "Salesforce token request failed: invalid_grant"
    broken = make_connection("jwt_bearer", secrets={"private_key": "not a key"}, username="x@y.z")
    with pytest.raises(AuthError, match="not a usable RSA key"):
        SalesforceConnector(broken).sample("Account")


def test_refresh_token_flow(make_connection, salesforce_sandbox):
    refresh = control(salesforce_sandbox, "refresh_token")["refresh_token"]
    refreshing = SalesforceConnector(
        make_connection("refresh_token", secrets={"refresh_token": refresh})
    )
    assert refreshing.test().ok
    assert refreshing.get("Account", refreshing.sample("Account", 1)[0]["Id"])["Name"]


def test_check_connection_with_a_wrong_secret_stores_the_plain_sentence(make_connection):
    wrong = make_connection(secrets={"client_secret": "not-the-secret"})
    health = check_connection(wrong)
    assert not health.ok
    wrong.refresh_from_db()
    assert wrong.last_error == "Salesforce token request failed: invalid_client"
    assert wrong.status == Connection.Status.NEEDS_REAUTH


def test_expired_session_is_renewed_and_the_call_succeeds(connector, salesforce_sandbox):
    first = connector.sample("Account", 1)[0]
    old_token = connector.connection.secrets[TOKEN_SECRET]["access_token"]
    control(salesforce_sandbox, "expire_sessions")
    assert connector.get("Account", first["Id"])["Id"] == first["Id"]
    stored = Connection.objects.get(pk=connector.connection.pk).secrets[TOKEN_SECRET]
    assert stored["access_token"] != old_token
    assert connector.client.oauth.http.calls == 2  # the first token and one renewal


def test_token_near_its_end_is_renewed_before_the_call(connector):
    record = connector.sample("Account", 1)[0]
    secrets = connector.connection.secrets
    soon = {**secrets[TOKEN_SECRET], "expires_at": time.time() + 120}  # inside the 5 minutes
    connector.connection.secrets = {**secrets, TOKEN_SECRET: soon}
    connector.connection.save(update_fields=["secrets"])
    api_calls = connector.client.session.calls
    connector.get("Account", record["Id"])
    assert connector.client.session.calls == api_calls + 1  # no 401 first
    assert connector.client.oauth.http.calls == 2


def test_a_token_another_worker_stored_is_used_under_the_lock(connector):
    stale_copy = Connection.objects.get(pk=connector.connection.pk)  # loaded before any token
    connector.sample("Account", 1)
    other = SalesforceConnector(stale_copy)
    assert other.sample("Account", 1)
    assert other.client.oauth.http.calls == 0


def test_changed_credentials_void_the_stored_token(connector):
    connector.sample("Account", 1)
    connection = Connection.objects.get(pk=connector.connection.pk)
    connection.secrets = {**connection.secrets, "client_secret": "rotated-wrong"}
    connection.save()
    with pytest.raises(AuthError, match="Salesforce token request failed: invalid_client"):
        SalesforceConnector(connection).sample("Account", 1)


# ---------------------------------------------------------------- schema


def test_schema_from_describe(connector):
    fields = {f.name: f for f in connector.schema("Account")}
    assert fields["ExternalID__c"].custom and fields["ExternalID__c"].length == 40
    assert fields["Name"].required and not fields["Name"].custom
    assert "Manufacturing" in fields["Industry"].choices and fields["Industry"].type == "choice"
    assert not fields["CurrencyIsoCode"].required  # defaulted on create
    assert not fields["Id"].required and not fields["SystemModstamp"].required
    assert fields["ParentId"].type == "reference"
    opportunity = {f.name: f for f in connector.schema("Opportunity")}
    assert opportunity["StageName"].required and "Closed Won" in opportunity["StageName"].choices
    assert opportunity["CloseDate"].type == "date" and opportunity["Amount"].type == "number"
    assert opportunity["Sage_Order_No__c"].custom


def test_custom_field_added_in_the_org_appears_after_refresh(connector):
    """The sandbox has no control endpoint for new fields: its schema is edited in-process."""
    account = sandbox_schema.sobject("Account")
    added = sandbox_schema.Field("Credit_Limit__c", "currency", precision=18, scale=2)
    cached, _ = cached_schema(connector.connection, "Account")
    assert "Credit_Limit__c" not in {f.name for f in cached}
    account.fields.append(added)
    account.by_name[added.name.lower()] = added
    try:
        refreshed, _ = cached_schema(connector.connection, "Account", refresh=True)
    finally:
        account.fields.remove(added)
        del account.by_name[added.name.lower()]
    field = next(f for f in refreshed if f.name == "Credit_Limit__c")
    assert field.custom and field.type == "number" and field.label == "Credit Limit"


# ---------------------------------------------------------------- reads


def test_query_follows_every_page(connector, salesforce_sandbox):
    total = count(connector, "")
    control(salesforce_sandbox, "settings", {"query_batch_size": 7})
    calls = connector.client.session.calls
    rows = list(connector.query("SELECT Id, Name FROM Account ORDER BY Name"))
    assert len(rows) == total > 14 and len({r["Id"] for r in rows}) == total
    assert connector.client.session.calls - calls == -(-total // 7)
    assert "attributes" not in rows[0]


def test_get_by_id_and_by_external_id(connector):
    account = connector.search("Account", Name="Northwind Traders")[0]
    assert connector.get("Account", account["Id"])["BillingCity"] == "Seattle"
    connector.upsert("Account", "ExternalID__c", "ACME 1/2", {"Name": "Acme Slash"})
    assert connector.get("Account", "ExternalID__c/ACME 1/2")["Name"] == "Acme Slash"


def test_search_quotes_values_and_names_unknown_fields(connector):
    created = connector.create("Contact", {"LastName": "O'Brien", "Email": "ob@x.ie"}, "k1")
    found = connector.search("Contact", LastName="O'Brien", email="ob@x.ie")
    assert [c["Id"] for c in found] == [created["Id"]]
    assert connector.search("Product2", IsActive=True)
    deal = connector.sample("Opportunity", 1)[0]
    same = connector.search("Opportunity", CloseDate=deal["CloseDate"], Amount=deal["Amount"])
    assert deal["Id"] in {d["Id"] for d in same}
    with pytest.raises(ValidationError, match="is not a date value"):
        connector.search("Opportunity", CloseDate="2024-01-01 OR Name != null")
    with pytest.raises(ValidationError, match="Contact has no field Nickname") as caught:
        connector.search("Contact", Nickname="Bob")
    assert caught.value.fields == {"Nickname": "no such field"}


def test_changes_since_a_modstamp_oldest_first(connector):
    latest = max(stamp(r["SystemModstamp"]) for r in connector.sample("Account", 50))
    assert list(connector.changes("Account", latest)) == []
    first = connector.search("Account", Name="Lakeshore Logistics")[0]
    second = connector.search("Account", Name="Keystone Engineering")[0]
    connector.update("Account", first["Id"], {"Phone": "(312) 555-0000"}, "u1")
    time.sleep(0.01)  # SystemModstamp has millisecond precision
    connector.update("Account", second["Id"], {"Phone": "(412) 555-0000"}, "u2")
    changed = list(connector.changes("Account", latest))
    assert [r["Id"] for r in changed] == [first["Id"], second["Id"]]
    assert changed[0]["Phone"] == "(312) 555-0000"
    after_first = stamp(changed[0]["SystemModstamp"])
    assert [r["Id"] for r in connector.changes("Account", after_first)] == [second["Id"]]


def test_sample_gives_the_most_recently_changed(connector):
    assert len(connector.sample("Product2", 4)) == 4
    assert "Account" in connector.entities() and "OrderItem" in connector.entities()


# ---------------------------------------------------------------- writes


def test_create_update_and_upsert(connector):
    contact = connector.create("Contact", {"LastName": "Lovelace", "FirstName": "Ada"}, "c1")
    assert contact["created"]
    connector.update("Contact", contact["Id"], {"Title": "Analyst"}, "c1-title")
    assert connector.get("Contact", contact["Id"])["Title"] == "Analyst"
    made = connector.upsert("Account", "ExternalID__c", "SAGE-ABC", {"Name": "ABC Ltd"})
    again = connector.upsert("Account", "ExternalID__c", "SAGE-ABC", {"Phone": "555"})
    assert made["created"] and not again["created"] and made["Id"] == again["Id"]
    assert connector.get("Account", made["Id"])["Phone"] == "555"


def test_create_with_an_external_id_upserts(connector):
    data = {"Name": "Idem Co", "ExternalID__c": "SAGE-IDEM"}
    first = connector.create("Account", data, "key-1")
    second = connector.create("Account", data, "key-1")
    assert first["created"] and not second["created"] and first["Id"] == second["Id"]
    assert count(connector, "WHERE ExternalID__c = 'SAGE-IDEM'") == 1


def test_create_matching_on_a_named_field_finds_the_earlier_record(connector):
    data = {"LastName": "Hopper", "Email": "grace@navy.example"}
    first = connector.create("Contact", data, "key-2", match_on="Email")
    second = connector.create("Contact", data, "key-2", match_on="Email")
    assert first["created"] and second == {"Id": first["Id"], "created": False}


def test_upsert_many_of_450_costs_three_calls_with_per_record_results(connector):
    connector.sample("Account", 1)  # token and describe out of the way
    records = [{"ExternalID__c": f"BULK-{n:03d}", "Name": f"Bulk {n}"} for n in range(450)]
    records[10] = {"ExternalID__c": "BULK-010", "Name": "x" * 300}
    calls = connector.client.session.calls
    results = connector.upsert_many("Account", "ExternalID__c", records)
    assert connector.client.session.calls - calls == 3
    assert len(results) == 450 and sum(r.success for r in results) == 449
    assert results[0].created and results[0].id.startswith("001")
    assert "Name" in results[10].error.fields and "STRING_TOO_LONG" in results[10].error.detail
    again = connector.upsert_many("Account", "ExternalID__c", records[:5])
    assert [r.id for r in again] == [r.id for r in results[:5]] and not any(
        r.created for r in again
    )
    assert count(connector, "WHERE ExternalID__c LIKE 'BULK-%'") == 449


def test_create_many_and_update_many(connector):
    made = connector.create_many("Contact", [{"LastName": f"Batch {n}"} for n in range(3)])
    assert all(r.success and r.id.startswith("003") for r in made)
    updated = connector.update_many("Contact", [{"Id": r.id, "Title": "Buyer"} for r in made])
    assert all(r.success for r in updated)
    assert {c["Title"] for c in connector.search("Contact", Title="Buyer")} == {"Buyer"}
