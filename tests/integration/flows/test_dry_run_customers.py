"""A dry-run says which Sage 100 customer each deal of an organization not bound yet would be
booked to, as the run's own search would find it (read only): an existing customer by name, a
new one, or several alike, which would stop the run until someone chooses (would fail)."""

import pytest

from flows.models import SyncRun
from mappings.models import Mapping
from tests import won_deals as shared

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("runs_inline")]


def queued_deal(client, streak_sandbox, streak_crm, pair, token, organization: str, deal_id: str):
    """A won deal of `organization` (made in Streak) whose run waits in the queue."""
    org = streak_crm.create("Organization", {"name": organization}, f"org-{deal_id}")
    box = shared.won_clone(streak_sandbox, "SAL-1005", deal_id)
    stored = streak_sandbox.app.store.get("boxes", box["key"])
    stored |= {"organizations": [{"key": org["key"]}], "contacts": []}
    streak_sandbox.app.store.put("boxes", box["key"], stored)
    assert shared.deliver_streak(client, pair, token, shared.raw_box(streak_sandbox, box["key"]))
    run = SyncRun.objects.get(pair=pair, entity_key=box["key"])
    assert run.status == SyncRun.Status.PENDING
    return box["key"]


def test_each_unbound_organization_is_matched_as_the_run_would_without_writing(
    client, users, streak_sandbox, streak_crm, sage100_pair, sage, monkeypatch
):
    pair, token = sage100_pair
    existing = sage.create("customer", {"ARDivisionNo": "00", "CustomerName": "Harbor Lights"}, "h")
    twins = [
        sage.create("customer", {"ARDivisionNo": "00", "CustomerName": "Twin Mills"}, f"t{n}")
        for n in (1, 2)
    ]
    monkeypatch.setattr("django_q.conf.Conf.SYNC", False)  # queued: no worker takes them
    keys = {
        name: queued_deal(client, streak_sandbox, streak_crm, pair, token, name, deal_id)
        for name, deal_id in [("Harbor Lights", "DRY-1"), ("Nobody Yet Ltd", "DRY-2"),
                              ("Twin Mills", "DRY-3")]
    }  # fmt: skip
    customers_before = len(list(sage.stream("customer")))
    mapping = Mapping.objects.get(pair=pair, direction="in", target_entity="SalesOrder")
    client.force_login(users["admin"])

    reply = client.post(f"/api/v1/mappings/{mapping.pk}/dry-run/", {},
                        content_type="application/json")  # fmt: skip

    assert reply.status_code == 200, reply.content
    rows = {row["crm_id"]: row for row in reply.json()["results"]}
    harbor, nobody, twin = (rows[keys[name]] for name in ("Harbor Lights", "Nobody Yet Ltd",
                                                          "Twin Mills"))  # fmt: skip
    assert harbor["class"] == "would create"
    assert (
        f"It would be booked to Sage 100 customer Harbor Lights (00-{existing['CustomerNo']}), "
        "found by name." in harbor["notes"]
    )
    assert nobody["class"] == "would create"
    assert "A new Sage 100 customer would be made for Nobody Yet Ltd." in nobody["notes"]
    assert twin["class"] == "would fail"
    assert all(f"00-{t['CustomerNo']}" in twin["reason"] for t in twins)
    assert len(list(sage.stream("customer"))) == customers_before
