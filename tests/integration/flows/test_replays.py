"""Period replay against the live Streak and Sage 100 sandboxes: won deals delivered by
webhook, runs executed inline (django-q2 sync mode), orders read back from Sage 100.

Three deals are posted by their runs and two fail (Sage 100 has no item WIDGET-999); the
item is then added in Sage, and a replay of the day replays the two and skips the three."""

import sqlite3

import pytest
from django.db.models.signals import post_save
from django.utils.timezone import localdate

from flows.models import ExternalLink, Replay, SyncRun
from flows.replays import ReplayRefused, cancel_replay, preview, run_replay, start_replay
from mappings.models import Mapping
from mappings.versions import restore_version, save_version
from tests import won_deals as shared

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("runs_inline")]
FLOW = "deal_won_to_sales_order"
POSTED = ("SAL-1005", "SAL-9101", "SAL-9102")  # the seeded deal and two copies of it
UNKNOWN_ITEM = ("SAL-1008", "SAL-9108")  # these sell WIDGET-999, not in Sage 100


def add_item_like(sage100_sandbox, model: str, code: str) -> None:
    """Add item `code` to Sage 100, stocked where `model` is, as a clerk would."""
    with sqlite3.connect(sage100_sandbox.app.db_path) as db:
        for table in ("CI_Item", "IM_ItemWarehouse"):
            columns = [row[1] for row in db.execute(f"PRAGMA table_info({table})")]
            listed = ", ".join(columns)
            values = ", ".join("?" if name == "ItemCode" else name for name in columns)
            db.execute(
                f"INSERT INTO {table} ({listed}) SELECT {values} FROM {table} WHERE ItemCode = ?",
                (code, model),
            )


def win(client, streak_sandbox, pair, token, deal_id: str) -> SyncRun:
    """Win the seeded deal, or a copy of one (SAL-9nxx copies SAL-10xx), by webhook."""
    if deal_id.startswith("SAL-9"):
        box = shared.won_clone(streak_sandbox, f"SAL-10{deal_id[-2:]}", deal_id)
        assert shared.deliver_streak(client, pair, token, box).status_code == 200
        return SyncRun.objects.get(pair=pair, entity_key=box["key"])
    return shared.win_box(client, streak_sandbox, pair, token, deal_id)[1]


@pytest.fixture
def pair(sage100_pair):
    pair, _ = sage100_pair
    shared.eur_rate(pair)
    shared.without_anomaly_checks(pair)  # the copies of one deal are meant to be orders
    return pair


def won(client, streak_sandbox, sage100_pair, deals) -> list[SyncRun]:
    runs = [win(client, streak_sandbox, *sage100_pair, deal) for deal in deals]
    for run in runs:
        run.refresh_from_db()
    return runs


def test_a_replay_skips_the_posted_deals_and_posts_the_failed_ones_once(
    client, streak_sandbox, sage100_sandbox, sage100_pair, pair, sage
):
    posted = won(client, streak_sandbox, sage100_pair, POSTED)
    assert [run.status for run in posted] == [SyncRun.Status.SUCCEEDED] * 3
    failed = won(client, streak_sandbox, sage100_pair, UNKNOWN_ITEM)
    assert [run.status for run in failed] == [SyncRun.Status.FAILED] * 2
    add_item_like(sage100_sandbox, "WIDGET-100", "WIDGET-999")
    today = localdate()
    found = preview(pair, FLOW, today, today)
    assert (found.events, found.posted, found.to_replay) == (5, 3, 2)

    replay = start_replay(pair, FLOW, today, today)

    replay.refresh_from_db()
    assert replay.status == Replay.Status.DONE
    assert (replay.events, replay.skipped, replay.replayed, replay.created, replay.failed) == (
        5, 3, 2, 2, 0
    )  # fmt: skip
    for deal in (*POSTED, *UNKNOWN_ITEM):
        assert len(shared.orders_for(sage, deal)) == 1, deal
    replayed_runs = SyncRun.objects.filter(replay=replay)
    assert {run.entity_key for run in replayed_runs} == {run.entity_key for run in failed}
    assert all(run.status == SyncRun.Status.SUCCEEDED for run in replayed_runs)
    skipped = [line for line in replay.log if line["outcome"] == "skipped"]
    assert len(skipped) == 3 and all("already posted" in line["detail"] for line in skipped)

    again = start_replay(pair, FLOW, today, today)  # a second pass finds everything posted
    again.refresh_from_db()
    assert (again.skipped, again.replayed, again.created) == (5, 0, 0)
    for deal in (*POSTED, *UNKNOWN_ITEM):
        assert len(shared.orders_for(sage, deal)) == 1, deal


def test_cancel_stops_a_replay_between_two_events(
    client, streak_sandbox, sage100_sandbox, sage100_pair, pair, sage
):
    deals = ("SAL-1008", "SAL-9108", "SAL-9208")
    runs = won(client, streak_sandbox, sage100_pair, deals)
    assert [run.status for run in runs] == [SyncRun.Status.FAILED] * 3
    add_item_like(sage100_sandbox, "WIDGET-100", "WIDGET-999")

    def press_cancel_when_the_first_run_starts(sender, instance, created, **kwargs) -> None:
        if created and instance.replay_id:  # the operator presses Cancel at this moment
            cancel_replay(instance.replay)

    post_save.connect(press_cancel_when_the_first_run_starts, sender=SyncRun)
    try:
        replay = start_replay(pair, FLOW, localdate(), localdate())
    finally:
        post_save.disconnect(press_cancel_when_the_first_run_starts, sender=SyncRun)

    replay.refresh_from_db()
    assert replay.status == Replay.Status.CANCELLED
    assert (replay.replayed, replay.skipped, replay.created) == (1, 0, 1)
    assert SyncRun.objects.filter(replay=replay).count() == 1
    assert [len(shared.orders_for(sage, deal)) for deal in deals] == [1, 0, 0]


class WorkerDied(Exception):
    """The worker walking the replay stopped here (killed, machine restarted)."""


def test_a_replay_whose_worker_died_is_walked_again_without_doing_anything_twice(
    client, streak_sandbox, sage100_sandbox, sage100_pair, pair, sage
):
    deals = ("SAL-1008", "SAL-9108", "SAL-9208")
    runs = won(client, streak_sandbox, sage100_pair, deals)
    assert [run.status for run in runs] == [SyncRun.Status.FAILED] * 3
    add_item_like(sage100_sandbox, "WIDGET-100", "WIDGET-999")

    def die_at_the_second_run(sender, instance, created, **kwargs) -> None:
        if created and instance.replay_id and instance.replay.runs.count() == 2:
            raise WorkerDied

    post_save.connect(die_at_the_second_run, sender=SyncRun)
    try:
        with pytest.raises(WorkerDied):
            start_replay(pair, FLOW, localdate(), localdate())
    finally:
        post_save.disconnect(die_at_the_second_run, sender=SyncRun)
    replay = Replay.objects.get(pair=pair)
    assert (replay.status, replay.replayed) == (Replay.Status.RUNNING, 1)

    assert run_replay(replay.pk) == "done"  # django-q2 hands the task to another worker

    replay.refresh_from_db()
    assert (replay.replayed, replay.skipped, replay.created, replay.failed) == (3, 0, 3, 0)
    assert SyncRun.objects.filter(replay=replay).count() == 3
    assert [len(shared.orders_for(sage, deal)) for deal in deals] == [1, 1, 1]


def test_a_replay_maps_with_the_chosen_version(
    client, streak_sandbox, sage100_sandbox, sage100_pair, pair, sage
):
    [run] = won(client, streak_sandbox, sage100_pair, ["SAL-1008"])
    assert run.status == SyncRun.Status.FAILED
    add_item_like(sage100_sandbox, "WIDGET-100", "WIDGET-999")
    mapping = Mapping.objects.get(pair=pair, direction="in", target_entity="SalesOrder")
    spec = mapping.active_version.spec
    rules = [
        {"target": "notes", "constant": "REPLAY V2"} if rule["target"] == "notes" else rule
        for rule in spec["rules"]
    ]
    chosen = save_version(mapping, {**spec, "rules": rules}, note="replay test")
    restore_version(mapping, chosen.number - 1)  # the active version is the old rules again
    mapping.refresh_from_db()
    assert mapping.active_version != chosen

    replay = start_replay(pair, FLOW, localdate(), localdate(), mapping_version=chosen)

    replay.refresh_from_db()
    assert (replay.replayed, replay.created) == (1, 1)
    [order] = shared.orders_for(sage, "SAL-1008")
    assert order["Comment"].endswith("REPLAY V2")  # after the conversion note
    assert ExternalLink.objects.filter(pair=pair, entity="sales_order").count() == 1


def test_a_replay_is_refused_with_the_reason(pair) -> None:
    today = localdate()
    with pytest.raises(ReplayRefused, match="has no flow 'nothing'"):
        start_replay(pair, "nothing", today, today)
    with pytest.raises(ReplayRefused, match=r"starts .* after it ends"):
        start_replay(pair, FLOW, today, today.replace(year=today.year - 1))
