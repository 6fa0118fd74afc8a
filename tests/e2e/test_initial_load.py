"""The initial-load page: an admin starts the load, the progress bar follows the run live
(htmx polling) up to 100 %, also for Sage 50 customers into Streak, and a viewer sees the
page without the button."""

import threading

import pytest
from django.db import connection as db
from playwright.sync_api import Page, expect

from connectors.models import IntegrationPair
from flows.models import SyncRun
from flows.runner import execute_run
from tests.integration.flows.polling_setup import (  # noqa: F401 (fixtures)
    sage50,
    sage100,
    salesforce,
    streak,
)

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def pair(salesforce, sage100) -> IntegrationPair:  # noqa: F811
    return IntegrationPair.objects.create(name="Acme load", crm=salesforce, erp=sage100)


def run_in_worker(run_id: int) -> threading.Thread:
    """What a qcluster worker does with the queued run, beside the live server."""

    def work() -> None:
        try:
            execute_run(run_id)
        finally:
            db.close()

    thread = threading.Thread(target=work)
    thread.start()
    return thread


def test_an_admin_starts_the_load_and_the_progress_bar_reaches_100_percent(
    page: Page, live_server, users, login, pair
):
    login("admin")
    page.on("dialog", lambda dialog: dialog.accept())
    page.goto(f"{live_server.url}/pairs/{pair.slug}/initial-load/")
    expect(page.get_by_text("No initial load has run for this pair yet.")).to_be_visible()

    page.get_by_role("button", name="Start initial load").click()

    expect(page.get_by_role("status")).to_contain_text("Initial load of Acme load started")
    expect(page.get_by_role("button", name="Start initial load")).to_be_disabled()
    run = SyncRun.objects.get(pair=pair, flow_config__flow="initial_load")
    worker = run_in_worker(run.pk)
    expect(page.get_by_test_id("load-percent")).to_have_text("100 %", timeout=30_000)
    worker.join(timeout=30)
    run.refresh_from_db()
    assert run.status == SyncRun.Status.SUCCEEDED, run.error_message
    total = run.progress["total"]
    expect(page.get_by_test_id("load-done")).to_have_text(f"{total} / {total}")
    expect(page.locator("progress")).to_have_attribute("value", "100")
    expect(page.get_by_text("Succeeded")).to_be_visible()
    page.screenshot(path="/tmp/w3/initial_load.png", full_page=True)


@pytest.fixture
def services_pair(streak, sage50) -> IntegrationPair:  # noqa: F811
    return IntegrationPair.objects.create(name="Services load", crm=streak, erp=sage50)


def test_sage50_customers_load_into_streak_from_the_page(
    page: Page, live_server, users, login, services_pair
):
    pair = services_pair
    login("admin")
    page.on("dialog", lambda dialog: dialog.accept())
    page.goto(f"{live_server.url}/pairs/{pair.slug}/initial-load/")
    expect(page.get_by_text("Streak has no product records")).to_be_visible()

    page.get_by_role("button", name="Start initial load").click()

    run = SyncRun.objects.get(pair=pair, flow_config__flow="initial_load")
    worker = run_in_worker(run.pk)
    expect(page.get_by_test_id("load-percent")).to_have_text("100 %", timeout=30_000)
    worker.join(timeout=30)
    run.refresh_from_db()
    assert run.status == SyncRun.Status.SUCCEEDED, run.error_message
    expect(page.get_by_text("customers loaded into Streak as organizations")).to_be_visible()


def test_a_viewer_sees_the_page_but_no_start_button(page: Page, live_server, users, login, pair):
    login("viewer")
    page.goto(f"{live_server.url}/pairs/{pair.slug}/initial-load/")
    expect(page.get_by_role("heading", name="Initial load")).to_be_visible()
    expect(page.get_by_role("button", name="Start initial load")).to_have_count(0)
