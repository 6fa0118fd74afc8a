"""The Salesforce sandbox seen from real clients: simple-salesforce over verified TLS and plain
requests."""

import time

import pytest
from simple_salesforce.exceptions import (
    SalesforceError,
    SalesforceGeneralError,
    SalesforceMalformedRequest,
    SalesforceRefusedRequest,
    SalesforceResourceNotFound,
)

from tests.integration.sandbox.salesforce_client import (
    connect,
    control,
    https_session,
)

# ---------------------------------------------------------------- describe and query


def test_describe_lists_objects_with_key_prefixes_custom_fields_and_picklists(salesforce_sandbox):
    sf = connect(salesforce_sandbox)
    prefixes = {o["name"]: o["keyPrefix"] for o in sf.describe()["sobjects"]}
    assert prefixes["Account"] == "001" and prefixes["OpportunityLineItem"] == "00k"
    account_fields = {f["name"]: f for f in sf.Account.describe()["fields"]}
    external = account_fields["ExternalID__c"]
    assert external["custom"] and external["externalId"] and external["type"] == "string"
    assert account_fields["Name"]["nillable"] is False
    assert account_fields["Id"]["createable"] is False
    opportunity = sf.Opportunity.describe()
    fields = {f["name"]: f for f in opportunity["fields"]}
    stages = [p["value"] for p in fields["StageName"]["picklistValues"]]
    assert "Closed Won" in stages and "Negotiation/Review" in stages
    assert fields["Sage_Order_No__c"]["custom"] and fields["Sage_Order_No__c"]["updateable"]
    assert fields["AccountId"]["referenceTo"] == ["Account"]
    assert {"childSObject": "OpportunityLineItem", "field": "OpportunityId"}.items() <= (
        opportunity["childRelationships"][0].items()
    )
    product = {f["name"]: f for f in sf.Product2.describe()["fields"]}
    assert product["Quantity_On_Hand__c"]["type"] == "double"


def test_query_all_follows_next_records_url_and_nests_parent_fields(salesforce_sandbox):
    control(salesforce_sandbox, "settings", {"query_batch_size": 7})
    sf = connect(salesforce_sandbox)
    soql = "SELECT Id, Name, Account.Name FROM Opportunity ORDER BY Name"
    first = sf.query(soql)
    assert first["done"] is False and first["totalSize"] == 48 and len(first["records"]) == 7
    assert first["nextRecordsUrl"].startswith("/services/data/v59.0/query/01g")
    everything = sf.query_all(soql)["records"]
    assert len(everything) == 48 == len({r["Id"] for r in everything})
    names = [r["Name"] for r in everything]
    assert names == sorted(names, key=str.lower)
    assert all(r["attributes"]["type"] == "Opportunity" for r in everything)
    assert everything[0]["Account"]["attributes"]["type"] == "Account"
    assert everything[0]["Account"]["Name"]


def test_query_filters_child_subquery_and_count(salesforce_sandbox):
    sf = connect(salesforce_sandbox)
    won = sf.query(
        "SELECT Name, Amount, CurrencyIsoCode, (SELECT ProductCode, Quantity, TotalPrice FROM "
        "OpportunityLineItems) FROM Opportunity WHERE StageName = 'Closed Won' AND "
        "(Amount > 1000 OR CurrencyIsoCode = 'EUR') AND CloseDate = LAST_N_DAYS:90 "
        "ORDER BY Amount DESC LIMIT 5"
    )["records"]
    assert 0 < len(won) <= 5
    amounts = [r["Amount"] for r in won]
    assert amounts == sorted(amounts, reverse=True)
    for deal in won:
        lines = deal["OpportunityLineItems"]["records"]
        assert round(sum(line["TotalPrice"] for line in lines), 2) == deal["Amount"]
    unknown = sf.query(
        "SELECT Id FROM OpportunityLineItem WHERE ProductCode IN ('WIDGET-999', 'GADGET-998')"
    )
    assert unknown["totalSize"] >= 2
    assert (
        sf.query("SELECT COUNT() FROM Product2 WHERE ProductCode LIKE 'widget-1%'")["totalSize"]
        == 41
    )
    assert sf.query("SELECT Id FROM Account WHERE CreatedDate = TODAY")["totalSize"] == 22


def test_bad_soql_raises_malformed_request_with_the_real_error_codes(salesforce_sandbox):
    sf = connect(salesforce_sandbox)
    cases = {
        "SELECT Id FROM Account WHERE": "MALFORMED_QUERY",
        "SELECT Id, Nope__c FROM Account": "INVALID_FIELD",
        "SELECT Id FROM Nope__c": "INVALID_TYPE",
        "SELECT Id FROM Account WHERE CreatedDate > 2024-01-01": "INVALID_FIELD",
    }
    for soql, code in cases.items():
        with pytest.raises(SalesforceMalformedRequest) as raised:
            sf.query(soql)
        assert raised.value.content[0]["errorCode"] == code, soql


# ---------------------------------------------------------------- DML


def test_create_get_update_delete_with_real_status_codes(salesforce_sandbox):
    sf = connect(salesforce_sandbox)
    result = sf.Account.create({"Name": "Juniper Labs", "Industry": "Technology"})
    assert result["success"] and result["errors"] == []
    account_id = result["id"]
    assert len(account_id) == 18 and account_id.startswith("001")
    stored = sf.Account.get(account_id)
    url = f"/services/data/v59.0/sobjects/Account/{account_id}"
    assert stored["attributes"] == {"type": "Account", "url": url}
    assert stored["CreatedDate"] == stored["SystemModstamp"]
    time.sleep(0.01)
    assert sf.Account.update(account_id, {"Phone": "(555) 010-2000"}) == 204
    updated = sf.Account.get(account_id)
    assert updated["Phone"] == "(555) 010-2000"
    assert updated["LastModifiedDate"] > stored["LastModifiedDate"]
    assert sf.Account.get(account_id[:15])["Id"] == account_id  # 15-char ids work too

    assert sf.Account.delete(account_id) == 204
    with pytest.raises(SalesforceResourceNotFound) as gone:
        sf.Account.get(account_id)
    assert gone.value.content[0]["errorCode"] == "ENTITY_IS_DELETED"
    assert sf.query(f"SELECT Id FROM Account WHERE Id = '{account_id}'")["totalSize"] == 0
    deleted = sf.query_all(f"SELECT Id, IsDeleted FROM Account WHERE Id = '{account_id}'",
                           include_deleted=True)["records"]  # fmt: skip
    assert deleted[0]["IsDeleted"] is True


def test_upsert_by_external_id_creates_then_updates(salesforce_sandbox):
    sf = connect(salesforce_sandbox)
    first = sf.Account.upsert("ExternalID__c/STREAK-77", {"Name": "Tidewater Foods"},
                              raw_response=True)  # fmt: skip
    assert first.status_code == 201 and first.json()["created"] is True
    second = sf.Account.upsert("ExternalID__c/STREAK-77", {"Name": "Tidewater Foods Inc."},
                               raw_response=True)  # fmt: skip
    assert second.status_code == 200
    assert second.json() == {"id": first.json()["id"], "success": True, "errors": [],
                             "created": False}  # fmt: skip
    by_external = sf.Account.get_by_custom_id("ExternalID__c", "STREAK-77")
    assert by_external["Name"] == "Tidewater Foods Inc."
    with pytest.raises(SalesforceResourceNotFound) as not_external:
        sf.Account.upsert("Name/Tidewater", {"Phone": "1"})
    assert not_external.value.content[0]["errorCode"] == "NOT_FOUND"


def test_dml_errors_raise_simple_salesforce_exceptions_with_real_codes(salesforce_sandbox):
    sf = connect(salesforce_sandbox)

    def error_of(call) -> tuple[type, dict]:
        with pytest.raises(SalesforceError) as raised:
            call()
        return type(raised.value), raised.value.content[0]

    kind, error = error_of(lambda: sf.Account.create({"Industry": "Retail"}))
    assert kind is SalesforceMalformedRequest
    assert error == {"message": "Required fields are missing: [Name]",
                     "errorCode": "REQUIRED_FIELD_MISSING", "fields": ["Name"]}  # fmt: skip
    kind, error = error_of(lambda: sf.Account.get("001Dn0000000zzzIAA"))
    assert kind is SalesforceResourceNotFound and error["errorCode"] == "NOT_FOUND"
    kind, error = error_of(lambda: sf.Account.get("006Dn0000000001IAA"))
    assert kind is SalesforceMalformedRequest and error["errorCode"] == "MALFORMED_ID"
    kind, error = error_of(lambda: sf.Account.create({"Name": "X", "Colour__c": "red"}))
    assert error["errorCode"] == "INVALID_FIELD"
    kind, error = error_of(
        lambda: sf.Account.create({"Name": "X", "ExternalID__c": "CRM-ACC-0001"})
    )
    assert error["errorCode"] == "DUPLICATE_VALUE" and "001Dn0000000001IAA" in error["message"]
    kind, error = error_of(lambda: sf.Opportunity.update("006Dn0000000001IAA", {"IsWon": True}))
    assert error["errorCode"] == "INVALID_FIELD_FOR_INSERT_UPDATE"
    kind, error = error_of(
        lambda: sf.Opportunity.update("006Dn0000000001IAA", {"StageName": "Won!"})
    )
    assert error["errorCode"] == "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST"
    kind, error = error_of(lambda: sf.Contact.create({"LastName": "Li", "AccountId": "001bad"}))
    assert error["errorCode"] == "MALFORMED_ID"


def test_line_items_drive_the_opportunity_amount(salesforce_sandbox):
    sf = connect(salesforce_sandbox)
    entry = sf.query("SELECT Id, UnitPrice FROM PricebookEntry WHERE ProductCode = 'SERV-HOUR' "
                     "AND CurrencyIsoCode = 'USD'")["records"][0]  # fmt: skip
    account_id = sf.query("SELECT Id FROM Account LIMIT 1")["records"][0]["Id"]
    opportunity_id = sf.Opportunity.create({
        "Name": "Consulting block", "StageName": "Prospecting", "CloseDate": "2030-01-31",
        "AccountId": account_id,
    })["id"]  # fmt: skip
    sf.OpportunityLineItem.create(
        {"OpportunityId": opportunity_id, "PricebookEntryId": entry["Id"], "Quantity": 8}
    )
    deal = sf.Opportunity.get(opportunity_id)
    assert deal["Amount"] == 8 * entry["UnitPrice"] and deal["IsWon"] is False
    assert deal["Probability"] == 10


# ---------------------------------------------------------------- composite


def test_collection_all_or_none_rolls_back_every_record(salesforce_sandbox):
    sf = connect(salesforce_sandbox)
    records = [
        {"attributes": {"type": "Account"}, "Name": "Birch & Co"},
        {"attributes": {"type": "Account"}, "Industry": "Retail"},  # no Name
        {"attributes": {"type": "Contact"}, "LastName": "Okoye"},
    ]
    results = sf.restful("composite/sobjects", method="POST",
                         json={"allOrNone": True, "records": records})  # fmt: skip
    assert [r["success"] for r in results] == [False, False, False]
    assert results[1]["errors"][0]["statusCode"] == "REQUIRED_FIELD_MISSING"
    assert results[0]["errors"][0]["statusCode"] == "ALL_OR_NONE_OPERATION_ROLLED_BACK"
    assert sf.query("SELECT COUNT() FROM Account WHERE Name = 'Birch & Co'")["totalSize"] == 0

    partial = sf.restful("composite/sobjects", method="POST",
                         json={"allOrNone": False, "records": records})  # fmt: skip
    assert [r["success"] for r in partial] == [True, False, True]
    assert sf.query("SELECT COUNT() FROM Account WHERE Name = 'Birch & Co'")["totalSize"] == 1
    updates = [{"attributes": {"type": "Account"}, "Id": partial[0]["id"], "Phone": "555-0100"}]
    assert sf.restful("composite/sobjects", method="PATCH", json={"records": updates})[0]["success"]
    removed = sf.restful("composite/sobjects", method="DELETE",
                         params={"ids": f"{partial[0]['id']},{partial[2]['id']}"})  # fmt: skip
    assert [r["success"] for r in removed] == [True, True]


def test_composite_resolves_references_between_subrequests(salesforce_sandbox):
    sf = connect(salesforce_sandbox)
    base = "/services/data/v59.0"
    check_url = f"{base}/query?q=SELECT+Id,Account.Name+FROM+Contact+WHERE+Id='@{{newContact.id}}'"
    reply = sf.restful("composite", method="POST", json={"allOrNone": True, "compositeRequest": [
        {"method": "POST", "url": f"{base}/sobjects/Account", "referenceId": "newAccount",
         "body": {"Name": "Quarry Hill Stone"}},
        {"method": "POST", "url": f"{base}/sobjects/Contact", "referenceId": "newContact",
         "body": {"LastName": "Ferris", "AccountId": "@{newAccount.id}"}},
        {"method": "GET", "referenceId": "check",
         "url": check_url},
    ]})  # fmt: skip
    statuses = [r["httpStatusCode"] for r in reply["compositeResponse"]]
    assert statuses == [201, 201, 200]
    check = reply["compositeResponse"][2]["body"]["records"][0]
    assert check["Account"]["Name"] == "Quarry Hill Stone"

    halted = sf.restful("composite", method="POST", json={"allOrNone": True, "compositeRequest": [
        {"method": "POST", "url": f"{base}/sobjects/Account", "referenceId": "a",
         "body": {"Name": "Never Kept Ltd"}},
        {"method": "POST", "url": f"{base}/sobjects/Contact", "referenceId": "c", "body": {}},
    ]})["compositeResponse"]  # fmt: skip
    assert halted[0]["body"][0]["errorCode"] == "PROCESSING_HALTED"
    assert halted[1]["body"][0]["errorCode"] == "REQUIRED_FIELD_MISSING"
    assert sf.query("SELECT COUNT() FROM Account WHERE Name = 'Never Kept Ltd'")["totalSize"] == 0


# ---------------------------------------------------------------- limits and faults


def test_daily_api_limit_runs_out_with_request_limit_exceeded(salesforce_sandbox):
    sf = connect(salesforce_sandbox)
    control(salesforce_sandbox, "settings", {"api_limit": 3, "api_used": 0})
    sf.query("SELECT Id FROM Account LIMIT 1")
    assert sf.api_usage["api-usage"].used == 1 and sf.api_usage["api-usage"].total == 3
    sf.query("SELECT Id FROM Account LIMIT 1")
    assert sf.limits()["DailyApiRequests"] == {"Max": 3, "Remaining": 0}
    with pytest.raises(SalesforceRefusedRequest) as refused:
        sf.query("SELECT Id FROM Account LIMIT 1")
    assert refused.value.status == 403
    assert refused.value.content[0]["errorCode"] == "REQUEST_LIMIT_EXCEEDED"


def test_injected_rate_limit_and_outage_look_like_salesforce(salesforce_sandbox):
    sf = connect(salesforce_sandbox)
    http = https_session(salesforce_sandbox)
    faults = {"rate_limit_rate": 1.0, "retry_after": 2}
    assert http.post(f"{salesforce_sandbox.url}/_control/faults", json=faults).status_code == 200
    with pytest.raises(SalesforceGeneralError) as limited:
        sf.query("SELECT Id FROM Account")
    assert limited.value.status == 429
    assert limited.value.content[0]["errorCode"] == "REQUEST_LIMIT_EXCEEDED"
    http.post(f"{salesforce_sandbox.url}/_control/faults", json={"outage": True})
    with pytest.raises(SalesforceGeneralError) as down:
        sf.Account.describe()
    assert down.value.status == 503
    assert down.value.content[0]["errorCode"] == "SERVER_UNAVAILABLE"
