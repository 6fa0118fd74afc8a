"""The small things people notice, in Chromium: a lookup CSV checked and previewed before it
is applied, the initial load moving record by record with its time taken, an alert test
failing in plain words with the setting to fix, times in the reader's own zone, and the
audit log telling a flow's option change key by key."""

import threading
from datetime import UTC, datetime

import pytest
from django.db import connection as db
from playwright.sync_api import Page, expect

from connectors.models import IntegrationPair
from flows.models import FlowConfig, SyncRun
from flows.runner import execute_run
from mappings.models import LookupEntry, LookupTable
from monitoring.models import AlertChannel
from sandbox.core.faults import FaultSettings

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def upload(page: Page, name: str, text: str, replace: bool = False) -> None:
    page.get_by_label("CSV file").set_input_files(
        {"name": name, "mimeType": "text/csv", "buffer": text.encode()}
    )
    if replace:
        page.get_by_label("Replace every row").check()
    page.get_by_role("button", name="Import", exact=True).click()


def test_a_lookup_csv_is_checked_and_previewed_before_it_is_applied(
    page: Page, live_server, users, login, screenshot
):
    table = LookupTable.objects.create(name="Product code → Sage 100 item")
    LookupEntry.objects.create(table=table, key="WIDGET-1", value="ITM-0001")
    LookupEntry.objects.create(table=table, key="GADGET-7", value="ITM-0700")
    login("operator")
    page.goto(f"{live_server.url}/lookups/{table.pk}/")

    upload(page, "codes.csv", "WIDGET-1\nWIDGET-2\nWIDGET-3\n")
    expect(page.get_by_role("status")).to_contain_text(
        "Nothing imported: the file has one column, and a lookup row needs two"
    )
    assert table.entries.count() == 2

    upload(page, "codes.csv", "key;value;note\nWIDGET-1;ITM-0002;moved\nBOLT-9;ITM-0900;\n", True)
    expect(page.get_by_role("heading", name="Check the import")).to_be_visible()
    expect(page.get_by_test_id("import-added")).to_have_text("1")
    expect(page.get_by_test_id("import-changed")).to_have_text("1")
    expect(page.get_by_test_id("import-removed")).to_have_text("1")
    expect(page.get_by_test_id("preview-changed")).to_contain_text("ITM-0001")
    expect(page.get_by_test_id("preview-removed")).to_contain_text("GADGET-7")
    expect(page.locator("main")).to_contain_text("Left out: the column note")
    screenshot("lookup_import_preview.png")
    assert dict(table.entries.values_list("key", "value"))["WIDGET-1"] == "ITM-0001"

    page.get_by_role("button", name="Apply: change 3 rows").click()
    expect(page.get_by_role("status")).to_contain_text("1 added, 1 changed, 1 removed")
    assert dict(table.entries.values_list("key", "value")) == {
        "WIDGET-1": "ITM-0002", "BOLT-9": "ITM-0900",
    }  # fmt: skip


def test_the_initial_load_moves_record_by_record_with_its_time_taken(
    page: Page, live_server, users, login, screenshot, streak, streak_sandbox, sage100
):
    pair = IntegrationPair.objects.create(name="Streak load", crm=streak, erp=sage100)
    streak_sandbox.app.faults.configure(FaultSettings(latency_ms=60))  # Streak at its pace
    login("admin")
    page.on("dialog", lambda dialog: dialog.accept())
    page.goto(f"{live_server.url}/pairs/{pair.slug}/initial-load/")
    page.get_by_role("button", name="Start initial load").click()
    run = SyncRun.objects.get(pair=pair, flow_config__flow="initial_load")

    def work() -> None:
        try:
            execute_run(run.pk)
        finally:
            db.close()

    worker = threading.Thread(target=work)
    worker.start()
    doing = page.get_by_test_id("load-doing")
    expect(doing).to_contain_text("Loading customer", timeout=20_000)
    expect(doing).not_to_contain_text("Loading customer 1 of", timeout=20_000)
    # Under way, not stuck at 0 until a batch of 200 is done.
    expect(page.get_by_test_id("load-percent")).not_to_have_text("0 %", timeout=20_000)
    percent = int(page.get_by_test_id("load-percent").inner_text().removesuffix(" %"))
    assert 0 < percent < 100
    expect(page.get_by_test_id("load-elapsed")).to_contain_text(" s")
    screenshot("initial_load.png", full_page=False)
    expect(page.get_by_test_id("load-percent")).to_have_text("100 %", timeout=120_000)
    worker.join(timeout=30)
    expect(page.locator("#initial-load-progress")).to_contain_text("took")


def test_an_alert_test_that_cannot_reach_its_url_says_why_and_what_to_check(
    page: Page, live_server, users, login
):
    AlertChannel.objects.create(name="Ops hook", kind="webhook",
                                settings={"url": "http://127.0.0.1:9/alerts/token-x"},
                                secrets={"secret": "s3cret"})  # fmt: skip
    login("admin")
    page.goto(f"{live_server.url}/alerts/")

    page.get_by_role("button", name="Send test").click()

    flash = page.get_by_role("status")
    expect(flash).to_contain_text(
        "The test to “Ops hook” failed: Nothing answers at 127.0.0.1:9: the connection was "
        "refused. Check the channel's Webhook URL."
    )
    expect(flash).not_to_contain_text("Error")


def test_times_are_shown_in_the_zone_a_person_chose(
    page: Page, live_server, users, login, streak_pair_with_run
):
    run = streak_pair_with_run
    login("operator")
    page.goto(f"{live_server.url}/settings/")
    page.get_by_label("Time zone").select_option("America/Chicago")
    page.get_by_role("button", name="Save time zone").click()
    expect(page.get_by_role("status")).to_contain_text("Times are shown in America/Chicago now.")
    expect(page.get_by_test_id("zone-now")).to_contain_text(" C")  # CST or CDT

    page.goto(f"{live_server.url}{run.get_absolute_url()}")
    expect(page.locator("main")).to_contain_text("2025-06-03 07:05 CDT")


@pytest.fixture
def streak_pair_with_run(streak, sage100) -> SyncRun:
    pair = IntegrationPair.objects.create(name="Zones", crm=streak, erp=sage100)
    config = FlowConfig.objects.get(pair=pair, flow="deal_won_to_sales_order")
    run = SyncRun.objects.create(flow_config=config, pair=pair, entity_key="box-1")
    SyncRun.objects.filter(pk=run.pk).update(created_at=datetime(2025, 6, 3, 12, 5, tzinfo=UTC))
    return run


def test_the_audit_log_tells_a_changed_option_key_by_key(
    page: Page, live_server, users, login, streak_pair_with_run
):
    pair = streak_pair_with_run.pair
    login("admin")
    page.goto(f"{live_server.url}/pairs/{pair.slug}/flows/")
    card = page.locator("#flow-deal_won_to_sales_order")
    card.get_by_label("Approval needed above (USD)").fill("2500")
    card.get_by_role("button", name="Save").click()
    expect(page.get_by_role("status")).to_contain_text("saved")

    page.goto(f"{live_server.url}/audit/?user=admin")

    change = page.locator(".audit-change", has_text="Options · approval threshold")
    expect(change).to_contain_text("(default) → 2500")
    expect(page.locator(".audit-change", has_text="unknown item policy")).to_have_count(0)
    expect(page.locator(".audit-table")).not_to_contain_text("{")
