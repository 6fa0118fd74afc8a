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

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def pair(salesforce, sage100) -> IntegrationPair:
    return IntegrationPair.objects.create(name="Acme load", crm=salesforce, erp=sage100)


def load_finishes_on_the_page(page: Page, pair: IntegrationPair) -> SyncRun:
    """Work the started load as a qcluster worker would, beside the live server, while the
    page's bar climbs to 100 %; returns the run, succeeded."""
    run = SyncRun.objects.get(pair=pair, flow_config__flow="initial_load")

    def work() -> None:
        try:
            execute_run(run.pk)
        finally:
            db.close()

    worker = threading.Thread(target=work)
    worker.start()
    expect(page.get_by_test_id("load-percent")).to_have_text("100 %", timeout=30_000)
    worker.join(timeout=30)
    run.refresh_from_db()
    assert run.status == SyncRun.Status.SUCCEEDED, run.error_message
    return run


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
    run = load_finishes_on_the_page(page, pair)
    total = run.progress["total"]
    expect(page.get_by_test_id("load-done")).to_have_text(f"{total} / {total}")
    expect(page.locator("progress")).to_have_attribute("value", "100")
    expect(page.get_by_text("Succeeded")).to_be_visible()


@pytest.fixture
def services_pair(streak, sage50) -> IntegrationPair:
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

    load_finishes_on_the_page(page, pair)
    expect(page.get_by_text("customers loaded into Streak as organizations")).to_be_visible()


def test_a_viewer_sees_the_page_but_no_start_button(page: Page, live_server, users, login, pair):
    login("viewer")
    page.goto(f"{live_server.url}/pairs/{pair.slug}/initial-load/")
    expect(page.get_by_role("heading", name="Initial load")).to_be_visible()
    expect(page.get_by_role("button", name="Start initial load")).to_have_count(0)
