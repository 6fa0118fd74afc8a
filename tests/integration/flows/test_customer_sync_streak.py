"""Customer sync between Streak and Sage 100 or Sage 50, against the live sandboxes: the
pair's webhooks are registered with the Streak sandbox, which posts its ORG_UPDATE deliveries
to a live server. A phone changed on a bound organization reaches its Sage customer; Sage's
credit limit reaches the organization's `other` line while a Sage edit of the CRM-owned phone
does not; neither write comes back as a second run; unbound records start nothing.

Runs are executed as a worker does, after the delivery or poll that started them committed
(`work_off`), so Streak's immediate echo meets the state a real worker leaves."""

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
import requests

from connectors.models import Connection, IntegrationPair
from connectors.services import connector_for, register_pair_webhook
from flows.models import ExternalLink, InboundEvent, SyncRun
from tests.integration.flows.polling import poll_now
from tests.integration.flows.sync_helpers import wait_for, work_off

pytestmark = pytest.mark.django_db(transaction=True)

FLOW = "customer_sync"


@dataclass
class Side:
    """How a Sage user reads and edits a customer in one Sage product."""

    label: str
    entity: str
    phone: Callable[[dict], Any]
    credit_limit: Callable[[dict], Any]
    edit: Callable[[str, str], dict]  # (credit limit, phone) → the update body
    address: Callable[[dict], str]


SIDES = {
    "sage100": Side(
        label="Sage 100",
        entity="customer",
        phone=lambda c: c["TelephoneNo"],
        credit_limit=lambda c: c["CreditLimit"],
        edit=lambda limit, phone: {"CreditLimit": limit, "TelephoneNo": phone},
        address=lambda c: (
            f"{c['AddressLine1']}, {c['City']}, {c['State']} {c['ZipCode']}, {c['CountryCode']}"
        ),
    ),
    "sage50": Side(
        label="Sage Accounting",
        entity="contacts",
        phone=lambda c: c["main_contact_person"]["telephone"],
        credit_limit=lambda c: c["credit_limit"],
        edit=lambda limit, phone: {
            "credit_limit": limit,
            "main_contact_person": {"telephone": phone},
        },
        address=lambda c: (
            f"{c['main_address']['address_line_1']}, {c['main_address']['city']}, "
            f"{c['main_address']['region']} {c['main_address']['postal_code']}, "
            f"{c['main_address']['country']['id']}"
        ),
    ),
}


@dataclass
class Bound:
    pair: IntegrationPair
    side: Side
    organization: str  # its key
    ref: str  # the Sage customer's key

    def customer(self) -> dict:
        return connector_for(self.pair.erp).get(self.side.entity, self.ref)

    def org(self) -> dict:
        return connector_for(self.pair.crm).get("Organization", self.organization)


def org_updates(pair: IntegrationPair, key: str) -> list[InboundEvent]:
    return list(InboundEvent.objects.filter(pair=pair, kind="ORG_UPDATE", entity_key=key))


def first_customer(erp: Connection) -> tuple[str, dict]:
    sage = connector_for(erp)
    if erp.system == "sage100":
        customer = next(sage.stream("customer"))
        return f"{customer['ARDivisionNo']}-{customer['CustomerNo']}", customer
    customer = sorted(sage.search("contacts", contact_type_id="CUSTOMER"), key=lambda c: c["id"])[0]
    return customer["id"], customer


@pytest.fixture(params=["sage100", "sage50"])
def bound(request, settings, live_server, make_pair, streak) -> Bound:
    """A Streak pair with customer sync on and its webhooks registered, and an organization
    bound to a Sage customer with the customer's values; the Sage feed polled once so only
    later changes count."""
    settings.CLARITY_PUBLIC_URL = live_server.url
    erp = request.getfixturevalue(request.param)
    side = SIDES[request.param]
    pair = make_pair(streak, erp, FLOW)
    register_pair_webhook(pair)
    ref, customer = first_customer(erp)
    name = customer.get("CustomerName") or customer["name"]
    organization = connector_for(streak).create(
        "Organization",
        {
            "name": name,
            "phoneNumbers": [side.phone(customer)],
            "addresses": [side.address(customer)],
        },
        "test-org",
    )
    poll_now(pair, FLOW)
    ExternalLink.objects.create(
        pair=pair, entity="customer", crm_id=organization["key"], sage_id=ref
    )
    time.sleep(1.1)  # Sage stamps changes to the second: keep ours apart from the seed's
    return Bound(pair, side, organization["key"], ref)


def save_on_the_page(streak_sandbox, organization: dict, **changes: str) -> None:
    """Edit the organization on the Streak sandbox's page, as a Streak user does."""
    form = {
        "name": organization["name"],
        "phone": organization["phoneNumbers"][0],
        "address": organization["addresses"][0],
        "industry": organization["industry"],
        "other": organization["other"],
    }
    url = f"{streak_sandbox.url}/organizations/{organization['key']}"
    reply = requests.post(url, data=form | changes, timeout=10)
    assert reply.ok and "saved" in reply.url, reply.text


def test_a_phone_changed_on_the_organization_reaches_sage_once(bound, streak, streak_sandbox):
    save_on_the_page(streak_sandbox, bound.org(), phone="(555) 010-4477")

    wait_for(lambda: SyncRun.objects.filter(pair=bound.pair).exists())
    [run] = work_off(bound.pair)
    assert run.status == SyncRun.Status.SUCCEEDED, run.error_message
    assert run.entity_key == bound.organization
    assert bound.side.phone(bound.customer()) == "(555) 010-4477"
    assert run.summary.endswith(": phone from the CRM.")
    assert run.summary.startswith(bound.side.label)

    again = poll_now(bound.pair, FLOW)  # Sage's change feed shows our write: no second run
    assert again.stored >= 1 and again.runs == 0
    save_on_the_page(streak_sandbox, bound.org(), industry="Logistics")  # not synced: no run
    wait_for(lambda: len(org_updates(bound.pair, bound.organization)) == 2)
    assert SyncRun.objects.filter(pair=bound.pair).count() == 1


def test_sage_credit_limit_reaches_the_organization_but_a_sage_phone_edit_does_not(bound, streak):
    phone_before = bound.org()["phoneNumbers"]
    sage = connector_for(bound.pair.erp)
    sage.update(bound.side.entity, bound.ref, bound.side.edit("42500", "(555) 999-0000"), "sage")

    poll_now(bound.pair, FLOW)
    [run] = work_off(bound.pair)

    assert run.status == SyncRun.Status.SUCCEEDED, run.error_message
    organization = bound.org()
    assert organization["phoneNumbers"] == phone_before  # the phone belongs to the CRM
    line = organization["other"].splitlines()[0]
    assert line.startswith(f"{bound.side.label}: credit limit 42,500.00 · terms ")
    assert " · balance " in line
    assert run.summary.startswith(f"Organization {organization['name']}: credit_limit")
    assert bound.side.phone(bound.customer()) == "(555) 999-0000"

    echo = wait_for(lambda: org_updates(bound.pair, bound.organization))  # our own write
    assert echo[0].status == InboundEvent.Status.IGNORED
    assert poll_now(bound.pair, FLOW).runs == 0
    assert SyncRun.objects.filter(pair=bound.pair).count() == 1


def test_changes_of_unbound_records_start_nothing(bound, streak):
    stranger = connector_for(streak).create("Organization", {"name": "Unbound Ltd"}, "stranger")
    connector_for(streak).update("Organization", stranger["key"], {"phoneNumbers": ["1"]}, "x")
    sage = connector_for(bound.pair.erp)
    ExternalLink.objects.filter(pair=bound.pair).delete()
    sage.update(bound.side.entity, bound.ref, bound.side.edit("1000", "(555) 123-0000"), "sage")

    polled = poll_now(bound.pair, FLOW)

    assert polled.stored >= 1 and polled.runs == 0
    event = wait_for(lambda: org_updates(bound.pair, stranger["key"]))[0]
    assert event.status == InboundEvent.Status.IGNORED
    assert not SyncRun.objects.filter(pair=bound.pair).exists()
