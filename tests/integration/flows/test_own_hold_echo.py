"""A hold we wrote ourselves is not told back: a deal moved to the "On hold" stage puts its
Sage 100 order on hold (deal stage → order status), and the order status poll then sees the
hold in Sage but makes no "call the customer" task and no note for it; a hold a Sage user
sets afterwards gives the task and the note as before. Against the Streak and Sage 100
sandboxes."""

import time

import pytest
import requests

from flows.models import FlowConfig, SyncRun
from tests import won_deals as shared
from tests.integration.flows.polling import poll_now, set_status_in_sage

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("runs_inline")]
DEAL = "SAL-1005"
STATUS_FLOW = "order_status_to_crm"
STAMP = 1.1  # seconds: Sage stamps changes to the second: two in one second look like one


def switch_on(pair, flow: str, **options) -> None:
    config = FlowConfig.objects.get(pair=pair, flow=flow)
    config.options = {**config.options, **options}
    config.enabled = True
    config.trigger = FlowConfig.Trigger.POLL if flow == STATUS_FLOW else config.trigger
    config.save()


def box_tasks(sandbox, key: str) -> list[str]:
    reply = requests.get(
        f"{sandbox.url}/api/v2/boxes/{key}/tasks", auth=(shared.STREAK_KEY, ""), timeout=5
    )
    reply.raise_for_status()
    return [task["text"] for task in reply.json()["results"]]


def hold_notes(streak_crm, key: str, order_no: str) -> list[str]:
    comments = [c["message"] for c in streak_crm.search("Comment", box_key=key)]
    return [m for m in comments if m.startswith(f"Sage 100 order {order_no} is on hold")]


@pytest.fixture
def held_by_its_stage(client, streak_sandbox, sage100_pair, sage, on_hold_stage):
    """A won deal's order, polled once, then put on hold by moving the deal to On hold."""
    pair, token = sage100_pair
    key, _ = shared.win_box(client, streak_sandbox, pair, token, DEAL)
    [order] = shared.orders_for(sage, DEAL)
    switch_on(pair, STATUS_FLOW, task_events=["order_on_hold"])
    switch_on(pair, "deal_stage_to_order_status", stage_statuses={"On hold": "on_hold"})
    poll_now(pair, STATUS_FLOW)
    time.sleep(STAMP)
    shared.deliver_streak(client, pair, token, shared.move_box(streak_sandbox, key, on_hold_stage))
    assert sage.get("sales_order", order["SalesOrderNo"])["OrderStatus"] == "H"
    return pair, key, order["SalesOrderNo"]


def test_the_hold_the_deals_stage_wrote_makes_no_task_and_no_note(
    held_by_its_stage, streak_sandbox, streak_crm
):
    pair, key, order_no = held_by_its_stage
    assert poll_now(pair, STATUS_FLOW).runs == 1  # the poll sees the hold in Sage…
    poll_now(pair, STATUS_FLOW)
    assert box_tasks(streak_sandbox, key) == []  # …and tells nothing of it
    assert hold_notes(streak_crm, key, order_no) == []
    [write] = SyncRun.objects.filter(pair=pair, flow_config__flow="deal_stage_to_order_status")
    assert write.references["status_written"] == "on_hold"


def test_a_hold_a_sage_user_sets_afterwards_makes_the_task_and_the_note(
    held_by_its_stage, streak_sandbox, sage100_sandbox, streak_crm
):
    pair, key, order_no = held_by_its_stage
    poll_now(pair, STATUS_FLOW)  # our hold: nothing told
    time.sleep(STAMP)
    set_status_in_sage(sage100_sandbox, order_no, "O")  # a Sage user releases it…
    poll_now(pair, STATUS_FLOW)
    time.sleep(STAMP)
    set_status_in_sage(sage100_sandbox, order_no, "H")  # …and holds it again
    poll_now(pair, STATUS_FLOW)
    [task] = box_tasks(streak_sandbox, key)
    assert task.startswith(f"Call the customer: order {order_no} is on hold in Sage 100")
    assert len(hold_notes(streak_crm, key, order_no)) == 1
