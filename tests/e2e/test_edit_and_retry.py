"""Edit and retry in Chromium against the live sandboxes: an operator opens the failed run of
a deal selling an item Sage 100 does not have, sees the mapped order as a form, gets an error
beside the field for text in a quantity, corrects the item and saves; the run is retried, the
order is made, and the run page says who edited what.

Runs execute inline (django-q2 sync mode), in the live server's process."""

import pytest
from playwright.sync_api import Page, expect

from flows.models import SyncRun
from tests import won_deals as shared

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("runs_inline"),
]


def test_an_operator_corrects_the_item_of_a_failed_run_and_the_order_is_made(
    screenshot, page: Page, live_server, users, login, client, streak_sandbox, sage100_pair, sage
):
    pair, token = sage100_pair
    shared.eur_rate(pair)
    _, run = shared.win_box(client, streak_sandbox, pair, token, "SAL-1008")
    run.refresh_from_db()
    assert run.status == SyncRun.Status.FAILED
    login("operator")
    page.goto(f"{live_server.url}/runs/{run.pk}/")
    page.get_by_role("link", name="Edit and retry").click()
    row = page.locator("#edit-lines tbody tr").filter(has=page.locator("input[value='WIDGET-999']"))
    row.locator("input[name$='.quantity']").fill("ten")
    page.get_by_role("button", name="Save and retry").click()
    expect(page.locator("[data-error-for$='.quantity']")).to_contain_text("must be a number")
    screenshot("edit-and-retry-error.png")
    run.refresh_from_db()
    assert run.status == SyncRun.Status.FAILED
    row = page.locator("#edit-lines tbody tr").filter(has=page.locator("input[value='WIDGET-999']"))
    row.locator("input[name$='.quantity']").fill("1")
    row.locator("input[name$='.sku']").fill("WIDGET-100")
    page.get_by_label("Why you edit it").fill("Item renamed in Sage")
    page.get_by_role("button", name="Save and retry").click()
    expect(page.locator("#run-edits")).to_contain_text("Edited by operator")
    expect(page.locator("#run-edits")).to_contain_text("WIDGET-999 → WIDGET-100")
    screenshot("edit-and-retry-run.png")
    run.refresh_from_db()
    assert run.status == SyncRun.Status.AWAITING_APPROVAL  # the quantity changed too
    assert not shared.orders_for(sage, "SAL-1008")
