"""The bindings page and who may do what (live sandboxes, Django's test client): every role
sees the bindings, only operators and admins rebind or unbind (pages and API alike); the page
finds a binding by the deal's name and refuses a rebind Sage cannot back in words; the
audit log shows who rebound what and why; "Duplicates found" lists the deals held on several
matching Sage customers, found by name or by email; a run's page and its pair's link here."""

import pytest
from rest_framework.test import APIClient

from flows.models import ExternalLink, SyncRun
from tests import won_deals as shared

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("runs_inline")]


@pytest.fixture
def won(client, streak_sandbox, sage100_pair) -> SyncRun:
    pair, token = sage100_pair
    _, run = shared.win_box(client, streak_sandbox, pair, token, "SAL-1005")
    run.refresh_from_db()
    assert run.status == SyncRun.Status.SUCCEEDED, run.error_message
    return run


def customer_link(run: SyncRun) -> ExternalLink:
    return ExternalLink.objects.get(
        pair=run.pair, entity="customer", sage_id=run.references["sage_customer"]
    )


@pytest.mark.parametrize("role", ["viewer", "approver"])
def test_viewers_and_approvers_see_bindings_but_cannot_change_them(client, users, won, role):
    link = customer_link(won)
    client.force_login(users[role])
    api = APIClient()
    api.force_login(users[role])

    page = client.get(f"/bindings/?pair={won.pair.slug}")
    rebind = client.post(f"/bindings/{link.pk}/rebind/", {"sage_id": "01-ATLASPLA"})
    unbind = client.post(f"/bindings/{link.pk}/unbind/")
    api_rebind = api.post(f"/api/v1/bindings/{link.pk}/rebind/", {"sage_id": "01-ATLASPLA"})
    api_unbind = api.delete(f"/api/v1/bindings/{link.pk}/")

    assert page.status_code == 200
    text = page.content.decode()
    assert link.sage_id in text and "Rebind…" not in text and "Unbind…" not in text
    assert (rebind.status_code, unbind.status_code) == (403, 403)
    assert (api_rebind.status_code, api_unbind.status_code) == (403, 403)
    assert api_rebind.json()["detail"] == "Rebinding and unbinding need the Operator role."
    assert api.get(f"/api/v1/bindings/{link.pk}/").status_code == 200
    link.refresh_from_db()
    assert link.sage_id == won.references["sage_customer"]


def test_without_signing_in_nothing_is_shown_or_changed(client, won):
    link = customer_link(won)

    page = client.get("/bindings/")
    rebind = client.post(f"/bindings/{link.pk}/rebind/", {"sage_id": "01-ATLASPLA"})

    assert page.status_code == 302 and page["Location"].startswith("/login/")
    assert rebind.status_code == 302 and rebind["Location"].startswith("/login/")
    assert APIClient().get("/api/v1/bindings/").status_code == 401
    assert APIClient().delete(f"/api/v1/bindings/{link.pk}/").status_code == 401
    assert ExternalLink.objects.filter(pk=link.pk).exists()


def test_an_operator_finds_a_binding_by_the_deal_and_rebinds_it_with_a_note(
    client, users, won, streak_sandbox
):
    link = customer_link(won)
    client.force_login(users["operator"])

    found = client.get(f"/bindings/?pair={won.pair.slug}&q=sensor+upgrade").content.decode()
    refused = client.post(
        f"/bindings/{link.pk}/rebind/", {"sage_id": "00-NOSUCH", "note": ""}, follow=True
    )
    done = client.post(
        f"/bindings/{link.pk}/rebind/",
        {"sage_id": "01-ATLASPLA", "note": "Atlas is their buying office"},
        follow=True,
    )

    unknown = client.get("/bindings/?pair=no-such-pair").content.decode()
    assert "Correct the filter above to see bindings." in unknown
    assert "data-binding=" not in unknown
    rows = found.split('id="bindings"')[1]
    assert rows.count("data-binding=") == 2  # the organization and the order, by the deal's name
    assert f'href="{streak_sandbox.url}/boxes/{won.entity_key}"' in rows
    assert "Open in Sage 100 ↗" in rows
    assert "Sage 100 has no customer 00-NOSUCH" in refused.content.decode()
    assert done.redirect_chain[-1][0] == f"/bindings/?pair={won.pair.slug}&q={link.crm_id}"
    assert "is bound to Sage 100 customer 01-ATLASPLA now" in done.content.decode()
    audit = client.get("/audit/?user=operator").content.decode()
    assert "Rebound" in audit and "Atlas is their buying office" in audit
    assert f"{won.references['sage_customer']}</span> → 01-ATLASPLA" in audit


def test_unbinding_from_the_page_says_what_the_next_run_does(client, users, won):
    link = customer_link(won)
    client.force_login(users["admin"])

    page = client.get(f"/bindings/?pair={won.pair.slug}&entity=customer").content.decode()
    done = client.post(
        f"/bindings/{link.pk}/unbind/",
        {"note": "Merged in Sage", "next": "https://elsewhere.example/"},
        follow=True,
    )

    said = "will look the customer up in Sage 100 again and may create one."
    assert done.redirect_chain[-1][0] == f"/bindings/?pair={won.pair.slug}"  # not elsewhere
    assert said in page
    assert said in done.content.decode()
    assert not ExternalLink.objects.filter(pk=link.pk).exists()
    assert "Merged in Sage" in client.get("/audit/").content.decode()


def test_a_run_and_its_pair_link_to_their_bindings(client, users, won):
    client.force_login(users["viewer"])

    run_page = client.get(won.get_absolute_url()).content.decode()
    pair_page = client.get(won.pair.get_absolute_url()).content.decode()

    bindings = run_page.split('id="run-bindings"')[1].split("</p>")[0]
    assert f"/bindings/?pair={won.pair.slug}&amp;q={won.entity_key}" in bindings
    customer = won.references["sage_customer"]
    assert f"entity=customer&amp;q={customer}" in bindings
    assert f'href="/bindings/?pair={won.pair.slug}">Bindings</a>' in pair_page


def organization_deal(streak_sandbox, organization: dict, deal_id: str, **box) -> str:
    """A won deal (SAL-1005's lines) of `organization`, with `box`'s parties: its key."""
    key = shared.won_clone(streak_sandbox, "SAL-1005", deal_id)["key"]
    stored = streak_sandbox.app.store.get("boxes", key)
    stored |= {"organizations": [{"key": organization["key"]}], "contacts": [], **box}
    streak_sandbox.app.store.put("boxes", key, stored)
    return key


@pytest.mark.parametrize("same", ["name", "email"])
def test_several_sage_customers_with_the_organizations_name_or_email_hold_the_run(
    client, users, streak_sandbox, sage100_pair, streak_crm, sage, same
):
    pair, token = sage100_pair
    name, email = f"Twin Check {same.title()} Ltd", f"ap@twin-{same}.example"
    twins = [
        sage.create(
            "customer",
            {"ARDivisionNo": "00", "EmailAddress": email,
             "CustomerName": name if same == "name" else f"Twin Office {n}"},
            f"twin-{same}-{n}",
        )
        for n in (1, 2)
    ]  # fmt: skip
    refs = [f"00-{twin['CustomerNo']}" for twin in twins]
    organization = streak_crm.create("Organization", {"name": name}, "org")
    parties = {}
    if same == "email":
        contact = streak_crm.create(
            "Contact", {"givenName": "Pat", "familyName": "Twin", "emailAddresses": [email]}, "c"
        )
        parties = {"contacts": [{"key": contact["key"]}]}
    key = organization_deal(streak_sandbox, organization, f"TWIN-{same}", **parties)
    shared.deliver_streak(client, pair, token, shared.raw_box(streak_sandbox, key))
    run = SyncRun.objects.get(pair=pair, entity_key=key)
    assert (run.status, run.error_class) == (SyncRun.Status.FAILED, "Ambiguous")
    assert f"customers with the {same}" in run.error_message
    client.force_login(users["viewer"])

    page = client.get(f"/bindings/?tab=duplicates&pair={pair.slug}").content.decode()

    assert "Duplicates found (1)" in page
    held = page.split(f'data-held-run="{run.pk}"')[1]
    assert f'href="{run.get_absolute_url()}#customer-candidates"' in held
    assert all(f"<code>{ref}</code>" in held for ref in refs)
    assert not shared.orders_for(sage, f"TWIN-{same}")
