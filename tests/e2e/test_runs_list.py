"""The runs list in Chromium as an operator finds runs: after won deals and background polls it
holds only runs that did something, each named by its Deal ID, deal and customer with the
Sage document it made; a run is found by Deal ID and by Sage order or invoice number; each
says how long it took; a pair's list holds that pair's runs only; and it refreshes itself
when asked to, remembering that in its address.

Two Streak pipelines book into one Sage 100 company here, as the demo's Streak and
Salesforce pairs do: each pair's order-status poll sees every new order, and neither may
list the other's. Runs execute inline (django-q2 sync mode)."""

import re
import time

import pytest
from playwright.sync_api import Page, expect

from connectors.models import IntegrationPair
from flows.models import FlowConfig, InboundEvent, SyncRun
from flows.polling import poll_config
from sandbox.streak import data as streak_data
from tests import won_deals as shared

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("runs_inline"),
]
POLLED = ("order_status_to_crm", "payments_to_crm")
ORDERS = {"SAL-1002": "Copperline Electric", "SAL-1003": "Bayview Marine Supply"}


def polling(pair: IntegrationPair) -> list[FlowConfig]:
    FlowConfig.objects.filter(pair=pair, flow__in=POLLED).update(
        enabled=True, trigger=FlowConfig.Trigger.POLL
    )
    return list(FlowConfig.objects.filter(pair=pair, flow__in=POLLED))


@pytest.fixture
def pairs(streak_sandbox, sage100_pair, sage_accounting_sandbox) -> dict:
    """Streak Sales → Sage 100 (the won-deal pair), Streak Wholesale → the same Sage 100,
    and Streak Services → Sage Accounting invoices; polls on for the Sage 100 pairs."""
    sales, token = sage100_pair
    wholesale, _ = shared.make_pair(
        "Streak Wholesale → Sage 100",
        shared.streak_connection(streak_sandbox, streak_data.WHOLESALE),
        sales.erp,
        "deal_won_to_sales_order",
    )
    services, services_token = shared.make_pair(
        "Streak Services → Sage Accounting",
        shared.streak_connection(streak_sandbox, streak_data.SERVICES),
        shared.sage50_connection(sage_accounting_sandbox),
        "deal_won_to_invoice",
    )
    return {
        "sales": (sales, token),
        "wholesale": wholesale,
        "services": (services, services_token),
        "polls": polling(sales) + polling(wholesale),
    }


def poll_all(configs: list[FlowConfig]) -> None:
    for config in configs:
        assert not poll_config(config.pk).startswith("failed"), config


def rows(page: Page):
    return page.locator("#run-table tbody tr[data-run]")


def search(page: Page, text: str) -> None:
    page.get_by_label("Search").fill(text)
    page.get_by_role("button", name="Filter").click()


def test_after_won_deals_and_polls_the_list_holds_the_deal_runs_found_by_deal_id_and_document(
    page: Page, live_server, users, login, client, screenshot, streak_sandbox, pairs
):
    (sales, token), (services, services_token) = pairs["sales"], pairs["services"]
    poll_all(pairs["polls"])  # the first polls: the feeds start from here
    for deal in ORDERS:
        shared.win_box(client, streak_sandbox, sales, token, deal)
    _, failed = shared.win_box(client, streak_sandbox, sales, token, "SAL-1008")  # EUR, no rate
    _, invoiced = shared.win_box(client, streak_sandbox, services, services_token, "SRV-2001")
    for _ in range(2):  # two rounds of background polls, as the schedule makes every minute
        time.sleep(1.1)  # Sage 100 stamps changes to the second
        poll_all(pairs["polls"])

    # The new orders were read by both Sage 100 pairs' polls; none of it is a run.
    assert InboundEvent.objects.filter(pair=pairs["wholesale"], source="poll").count() >= 2
    assert not SyncRun.objects.filter(flow_config__flow__in=POLLED).exists()
    orders = {
        run.label.split(" · ")[0]: run
        for run in SyncRun.objects.filter(pair=sales, status=SyncRun.Status.SUCCEEDED)
    }
    assert set(orders) == set(ORDERS)
    invoiced.refresh_from_db()
    assert invoiced.status == SyncRun.Status.SUCCEEDED, invoiced.error_message
    assert re.fullmatch(r"SI-\d+", invoiced.document), invoiced.document  # not Sage's own id
    assert invoiced.document == invoiced.references["sage_invoice_number"]

    login("operator")
    page.goto(f"{live_server.url}/runs/")
    expect(page.get_by_label("Show")).to_have_value("deals")
    expect(rows(page)).to_have_count(4)  # three won deals (one failed) and the invoice
    for deal, customer in ORDERS.items():
        run = orders[deal]
        row = page.locator(f"tr[data-run='{run.pk}']")
        expect(row.locator(".run-label .label-text")).to_have_text(
            re.compile(rf"^{deal} · {re.escape(customer)} - .+ · {re.escape(customer)}$")
        )
        number = run.references["sage_order_no"]
        expect(row.locator(".run-document")).to_have_text(f"SO {number}")
        expect(row.locator(".run-duration")).to_have_text(re.compile(r"^\d+(\.\d)? s$"))
    expect(page.locator(f"tr[data-run='{failed.pk}'] .run-label")).to_contain_text(
        "SAL-1008 · Brasserie Lumière SARL"
    )
    expect(page.locator("#run-table")).not_to_contain_text("nothing to tell")
    screenshot("runs_list.png")

    page.get_by_label("Show").select_option("all")
    page.get_by_role("button", name="Filter").click()
    expect(rows(page)).to_have_count(4)  # the polls left no runs behind

    search(page, "SAL-1003")
    expect(rows(page)).to_have_count(1)
    expect(rows(page).first).to_contain_text("SAL-1003 · Bayview Marine Supply")
    order_no = orders["SAL-1003"].references["sage_order_no"]
    search(page, order_no)
    expect(rows(page)).to_have_count(1)
    expect(rows(page).first.locator(".run-document")).to_have_text(f"SO {order_no}")
    search(page, invoiced.document)
    expect(rows(page)).to_have_count(1)
    expect(rows(page).first).to_contain_text("SRV-2001 · Atlas Freight Systems")
    screenshot("runs_search.png")

    rows(page).first.get_by_role("link", name=f"#{invoiced.pk}").click()
    expect(page.locator("#run-label")).to_contain_text("SRV-2001 · Atlas Freight Systems")
    expect(page.locator("#run-document")).to_have_text(invoiced.document)


def test_a_pair_lists_only_its_own_runs_and_the_list_refreshes_itself_when_asked(
    page: Page, live_server, users, login, client, streak_sandbox, pairs
):
    sales, token = pairs["sales"]
    wholesale = pairs["wholesale"]
    poll_all(pairs["polls"])
    _, won = shared.win_box(client, streak_sandbox, sales, token, "SAL-1002")
    time.sleep(1.1)
    poll_all(pairs["polls"])

    login("operator")
    page.goto(f"{live_server.url}/pairs/{sales.slug}/flows/")  # what the polls found
    status = page.locator("#flow-order_status_to_crm [data-poll-status]")
    expect(status).to_contain_text(re.compile(r"Last poll .+: 1 change found"))
    expect(page.locator("#flow-payments_to_crm [data-poll-status]")).to_contain_text("no changes")

    page.goto(f"{live_server.url}{wholesale.get_absolute_url()}")
    page.get_by_role("main").get_by_role("link", name="Runs", exact=True).click()
    expect(page.get_by_label("Pair")).to_have_value(wholesale.slug)
    expect(page.locator("#run-table")).to_contain_text("No runs match.")
    page.get_by_label("Pair").select_option(sales.slug)
    page.get_by_role("button", name="Filter").click()
    expect(rows(page)).to_have_count(1)
    expect(rows(page).first).to_contain_text("SAL-1002")

    toggle = page.get_by_label(re.compile("Auto-refresh"))
    expect(toggle).not_to_be_checked()
    toggle.check()
    expect(page).to_have_url(re.compile(r"[?&]refresh=on"))
    _, later = shared.win_box(client, streak_sandbox, sales, token, "SAL-1003")
    expect(page.locator(f"tr[data-run='{later.pk}']")).to_be_visible(timeout=15_000)
    expect(rows(page)).to_have_count(2)

    page.reload()  # remembered in the address
    expect(page.get_by_label(re.compile("Auto-refresh"))).to_be_checked()
    page.get_by_label(re.compile("Auto-refresh")).uncheck()
    expect(page).not_to_have_url(re.compile(r"refresh=on"))
    expect(page.locator("#run-table[data-refreshing]")).to_have_count(0)
    assert won.pk != later.pk
