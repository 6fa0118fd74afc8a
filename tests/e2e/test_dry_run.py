"""The dry-run in Chromium against the live sandboxes: an integration admin opens the
deal → sales order mapping in the designer, presses "Try on last 100 deals" and reads, on the
page it opens, one deal posted (would duplicate) and one whose item Sage lacks (would fail,
naming the code)."""

import pytest
from django.conf import settings
from playwright.sync_api import Page, expect

from mappings.models import Mapping
from tests import won_deals as shared

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("runs_inline"),
]


def test_an_admin_tries_the_mapping_from_the_designer(
    screenshot, page: Page, live_server, users, login, client, streak_sandbox, sage100_pair,
):  # fmt: skip
    pair, token = sage100_pair
    shared.eur_rate(pair)
    shared.win_box(client, streak_sandbox, pair, token, "SAL-1005")
    shared.win_box(client, streak_sandbox, pair, token, "SAL-1008")  # sells WIDGET-999
    mapping = Mapping.objects.get(pair=pair, direction="in", target_entity="SalesOrder")

    login("admin")
    page.goto(f"{live_server.url}/mappings/{mapping.pk}/")
    with page.context.expect_page() as opened:
        page.get_by_role("button", name="Try on last 100 deals").click()
    result = opened.value
    result.wait_for_load_state()

    expect(result.locator("[data-class='would-duplicate']").first).to_have_text("1")
    expect(result.locator("[data-class='would-fail']").first).to_have_text("1")
    failing = result.locator("#would-fail tr[data-class='would-fail']")
    expect(failing).to_contain_text("Item WIDGET-999 is not in Sage 100")
    expect(result.locator("#would-duplicate")).to_contain_text("bound to sales order")
    # The `screenshot` fixture shoots the designer's tab; the result opened in its own.
    screenshot("mapping_designer_dry_run_button.png")
    folder = settings.VAR_DIR / "screenshots"
    result.screenshot(path=str(folder / "dry_run.png"), full_page=True)
