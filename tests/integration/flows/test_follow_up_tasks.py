"""Follow-up tasks against the live sandboxes: a rejected approval gives the deal's owner a
task to call the customer, due in two working days, in Streak (a box task assigned to the
box's owner) and in Salesforce (a Task owned by the opportunity's owner); an order put on
hold in Sage 100 does the same through the order status poll. Once per event, however often
the run is retried or the order polled; an event the flow's option leaves out makes none."""

from datetime import UTC, date, datetime

import pytest
import requests
from django.utils import timezone

from connectors.services import connector_for
from flows.approvals import reject
from flows.models import FlowConfig, SyncRun
from flows.steps.tasks import working_days_after
from sandbox.streak import data as streak_data
from tests import won_deals as shared
from tests.integration.flows.polling import link_order, open_orders, poll_now, set_status_in_sage

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("runs_inline")]

OWNER = streak_data.MEMBERS[2][1]  # Daniel Okafor, not the API key's owner


def box_tasks(sandbox, key: str) -> list[dict]:
    reply = requests.get(
        f"{sandbox.url}/api/v2/boxes/{key}/tasks", auth=(shared.STREAK_KEY, ""), timeout=5
    )
    reply.raise_for_status()
    return reply.json()["results"]


def assign_box(sandbox, key: str, email: str) -> None:
    """The box's owner, as a Streak user assigns it."""
    reply = requests.post(
        f"{sandbox.url}/api/v1/boxes/{key}",
        json={"assignedToSharingEntries": [{"email": email}]},
        auth=(shared.STREAK_KEY, ""),
        timeout=5,
    )
    reply.raise_for_status()


def due_on(task: dict) -> date:
    return datetime.fromtimestamp(task["dueDate"] / 1000, UTC).date()


def set_options(pair, flow: str, **options) -> None:
    config = FlowConfig.objects.get(pair=pair, flow=flow)
    config.options = {**(config.options or {}), **options}
    config.save(update_fields=["options"])


def task_key(run: SyncRun) -> str:
    """The key the flow made the rejection's task with: the event, the deal, the approval."""
    return (
        f"clarity-task-{run.pair_id}-approval_rejected-{run.entity_key}-approval-{run.approval.pk}"
    )


def rejected_box(client, streak_sandbox, pair, token, approver, deal_id: str):
    key = shared.seeded_box_key(deal_id)
    assign_box(streak_sandbox, key, OWNER)
    key, run = shared.win_box(client, streak_sandbox, pair, token, deal_id)
    run.refresh_from_db()
    assert run.status == SyncRun.Status.AWAITING_APPROVAL
    reject(run.approval, approver, "Customer is two invoices behind.")
    run.refresh_from_db()
    assert run.status == SyncRun.Status.REJECTED
    return key, run


def test_a_rejected_deal_gives_the_box_owner_one_task_even_when_retried(
    client, streak_sandbox, sage100_pair, users
):
    pair, token = sage100_pair
    key, run = rejected_box(client, streak_sandbox, pair, token, users["approver"], "SAL-1006")

    [task] = box_tasks(streak_sandbox, key)
    assert [entry["email"] for entry in task["assignedToSharingEntries"]] == [OWNER]
    assert task["status"] == "NOT_DONE"
    assert due_on(task) == working_days_after(timezone.localdate(), 2)
    assert task["text"].startswith("Call ")
    assert "was rejected before reaching Sage 100" in task["text"]
    assert "Reason: Customer is two invoices behind." in task["text"]
    assert "Due " in task["text"]

    # A rejected run is not retried; the task's own retry (the CRM's reply lost, the
    # step run again) uses the same key and finds the task by its mark.
    again = connector_for(pair.crm).add_task(key, "Call", "again", date.today(), task_key(run))
    assert again == task["key"]
    assert len(box_tasks(streak_sandbox, key)) == 1


def test_with_rejections_left_out_of_the_option_no_task_is_made(
    client, streak_sandbox, sage100_pair, users
):
    pair, token = sage100_pair
    set_options(pair, "deal_won_to_sales_order", task_events=[])
    key, _ = rejected_box(client, streak_sandbox, pair, token, users["approver"], "SAL-1018")
    assert box_tasks(streak_sandbox, key) == []


def test_a_rejected_opportunity_gets_a_task_owned_by_its_owner(salesforce_pair, users):
    pair, _ = salesforce_pair
    set_options(pair, "deal_won_to_sales_order", approval_threshold=0, task_due_days=3)
    shared.without_anomaly_checks(pair)
    salesforce = connector_for(pair.crm)
    opportunity = shared.open_usd_opportunity(salesforce)
    [owner] = [u["Id"] for u in salesforce.query("SELECT Id FROM User WHERE Alias = 'dana'")]
    salesforce.update("Opportunity", opportunity["Id"], {"OwnerId": owner}, "test-owner")
    salesforce.update("Opportunity", opportunity["Id"], {"StageName": "Closed Won"}, "test-won")
    poll_now(pair, "deal_won_to_sales_order")
    run = SyncRun.objects.get(pair=pair, entity_key=opportunity["Id"])
    assert run.status == SyncRun.Status.AWAITING_APPROVAL, run.error_message
    reject(run.approval, users["approver"], "Pricing not agreed")
    run.refresh_from_db()
    assert run.status == SyncRun.Status.REJECTED, run.error_message

    soql = (
        "SELECT Subject, OwnerId, ActivityDate, Status, Priority, Description FROM Task "
        f"WHERE WhatId = '{opportunity['Id']}' AND Status = 'Not Started'"
    )
    [task] = salesforce.query(soql)
    assert task["OwnerId"] == owner
    assert task["ActivityDate"] == working_days_after(timezone.localdate(), 3).isoformat()
    assert (task["Status"], task["Priority"]) == ("Not Started", "High")
    assert task["Subject"].startswith("Call ") and "rejected" in task["Subject"]
    assert "Reason: Pricing not agreed." in task["Description"]

    run.refresh_from_db()
    salesforce.add_task(opportunity["Id"], "Call", "again", date.today(), task_key(run))
    assert len(list(salesforce.query(soql))) == 1


def test_an_order_put_on_hold_in_sage_gives_the_deal_owner_one_task(
    make_pair, streak, sage100, streak_sandbox, sage100_sandbox
):
    pair = make_pair(streak, sage100, "order_status_to_crm")
    order_no = open_orders(sage100_sandbox)[0]
    box = next(connector_for(streak).boxes())
    assign_box(streak_sandbox, box["key"], OWNER)
    link_order(pair, box["key"], order_no)
    poll_now(pair, "order_status_to_crm")
    assert box_tasks(streak_sandbox, box["key"]) == []  # open: nothing to follow up

    set_status_in_sage(sage100_sandbox, order_no, "H")
    poll_now(pair, "order_status_to_crm")
    poll_now(pair, "order_status_to_crm")  # the same hold polled again
    [task] = box_tasks(streak_sandbox, box["key"])
    assert task["text"].startswith(f"Call the customer: order {order_no} is on hold in Sage 100")
    assert [entry["email"] for entry in task["assignedToSharingEntries"]] == [OWNER]
    assert due_on(task) == working_days_after(timezone.localdate(), 2)


def test_an_order_hold_left_out_of_the_option_makes_no_task(
    make_pair, streak, sage100, streak_sandbox, sage100_sandbox
):
    pair = make_pair(streak, sage100, "order_status_to_crm", task_events=[])
    order_no = open_orders(sage100_sandbox)[0]
    box = next(connector_for(streak).boxes())
    link_order(pair, box["key"], order_no)
    poll_now(pair, "order_status_to_crm")
    set_status_in_sage(sage100_sandbox, order_no, "H")
    poll_now(pair, "order_status_to_crm")
    assert box_tasks(streak_sandbox, box["key"]) == []
