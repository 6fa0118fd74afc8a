"""The approvals API: approvers (and admins) approve or reject with a comment; the run goes on
to create the order, or ends and tells the deal why; nobody else may decide, and a decision
already taken is not taken again (409)."""

import pytest

from flows.models import Approval, SyncRun
from tests import won_deals as shared

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("runs_inline")]


@pytest.fixture
def waiting(client, streak_sandbox, sage100_pair):
    """A won deal over the approval threshold (SAL-1006, 12,155.70 USD): its box key and run."""
    pair, token = sage100_pair
    key, run = shared.win_box(client, streak_sandbox, pair, token, "SAL-1006")
    run.refresh_from_db()
    assert run.status == SyncRun.Status.AWAITING_APPROVAL
    return key, run


def as_user(client, users, role: str):
    client.force_login(users[role])
    return client


def decide(client, approval: Approval, decision: str, comment: str = ""):
    return client.post(
        f"/api/v1/approvals/{approval.pk}/{decision}/",
        {"comment": comment},
        content_type="application/json",
    )


def test_the_queue_lists_the_waiting_deal_with_its_amount(client, users, waiting):
    _, run = waiting
    reply = as_user(client, users, "viewer").get("/api/v1/approvals/?status=pending")
    assert reply.status_code == 200
    [approval] = reply.json()["results"]
    assert (approval["run"], approval["amount"], approval["currency"]) == (
        run.pk,
        "12155.70",
        "USD",
    )
    assert "over the approval threshold" in approval["reason"]
    assert approval["pair"] == run.pair.slug and approval["status"] == "pending"


def test_approving_continues_the_run_and_the_order_is_created(
    client, users, waiting, streak_crm, sage
):
    key, run = waiting
    reply = decide(as_user(client, users, "approver"), run.approval, "approve", "Good customer.")
    assert reply.status_code == 200, reply.content
    assert reply.json()["status"] == "approved" and reply.json()["decided_by"] == "approver"
    run.refresh_from_db()
    assert run.status == SyncRun.Status.SUCCEEDED, run.error_message
    [order] = shared.orders_for(sage, "SAL-1006")
    assert streak_crm.get("Box", key)["fieldsByName"]["Sage Order No"] == order["SalesOrderNo"]


def test_rejecting_ends_the_run_with_the_comment_on_the_deal(
    client, users, waiting, streak_crm, sage
):
    key, run = waiting
    api = as_user(client, users, "admin")
    assert decide(api, run.approval, "reject").status_code == 400  # a reason is required
    reply = decide(api, run.approval, "reject", "Over their credit limit.")
    assert reply.status_code == 200, reply.content
    run.refresh_from_db()
    assert run.status == SyncRun.Status.REJECTED
    assert not shared.orders_for(sage, "SAL-1006")
    comments = [c["message"] for c in streak_crm.search("Comment", box_key=key)]
    assert any(message.endswith("Reason: Over their credit limit.") for message in comments)


@pytest.mark.parametrize("role", ["operator", "viewer"])
def test_operators_and_viewers_cannot_decide(client, users, waiting, role):
    _, run = waiting
    api = as_user(client, users, role)
    for decision in ("approve", "reject"):
        reply = decide(api, run.approval, decision, "Looks fine to me.")
        assert reply.status_code == 403
        assert reply.json()["detail"] == "Only approvers and admins can approve or reject."
    assert Approval.objects.get(pk=run.approval.pk).status == Approval.Status.PENDING


def test_a_decided_approval_cannot_be_decided_again(client, users, waiting):
    _, run = waiting
    api = as_user(client, users, "approver")
    assert decide(api, run.approval, "approve", "Yes.").status_code == 200
    for decision in ("approve", "reject"):
        reply = decide(api, run.approval, decision, "Changed my mind.")
        assert reply.status_code == 409
        assert "already approved by approver" in reply.json()["detail"]
