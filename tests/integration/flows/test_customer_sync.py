"""Customer sync against the live sandboxes: a phone changed on the Salesforce Account
reaches its Sage 100 customer, a credit limit changed in Sage reaches the Account while a
Sage edit of a CRM-owned field does not, and neither write comes back as a second run; the
same both ways between Salesforce and Sage 50."""

import time
from decimal import Decimal

import pytest

from connectors.models import IntegrationPair
from connectors.salesforce.accounts import account_of
from connectors.services import connector_for
from flows.models import ExternalLink, SyncRun
from tests.integration.flows.polling import poll_now, sage100_rows

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("runs_inline")]

FLOW = "customer_sync"
# The sandbox org has no credit limit field on Account; AccountNumber (free text) is the
# closest field it has, so the tests point the Sage-owned credit limit there.
CRM_FIELDS = {"credit_limit": "AccountNumber"}


@pytest.fixture
def bound(make_pair, salesforce, sage100, sage100_sandbox) -> tuple[IntegrationPair, str, str]:
    """A pair, and an Account bound to a Sage 100 customer with the customer's values, the
    feeds polled once so that only later changes count: (pair, account Id, customer ref)."""
    pair = make_pair(salesforce, sage100, FLOW, crm_fields=CRM_FIELDS)
    [customer] = sage100_rows(
        sage100_sandbox, "SELECT * FROM AR_Customer WHERE CustomerNo = 'MORRISON'"
    )
    sage = connector_for(sage100)
    ref = sage.customer_ref(customer)
    common = sage.customer_values(customer) | {"source_id": f"S100-{ref}"}
    values = {k: v for k, v in account_of(common).items() if k != "ExternalID__c"}
    values["AccountNumber"] = format(Decimal(str(customer["CreditLimit"])), ".2f")
    account = connector_for(salesforce).create("Account", values, f"test-S100-{ref}")
    poll_now(pair, FLOW)
    ExternalLink.objects.create(pair=pair, entity="customer", crm_id=account["Id"], sage_id=ref)
    time.sleep(1.1)  # Sage stamps changes to the second: keep ours apart from the seed's
    return pair, account["Id"], ref


def sage_customer(sandbox, ref: str) -> dict:
    division, number = ref.split("-")
    [row] = sage100_rows(
        sandbox,
        "SELECT * FROM AR_Customer WHERE ARDivisionNo = ? AND CustomerNo = ?",
        division,
        number,
    )
    return row


def test_a_phone_changed_on_the_account_reaches_sage_once(bound, salesforce, sage100_sandbox):
    pair, account_id, ref = bound
    crm = connector_for(salesforce)
    crm.update("Account", account_id, {"Phone": "(555) 010-4477"}, "user-edit")

    poll_now(pair, FLOW)

    run = SyncRun.objects.get(pair=pair)
    assert run.status == SyncRun.Status.SUCCEEDED, run.error_message
    assert sage_customer(sage100_sandbox, ref)["TelephoneNo"] == "(555) 010-4477"
    assert run.summary == f"Sage 100 customer {ref}: phone from the CRM."

    again = poll_now(pair, FLOW)  # Sage's change feed shows our write: no second run
    assert again.stored >= 1 and again.runs == 0
    assert SyncRun.objects.filter(pair=pair).count() == 1


def test_sage_credit_limit_reaches_the_account_but_a_sage_phone_edit_does_not(
    bound, salesforce, sage100, sage100_sandbox
):
    pair, account_id, ref = bound
    crm = connector_for(salesforce)
    phone_before = crm.get("Account", account_id)["Phone"]
    connector_for(sage100).update(
        "customer", ref, {"CreditLimit": "42500", "TelephoneNo": "(555) 999-0000"}, "sage-user"
    )

    poll_now(pair, FLOW)

    run = SyncRun.objects.get(pair=pair)
    assert run.status == SyncRun.Status.SUCCEEDED, run.error_message
    account = crm.get("Account", account_id)
    assert account["AccountNumber"] == "42500.00"
    assert account["Phone"] == phone_before  # the phone belongs to the CRM
    assert run.summary == (
        f"Account {account['Name']}: credit_limit from Sage 100 "
        "(the org has no Payment_Terms__c, Balance__c)."
    )
    assert sage_customer(sage100_sandbox, ref)["TelephoneNo"] == "(555) 999-0000"
    link = ExternalLink.objects.get(pair=pair, crm_id=account_id)
    assert link.last_synced_version == account["SystemModstamp"]

    again = poll_now(pair, FLOW)  # the Account's change is our own write: dropped
    assert again.echoes == 1 and again.runs == 0
    assert SyncRun.objects.filter(pair=pair).count() == 1


@pytest.fixture
def bound_sage50(make_pair, salesforce, sage50) -> tuple[IntegrationPair, str, str]:
    """A Salesforce + Sage 50 pair, and an Account bound to a Sage 50 customer contact with
    its name, phone and credit limit: (pair, account Id, contact id)."""
    pair = make_pair(salesforce, sage50, FLOW, crm_fields=CRM_FIELDS)
    contacts = connector_for(sage50).search("contacts", contact_type_id="CUSTOMER")
    contact = min(contacts, key=lambda c: c["id"])
    values = {
        "Name": contact["name"],
        "Phone": contact["main_contact_person"]["telephone"],
        "AccountNumber": contact["credit_limit"],
    }
    account = connector_for(salesforce).create("Account", values, f"test-{contact['id']}")
    poll_now(pair, FLOW)
    ExternalLink.objects.create(
        pair=pair, entity="customer", crm_id=account["Id"], sage_id=contact["id"]
    )
    time.sleep(1.1)  # Sage stamps changes to the second: keep ours apart from the seed's
    return pair, account["Id"], contact["id"]


def test_salesforce_and_sage50_each_send_the_fields_they_own_once(bound_sage50, salesforce, sage50):
    pair, account_id, contact_id = bound_sage50
    crm, sage = connector_for(salesforce), connector_for(sage50)
    crm.update("Account", account_id, {"Phone": "(555) 010-5050"}, "user-edit")

    poll_now(pair, FLOW)

    run = SyncRun.objects.get(pair=pair)
    assert run.status == SyncRun.Status.SUCCEEDED, run.error_message
    contact = sage.get("contacts", contact_id)
    assert contact["main_contact_person"]["telephone"] == "(555) 010-5050"
    assert run.summary == f"Sage Accounting contact {contact['name']}: phone from the CRM."
    assert poll_now(pair, FLOW).runs == 0  # our write in Sage's feed: not a second run

    time.sleep(1.1)
    sage.update("contacts", contact_id, {"credit_limit": "31000"}, "sage-user")
    poll_now(pair, FLOW)

    assert crm.get("Account", account_id)["AccountNumber"] == "31000.00"
    latest = SyncRun.objects.filter(pair=pair).latest("pk")
    assert latest.status == SyncRun.Status.SUCCEEDED, latest.error_message
    assert latest.summary.startswith(
        f"Account {contact['name']}: credit_limit from Sage Accounting"
    )
    assert poll_now(pair, FLOW).runs == 0  # the Account's change is our own write
    assert SyncRun.objects.filter(pair=pair).count() == 2
