"""Customer sync between Streak and Sage 50 US desktop, end to end against the live sandboxes:
the pair's webhooks are registered with the Streak sandbox, which posts its deliveries to a
live server. A deal won in Streak's Wholesale pipeline makes the Sage 50 customer and binds
the organization to it; the first poll of Sage 50's customers only takes its snapshot (Sage
50 keeps no change times); a credit limit changed in Sage then reaches the organization, and
a phone changed on the organization reaches the Sage 50 customer, read back over ODBC.

Runs are executed as a worker does, after the delivery or poll that started them committed
(`work_off`, from the Streak customer sync tests)."""

from dataclasses import dataclass

import pytest

from connectors.models import IntegrationPair
from connectors.services import connector_for, register_pair_webhook
from flows.models import ExternalLink, FlowConfig, SyncRun
from sandbox.streak import data as streak_data
from tests import won_deals as shared
from tests.integration.flows.polling import poll_now
from tests.integration.flows.test_customer_sync_streak import (
    org_updates,
    save_on_the_page,
    wait_for,
    work_off,
)

pytestmark = pytest.mark.django_db(transaction=True)

FLOW = "customer_sync"
LABEL = "Sage 50 (US desktop)"


@dataclass
class Bound:
    pair: IntegrationPair
    organization: str  # its key
    customer_id: str  # the Sage 50 CustomerID

    def customer(self, sandbox) -> dict:
        """The customer as Sage 50 holds it (Customers row), over ODBC."""
        [row] = shared.sage50desktop_rows(
            sandbox, "SELECT * FROM Customers WHERE CustomerID = ?", self.customer_id
        )
        return row

    def org(self) -> dict:
        return connector_for(self.pair.crm).get("Organization", self.organization)


@pytest.fixture
def bound(settings, live_server, streak_sandbox, sage50desktop) -> Bound:
    """A Wholesale pair invoicing won deals with customer sync on, its webhooks registered;
    a box won, so its organization has a Sage 50 customer bound to it."""
    settings.CLARITY_PUBLIC_URL = live_server.url
    crm = shared.streak_connection(streak_sandbox, streak_data.WHOLESALE)
    pair, _ = shared.make_pair("Wholesale Sage 50 sync", crm, sage50desktop, "deal_won_to_invoice")
    FlowConfig.objects.filter(pair=pair, flow=FLOW).update(
        enabled=True, trigger=FlowConfig.Trigger.POLL
    )
    register_pair_webhook(pair)
    key = shared.seeded_box_key("WHL-3043")  # Evergreen Landscaping, Closed-Lost
    shared.move_box(streak_sandbox, key, streak_data.CLOSED_WON)  # Streak posts the change
    wait_for(lambda: SyncRun.objects.filter(pair=pair, entity_key=key).exists())
    [won] = work_off(pair)
    assert won.status == SyncRun.Status.SUCCEEDED, won.error_message
    link = ExternalLink.objects.get(pair=pair, entity="customer")
    return Bound(pair, link.crm_id, link.sage_id)


def test_the_first_customer_poll_takes_the_snapshot_and_a_sage_change_reaches_the_organization(
    bound, sage50desktop, sage50desktop_sandbox
):
    sage = connector_for(sage50desktop)
    limit_before = bound.customer(sage50desktop_sandbox)["Terms_CreditLimit"]
    sage.agent.call(  # a Sage 50 user raises the credit limit of the customer just made
        "PATCH", f"/v1/customers/{bound.customer_id}", {"Terms_CreditLimit": "42500"}, "user-1"
    )

    first = poll_now(bound.pair, FLOW)

    assert (first.read, first.runs) == (0, 0)  # the snapshot, with the change in it
    assert bound.customer(sage50desktop_sandbox)["Terms_CreditLimit"] != limit_before
    assert not bound.org()["other"]
    sage.agent.call(
        "PATCH", f"/v1/customers/{bound.customer_id}", {"Terms_CreditLimit": "37500"}, "user-2"
    )
    second = poll_now(bound.pair, FLOW)
    [run] = work_off(bound.pair)

    assert (second.read, second.runs) == (1, 1)  # only the customer changed since
    assert run.status == SyncRun.Status.SUCCEEDED, run.error_message
    assert run.entity_key == f"customer:{bound.customer_id}"
    organization = bound.org()
    line = organization["other"].splitlines()[0]
    assert line.startswith(f"{LABEL}: credit limit 37,500.00 · terms ")
    assert run.summary.startswith(f"Organization {organization['name']}: credit_limit")
    assert poll_now(bound.pair, FLOW).runs == 0  # nothing new in Sage since


def test_a_phone_changed_on_the_organization_reaches_the_sage50_customer_once(
    bound, streak_sandbox, sage50desktop_sandbox
):
    poll_now(bound.pair, FLOW)  # the snapshot
    save_on_the_page(streak_sandbox, bound.org(), phone="(720) 555-0188")

    wait_for(lambda: org_updates(bound.pair, bound.organization))
    [run] = work_off(bound.pair)

    assert run.status == SyncRun.Status.SUCCEEDED, run.error_message
    assert run.entity_key == bound.organization
    customer = bound.customer(sage50desktop_sandbox)
    assert customer["Phone_Number"] == "(720) 555-0188"
    assert run.summary == f"{LABEL} customer {bound.customer_id}: phone from the CRM."
    again = poll_now(bound.pair, FLOW)  # Sage's customer feed shows our own write
    assert again.read == 1 and again.runs == 0
    assert SyncRun.objects.filter(pair=bound.pair, flow_config__flow=FLOW).count() == 1
