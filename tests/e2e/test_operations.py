"""The operations pages in Chromium, as each role, against the live sandboxes: approving a
large deal, fixing and retrying a failed run, retrying a group after an outage, a viewer's
read-only view, and a dashboard that agrees with the database.

Runs execute inline (django-q2 sync mode); the live server is a thread of this process, so
the patch reaches the buttons' requests too."""

from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from flows.models import Approval, SyncRun
from mappings.defaults.base import PRODUCT_TO_SAGE100_ITEM
from mappings.models import LookupTable
from tests import won_deals as shared
from tests.factories import IntegrationPairFactory

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("runs_inline"),
]


def test_an_approver_approves_a_large_deal_and_the_order_reaches_sage_100(
    screenshot, page: Page, live_server, users, login, client, streak_sandbox, sage100_pair, sage
):
    pair, token = sage100_pair
    _, run = shared.win_box(client, streak_sandbox, pair, token, "SAL-1006")
    run.refresh_from_db()
    assert run.status == SyncRun.Status.AWAITING_APPROVAL
    assert not shared.orders_for(sage, "SAL-1006")

    login("approver")
    page.goto(f"{live_server.url}/approvals/")
    card = page.locator(f"[data-approval='{run.approval.pk}']")
    expect(card).to_contain_text("12,155.70 USD")
    expect(card.locator("table.lines tbody tr").first).to_be_visible()
    screenshot("approval_queue.png")
    card.get_by_label("Comment").fill("Known customer, go ahead.")
    card.get_by_role("button", name="Approve").click()
    expect(page.get_by_role("status")).to_contain_text("The run is now succeeded")

    [order] = shared.orders_for(sage, "SAL-1006")
    page.goto(f"{live_server.url}/approvals/?tab=decided")
    expect(page.locator("tbody")).to_contain_text("approver")
    expect(page.locator("tbody")).to_contain_text("Known customer, go ahead.")
    page.goto(f"{live_server.url}{run.get_absolute_url()}")
    expect(
        page.get_by_role("link", name=f"Sage 100 order {order['SalesOrderNo']}")
    ).to_have_attribute(
        "href", f"{sage100_pair[0].erp.settings['bridge_url']}/orders/{order['SalesOrderNo']}"
    )


def test_an_operator_sees_an_unknown_item_fixes_the_lookup_and_retries_from_the_failed_step(
    screenshot, page: Page, live_server, users, login, client, streak_sandbox, sage100_pair, sage
):
    pair, token = sage100_pair
    shared.eur_rate(pair)
    _, run = shared.win_box(client, streak_sandbox, pair, token, "SAL-1008")  # sells WIDGET-999

    login("operator")
    page.goto(f"{live_server.url}/runs/?status=failed")
    page.get_by_role("link", name=f"#{run.pk}").click()
    error = page.locator("#run-error")
    expect(error).to_contain_text(
        "Item WIDGET-999 is not in Sage 100: add it to the product lookup table or create the "
        "item, then retry."
    )
    expect(error).to_contain_text("ValidationError")
    read_deal = page.locator(".timeline .step").first
    read_deal.get_by_text("Input").click()  # what the step worked from: the webhook's event
    expect(read_deal.locator("pre.json").first).to_contain_text('"kind": "BOX_CHANGE_STAGE"')
    screenshot("run_detail.png")

    # The operator adds the row on the lookup table's page, then retries.
    table = LookupTable.objects.get(pair=pair, name=PRODUCT_TO_SAGE100_ITEM)
    run_page = page.url
    page.goto(f"{live_server.url}/lookups/{table.pk}/")
    page.get_by_placeholder("Key").first.fill("WIDGET-999")
    page.get_by_placeholder("Value").first.fill("WIDGET-100")
    page.get_by_role("button", name="Add row").click()
    expect(page.locator('#entries tr[data-key="WIDGET-999"]')).to_contain_text("WIDGET-100")
    expect(page.get_by_role("button", name="Save settings")).to_have_count(0)  # admins' part
    page.goto(run_page)
    page.get_by_role("button", name="Retry from failed step").click()
    expect(page.get_by_role("status")).to_contain_text(
        "retried from the failed step: now succeeded"
    )
    expect(page.locator("h1 .badge")).to_have_text("Succeeded")
    expect(page.locator(".timeline").first).to_contain_text("Skipped")  # earlier steps reused
    [order] = shared.orders_for(sage, "SAL-1008")
    assert "WIDGET-100" in [line["ItemCode"] for line in order["lines"]]


def test_after_a_sage_outage_one_click_retries_the_whole_group_and_the_dashboard_agrees(
    screenshot,
    page: Page,
    live_server,
    users,
    login,
    client,
    settings,
    streak_sandbox,
    sage100_sandbox,
    sage100_pair,
    sage,
):
    settings.CLARITY_MAX_ATTEMPTS = 1  # an outage kills a run at once, for the queue to fill
    pair, token = sage100_pair
    shared.set_faults(sage100_sandbox, outage=True)
    deals = ["SAL-1005", "SAL-1029"]
    runs = [shared.win_box(client, streak_sandbox, pair, token, deal)[1] for deal in deals]
    assert {SyncRun.objects.get(pk=run.pk).status for run in runs} == {SyncRun.Status.DEAD}
    shared.set_faults(sage100_sandbox)

    login("operator")
    page.on("dialog", lambda dialog: dialog.accept())
    page.goto(f"{live_server.url}/errors/")
    group = page.locator(".error-group")
    expect(group).to_have_count(1)
    expect(group.locator(".count")).to_have_text("2 \N{MULTIPLICATION SIGN}")
    expect(group).to_contain_text("Check that it is up")
    group.get_by_role("button", name="Retry all 2").click()
    expect(page.get_by_role("status").first).to_contain_text("2 runs queued again.")
    expect(page.locator(".card.empty")).to_contain_text("No failed or dead runs")
    for deal in deals:
        assert len(shared.orders_for(sage, deal)) == 1

    page.goto(f"{live_server.url}/dashboard/")
    card = page.locator(f"[data-pair='{pair.slug}']")
    recent = SyncRun.objects.filter(pair=pair, created_at__gte=timezone.now() - timedelta(hours=24))
    succeeded = recent.filter(status=SyncRun.Status.SUCCEEDED).count()
    expect(card.locator("[data-metric=runs]")).to_have_text(str(recent.count()))
    expect(card.locator("[data-status=succeeded]")).to_have_text(f"Succeeded {succeeded}")
    expect(card.locator("[data-metric=success-rate]")).to_have_text("100 %")
    expect(card.locator("[data-metric=errors]")).to_have_text("0")
    page.wait_for_function("document.getElementById('runs-chart').width > 0")
    page.wait_for_timeout(300)  # the chart's first data
    screenshot("dashboard.png")


def test_a_viewer_sees_everything_and_no_buttons(page: Page, live_server, users, login):
    pair = IntegrationPairFactory(name="Acme deals")
    config = pair.flows.get(flow="deal_won_to_sales_order")
    failed = SyncRun.objects.create(
        flow_config=config,
        pair=pair,
        entity_key="box-1",
        status=SyncRun.Status.FAILED,
        error_class="TransientError",
        error_message="Sage 100 did not answer",
    )
    waiting = SyncRun.objects.create(
        flow_config=config, pair=pair, entity_key="box-2", status=SyncRun.Status.AWAITING_APPROVAL
    )
    Approval.objects.create(
        run=waiting,
        amount=20000,
        currency="USD",
        base_amount=20000,
        base_currency="USD",
        reason="Over the threshold",
    )

    login("viewer")
    for path in (
        failed.get_absolute_url(),
        "/errors/",
        "/approvals/",
        "/runs/",
        f"/pairs/{pair.slug}/flows/",
    ):
        page.goto(f"{live_server.url}{path}")
        expect(page.locator("main h1")).to_be_visible()
        expect(page.locator("main form[method=post]")).to_have_count(0)
    page.goto(f"{live_server.url}/errors/")
    expect(page.locator(".error-group")).to_contain_text("Sage 100 did not answer")


def test_an_operator_narrows_the_runs_to_a_time_range_across_pages(
    page: Page, live_server, users, login
):
    pair = IntegrationPairFactory(name="Acme deals")
    config = pair.flows.get(flow="deal_won_to_sales_order")
    now = timezone.localtime().replace(second=0, microsecond=0)
    SyncRun.objects.bulk_create(
        SyncRun(flow_config=config, pair=pair, entity_key=f"box-{hours}-{n}")
        for hours in (1, 26, 50)
        for n in range(30)
    )
    for hours in (1, 26, 50):
        SyncRun.objects.filter(entity_key__startswith=f"box-{hours}-").update(
            created_at=now - timedelta(hours=hours)
        )

    def picker(moment) -> str:
        return moment.strftime("%Y-%m-%dT%H:%M")

    login("operator")
    page.goto(f"{live_server.url}/runs/")
    page.get_by_label("From").fill(picker(now - timedelta(hours=60)))
    page.get_by_label("To", exact=True).fill(picker(now - timedelta(hours=20)))
    page.get_by_role("button", name="Filter").click()
    expect(page.locator(".pager")).to_contain_text("60 runs")
    expect(page.locator("tbody")).not_to_contain_text("box-1-")
    page.get_by_role("link", name="Older →").click()
    expect(page.locator(".pager")).to_contain_text("Page 2 of 2 · 60 runs")
    expect(page.get_by_label("From")).to_have_value(picker(now - timedelta(hours=60)))
    expect(page.locator("tbody")).to_contain_text("box-50-")
    expect(page.locator("tbody")).not_to_contain_text("box-1-")

    page.get_by_label("From").fill(picker(now))
    page.get_by_role("button", name="Filter").click()
    expect(page.get_by_role("alert")).to_have_text(
        "“To” is before “From”: pick a later time, or swap them."
    )
    expect(page.locator("tbody")).to_contain_text("Correct the filter above to see runs.")
