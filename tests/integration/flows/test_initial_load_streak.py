"""Initial load into Streak against the live sandboxes: every Sage 50 customer contact (and
every Sage 100 customer) becomes one organization bound to it, progress reaches the total,
and a second load creates none, even for an organization renamed in Streak since. The pair's
page offers the button."""

import pytest

from connectors.models import IntegrationPair
from connectors.services import connector_for
from flows.models import ExternalLink, SyncRun
from flows.services import start_initial_load

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("runs_inline")]


@pytest.fixture
def pair(streak, sage50) -> IntegrationPair:
    return IntegrationPair.objects.create(name="Streak Sage 50", crm=streak, erp=sage50)


def organizations(streak_sandbox) -> list[dict]:
    """The team's organizations, as the Streak sandbox holds them."""
    return streak_sandbox.app.store.all("organizations")


def test_sage50_customers_become_streak_organizations_once(pair, streak_sandbox):
    customers = connector_for(pair.erp).search("contacts", contact_type_id="CUSTOMER")
    vendors = connector_for(pair.erp).search("contacts", contact_type_id="VENDOR")
    before = {org["name"].casefold() for org in organizations(streak_sandbox)}
    new = [c for c in customers if c["name"].casefold() not in before]
    assert 0 < len(new) < len(customers)  # some are in Streak already: found, not made again

    first = start_initial_load(pair)

    first.refresh_from_db()
    assert first.status == SyncRun.Status.SUCCEEDED, first.error_message
    assert first.progress["done"] == first.progress["total"] == len(customers)
    assert "Streak has no product records" in first.summary
    loaded = organizations(streak_sandbox)
    assert len(loaded) == len(before) + len(new)
    by_name = {org["name"]: org for org in loaded}
    assert len(by_name) == len(loaded)  # one organization a name
    assert not {vendor["name"] for vendor in vendors} & set(by_name)
    sample = new[0]
    organization = by_name[sample["name"]]
    assert organization["phoneNumbers"] == [sample["main_contact_person"]["telephone"]]
    assert sample["main_address"]["city"] in organization["addresses"][0]
    assert organization["other"].startswith("Sage Accounting: credit limit ")
    links = ExternalLink.objects.filter(pair=pair, entity="customer")
    assert {link.sage_id for link in links} == {customer["id"] for customer in customers}
    assert links.get(sage_id=sample["id"]).crm_id == organization["key"]
    renamed = {"name": f"{sample['name']} (renamed in Streak)"}
    connector_for(pair.crm).update("Organization", organization["key"], renamed, "rename")

    second = start_initial_load(pair)

    second.refresh_from_db()
    assert second.status == SyncRun.Status.SUCCEEDED, second.error_message
    assert second.progress["done"] == second.progress["total"] == len(customers)
    assert len(organizations(streak_sandbox)) == len(before) + len(new)
    assert links.count() == len(customers)


@pytest.fixture
def sage100_pair(streak, sage100) -> IntegrationPair:
    return IntegrationPair.objects.create(name="Streak Sage 100", crm=streak, erp=sage100)


def test_sage100_customers_become_streak_organizations_once(sage100_pair, streak_sandbox):
    pair = sage100_pair
    customers = list(connector_for(pair.erp).stream("customer"))
    before = {org["name"].casefold() for org in organizations(streak_sandbox)}
    new = {c["CustomerName"].casefold() for c in customers} - before

    for _ in range(2):
        run = start_initial_load(pair)

        run.refresh_from_db()
        assert run.status == SyncRun.Status.SUCCEEDED, run.error_message
        assert run.progress["done"] == run.progress["total"] == len(customers)
        assert len(organizations(streak_sandbox)) == len(before) + len(new)
    sample = next(c for c in customers if c["CustomerName"].casefold() in new)
    link = ExternalLink.objects.get(
        pair=pair, sage_id=f"{sample['ARDivisionNo']}-{sample['CustomerNo']}"
    )
    organization = connector_for(pair.crm).get("Organization", link.crm_id)
    assert organization["name"] == sample["CustomerName"]
    assert organization["addresses"][0].startswith(sample["AddressLine1"])
    assert organization["other"].startswith("Sage 100: credit limit ")


def test_the_page_offers_the_load_for_a_streak_sage50_pair(client, users, pair):
    client.force_login(users["admin"])

    page = client.get(f"/pairs/{pair.slug}/initial-load/").content.decode()

    assert "Start initial load" in page
    assert "not supported" not in page
    assert "Streak has no product records, so only customers are loaded" in page
