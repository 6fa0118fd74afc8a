"""Anomaly holds against the live Streak, Sage 100 and Sage Accounting sandboxes: a deal far
from Sage's price list, or a repeat of an order won just before, waits for an approver with
the reason in words; "send it anyway" makes the order, a rejection tells the deal why. A
customer's ordinary deals, and a deal retried, are never held."""

import pytest
from django.core import mail

from connectors.services import connector_for
from flows.approvals import approve, reject
from flows.models import Approval, FlowConfig, SyncRun
from sandbox.streak import data as streak_data
from tests import won_deals as shared
from tests.anomaly_deals import ORDINARY, TYPO, brightwater, deliver, five_ordinary_deals, won_deal

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("runs_inline")]


@pytest.fixture
def approver(users):
    user = users["approver"]
    user.email = "approver@example.com"
    user.save()
    return user


def test_a_price_a_tenth_of_sages_is_held_with_the_reason_and_sent_on_when_approved(
    client, streak_sandbox, sage100_pair, streak_crm, sage, approver
):
    pair, token = sage100_pair
    usual = five_ordinary_deals(client, streak_sandbox, pair, token)
    assert not Approval.objects.exists()  # ordinary deals are never held
    checked = usual[-1].steps.get(name="anomaly_checks").output
    assert checked["held"] is False and checked["history"] == 4
    assert checked["prices"] == "2 of 2 lines against Sage 100's price list"

    box = brightwater(streak_sandbox, "TYPO-1", ((9, "7.10"), (10, "34.99")))
    run = deliver(client, pair, token, box)

    assert run.status == SyncRun.Status.AWAITING_APPROVAL
    approval = run.approval
    assert approval.kind == Approval.Kind.ANOMALY and approval.status == "pending"
    assert approval.findings == [f"{TYPO} Check the deal's line before it reaches Sage 100."]
    assert approval.reason.startswith(TYPO)
    assert not shared.orders_for(sage, "TYPO-1")
    comments = [c["message"] for c in streak_crm.search("Comment", box_key=box["key"])]
    assert any(c.startswith("Waiting for approval") and TYPO in c for c in comments)
    [message] = mail.outbox
    assert TYPO in message.body

    approve(approval, approver, "The customer's special price, confirmed by phone.")

    run.refresh_from_db()
    assert run.status == SyncRun.Status.SUCCEEDED, run.error_message
    [order] = shared.orders_for(sage, "TYPO-1")
    box = streak_crm.get("Box", box["key"])
    assert box["fieldsByName"]["Sage Order No"] == order["SalesOrderNo"]
    output = run.steps.get(name="anomaly_checks", status="succeeded").output
    assert output["approved_by"] == "approver" and output["findings"] == approval.findings


def test_a_repeat_of_an_order_won_hours_before_is_held_and_a_rejection_tells_the_deal(
    client, streak_sandbox, sage100_pair, streak_crm, sage, approver
):
    pair, token = sage100_pair
    first = deliver(client, pair, token, brightwater(streak_sandbox, "FIRST-1", ORDINARY[0]))
    assert first.status == SyncRun.Status.SUCCEEDED, first.error_message
    again = brightwater(streak_sandbox, "AGAIN-1", ORDINARY[0])

    run = deliver(client, pair, token, again)

    assert run.status == SyncRun.Status.AWAITING_APPROVAL
    [finding] = run.approval.findings
    assert finding == (
        "Looks like a second order for Brightwater Labs: same total 988.81 USD and lines as "
        f"deal “Brightwater Labs - Sensor upgrade” won less than an hour ago ({first.document})."
    )
    reject(run.approval, approver, "The customer sent the same PO twice.")
    run.refresh_from_db()
    assert run.status == SyncRun.Status.REJECTED
    assert not shared.orders_for(sage, "AGAIN-1")
    comments = [c["message"] for c in streak_crm.search("Comment", box_key=again["key"])]
    assert any(c.endswith("Reason: The customer sent the same PO twice.") for c in comments)


def test_the_same_deal_delivered_again_or_retried_is_no_duplicate_and_checks_can_be_off(
    client, streak_sandbox, sage100_pair, sage
):
    pair, token = sage100_pair
    box = brightwater(streak_sandbox, "ONCE-1", ORDINARY[1])
    first = deliver(client, pair, token, box)
    assert first.status == SyncRun.Status.SUCCEEDED, first.error_message
    shared.deliver_streak(client, pair, token, box, "BOX_EDIT")
    assert not SyncRun.objects.filter(status=SyncRun.Status.AWAITING_APPROVAL).exists()

    FlowConfig.objects.filter(pair=pair, flow="deal_won_to_sales_order").update(
        options={"anomaly_checks": False}
    )
    twin = deliver(client, pair, token, brightwater(streak_sandbox, "TWIN-1", ORDINARY[1]))
    assert twin.status == SyncRun.Status.SUCCEEDED, twin.error_message
    assert twin.steps.get(name="anomaly_checks").output["checked"] is False
    assert len(shared.orders_for(sage, "TWIN-1")) == 1


def test_a_deal_over_the_threshold_that_also_looks_unusual_asks_for_both_in_turn(
    client, streak_sandbox, sage100_pair, sage, approver
):
    pair, token = sage100_pair
    big = [("WIDGET-117", 150, "70.99"), ("WIDGET-139", 10, "3.50")]  # 10,998.40 USD
    run = deliver(client, pair, token, won_deal(streak_sandbox, "BIG-1", big))
    assert (run.status, run.approval.kind) == ("awaiting_approval", Approval.Kind.THRESHOLD)

    approve(run.approval, approver, "Big customer, fine.")

    run.refresh_from_db()
    approval = Approval.objects.get(run=run)
    assert run.status == SyncRun.Status.AWAITING_APPROVAL  # held again: a price is a tenth
    assert (approval.kind, approval.status, approval.decided_by) == ("anomaly", "pending", None)
    assert approval.findings[0].startswith(
        "Unit price of WIDGET-139 is 3.50 USD; Sage 100 lists 34.99 USD (a tenth)."
    )
    approve(approval, approver, "Clearance price for this lot.")
    run.refresh_from_db()
    assert run.status == SyncRun.Status.SUCCEEDED, run.error_message
    assert len(shared.orders_for(sage, "BIG-1")) == 1


def test_an_invoice_repeating_one_made_an_hour_before_is_held_too(
    client, streak_sandbox, sage_accounting_sandbox
):
    crm = shared.streak_connection(streak_sandbox, streak_data.SERVICES)
    erp = shared.sage50_connection(sage_accounting_sandbox)
    pair, token = shared.make_pair("Streak Sage 50", crm, erp, "deal_won_to_invoice")
    lines = [("SERV-HOUR", 12, "125.00"), ("KIT-301", 2, "936.95")]
    first = deliver(client, pair, token, won_deal(streak_sandbox, "INV-1", lines, "SRV-2001"))
    assert first.status == SyncRun.Status.SUCCEEDED, first.error_message
    prices = first.steps.get(name="anomaly_checks").output["prices"]
    assert prices == "Sage Accounting lists no item prices to Clarity: prices were not checked."

    run = deliver(client, pair, token, won_deal(streak_sandbox, "INV-2", lines, "SRV-2001"))

    assert run.status == SyncRun.Status.AWAITING_APPROVAL
    assert run.approval.findings[0].startswith(
        "Looks like a second order for Atlas Freight Systems: same total 3,373.90 USD"
    )
    invoices = connector_for(pair.erp).search("sales_invoices", reference="INV-2")
    assert not invoices
