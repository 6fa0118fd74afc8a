"""The salesperson hears on the deal what its run waits for, or why it stopped: one note per
state however many attempts the run makes (Streak → Sage 100, runs executed inline, notes
read back from the Streak sandbox as box comments)."""

import pytest
from django.utils import timezone

from connectors.models import Connection
from flows.models import SyncRun
from flows.runner import execute_run
from flows.services import retry_run
from tests import won_deals as shared

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("runs_inline")]
Status = SyncRun.Status


def notes(streak_crm, key: str, containing: str) -> list[str]:
    return [
        comment["message"]
        for comment in streak_crm.search("Comment", box_key=key)
        if containing in comment["message"]
    ]


def next_attempt(run: SyncRun) -> SyncRun:
    """Its retry falls due and a worker takes it, as the queue would ring for it."""
    SyncRun.objects.filter(pk=run.pk).update(next_attempt_at=timezone.now())
    execute_run(run.pk)
    run.refresh_from_db()
    return run


def test_a_deal_waiting_for_approval_is_told_the_amount_the_threshold_and_who_decides_once(
    client, streak_sandbox, sage100_pair, streak_crm, users
):
    users["approver"].first_name, users["approver"].last_name = "Anna", "Moreau"
    users["approver"].save()
    pair, token = sage100_pair
    key, run = shared.win_box(client, streak_sandbox, pair, token, "SAL-1006")
    run.refresh_from_db()
    assert run.status == Status.AWAITING_APPROVAL
    SyncRun.objects.filter(pk=run.pk).update(status=Status.PENDING)  # asked again, as after
    execute_run(run.pk)  # a worker stopped in the middle

    [note] = notes(streak_crm, key, "Waiting for approval")
    assert note == (
        "Waiting for approval before Clarity passes this deal to Sage 100: 12,155.70 USD is "
        "over the approval threshold of 10,000.00 USD. Approvers: Anna Moreau, admin."
    )
    run.refresh_from_db()
    assert run.status == Status.AWAITING_APPROVAL


def test_a_failed_deal_is_told_what_went_wrong_and_whom_to_ask_once_per_cause(
    client, streak_sandbox, sage100_pair, streak_crm
):
    pair, token = sage100_pair
    shared.eur_rate(pair)
    key, run = shared.win_box(client, streak_sandbox, pair, token, "SAL-1008")  # sells WIDGET-999
    run.refresh_from_db()
    assert run.status == Status.FAILED
    retry_run(run)  # retried before the item was fixed: the same failure
    run.refresh_from_db()
    assert run.status == Status.FAILED

    [note] = notes(streak_crm, key, "Ask your Clarity admin")
    assert note == (
        "Clarity could not complete this deal in Sage 100. Ask your Clarity admin: Item "
        "WIDGET-999 is not in Sage 100: add it to the product lookup table or create the "
        f"item, then retry. (Clarity run {run.pk})"
    )


def test_a_deal_waiting_out_an_outage_is_told_once_and_sage_is_ok_again_after(
    client, streak_sandbox, sage100_sandbox, sage100_pair, streak_crm, sage
):
    pair, token = sage100_pair
    shared.set_faults(sage100_sandbox, outage=True)
    key, run = shared.win_box(client, streak_sandbox, pair, token, "SAL-1013")
    run.refresh_from_db()
    assert run.status == Status.RETRY_SCHEDULED
    assert notes(streak_crm, key, "unreachable") == []  # one failed try may be a blip
    erp = Connection.objects.get(pk=pair.erp_id)
    assert erp.status == Connection.Status.FAILING and erp.unreachable_since is not None
    assert erp.failing_call.startswith(f"run {run.pk}: ")

    for _ in range(3):
        run = next_attempt(run)
        assert run.status == Status.RETRY_SCHEDULED

    [note] = notes(streak_crm, key, "unreachable")
    assert note.startswith("Sage 100 is unreachable; Clarity will retry until ")
    assert note.endswith(
        "at the latest. If Sage 100 is still out of reach then, your Clarity admin finds this "
        "deal in the error queue."
    )
    shared.set_faults(sage100_sandbox)
    run = next_attempt(run)
    assert run.status == Status.SUCCEEDED, run.error_message
    erp.refresh_from_db()
    assert (erp.status, erp.unreachable_since, erp.last_error) == (Connection.Status.OK, None, "")
    assert len(shared.orders_for(sage, "SAL-1013")) == 1
    assert len(notes(streak_crm, key, "unreachable")) == 1
