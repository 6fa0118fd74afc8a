"""The reconciliation page in Chromium against the live sandboxes: from a pair's page an
operator opens it, sees the won deal match Sage, then, after the order's total is changed in
Sage behind the product's back, sees the amount differ and marks it reviewed with a note."""

import pytest
from django.utils.timezone import localdate
from playwright.sync_api import Page, expect

from flows.models import SyncRun
from tests import won_deals as shared
from tests.integration.flows.test_reconciliation import sage100_sql

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("runs_inline"),
]


def test_an_operator_sees_a_changed_total_and_marks_it_reviewed(
    screenshot, page: Page, live_server, users, login, client, streak_sandbox, sage100_pair,
    sage100_sandbox,
):  # fmt: skip
    pair, token = sage100_pair
    _, run = shared.win_box(client, streak_sandbox, pair, token, "SAL-1005")
    run.refresh_from_db()
    assert run.status == SyncRun.Status.SUCCEEDED, run.error_message
    today = localdate()

    login("operator")
    page.goto(f"{live_server.url}{pair.get_absolute_url()}")
    page.get_by_role("link", name="Reconciliation").click()
    page.get_by_label("Won since").fill(today.isoformat())
    page.get_by_role("button", name="Check").click()
    expect(page.get_by_test_id("summary")).to_contain_text("1 won deal since")

    sage100_sql(
        sage100_sandbox,
        "UPDATE SO_SalesOrderHeader SET FreightAmt = FreightAmt + 100 WHERE UDF_DEAL_ID = ?",
        "SAL-1005",
    )
    page.reload()
    row = page.locator(f"#differences tr[data-deal='{run.entity_key}']")
    expect(row).to_contain_text("Amount differs")
    expect(page.get_by_role("link", name="Export CSV")).to_be_visible()
    row.get_by_label("Note").fill("Freight agreed by phone")
    screenshot("reconciliation.png")
    row.get_by_role("button", name="Mark as reviewed").click()

    expect(page.get_by_text("marked as reviewed")).to_be_visible()
    expect(row.get_by_test_id("reviewed")).to_contain_text(
        "Reviewed by operator: Freight agreed by phone"
    )
