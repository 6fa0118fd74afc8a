"""The bindings page in Chromium against the live sandboxes: from a pair's page an operator
finds a won deal's bindings by its name, opens the order in Sage 100, rebinds the
organization to another Sage customer and unbinds it, each with a note, and the audit log
shows who did what and why."""

import pytest
from playwright.sync_api import Page, expect

from flows.models import ExternalLink, SyncRun
from tests import won_deals as shared

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("runs_inline"),
]


def test_an_operator_searches_opens_rebinds_and_unbinds_and_the_audit_log_shows_it(
    screenshot, page: Page, live_server, users, login, client, streak_sandbox, sage100_pair
):
    pair, token = sage100_pair
    _, run = shared.win_box(client, streak_sandbox, pair, token, "SAL-1005")
    run.refresh_from_db()
    assert run.status == SyncRun.Status.SUCCEEDED, run.error_message
    customer = ExternalLink.objects.get(pair=pair, entity="customer")
    order = ExternalLink.objects.get(pair=pair, entity="sales_order")
    order_no = run.references["sage_order_no"]

    login("operator")
    page.goto(f"{live_server.url}{pair.get_absolute_url()}")
    page.get_by_role("main").get_by_role("link", name="Bindings", exact=True).click()
    page.get_by_label("Search").fill("Sensor upgrade")
    page.get_by_role("button", name="Filter").click()
    rows = page.locator("#bindings tbody tr")
    expect(rows).to_have_count(2)
    order_row = page.locator(f"tr[data-binding='{order.pk}']")
    expect(order_row.get_by_role("link", name="Open in Streak ↗")).to_have_attribute(
        "href", f"{streak_sandbox.url}/boxes/{run.entity_key}"
    )
    screenshot("bindings.png")
    with page.expect_popup() as opened:
        order_row.get_by_role("link", name="Open in Sage 100 ↗").click()
    expect(opened.value.locator("body")).to_contain_text(order_no)
    opened.value.close()

    row = page.locator(f"tr[data-binding='{customer.pk}']")
    row.get_by_text("Rebind…").click()
    rebind = row.locator("form[action$='/rebind/']")
    rebind.get_by_label("Sage 100 customer id").fill("01-ATLASPLA")
    rebind.get_by_label("Note").fill("Brightwater orders through Atlas")
    screenshot("bindings_rebind.png", full_page=False)
    rebind.get_by_role("button", name="Rebind").click()
    expect(page.get_by_role("status")).to_contain_text(
        f"CRM record {customer.crm_id} is bound to Sage 100 customer 01-ATLASPLA now"
    )
    expect(row.locator(".binding-sage")).to_contain_text("01-ATLASPLA")

    page.on("dialog", lambda dialog: dialog.accept())
    row.get_by_text("Unbind…").click()
    unbind = row.locator("form[action$='/unbind/']")
    expect(unbind).to_contain_text("will look the customer up in Sage 100 again")
    unbind.get_by_label("Note").fill("Atlas closed the account")
    unbind.get_by_role("button", name="Unbind").click()
    expect(page.get_by_role("status")).to_contain_text("is no longer bound to Sage 100 customer")
    expect(page.locator(f"tr[data-binding='{customer.pk}']")).to_have_count(0)
    assert not ExternalLink.objects.filter(pk=customer.pk).exists()

    page.get_by_role("link", name="Audit log of bindings").click()
    rebound = page.locator("tbody tr", has_text="Rebound")
    expect(rebound).to_contain_text("operator")
    expect(rebound).to_contain_text("Brightwater orders through Atlas")
    expect(rebound).to_contain_text(f"{run.references['sage_customer']} → 01-ATLASPLA")
    unbound = page.locator("tbody tr", has_text="Unbound")
    expect(unbound).to_contain_text("operator")
    expect(unbound).to_contain_text("Atlas closed the account")
    screenshot("bindings_audit.png")
