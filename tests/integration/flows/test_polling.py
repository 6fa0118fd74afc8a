"""The poller against the live sandboxes: watermarks move only with the events they cover,
a change read twice starts one run, failures are recorded and picked up by the next poll,
our own CRM writes are recognised, and the schedule polls only what is due. Shared helpers:
`polling.py`."""

from datetime import UTC, datetime, timedelta

import pytest
import requests
from django.db import connection as db
from django_q.models import Schedule

from connectors.models import Connection, IntegrationPair
from connectors.services import connector_for
from flows.models import FlowConfig, InboundEvent, SyncRun, Watermark
from flows.polling import is_echo, poll_config, poll_due
from tests.integration.flows import polling as shared
from tests.won_deals import STREAK_KEY

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("runs_inline")]


# ---------------------------------------------------------------- the poller


@pytest.fixture
def status_pair(make_pair, streak, sage100) -> IntegrationPair:
    return make_pair(streak, sage100, "order_status_to_crm")


def test_a_change_polled_twice_starts_one_run(status_pair, streak, sage100_sandbox):
    order_no = shared.open_orders(sage100_sandbox)[0]
    box = shared.first_box(streak)
    shared.link_order(status_pair, box["key"], order_no)
    assert (
        shared.poll_now(status_pair, "order_status_to_crm").runs == 0
    )  # the first poll: no change
    shared.set_status_in_sage(sage100_sandbox, order_no, "H")

    first = shared.poll_now(status_pair, "order_status_to_crm")
    assert (first.stored, first.runs) == (1, 1)
    run = SyncRun.objects.get(pair=status_pair)
    assert run.status == SyncRun.Status.SUCCEEDED, run.error_message
    assert run.entity_key == f"sales_order:{order_no}"
    assert shared.poll_now(status_pair, "order_status_to_crm").read == 0  # the cursor kept it

    # The watermark is put back, its cursors with it: the same change is read again, and
    # recognised.
    mark = Watermark.objects.get(pair=status_pair, flow="order_status_to_crm")
    mark.value = {"feeds": {}}
    mark.save()
    again = shared.poll_now(status_pair, "order_status_to_crm")
    assert again.read >= 1 and again.duplicates >= 1 and again.runs == 0
    assert SyncRun.objects.filter(pair=status_pair).count() == 1
    on_hold = [
        m for m in shared.comments_on(streak, box["key"]) if f"order {order_no} is on hold" in m
    ]
    assert len(on_hold) == 1


def test_a_failure_while_storing_leaves_the_watermark_and_the_next_poll_recovers(
    status_pair, streak, sage100_sandbox
):
    order_no = shared.open_orders(sage100_sandbox)[1]
    box = shared.first_box(streak)
    shared.link_order(status_pair, box["key"], order_no)
    shared.poll_now(status_pair, "order_status_to_crm")
    before = cursors_of(status_pair, "order_status_to_crm")
    shared.set_status_in_sage(sage100_sandbox, order_no, "H")

    with db.cursor() as cursor:  # the database refuses to store the run, once
        cursor.execute(
            "CREATE TRIGGER refuse_runs BEFORE INSERT ON flows_syncrun "
            "BEGIN SELECT RAISE(ABORT, 'disk quota exceeded'); END"
        )
    config = shared.config_of(status_pair, "order_status_to_crm")
    assert poll_config(config.pk).startswith("failed: disk quota exceeded")
    mark = Watermark.objects.get(pair=status_pair, flow="order_status_to_crm")
    assert cursors_of(status_pair, "order_status_to_crm") == before
    assert "disk quota exceeded" in mark.value["error"]
    assert not InboundEvent.objects.filter(pair=status_pair).exists()

    with db.cursor() as cursor:
        cursor.execute("DROP TRIGGER refuse_runs")
    assert "1 new" in poll_config(config.pk)
    mark.refresh_from_db()
    assert cursors_of(status_pair, "order_status_to_crm") != before and mark.value["error"] == ""
    run = SyncRun.objects.get(pair=status_pair)
    assert run.status == SyncRun.Status.SUCCEEDED, run.error_message
    assert any(f"order {order_no} is on hold" in m for m in shared.comments_on(streak, box["key"]))


def cursors_of(pair: IntegrationPair, flow: str) -> tuple[dict, dict]:
    """Where each feed of the flow stands: its `since`, and the changes taken near it."""
    value = Watermark.objects.get(pair=pair, flow=flow).value
    return value.get("feeds", {}), value.get("seen", {})


def test_pairs_sharing_a_sage100_connection_each_see_the_changed_order(
    make_pair, streak, sage100, sage100_sandbox
):
    other_team = Connection.objects.create(
        name="Second Streak team", system="streak", settings=streak.settings,
        secrets=streak.secrets,
    )  # fmt: skip
    pairs = [make_pair(crm, sage100, "order_status_to_crm") for crm in (streak, other_team)]
    order_no = shared.open_orders(sage100_sandbox)[3]
    box = shared.first_box(streak)
    for pair in pairs:
        shared.link_order(pair, box["key"], order_no)
        shared.poll_now(pair, "order_status_to_crm")
    shared.set_status_in_sage(sage100_sandbox, order_no, "H")

    for pair in pairs:  # the first pair's poll hides nothing from the second's
        assert shared.poll_now(pair, "order_status_to_crm").runs == 1
        run = SyncRun.objects.get(pair=pair)
        assert run.status == SyncRun.Status.SUCCEEDED, run.error_message
        assert run.entity_key == f"sales_order:{order_no}"
    comments = shared.comments_on(streak, box["key"])
    assert any(f"order {order_no} is on hold" in m for m in comments)
    assert "change_feed_seen" not in Connection.objects.get(pk=sage100.pk).settings


def test_an_outage_during_the_read_leaves_the_watermark_where_it_was(
    make_pair, streak, sage50, sage_accounting_sandbox
):
    pair = make_pair(streak, sage50, "payments_to_crm")
    shared.poll_now(pair, "payments_to_crm")
    before = Watermark.objects.get(pair=pair, flow="payments_to_crm").value["feeds"]
    url = sage_accounting_sandbox.url
    requests.post(f"{url}/_control/faults", json={"outage": True}, timeout=5).raise_for_status()

    config = shared.config_of(pair, "payments_to_crm")
    assert poll_config(config.pk).startswith("failed:")
    mark = Watermark.objects.get(pair=pair, flow="payments_to_crm")
    assert mark.value["feeds"] == before and mark.value["error"]

    requests.delete(f"{url}/_control/faults", timeout=5).raise_for_status()
    assert "changes read" in poll_config(config.pk)
    mark.refresh_from_db()
    assert mark.value["error"] == ""


def test_our_own_crm_write_is_recognised_and_a_users_edit_is_not(
    status_pair, streak, sage100_sandbox, streak_sandbox
):
    order_no = shared.open_orders(sage100_sandbox)[2]
    box = shared.first_box(streak)
    shared.link_order(status_pair, box["key"], order_no)
    shared.poll_now(status_pair, "order_status_to_crm")
    shared.set_status_in_sage(sage100_sandbox, order_no, "H")
    shared.poll_now(status_pair, "order_status_to_crm")

    crm = connector_for(streak)
    written = crm.get("Box", box["key"])
    assert is_echo(status_pair, crm.change_of("Box", written))
    requests.post(  # a salesperson edits the box afterwards
        f"{streak_sandbox.url}/api/v1/boxes/{box['key']}",
        json={"notes": "Customer called about delivery."},
        auth=(STREAK_KEY, ""),
        timeout=5,
    ).raise_for_status()
    edited = crm.get("Box", box["key"])
    assert not is_echo(status_pair, crm.change_of("Box", edited))


def test_the_schedule_polls_only_what_is_due(status_pair):
    assert Schedule.objects.filter(name="Polling", func="flows.polling.poll_due").exists()
    assert poll_due() == 1  # never polled
    assert poll_due() == 0  # polled just now
    mark = Watermark.objects.get(pair=status_pair, flow="order_status_to_crm")
    a_while_ago = datetime.now(UTC) - timedelta(seconds=61)
    mark.value = {**mark.value, "polled_at": a_while_ago.isoformat()}
    mark.save()
    assert poll_due() == 1
    FlowConfig.objects.filter(pair=status_pair).update(options={"poll_interval": 600})
    mark.value = {**mark.value, "polled_at": a_while_ago.isoformat()}
    mark.save()
    assert poll_due() == 0
    FlowConfig.objects.filter(pair=status_pair).update(enabled=False)
    mark.value = {**mark.value, "polled_at": (a_while_ago - timedelta(hours=1)).isoformat()}
    mark.save()
    assert poll_due() == 0
