"""Contact sync between Streak and Sage 100, against the live sandboxes: the pair's contact
webhooks are registered with the Streak sandbox, which posts its CONTACT_CREATE and
CONTACT_UPDATE deliveries to a live server; Sage 100's AR_CustomerContact is polled. A
person added to a bound organization appears once among the Sage customer's contacts; a
phone a Sage user changes reaches the Streak contact; neither write comes back as a run."""

import time
from dataclasses import dataclass
from datetime import datetime

import pytest

from connectors.models import IntegrationPair
from connectors.services import connector_for
from flows.models import ExternalLink, InboundEvent, SyncRun
from sandbox.sage100.rules import decimal_hours
from tests.integration.flows.polling import poll_now, sage100_rows
from tests.integration.flows.sync_helpers import (
    bind_sage100_customer,
    customer_contacts,
    wait_for,
    work_off,
)

pytestmark = pytest.mark.django_db(transaction=True)

FLOW = "contact_sync"
DOMAIN = "harbourfreight-test.example"
CONTACT_EVENTS = ("CONTACT_CREATE", "CONTACT_UPDATE")


@dataclass
class Bound:
    pair: IntegrationPair
    organization: str
    division: str
    customer_no: str


def contact_rows(sandbox, bound: Bound) -> list[dict]:
    return customer_contacts(sandbox, bound.division, bound.customer_no)


@pytest.fixture
def bound(settings, live_server, make_pair, streak, sage100) -> Bound:
    """A Streak + Sage 100 pair with contact sync on, its contact webhooks registered, and an
    organization (domain DOMAIN) bound to the first Sage customer; Sage's feed polled once."""
    settings.CLARITY_PUBLIC_URL = live_server.url
    pair = make_pair(streak, sage100, FLOW)
    token = pair.rotate_webhook_token()
    pair.save()
    connector_for(streak).register_webhook(pair.webhook_url(token), events=CONTACT_EVENTS)
    customer = next(connector_for(sage100).stream("customer"))
    organization = connector_for(streak).create(
        "Organization", {"name": customer["CustomerName"], "domains": [DOMAIN]}, "test-org"
    )
    bind_sage100_customer(pair, organization["key"], customer)
    poll_now(pair, FLOW)
    time.sleep(1.1)  # Sage stamps changes to the second: keep ours apart from the seed's
    return Bound(pair, organization["key"], customer["ARDivisionNo"], customer["CustomerNo"])


def add_person(streak, bound: Bound) -> tuple[dict, SyncRun]:
    """A Streak user adds Jane Rivera at the organization's domain; the run it starts."""
    person = connector_for(streak).create(
        "Contact",
        {
            "givenName": "Jane",
            "familyName": "Rivera",
            "emailAddresses": [f"jane.rivera@{DOMAIN}"],
            "phoneNumbers": ["(555) 201-3344"],
            "title": "Buyer",
        },
        "streak-user",
    )
    wait_for(lambda: SyncRun.objects.filter(pair=bound.pair).exists())
    [run] = work_off(bound.pair)
    return person, run


def test_a_person_added_in_streak_appears_once_among_the_sage_customers_contacts(
    bound, streak, sage100_sandbox
):
    before = contact_rows(sage100_sandbox, bound)

    person, run = add_person(streak, bound)

    assert run.status == SyncRun.Status.SUCCEEDED, run.error_message
    rows = contact_rows(sage100_sandbox, bound)
    [new] = [row for row in rows if row["EmailAddress"] == f"jane.rivera@{DOMAIN}"]
    assert len(rows) == len(before) + 1
    assert (new["ContactName"], new["TelephoneNo1"], new["ContactTitle"]) == (
        "Jane Rivera",
        "(555) 201-3344",
        "Buyer",
    )
    assert new["ContactCode"] == "JANERIVERA"
    assert run.summary == (
        f"Contact Jane Rivera: created in Sage 100 customer {bound.division}-{bound.customer_no}."
    )
    link = ExternalLink.objects.get(pair=bound.pair, entity="contact")
    assert link.crm_id == person["key"]

    again = poll_now(bound.pair, FLOW)  # Sage's feed shows our own write: no second run
    assert again.stored >= 1 and again.runs == 0
    assert SyncRun.objects.filter(pair=bound.pair).count() == 1
    assert len(contact_rows(sage100_sandbox, bound)) == len(before) + 1


def test_a_phone_changed_in_sage_reaches_the_streak_contact_without_an_echo(
    bound, streak, sage100_sandbox
):
    person, _ = add_person(streak, bound)
    poll_now(bound.pair, FLOW)
    time.sleep(1.1)
    now = datetime.now()
    sage100_rows(  # a Sage user saves a new phone and title on the contact
        sage100_sandbox,
        "UPDATE AR_CustomerContact SET TelephoneNo1 = ?, ContactTitle = ?, DateUpdated = ?, "
        "TimeUpdated = ? WHERE ARDivisionNo = ? AND CustomerNo = ? AND ContactCode = ?",
        "(555) 777-0101",
        "Head of buying",
        now.date().isoformat(),
        decimal_hours(now),
        bound.division,
        bound.customer_no,
        "JANERIVERA",
    )

    polled = poll_now(bound.pair, FLOW)
    assert polled.runs == 1
    [run] = work_off(bound.pair)

    assert run.status == SyncRun.Status.SUCCEEDED, run.error_message
    contact = connector_for(streak).get("Contact", person["key"])
    assert contact["phoneNumbers"] == ["(555) 777-0101"]
    assert contact["title"] == "Head of buying"
    assert contact["givenName"] == "Jane"
    assert run.summary == "Contact Jane Rivera: phone, title from Sage 100."

    def echoed() -> list[InboundEvent]:
        updates = InboundEvent.objects.filter(pair=bound.pair, kind="CONTACT_UPDATE")
        return list(updates.filter(entity_key=person["key"]))

    echo = wait_for(echoed)  # Streak's delivery of our own write
    assert echo[0].status == InboundEvent.Status.IGNORED
    assert poll_now(bound.pair, FLOW).runs == 0
    assert SyncRun.objects.filter(pair=bound.pair).count() == 2


def test_people_of_unbound_organizations_start_no_sage_write(bound, streak, sage100_sandbox):
    before = contact_rows(sage100_sandbox, bound)
    connector_for(streak).create(
        "Contact", {"givenName": "Sam", "emailAddresses": ["sam@elsewhere.example"]}, "x"
    )

    run = wait_for(lambda: SyncRun.objects.filter(pair=bound.pair).first())
    [run] = work_off(bound.pair)

    assert run.summary == "Contact Sam is not of a bound customer."
    assert contact_rows(sage100_sandbox, bound) == before
    assert not ExternalLink.objects.filter(pair=bound.pair, entity="contact").exists()
