"""Edit and retry: an operator corrects a failed run's mapped document and retries it, against
the Streak and Sage 100 sandboxes. SAL-1008 sells WIDGET-999, an item Sage 100 does not have,
so its run fails at the items step until someone corrects the line."""

from decimal import Decimal

import pytest

from flows.approvals import approve
from flows.models import SyncRun
from flows.operator_models import RunEdit
from tests import won_deals as shared

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("runs_inline")]
DEAL = "SAL-1008"


@pytest.fixture
def failed_run(client, streak_sandbox, sage100_pair, users) -> SyncRun:
    pair, token = sage100_pair
    shared.eur_rate(pair)
    _, run = shared.win_box(client, streak_sandbox, pair, token, DEAL)
    run.refresh_from_db()
    assert run.status == SyncRun.Status.FAILED and "WIDGET-999" in run.error_message
    client.force_login(users["operator"])
    return run


def line_of(client, run: SyncRun, sku: str) -> tuple[int, dict]:
    reply = client.get(f"/api/v1/runs/{run.pk}/document/")
    assert reply.status_code == 200, reply.content
    lines = reply.json()["lines"]
    [(index, line)] = [(i, line) for i, line in enumerate(lines) if line["sku"]["value"] == sku]
    return index, line


def edit(client, run: SyncRun, changes: dict, note: str = ""):
    return client.post(
        f"/api/v1/runs/{run.pk}/edit/", {"changes": changes, "note": note},
        content_type="application/json",
    )  # fmt: skip


def test_an_unknown_item_corrected_to_an_existing_one_makes_the_order_and_keeps_the_edit(
    client, failed_run, sage, users
):
    index, _ = line_of(client, failed_run, "WIDGET-999")
    reply = edit(client, failed_run, {f"lines[{index}].sku": "WIDGET-100"}, "Renamed item")
    assert reply.status_code == 200, reply.content
    failed_run.refresh_from_db()
    assert failed_run.status == SyncRun.Status.SUCCEEDED, failed_run.error_message
    [order] = shared.orders_for(sage, DEAL)
    codes = [line["ItemCode"] for line in order["lines"]]
    assert "WIDGET-100" in codes and "WIDGET-999" not in codes
    [kept] = RunEdit.objects.filter(run=failed_run)
    assert kept.edited_by == users["operator"] and kept.note == "Renamed item"
    assert kept.changes == [
        {
            "field": f"lines[{index}].sku",
            "label": f"Item of line {index + 1}",
            "before": "WIDGET-999",
            "after": "WIDGET-100",
        }
    ]
    assert not kept.needs_approval
    mapped = failed_run.steps.filter(name="map_deal").last().output
    assert mapped["edit"]["used"] and "by operator" in mapped["edit"]["applied"][0]
    page = client.get(f"/runs/{failed_run.pk}/").content.decode()
    assert "Edited by operator" in page and "WIDGET-999 → WIDGET-100" in page
    assert "Edit and retry" not in page  # succeeded: nothing left to edit


def test_an_edited_quantity_waits_for_an_approver_and_the_order_has_the_edited_quantity(
    client, failed_run, sage, users
):
    index, line = line_of(client, failed_run, "WIDGET-999")
    before = Decimal(line["quantity"]["value"])
    changes = {f"lines[{index}].sku": "WIDGET-100", f"lines[{index}].quantity": "1"}
    assert edit(client, failed_run, changes).status_code == 200
    failed_run.refresh_from_db()
    assert failed_run.status == SyncRun.Status.AWAITING_APPROVAL
    approval = failed_run.approval
    assert approval.kind == "edit"
    assert f"changed from {line['quantity']['value']} to 1 by operator" in approval.reason
    assert not shared.orders_for(sage, DEAL)
    client.force_login(users["approver"])
    cards = client.get("/approvals/").content.decode()
    assert "data-edit-changes" in cards and "<strong>1</strong>" in cards
    approve(approval, users["approver"], "Customer asked for one")
    failed_run.refresh_from_db()
    assert failed_run.status == SyncRun.Status.SUCCEEDED, failed_run.error_message
    [order] = shared.orders_for(sage, DEAL)
    [edited] = [row for row in order["lines"] if row["ItemCode"] == "WIDGET-100"]
    assert Decimal(edited["QuantityOrdered"]) == 1 != before


def test_an_invalid_edit_names_each_field_and_retries_nothing(client, failed_run):
    index, _ = line_of(client, failed_run, "WIDGET-999")
    attempt = failed_run.attempt
    reply = edit(
        client, failed_run,
        {f"lines[{index}].quantity": "ten", f"lines[{index}].description": "x" * 31},
    )  # fmt: skip
    assert reply.status_code == 400
    errors = reply.json()
    assert "must be a number" in errors[f"lines[{index}].quantity"]
    assert "at most 30 characters in Sage 100" in errors[f"lines[{index}].description"]
    failed_run.refresh_from_db()
    assert (failed_run.status, failed_run.attempt) == (SyncRun.Status.FAILED, attempt)
    assert not RunEdit.objects.filter(run=failed_run).exists()


def test_viewers_cannot_see_or_edit_the_document(client, failed_run, users):
    client.force_login(users["viewer"])
    assert client.get(f"/api/v1/runs/{failed_run.pk}/document/").status_code == 403
    assert edit(client, failed_run, {"po_number": "PO-1"}).status_code == 403
    assert not RunEdit.objects.filter(run=failed_run).exists()
