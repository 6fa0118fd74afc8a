"""Sage Accounting holds several customers with a new organization's name or email: the won
deal is held on "choose the customer" (not booked to the first), listed under "Duplicates
found", and the customer an operator chooses is bound and gets the invoice (live Streak and
Sage Accounting sandboxes)."""

import pytest

from connectors.services import connector_for
from flows.models import ExternalLink, SyncRun
from sandbox.streak import data as streak_data
from tests import won_deals as shared

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("runs_inline")]


@pytest.fixture
def sage50_pair(streak_sandbox, sage_accounting_sandbox):
    crm = shared.streak_connection(streak_sandbox, streak_data.SERVICES)
    erp = shared.sage50_connection(sage_accounting_sandbox)
    return shared.make_pair("Streak Sage Accounting", crm, erp, "deal_won_to_invoice")


@pytest.mark.parametrize("same", ["name", "email"])
def test_several_sage_accounting_customers_matching_the_organization_hold_the_run(
    client, users, streak_sandbox, sage50_pair, same
):
    pair, token = sage50_pair
    streak, sage = connector_for(pair.crm), connector_for(pair.erp)
    name, email = f"Twin Ledger {same.title()} Ltd", f"ap@twin-ledger-{same}.example"
    twins = [
        sage.create(
            "contacts",
            {"name": name if same == "name" else f"Twin Ledger Office {n}",
             "contact_type_ids": ["CUSTOMER"], "main_contact_person": {"email": email}},
            f"twin-{same}-{n}",
        )
        for n in (1, 2)
    ]  # fmt: skip
    organization = streak.create("Organization", {"name": name}, "org")
    contacts = []
    if same == "email":
        person = {"givenName": "Pat", "familyName": "Twin", "emailAddresses": [email]}
        contacts = [{"key": streak.create("Contact", person, "contact")["key"]}]
    key = shared.won_clone(streak_sandbox, "SRV-2001", f"TWIN-LEDGER-{same}")["key"]
    stored = streak_sandbox.app.store.get("boxes", key)
    stored |= {"organizations": [{"key": organization["key"]}], "contacts": contacts}
    streak_sandbox.app.store.put("boxes", key, stored)
    shared.deliver_streak(client, pair, token, shared.raw_box(streak_sandbox, key))
    run = SyncRun.objects.get(pair=pair, entity_key=key)
    assert (run.status, run.error_class) == (SyncRun.Status.FAILED, "Ambiguous")
    assert f"customers with the {same}" in run.error_message
    client.force_login(users["operator"])

    page = client.get(f"/bindings/?tab=duplicates&pair={pair.slug}").content.decode()
    client.post(f"/runs/{run.pk}/customer/", {"sage_id": twins[1]["id"]})

    held = page.split(f'data-held-run="{run.pk}"')[1]
    assert all(f"<code>{twin['id']}</code>" in held for twin in twins)
    run.refresh_from_db()
    assert run.status == SyncRun.Status.SUCCEEDED, run.error_message
    invoice = sage.get("sales_invoices", run.references["sage_invoice_id"])
    assert invoice["contact"]["id"] == twins[1]["id"]
    link = ExternalLink.objects.get(pair=pair, entity="customer", sage_id=twins[1]["id"])
    assert link.crm_id == organization["key"]
    assert "Duplicates found (0)" in client.get("/bindings/?tab=duplicates").content.decode()
