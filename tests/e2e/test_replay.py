"""Period replay in Chromium against the live sandboxes: from the pair's Flows page an admin
opens "Replay a period…", sees how many events the day holds and how many are posted, starts
the replay (the runs execute inline) and sees the summary and the order in Sage 100; a
replay still waiting for a worker is cancelled from its progress card."""

import pytest
from django.utils.timezone import localdate
from playwright.sync_api import Page, expect

from flows.models import Replay, SyncRun
from tests import won_deals as shared
from tests.integration.flows.test_replays import FLOW, add_item_like

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("runs_inline"),
]


def test_an_admin_replays_a_day_and_sees_the_summary(
    screenshot, page: Page, live_server, users, login, client, streak_sandbox,
    sage100_sandbox, sage100_pair, sage,
):  # fmt: skip
    pair, token = sage100_pair
    shared.eur_rate(pair)
    posted = shared.win_box(client, streak_sandbox, pair, token, "SAL-1005")[1]
    failed = shared.win_box(client, streak_sandbox, pair, token, "SAL-1008")[1]
    posted.refresh_from_db(), failed.refresh_from_db()
    assert (posted.status, failed.status) == (SyncRun.Status.SUCCEEDED, SyncRun.Status.FAILED)
    add_item_like(sage100_sandbox, "WIDGET-100", "WIDGET-999")

    login("admin")
    page.on("dialog", lambda dialog: dialog.accept())
    page.goto(f"{live_server.url}/pairs/{pair.slug}/flows/")
    page.get_by_role("link", name="Replay a period…").click()
    expect(page.get_by_test_id("replay-preview")).to_have_text(
        "2 events in the period: 1 to replay, 1 already posted (skipped)."
    )
    expect(page.get_by_label("Mapping version")).to_contain_text("(active)")
    screenshot("replay_form.png")
    page.get_by_role("button", name="Start replay").click()

    expect(page.get_by_role("status")).to_contain_text(f"Replay of {localdate()}")
    expect(page.get_by_test_id("replay-handled")).to_have_text("2 / 2")
    expect(page.get_by_test_id("replay-skipped")).to_have_text("1")
    expect(page.get_by_test_id("replay-created")).to_have_text("1")
    expect(page.get_by_test_id("replay-failed")).to_have_text("0")
    expect(page.locator("#replay-log")).to_contain_text("already posted: bound to sales order")
    expect(page.locator("#replay-log")).to_contain_text("succeeded · SO ")
    expect(page.get_by_role("button", name="Cancel replay")).to_have_count(0)
    screenshot("replay_done.png")
    assert len(shared.orders_for(sage, "SAL-1008")) == 1
    page.get_by_role("link", name="Replays").click()
    expect(page.locator("#replays tbody tr")).to_have_count(1)
    expect(page.locator("#replays")).to_contain_text("Done")


def test_an_admin_cancels_a_replay_from_its_progress_card(
    page: Page, live_server, users, login, sage100_pair
):
    pair = sage100_pair[0]
    today = localdate()
    replay = Replay.objects.create(pair=pair, flow=FLOW, since=today, until=today, events=3)

    login("admin")
    page.on("dialog", lambda dialog: dialog.accept())
    page.goto(f"{live_server.url}/pairs/{pair.slug}/replays/{replay.pk}/")
    expect(page.get_by_text("Waiting for a worker to start the replay…")).to_be_visible()
    page.get_by_role("button", name="Cancel replay").click()

    expect(page.get_by_role("status")).to_contain_text("Replay cancelled")
    expect(page.locator("#replay-progress")).to_contain_text("Cancelled")
    replay.refresh_from_db()
    assert replay.status == Replay.Status.CANCELLED
