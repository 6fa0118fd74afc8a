"""Initial load of Sage 100 customers and items into Salesforce against the live sandboxes:
batches of 200 through sObject Collections, progress reaching the total, and a run that
failed half-way resuming after its last batch without a duplicate account."""

from collections.abc import Iterator

import pytest
import requests
from simple_salesforce import Salesforce

from connectors.models import IntegrationPair
from connectors.services import connector_for
from flows.models import ExternalLink, SyncRun
from flows.services import retry_run, start_initial_load
from tests.won_deals import salesforce_reading_aged

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("runs_inline")]


@pytest.fixture
def pair(salesforce, sage100) -> IntegrationPair:
    return IntegrationPair.objects.create(name="Salesforce Sage 100", crm=salesforce, erp=sage100)


@pytest.fixture
def composite_calls(monkeypatch) -> Iterator[list[tuple[str, int]]]:
    """Every sObject Collections call simple-salesforce sends: (path, records in it)."""
    calls: list[tuple[str, int]] = []
    send = Salesforce.restful

    def counting(self, path, *args, **kwargs):
        if path.startswith("composite/sobjects"):
            calls.append((path, len((kwargs.get("json") or {}).get("records", []))))
        return send(self, path, *args, **kwargs)

    monkeypatch.setattr(Salesforce, "restful", counting)
    yield calls


def unbound_customers(pair: IntegrationPair) -> list[dict]:
    rows = connector_for(pair.erp).stream("customer")
    return [row for row in rows if not (row.get("UDF_CRM_ID") or "").strip()]


def loaded_accounts(pair: IntegrationPair) -> list[dict]:
    soql = "SELECT Id, ExternalID__c FROM Account WHERE ExternalID__c LIKE 'S100-%'"
    return list(connector_for(pair.crm).query(soql))


def test_sage100_customers_load_into_salesforce_200_a_call_with_progress(pair, composite_calls):
    customers = unbound_customers(pair)
    assert len(customers) > 200  # the seed makes this a load of more than one batch

    run = start_initial_load(pair)

    run.refresh_from_db()
    assert run.status == SyncRun.Status.SUCCEEDED, run.error_message
    account_calls = [n for path, n in composite_calls if path.endswith("/Account/ExternalID__c")]
    assert account_calls == [200, len(customers) - 200]
    assert all(n <= 200 for _, n in composite_calls)
    assert run.progress["done"] == run.progress["total"] > len(customers)
    assert run.progress["customers_done"] == len(customers)
    accounts = loaded_accounts(pair)
    assert len(accounts) == len(customers)
    assert ExternalLink.objects.filter(pair=pair, entity="customer").count() >= len(customers)
    codes = {row["ItemCode"] for row in connector_for(pair.erp).stream("item")}
    products = connector_for(pair.crm).query("SELECT ProductCode FROM Product2")
    assert codes <= {row["ProductCode"] for row in products}


def test_a_load_that_failed_half_way_resumes_after_its_last_batch_without_duplicates(
    pair, composite_calls, salesforce_sandbox, monkeypatch
):
    """The sandbox's daily API limit runs out during the second batch; after it is lifted,
    the retry sends only that batch, and every customer has exactly one account."""
    settings_url = f"{salesforce_sandbox.url}/_control/settings"
    certificate = str(salesforce_sandbox.app.data_dir / "salesforce-cert.pem")
    send = Salesforce.restful

    def limit_after_first_batch(self, path, *args, **kwargs):
        if len(composite_calls) == 1:  # the second account batch is about to go out
            requests.post(settings_url, json={"api_limit": 1}, timeout=5, verify=certificate)
        return send(self, path, *args, **kwargs)

    monkeypatch.setattr(Salesforce, "restful", limit_after_first_batch)
    customers = unbound_customers(pair)

    run = start_initial_load(pair)

    run.refresh_from_db()
    assert run.status == SyncRun.Status.RETRY_SCHEDULED
    assert run.error_class == "RateLimited"
    assert run.progress["customers_done"] == 200 < run.progress["total"]
    requests.post(settings_url, json={"api_limit": 100000}, timeout=5, verify=certificate)
    salesforce_reading_aged(pair.crm, 11)  # the spent allocation is looked at again
    calls_before = len(composite_calls)

    retry_run(run, "failed_step")

    run.refresh_from_db()
    assert run.status == SyncRun.Status.SUCCEEDED, run.error_message
    account_calls = [n for path, n in composite_calls[calls_before:] if "/Account/" in path]
    assert account_calls == [len(customers) - 200]
    assert run.progress["done"] == run.progress["total"]
    ids = [account["ExternalID__c"] for account in loaded_accounts(pair)]
    assert len(ids) == len(set(ids)) == len(customers)


def test_sage50_customers_load_into_salesforce_as_accounts_bound_to_them(salesforce, sage50):
    pair = IntegrationPair.objects.create(name="Salesforce Sage 50", crm=salesforce, erp=sage50)
    contacts = connector_for(sage50).customers_to_load()
    assert contacts  # the Sage Accounting seed has customers

    run = start_initial_load(pair)

    run.refresh_from_db()
    assert run.status == SyncRun.Status.SUCCEEDED, run.error_message
    soql = "SELECT Id, Name, ExternalID__c FROM Account WHERE ExternalID__c LIKE 'S50-%'"
    accounts = {a["ExternalID__c"]: a for a in connector_for(salesforce).query(soql)}
    assert set(accounts) == {f"S50-{contact['id']}" for contact in contacts}
    for contact in contacts:
        account = accounts[f"S50-{contact['id']}"]
        assert account["Name"] == contact["name"]
        link = ExternalLink.objects.get(pair=pair, entity="customer", sage_id=contact["id"])
        assert link.crm_id == account["Id"]
    items = run.steps.get(name="items").output
    assert items == {"skipped": "Sage Accounting lists no items to load"}
