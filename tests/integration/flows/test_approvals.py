"""Deals over the approval threshold wait for an approver, who is emailed; approving creates
the Sage order, rejecting ends the run and tells the CRM why."""

from decimal import Decimal

import pytest
from django.core import mail
from django.core.exceptions import PermissionDenied

from flows.approvals import DecisionRefused, approve, reject
from flows.models import Approval, SyncRun
from flows.services import FROM_START, retry_run
from tests import won_deals as shared

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("runs_inline")]


@pytest.fixture
def approver(users):
    user = users["approver"]
    user.email = "approver@example.com"
    user.save()
    return user


def wait_for_approval(client, streak_sandbox, sage100_pair, deal_id: str):
    pair, token = sage100_pair
    key, run = shared.win_box(client, streak_sandbox, pair, token, deal_id)
    run.refresh_from_db()
    return key, run


def test_a_deal_over_the_threshold_waits_and_approvers_are_emailed(
    client, streak_sandbox, sage100_pair, sage, approver, users
):
    _, run = wait_for_approval(client, streak_sandbox, sage100_pair, "SAL-1006")
    assert run.status == SyncRun.Status.AWAITING_APPROVAL
    approval = run.approval
    assert (approval.amount, approval.currency, approval.status) == (
        Decimal("12155.70"),
        "USD",
        "pending",
    )
    assert "12,155.70 USD is over the approval threshold of 10,000.00 USD" in approval.reason
    assert not shared.orders_for(sage, "SAL-1006")
    [message] = mail.outbox
    assert message.to == ["approver@example.com"]  # the viewer and operator are not asked
    assert "12,155.70 USD" in message.body and f"/{run.pk}/" in message.body


def test_approving_creates_the_order_and_writes_its_number_back(
    client, streak_sandbox, sage100_pair, streak_crm, sage, approver
):
    key, run = wait_for_approval(client, streak_sandbox, sage100_pair, "SAL-1006")
    approve(run.approval, approver, "Known customer, go ahead.")
    run.refresh_from_db()
    assert run.status == SyncRun.Status.SUCCEEDED, run.error_message
    [order] = shared.orders_for(sage, "SAL-1006")
    assert streak_crm.get("Box", key)["fieldsByName"]["Sage Order No"] == order["SalesOrderNo"]
    assert run.approval.decided_by == approver and run.approval.comment.startswith("Known")
    with pytest.raises(DecisionRefused, match="already approved by approver"):
        reject(run.approval, approver, "Changed my mind")


def test_rejecting_ends_the_run_and_comments_the_reason_on_the_box(
    client, streak_sandbox, sage100_pair, streak_crm, sage, approver
):
    key, run = wait_for_approval(client, streak_sandbox, sage100_pair, "SAL-1018")
    reject(run.approval, approver, "Credit check failed.")
    run.refresh_from_db()
    assert run.status == SyncRun.Status.REJECTED
    assert not shared.orders_for(sage, "SAL-1018")
    comments = [c["message"] for c in streak_crm.search("Comment", box_key=key)]
    assert any(
        "Sage order not created: rejected by approver" in message
        and message.endswith("Reason: Credit check failed.")
        for message in comments
    )
    assert not streak_crm.get("Box", key)["fieldsByName"].get("Sage Order No")
    with pytest.raises(DecisionRefused, match="already rejected"):
        approve(Approval.objects.get(pk=run.approval.pk), approver)


def test_only_approvers_decide_and_a_rejection_needs_a_reason(
    client, streak_sandbox, sage100_pair, approver, users
):
    _, run = wait_for_approval(client, streak_sandbox, sage100_pair, "SAL-1006")
    with pytest.raises(PermissionDenied):
        approve(run.approval, users["operator"])
    with pytest.raises(DecisionRefused, match="Say why"):
        reject(run.approval, approver, "  ")
    run.refresh_from_db()
    assert run.status == SyncRun.Status.AWAITING_APPROVAL
    assert Approval.objects.get(run=run).status == Approval.Status.PENDING


def test_an_approval_binds_the_amount_and_lines_so_a_changed_deal_asks_again(
    client, streak_sandbox, sage100_sandbox, sage100_pair, streak_crm, sage, approver
):
    key, run = wait_for_approval(client, streak_sandbox, sage100_pair, "SAL-1006")
    shared.set_faults(sage100_sandbox, outage=True)  # approved, but Sage is down for now
    approve(run.approval, approver, "Fine at this amount.")
    run.refresh_from_db()
    assert run.status == SyncRun.Status.RETRY_SCHEDULED
    lines = shared.products(streak_crm.get("Box", key))
    code, quantity, price = lines[0]
    lines[0] = (code, quantity + 10, price)  # the salesperson adds ten to the first line
    amount = sum((q * p for _, q, p in lines), Decimal(0))
    products = "\n".join(f"{c} x {q} @ {p:.2f}" for c, q, p in lines)
    streak_crm.update("Box", key, {"Products": products, "Amount": f"{amount:.2f}"}, "edit")
    shared.set_faults(sage100_sandbox, outage=False)

    retry_run(run, FROM_START)

    run.refresh_from_db()
    approval = Approval.objects.get(run=run)
    assert run.status == SyncRun.Status.AWAITING_APPROVAL
    assert (approval.status, approval.amount, approval.decided_by) == ("pending", amount, None)
    assert "changed since it was approved at 12,155.70 USD" in approval.reason
    assert not shared.orders_for(sage, "SAL-1006")
    approve(approval, approver, "Fine at the new amount too.")
    run.refresh_from_db()
    assert run.status == SyncRun.Status.SUCCEEDED, run.error_message
    assert len(shared.orders_for(sage, "SAL-1006")) == 1
