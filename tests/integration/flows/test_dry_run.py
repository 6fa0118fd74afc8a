"""Dry-run of a mapping against the live sandboxes (Streak → Sage 100): deals posted through
real runs, deals whose runs failed on an unknown item, and a won deal whose run has not
started, tried with the active version and with a draft; Sage is counted before and after."""

import pytest

from flows.models import ExternalLink, SyncRun
from mappings.models import Mapping
from tests import won_deals as shared

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("runs_inline")]
POSTED = ("SAL-1005", "SAL-1029", "SAL-1013")


def sage_counts(sage) -> tuple[int, int]:
    """Sales orders and customers Sage 100 holds."""
    return len(list(sage.stream("sales_order"))), len(list(sage.stream("customer")))


@pytest.fixture
def history(client, streak_sandbox, sage100_pair, monkeypatch):
    """Three deals posted, two failed on an unknown item, one won deal not yet run."""
    pair, token = sage100_pair
    shared.eur_rate(pair)  # SAL-1008 is in EUR
    for deal_id in POSTED:
        run = shared.win_box(client, streak_sandbox, pair, token, deal_id)[1]
        assert run.status == SyncRun.Status.SUCCEEDED, run.error_message
    failed = [shared.win_box(client, streak_sandbox, pair, token, "SAL-1008")[1]]
    again = shared.won_clone(streak_sandbox, "SAL-1008", "SAL-9008")
    assert shared.deliver_streak(client, pair, token, again).status_code == 200
    failed.append(SyncRun.objects.get(pair=pair, entity_key=again["key"]))
    for run in failed:
        run.refresh_from_db()
        assert run.status == SyncRun.Status.FAILED and "WIDGET-999" in run.error_message
    monkeypatch.setattr("django_q.conf.Conf.SYNC", False)  # queued: no worker takes it
    new = shared.won_clone(streak_sandbox, "SAL-1005", "SAL-9005")
    assert shared.deliver_streak(client, pair, token, new).status_code == 200
    monkeypatch.setattr("django_q.conf.Conf.SYNC", True)
    assert SyncRun.objects.get(pair=pair, entity_key=new["key"]).status == SyncRun.Status.PENDING
    return pair, new["key"]


def order_mapping(pair) -> Mapping:
    return Mapping.objects.get(pair=pair, direction="in", target_entity="SalesOrder")


def customer_mapping(pair) -> Mapping:
    return Mapping.objects.get(pair=pair, direction="in", target_entity="Customer")


def renamed(mapping: Mapping) -> dict:
    """The active rules with the customer's name mapped from a constant instead."""
    rules = [rule for rule in mapping.active_version.spec["rules"] if rule["target"] != "name"]
    return {"rules": [*rules, {"target": "name", "constant": "Renamed Labs Ltd"}]}


def test_the_active_version_sorts_six_deals_and_writes_nothing(history, client, users, sage):
    pair, new_key = history
    before = sage_counts(sage), ExternalLink.objects.count()
    client.force_login(users["admin"])

    reply = client.post(f"/api/v1/mappings/{order_mapping(pair).pk}/dry-run/", {},
                        content_type="application/json")  # fmt: skip

    assert reply.status_code == 200, reply.content
    body = reply.json()
    counts = body["counts"]
    assert (counts["would duplicate"], counts["would fail"], counts["would create"]) == (3, 2, 1)
    by_class = {}
    for row in body["results"]:
        by_class.setdefault(row["class"], []).append(row)
    assert {row["label"].split(" · ")[0] for row in by_class["would duplicate"]} == set(POSTED)
    assert all("bound to sales order" in row["reason"] for row in by_class["would duplicate"])
    for row in by_class["would fail"]:
        assert "Item WIDGET-999 is not in Sage 100" in row["reason"]
        assert "WIDGET-999" in row["fields"].values()
    [new] = by_class["would create"]
    assert new["crm_id"] == new_key and "read now" in new["read_from"]
    assert (sage_counts(sage), ExternalLink.objects.count()) == before


def test_a_draft_naming_the_customer_otherwise_shows_the_diff(history, client, users, sage):
    pair, new_key = history
    before = sage_counts(sage)
    mapping = customer_mapping(pair)
    client.force_login(users["admin"])

    reply = client.post(f"/api/v1/mappings/{mapping.pk}/dry-run/", {"spec": renamed(mapping)},
                        content_type="application/json")  # fmt: skip

    assert reply.status_code == 200, reply.content
    [new] = [row for row in reply.json()["results"] if row["crm_id"] == new_key]
    assert new["class"] == "would update"
    assert {
        "field": "CustomerName",
        "sage": "Brightwater Labs",
        "mapped": "Renamed Labs Ltd",
    } in new["changes"]
    assert sage_counts(sage) == before


def test_the_page_shows_the_classes_and_a_viewer_may_not_run_it(history, client, users):
    pair, _ = history
    mapping = order_mapping(pair)
    client.force_login(users["viewer"])
    assert client.get(f"/mappings/{mapping.pk}/dry-run/").status_code == 403
    api = client.post(f"/api/v1/mappings/{mapping.pk}/dry-run/", {},
                      content_type="application/json")  # fmt: skip
    assert api.status_code == 403

    client.force_login(users["admin"])
    page = client.get(f"/mappings/{mapping.pk}/dry-run/?version=1&n=10").content.decode()

    assert "Would duplicate" in page and "Item WIDGET-999 is not in Sage 100" in page
    assert 'data-class="would-fail">2<' in page
    missing = client.get(f"/mappings/{mapping.pk}/dry-run/?version=99")
    assert missing.status_code == 400 and "There is no version 99" in missing.content.decode()
