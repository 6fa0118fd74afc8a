"""The live credit question: a CRM customer's credit limit, balance and open orders, read from
Sage 100 (ODBC) or Sage Accounting (API) as it is now, within the budget, or a clear 503."""

import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from connectors.models import Connection, IntegrationPair
from connectors.services import connector_for
from flows.models import ExternalLink
from tests import won_deals as shared

# transaction=True: the live credit answer is read in a thread of its own, with its own
# database connection (for the shared API budget), which must see the test's rows.
pytestmark = pytest.mark.django_db(transaction=True)
ORG = "org-acme-in-the-crm"


def credit(client, pair: IntegrationPair, crm_id: str = ORG):
    started = time.monotonic()
    reply = client.get(f"/api/v1/pairs/{pair.slug}/customers/{crm_id}/credit/")
    return reply, time.monotonic() - started


def link(pair: IntegrationPair, sage_id: str) -> None:
    ExternalLink.objects.create(pair=pair, entity="customer", crm_id=ORG, sage_id=sage_id)


@pytest.fixture
def sage100_pair(streak_sandbox, sage100_sandbox) -> IntegrationPair:
    crm = shared.streak_connection(streak_sandbox)
    erp = shared.sage100_connection(sage100_sandbox)
    return IntegrationPair.objects.create(name="Streak Sage 100", crm=crm, erp=erp)


@pytest.fixture
def viewer(client, users):
    client.force_login(users["viewer"])
    return client


def customer_with_open_orders(sage) -> tuple[dict, list[dict]]:
    """A seeded Sage 100 customer and its open orders (read straight from the order table)."""
    orders: dict[tuple, list[dict]] = {}
    for order in sage.stream("sales_order"):
        orders.setdefault((order["ARDivisionNo"], order["CustomerNo"]), []).append(order)
    division, number = max(orders, key=lambda key: len(orders[key]))
    return sage.get("customer", f"{division}-{number}"), orders[(division, number)]


def test_sage100_answers_limit_balance_and_open_orders(viewer, sage100_pair):
    sage = connector_for(sage100_pair.erp)
    customer, orders = customer_with_open_orders(sage)
    ref = f"{customer['ARDivisionNo']}-{customer['CustomerNo']}"
    link(sage100_pair, ref)
    reply, took = credit(viewer, sage100_pair)
    assert reply.status_code == 200, reply.content
    assert took < 5
    answer = reply.json()
    assert (answer["customer"], answer["name"]) == (ref, customer["CustomerName"])
    assert Decimal(answer["credit_limit"]) == customer["CreditLimit"]
    assert Decimal(answer["balance"]) == customer["CurrentBalance"]
    open_amount = sum(
        order["TaxableAmt"] + order["NonTaxableAmt"] + order["SalesTaxAmt"]
        + order["FreightAmt"] - order["DiscountAmt"]
        for order in orders
    )  # fmt: skip
    assert answer["open_orders"] == {"count": len(orders), "amount": f"{open_amount:.2f}"}
    assert Decimal(answer["available"]) == (
        customer["CreditLimit"] - customer["CurrentBalance"] - open_amount
    )


def test_an_unknown_customer_is_a_404_that_says_why(viewer, sage100_pair):
    reply, _ = credit(viewer, sage100_pair, "never-won-a-deal")
    assert reply.status_code == 404
    assert reply.json()["detail"] == (
        "No Sage customer is linked to CRM record never-won-a-deal on Streak Sage 100: it is "
        "linked when a won deal of that customer first reaches Sage."
    )
    link(sage100_pair, "01-GONE")
    reply, _ = credit(viewer, sage100_pair)
    assert reply.status_code == 404 and "which Sage 100 no longer has" in reply.json()["detail"]


def test_sage100_odbc_unreachable_is_a_503(viewer, sage100_pair):
    link(sage100_pair, "01-ABF")
    erp: Connection = sage100_pair.erp
    missing_file = "DRIVER={SQLite3};Database=/no/such/dir/sage.db"
    erp.settings = {**erp.settings, "odbc_connection_string": missing_file}
    erp.save()
    reply, took = credit(viewer, sage100_pair)
    assert reply.status_code == 503
    assert reply.json()["detail"].startswith("Sage 100 is unreachable: ")
    assert took < 5


@pytest.fixture
def sage50_pair(streak_sandbox, sage_accounting_sandbox) -> IntegrationPair:
    crm = shared.streak_connection(streak_sandbox)
    erp = shared.sage50_connection(sage_accounting_sandbox)
    expires = (datetime.now(UTC) + timedelta(hours=1)).isoformat()  # connected a moment ago
    erp.secrets = {**erp.secrets, "access_token_expires_at": expires}
    erp.save()
    return IntegrationPair.objects.create(name="Streak Sage 50", crm=crm, erp=erp)


def test_sage50_answers_from_the_contact_and_its_unpaid_invoices(viewer, sage50_pair):
    sage = connector_for(sage50_pair.erp)
    invoices = [i for i in sage.search("sales_invoices") if Decimal(i["outstanding_amount"]) > 0]
    contact_id = invoices[0]["contact"]["id"]
    unpaid = [i for i in invoices if i["contact"]["id"] == contact_id]
    contact = sage.get("contacts", contact_id)
    link(sage50_pair, contact_id)
    reply, took = credit(viewer, sage50_pair)
    assert reply.status_code == 200, reply.content
    answer = reply.json()
    assert answer["name"] == contact["name"] and took < 5
    assert Decimal(answer["credit_limit"]) == Decimal(str(contact["credit_limit"]))
    assert Decimal(answer["balance"]) == Decimal(contact["balance"])
    assert answer["outstanding_invoices"] == {
        "count": len(unpaid),
        "amount": str(sum(Decimal(i["outstanding_amount"]) for i in unpaid)),
    }


def test_sage50_outage_or_slowness_is_a_503_within_the_budget(
    viewer, sage50_pair, sage_accounting_sandbox, settings
):
    link(sage50_pair, "any-contact")
    shared.set_faults(sage_accounting_sandbox, outage=True)
    reply, _ = credit(viewer, sage50_pair)
    assert reply.status_code == 503
    assert reply.json()["detail"].startswith("Sage Accounting is unreachable: Sage")
    settings.CLARITY_CREDIT_BUDGET_SECONDS = 1
    shared.set_faults(sage_accounting_sandbox, outage=False, latency_ms=2500)
    reply, took = credit(viewer, sage50_pair)
    assert reply.status_code == 503 and took < 2
    assert reply.json()["detail"].endswith("is unreachable: no answer within 1 s.")
