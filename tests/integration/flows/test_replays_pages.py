"""The replay page and API against the live Streak and Sage 100 sandboxes (runs inline): an
admin counts and starts a replay that posts a deal whose run failed, follows it and lists
it; other roles see replays but cannot start or cancel one."""

import pytest
from django.utils.timezone import localdate

from flows.models import Replay, SyncRun
from tests import won_deals as shared
from tests.integration.flows.test_replays import FLOW, add_item_like

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("runs_inline")]


@pytest.fixture
def failed_deal(client, streak_sandbox, sage100_sandbox, sage100_pair) -> SyncRun:
    """SAL-1008's run failed on WIDGET-999; the item is then added to Sage 100."""
    pair, token = sage100_pair
    shared.eur_rate(pair)
    _, run = shared.win_box(client, streak_sandbox, pair, token, "SAL-1008")
    run.refresh_from_db()
    assert run.status == SyncRun.Status.FAILED
    add_item_like(sage100_sandbox, "WIDGET-100", "WIDGET-999")
    return run


def test_an_admin_counts_starts_and_follows_a_replay_on_the_page(
    client, users, sage100_pair, failed_deal, sage
):
    pair = sage100_pair[0]
    client.force_login(users["admin"])
    today = localdate().isoformat()
    period = {"flow": FLOW, "since": today, "until": today}
    flows_page = client.get(f"/pairs/{pair.slug}/flows/").content.decode()
    assert f'href="/pairs/{pair.slug}/replays/"' in flows_page
    counted = client.get(f"/pairs/{pair.slug}/replays/preview/", period).content.decode()
    assert "<strong>1</strong> event in the period: <strong>1</strong> to replay" in counted

    reply = client.post(f"/pairs/{pair.slug}/replays/", {**period, "mapping_version": ""})

    replay = Replay.objects.get(pair=pair)
    assert (
        reply.status_code == 302 and reply["Location"] == f"/pairs/{pair.slug}/replays/{replay.pk}/"
    )
    page = client.get(reply["Location"]).content.decode()
    assert 'data-testid="replay-created">1<' in page and "Done" in page
    assert len(shared.orders_for(sage, "SAL-1008")) == 1
    listed = client.get(f"/pairs/{pair.slug}/replays/").content.decode()
    assert f"/pairs/{pair.slug}/replays/{replay.pk}/" in listed


def test_a_period_ending_before_it_starts_is_refused_with_the_reason(client, users, sage100_pair):
    pair = sage100_pair[0]
    client.force_login(users["admin"])
    reply = client.post(
        f"/pairs/{pair.slug}/replays/",
        {"flow": FLOW, "since": "2026-03-02", "until": "2026-03-01"},
    )
    assert reply.status_code == 400
    assert "The period starts (2026-03-02) after it ends (2026-03-01)." in reply.content.decode()
    assert not Replay.objects.exists()


def test_a_viewer_sees_replays_but_cannot_start_or_cancel_one(client, users, sage100_pair):
    pair = sage100_pair[0]
    today = localdate()
    replay = Replay.objects.create(pair=pair, flow=FLOW, since=today, until=today)
    client.force_login(users["viewer"])
    page = client.get(f"/pairs/{pair.slug}/replays/").content.decode()
    assert "Only integration admins start a replay" in page
    period = {"flow": FLOW, "since": today.isoformat(), "until": today.isoformat()}
    assert client.post(f"/pairs/{pair.slug}/replays/", period).status_code == 403
    assert client.post(f"/pairs/{pair.slug}/replays/{replay.pk}/cancel/").status_code == 403
    api = client.post(
        f"/api/v1/pairs/{pair.slug}/replays/", period, content_type="application/json"
    )
    assert api.status_code == 403 and "Only integration admins" in api.json()["detail"]
    assert client.get(f"/api/v1/pairs/{pair.slug}/replays/").status_code == 200
    replay.refresh_from_db()
    assert replay.status == Replay.Status.QUEUED


def test_the_api_starts_lists_shows_and_refuses_to_cancel_a_finished_replay(
    client, users, sage100_pair, failed_deal, sage
):
    pair = sage100_pair[0]
    client.force_login(users["admin"])
    base = f"/api/v1/pairs/{pair.slug}/replays/"
    today = localdate().isoformat()
    period = {"flow": FLOW, "since": today, "until": today}
    assert client.get(f"{base}preview/", period).json() == {
        "events": 1, "posted": 0, "to_replay": 1
    }  # fmt: skip

    reply = client.post(base, period, content_type="application/json")

    assert reply.status_code == 201, reply.content
    body = reply.json()
    assert (body["status"], body["replayed"], body["created"], body["failed"]) == ("done", 1, 1, 0)
    assert body["requested_by"] == users["admin"].username
    assert [line["outcome"] for line in body["log"]] == ["replayed"]
    assert [item["id"] for item in client.get(base).json()["results"]] == [body["id"]]
    assert client.get(f"{base}{body['id']}/").json()["created"] == 1
    refused = client.post(f"{base}{body['id']}/cancel/")
    assert refused.status_code == 409 and "only a queued or running" in refused.json()["detail"]
    assert len(shared.orders_for(sage, "SAL-1008")) == 1


def test_the_api_cancels_a_queued_replay_and_says_why_one_is_refused(client, users, sage100_pair):
    pair = sage100_pair[0]
    client.force_login(users["admin"])
    base = f"/api/v1/pairs/{pair.slug}/replays/"
    today = localdate()
    replay = Replay.objects.create(pair=pair, flow=FLOW, since=today, until=today)
    again = client.post(
        base, {"flow": FLOW, "since": str(today), "until": str(today)},
        content_type="application/json",
    )  # fmt: skip
    assert again.status_code == 400 and "is under way" in again.json()["detail"]
    cancelled = client.post(f"{base}{replay.pk}/cancel/")
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"
