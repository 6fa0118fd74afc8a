"""Contact sync between Salesforce and Sage 100, against the live sandboxes: both sides are
polled (Contacts by SystemModstamp, AR_CustomerContact by its change date). A Contact added
to a bound Account appears once among the Sage customer's contacts; a phone a Sage user
changes reaches the Contact; neither write comes back as a run."""

import time
from dataclasses import dataclass
from datetime import datetime

import pytest

from connectors.models import IntegrationPair
from connectors.services import connector_for
from flows.models import ExternalLink, SyncRun
from sandbox.sage100.rules import decimal_hours
from tests.integration.flows.polling import poll_now, sage100_rows
from tests.integration.flows.sync_helpers import bind_sage100_customer, customer_contacts

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("runs_inline")]

FLOW = "contact_sync"
EMAIL = "lena.okafor@morrison-test.example"


@dataclass
class Bound:
    pair: IntegrationPair
    account: str
    division: str
    customer_no: str


@pytest.fixture
def bound(make_pair, salesforce, sage100) -> Bound:
    """A Salesforce + Sage 100 pair with contact sync on and a new Account bound to the
    first Sage customer; both feeds polled once so that only later changes count."""
    pair = make_pair(salesforce, sage100, FLOW)
    customer = next(connector_for(sage100).stream("customer"))
    account = connector_for(salesforce).create(
        "Account", {"Name": f"{customer['CustomerName']} (contacts test)"}, "test-account"
    )
    bind_sage100_customer(pair, account["Id"], customer)
    poll_now(pair, FLOW)
    time.sleep(1.1)  # both systems stamp changes to the second: keep ours apart
    return Bound(pair, account["Id"], customer["ARDivisionNo"], customer["CustomerNo"])


def contact_rows(sandbox, bound: Bound) -> list[dict]:
    return customer_contacts(sandbox, bound.division, bound.customer_no)


def add_contact(salesforce, bound: Bound) -> str:
    """A Salesforce user adds Lena Okafor to the Account; polled, her run is done."""
    made = connector_for(salesforce).create(
        "Contact",
        {
            "FirstName": "Lena",
            "LastName": "Okafor",
            "Email": EMAIL,
            "Phone": "(555) 310-2299",
            "Title": "Controller",
            "AccountId": bound.account,
        },
        "salesforce-user",
    )
    polled = poll_now(bound.pair, FLOW)
    assert polled.runs == 1
    return made["Id"]


def test_a_contact_added_to_a_bound_account_appears_once_in_sage(
    bound, salesforce, sage100_sandbox
):
    before = contact_rows(sage100_sandbox, bound)

    contact_id = add_contact(salesforce, bound)

    run = SyncRun.objects.get(pair=bound.pair)
    assert run.status == SyncRun.Status.SUCCEEDED, run.error_message
    rows = contact_rows(sage100_sandbox, bound)
    assert len(rows) == len(before) + 1
    [new] = [row for row in rows if row["EmailAddress"] == EMAIL]
    assert (new["ContactCode"], new["ContactName"], new["TelephoneNo1"]) == (
        "LENAOKAFOR",
        "Lena Okafor",
        "(555) 310-2299",
    )
    assert new["ContactTitle"] == "Controller"
    assert run.summary == (
        f"Contact Lena Okafor: created in Sage 100 customer {bound.division}-{bound.customer_no}."
    )
    assert ExternalLink.objects.get(pair=bound.pair, entity="contact").crm_id == contact_id

    time.sleep(1.1)
    again = poll_now(bound.pair, FLOW)  # Sage's feed shows our own write: no second run
    assert again.stored >= 1 and again.runs == 0
    assert SyncRun.objects.filter(pair=bound.pair).count() == 1
    assert len(contact_rows(sage100_sandbox, bound)) == len(before) + 1


def test_a_phone_changed_in_sage_reaches_the_contact_without_an_echo(
    bound, salesforce, sage100_sandbox
):
    contact_id = add_contact(salesforce, bound)
    time.sleep(1.1)
    poll_now(bound.pair, FLOW)
    time.sleep(1.1)
    now = datetime.now()
    sage100_rows(  # a Sage user saves a new phone on the contact
        sage100_sandbox,
        "UPDATE AR_CustomerContact SET TelephoneNo1 = ?, DateUpdated = ?, TimeUpdated = ? "
        "WHERE ARDivisionNo = ? AND CustomerNo = ? AND ContactCode = ?",
        "(555) 777-0142",
        now.date().isoformat(),
        decimal_hours(now),
        bound.division,
        bound.customer_no,
        "LENAOKAFOR",
    )

    polled = poll_now(bound.pair, FLOW)

    assert polled.runs == 1
    run = SyncRun.objects.filter(pair=bound.pair).order_by("-pk").first()
    assert run.status == SyncRun.Status.SUCCEEDED, run.error_message
    assert run.summary == "Contact Lena Okafor: phone from Sage 100."
    contact = connector_for(salesforce).get("Contact", contact_id)
    assert (contact["Phone"], contact["LastName"]) == ("(555) 777-0142", "Okafor")

    time.sleep(1.1)
    again = poll_now(bound.pair, FLOW)  # the Contact's feed shows our own write: no run
    assert again.stored >= 1 and again.runs == 0
    assert SyncRun.objects.filter(pair=bound.pair).count() == 2


@pytest.fixture
def bound_sage50(make_pair, salesforce, sage50) -> tuple[IntegrationPair, str, str]:
    """A Salesforce + Sage Accounting pair with contact sync on and a new Account bound to a
    Sage customer contact, polled once: (pair, Account Id, Sage contact id)."""
    pair = make_pair(salesforce, sage50, FLOW)
    [customer, *_] = connector_for(sage50).search("contacts", contact_type_id="CUSTOMER")
    account = connector_for(salesforce).create(
        "Account", {"Name": f"{customer['name']} (contacts test)"}, "test-account-s50"
    )
    ExternalLink.objects.create(
        pair=pair, entity="customer", crm_id=account["Id"], sage_id=customer["id"]
    )
    poll_now(pair, FLOW)
    time.sleep(1.1)
    return pair, account["Id"], customer["id"]


def test_a_contact_reaches_sage_accounting_as_a_contact_person_and_a_phone_comes_back(
    bound_sage50, salesforce, sage50
):
    pair, account_id, customer_id = bound_sage50
    sage = connector_for(sage50)
    before = len(sage.search("contact_persons", contact_id=customer_id))
    contact_id = add_contact(salesforce, Bound(pair, account_id, "", ""))

    persons = sage.search("contact_persons", contact_id=customer_id)
    [person] = [p for p in persons if p["email"] == EMAIL]
    assert (person["name"], person["telephone"], person["job_title"]) == (
        "Lena Okafor",
        "(555) 310-2299",
        "Controller",
    )
    time.sleep(1.1)
    assert poll_now(pair, FLOW).runs == 0  # Sage's feed shows our own write

    time.sleep(1.1)
    sage.update("contact_persons", person["id"], {"telephone": "(555) 888-0123"}, "sage-user")
    assert poll_now(pair, FLOW).runs == 1

    run = SyncRun.objects.filter(pair=pair).order_by("-pk").first()
    assert run.status == SyncRun.Status.SUCCEEDED, run.error_message
    assert run.summary == "Contact Lena Okafor: phone from Sage Accounting."
    assert connector_for(salesforce).get("Contact", contact_id)["Phone"] == "(555) 888-0123"
    time.sleep(1.1)
    assert poll_now(pair, FLOW).runs == 0  # nor does the Contact's
    assert len(sage.search("contact_persons", contact_id=customer_id)) == before + 1
