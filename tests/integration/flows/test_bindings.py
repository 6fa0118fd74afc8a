"""The bindings API against the live sandboxes: a won deal's organization bound through a real
run is rebound to another Sage 100 customer and the next deal books there; unbound, the
next run looks the customer up again; a rebind Sage cannot back, or onto a customer another
binding holds, is refused and changes nothing; each change is audited with who and the note
(also through an API token, which the audit middleware does not see)."""

import re

import pytest
from auditlog.models import LogEntry
from rest_framework.test import APIClient

from flows.models import ExternalLink, SyncRun
from tests import won_deals as shared

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("runs_inline")]
OTHER_CUSTOMER = "01-ATLASPLA"  # seeded in Sage 100, bound to no organization


@pytest.fixture
def won(client, streak_sandbox, sage100_pair) -> SyncRun:
    """SAL-1005 won: its organization (Brightwater Labs) bound to the customer it made."""
    pair, token = sage100_pair
    _, run = shared.win_box(client, streak_sandbox, pair, token, "SAL-1005")
    run.refresh_from_db()
    assert run.status == SyncRun.Status.SUCCEEDED, run.error_message
    return run


def customer_link(run: SyncRun) -> ExternalLink:
    return ExternalLink.objects.get(
        pair=run.pair, entity="customer", sage_id=run.references["sage_customer"]
    )


def api_as(client, users, role: str) -> APIClient:
    """An API client holding `role`'s token, made on the Settings page as a person would."""
    client.force_login(users[role])
    page = client.post("/settings/api-token/", follow=True).content.decode()
    client.logout()
    api = APIClient()
    token = re.search(r'id="new-token">([^<]+)<', page)[1]
    api.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    return api


def win_another(client, streak_sandbox, sage100_pair, organization: str, deal_id: str) -> SyncRun:
    """A new won deal of the organization (SAL-1013's lines, so not a look-alike of the first
    deal that the duplicate-order check would hold)."""
    pair, token = sage100_pair
    box = shared.won_clone(streak_sandbox, "SAL-1013", deal_id)
    stored = streak_sandbox.app.store.get("boxes", box["key"])
    stored["organizations"] = [{"key": organization}]
    streak_sandbox.app.store.put("boxes", box["key"], stored)
    shared.deliver_streak(client, pair, token, shared.raw_box(streak_sandbox, box["key"]))
    return SyncRun.objects.get(pair=pair, entity_key=box["key"])


def test_a_rebound_organization_has_its_next_deal_booked_to_the_new_customer(
    client, users, won, streak_sandbox, sage100_pair, sage
):
    link = customer_link(won)
    api = api_as(client, users, "operator")
    found = api.get(f"/api/v1/bindings/?pair={won.pair.slug}&entity=customer&search=brightwater")
    assert found.status_code == 200, found.content
    assert [row["id"] for row in found.json()["results"]] == [link.pk]  # by the deal's name

    reply = api.post(
        f"/api/v1/bindings/{link.pk}/rebind/",
        {"sage_id": OTHER_CUSTOMER, "note": "Brightwater buys through Atlas now"},
        format="json",
    )

    assert reply.status_code == 200, reply.content
    assert reply.json()["sage_id"] == OTHER_CUSTOMER
    run = win_another(client, streak_sandbox, sage100_pair, link.crm_id, "BIND-REBOUND-1")
    assert run.status == SyncRun.Status.SUCCEEDED, run.error_message
    [order] = shared.orders_for(sage, "BIND-REBOUND-1")
    assert f"{order['ARDivisionNo']}-{order['CustomerNo']}" == OTHER_CUSTOMER
    entry = LogEntry.objects.get_for_object(link).latest("pk")
    assert entry.actor == users["operator"]
    assert entry.additional_data == {
        "action": "rebound",
        "detail": "Brightwater buys through Atlas now",
    }
    assert entry.changes_dict["sage_id"] == [won.references["sage_customer"], OTHER_CUSTOMER]


def test_an_unbound_organization_is_looked_up_again_by_the_next_run(
    client, users, won, streak_sandbox, sage100_pair, sage
):
    link = customer_link(won)
    api = api_as(client, users, "admin")

    reply = api.delete(f"/api/v1/bindings/{link.pk}/?note=Checking+the+lookup")

    assert reply.status_code == 204, reply.content
    assert not ExternalLink.objects.filter(pk=link.pk).exists()
    run = win_another(client, streak_sandbox, sage100_pair, link.crm_id, "BIND-UNBOUND-1")
    assert run.status == SyncRun.Status.SUCCEEDED, run.error_message
    found = run.steps.get(name="customer").output
    assert (found["customer_ref"], found["how"]) == (link.sage_id, "found by CRM id")
    assert customer_link(run).crm_id == link.crm_id  # bound again
    assert len(shared.customers_named(sage, "Brightwater Labs")) == 1
    entry = LogEntry.objects.filter(object_pk=str(link.pk), action=LogEntry.Action.DELETE).get()
    assert entry.actor == users["admin"]
    assert entry.additional_data == {"action": "unbound", "detail": "Checking the lookup"}


def test_a_rebind_sage_cannot_back_or_onto_a_held_customer_is_refused_and_changes_nothing(
    client, users, won, streak_sandbox, sage100_pair
):
    link = customer_link(won)
    order = ExternalLink.objects.get(pair=won.pair, entity="sales_order", crm_id=won.entity_key)
    pair, token = sage100_pair
    _, other = shared.win_box(client, streak_sandbox, pair, token, "SAL-1013")
    other.refresh_from_db()
    held_by_other = customer_link(other)
    api = api_as(client, users, "operator")

    missing = api.post(f"/api/v1/bindings/{link.pk}/rebind/", {"sage_id": "00-NOSUCH"})
    not_a_key = api.post(f"/api/v1/bindings/{link.pk}/rebind/", {"sage_id": "NOSUCH"})
    no_order = api.post(f"/api/v1/bindings/{order.pk}/rebind/", {"sage_id": "9999999"})
    taken = api.post(f"/api/v1/bindings/{link.pk}/rebind/", {"sage_id": held_by_other.sage_id})
    same = api.post(f"/api/v1/bindings/{link.pk}/rebind/", {"sage_id": link.sage_id})
    empty = api.post(f"/api/v1/bindings/{link.pk}/rebind/", {"sage_id": ""})

    assert missing.status_code == 400
    assert "Sage 100 has no customer 00-NOSUCH" in missing.json()["sage_id"][0]
    assert not_a_key.status_code == 400
    assert "expected ARDivisionNo-CustomerNo" in not_a_key.json()["sage_id"][0]
    assert no_order.status_code == 400
    assert "Sage 100 has no sales order 9999999" in no_order.json()["sage_id"][0]
    assert taken.status_code == 409
    assert taken.json()["detail"] == (
        f"Sage 100 customer {held_by_other.sage_id} is bound to CRM record "
        f"{held_by_other.crm_id} already: unbind that binding first, or choose another id."
    )
    assert same.status_code == 400 and "already: type another id" in same.json()["sage_id"][0]
    assert empty.status_code == 400 and "sage_id" in empty.json()
    link.refresh_from_db()
    order.refresh_from_db()
    assert (link.sage_id, order.sage_id) == (won.references["sage_customer"], won.document[3:])
    assert not LogEntry.objects.filter(additional_data__action="rebound").exists()


def test_a_bound_order_is_shown_with_both_records_pages(client, users, won, streak_sandbox):
    order = ExternalLink.objects.get(pair=won.pair, entity="sales_order", crm_id=won.entity_key)
    api = api_as(client, users, "viewer")

    reply = api.get(f"/api/v1/bindings/{order.pk}/")

    assert reply.status_code == 200, reply.content
    shown = reply.json()
    assert (shown["pair"], shown["entity"], shown["crm_id"], shown["sage_id"]) == (
        won.pair.slug,
        "sales_order",
        won.entity_key,
        won.references["sage_order_no"],
    )
    assert shown["crm_link"]["url"] == f"{streak_sandbox.url}/boxes/{won.entity_key}"
    bridge = won.pair.erp.settings["bridge_url"]
    assert shown["sage_link"]["url"] == f"{bridge}/orders/{won.references['sage_order_no']}"
