"""The mapping designer in Chromium, on a Streak → Sage 100 pair against the live sandboxes."""

import json
import re

import pytest
from playwright.sync_api import Page, expect

from connectors.models import IntegrationPair
from mappings.models import LookupTable, Mapping
from tests.won_deals import sage100_connection, streak_connection

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

SALES_PIPELINE = "agxzfm1haWxmb29nYWVyUGlwZWxpbmU6MDAwMDAwMDE6c2FuZGJveA"
OUR_TERMS = "Streak terms → Sage 100 (ours)"


@pytest.fixture
def pair(streak_sandbox, sage100_sandbox) -> IntegrationPair:
    crm, erp = streak_connection(streak_sandbox), sage100_connection(sage100_sandbox)
    made = IntegrationPair(name="Acme deals", crm=crm, erp=erp)
    made.rotate_webhook_token()
    made.save()  # the pair's default mappings come with it
    return made


def open_designer(page: Page, live_server, mapping: Mapping) -> None:
    page.goto(f"{live_server.url}/mappings/{mapping.pk}/")
    expect(page.locator("#preview-output")).to_be_visible(timeout=20_000)


def rule(page: Page, target: str):
    return page.locator(f'#rules > .rule[data-target="{target}"]')


def test_map_payment_terms_to_terms_code_by_dragging_then_save_and_restore(
    screenshot, page: Page, live_server, users, login, pair
):
    LookupTable.objects.create(pair=pair, name=OUR_TERMS, on_miss="error").entries.create(
        key="Net 30", value="01"
    )
    table = LookupTable.objects.get(name=OUR_TERMS)
    for key, value in {"Net 15": "02", "Net 60": "04", "Due on receipt": "05"}.items():
        table.entries.create(key=key, value=value)
    customer = Mapping.objects.get(pair=pair, name="Customer → Sage 100 customer")
    first_spec = customer.active_version.spec
    login("admin")
    open_designer(page, live_server, customer)
    output = page.locator("#preview-output")
    expect(output).to_contain_text('"TermsCode"')
    # The canonical terms come from Streak's Payment Terms field, as the source panel says.
    terms = page.locator('.source[data-path="terms"]')
    expect(terms).to_contain_text("from Streak: Payment Terms")

    terms_code = rule(page, "TermsCode")
    terms_code.hover()
    terms_code.get_by_role("button", name="Clear the rule for TermsCode").click()
    expect(output).not_to_contain_text('"TermsCode"')

    terms.drag_to(terms_code.locator(".rule-head"))
    expect(terms_code.get_by_label("Source for TermsCode")).to_have_value("terms")
    expect(page.locator("#preview")).to_contain_text("TermsCode holds at most 2 characters")
    expect(terms_code.locator(".rule-issues")).to_contain_text("at most 2 characters")

    terms_code.hover()
    terms_code.get_by_label("Add a transform to TermsCode").select_option(label="Lookup table")
    terms_code.locator('select[data-param="table"]').select_option(OUR_TERMS)
    expect(page.locator("#preview")).not_to_contain_text("at most 2 characters")
    expect(output).to_contain_text('"TermsCode": "0')
    expect(terms_code.locator(".out-value")).to_have_text(re.compile(r"^0[1245]$"))
    expect(page.locator("#dirty-note")).to_have_text("Unsaved changes")
    page.set_viewport_size({"width": 1440, "height": 900})
    screenshot("mapping_designer.png", full_page=False)

    page.get_by_label("Version note").fill("Terms through our own table")
    page.get_by_role("button", name="Save version").click()
    expect(page.get_by_role("status")).to_contain_text("Saved version 2")
    customer.refresh_from_db()
    rules = {rule["target"]: rule for rule in customer.active_version.spec["rules"]}
    assert rules["TermsCode"] == {"target": "TermsCode", "source": "terms",
                    "transforms": [{"name": "lookup", "params": {"table": OUR_TERMS}}]}  # fmt: skip

    page.get_by_role("link", name="History").click()
    expect(page.locator("#diff")).to_contain_text(f"Lookup table ({OUR_TERMS})")
    page.on("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Restore v1").click()
    expect(page.get_by_role("status")).to_contain_text("Restored version 1 as version 3")
    customer.refresh_from_db()
    assert customer.active_version.number == 3 and customer.active_version.spec == first_spec


def test_pick_a_source_field_with_the_keyboard_only(page: Page, live_server, users, login, pair):
    deal = Mapping.objects.get(pair=pair, name="Streak deal → customer")
    login("admin")
    open_designer(page, live_server, deal)
    tax_number = rule(page, "tax_number")
    box = tax_number.get_by_role("combobox", name="Source for tax_number")
    page.get_by_label("Filter target fields").focus()
    for _ in range(300):
        if box.evaluate("el => el === document.activeElement"):
            break
        page.keyboard.press("Tab")
    page.keyboard.type("payment")
    expect(page.get_by_role("listbox")).to_be_visible()
    page.keyboard.press("ArrowDown")
    expect(page.locator("#source-listbox [role=option]").first).to_have_attribute(
        "aria-selected", "true"
    )
    page.keyboard.press("Enter")
    expect(box).to_have_value("fieldsByName.Payment Terms")
    expect(page.locator("#preview-output")).to_contain_text('"tax_number": "')
    draft = json.loads(page.locator("#draft-spec").input_value())
    assert {"target": "tax_number", "source": "fieldsByName.Payment Terms"} in draft["rules"]


def test_opening_any_default_mapping_changes_nothing(page: Page, live_server, users, login, pair):
    login("admin")
    for mapping in Mapping.objects.filter(pair=pair):
        page.goto(f"{live_server.url}/mappings/{mapping.pk}/")
        draft = json.loads(page.locator("#draft-spec").input_value())
        assert draft == mapping.active_version.spec, mapping.name
        expect(page.locator("#dirty-note")).to_have_text("No unsaved changes")


def test_accept_a_suggestion_for_an_unmapped_target(page: Page, live_server, users, login, pair):
    customer = Mapping.objects.get(pair=pair, name="Customer → Sage 100 customer")
    login("admin")
    open_designer(page, live_server, customer)
    email = rule(page, "EmailAddress")
    email.hover()
    email.get_by_role("button", name="Clear the rule for EmailAddress").click()
    expect(page.locator("#preview-output")).not_to_contain_text('"EmailAddress"')

    page.get_by_role("button", name="Suggest").click()
    suggestion = page.locator('.suggestion[data-target="EmailAddress"]')
    expect(suggestion).to_contain_text("email")
    suggestion.get_by_role("button", name="Accept EmailAddress").click()
    expect(rule(page, "EmailAddress").get_by_label("Source for EmailAddress")).to_have_value(
        "email"
    )
    expect(page.locator("#preview-output")).to_contain_text('"EmailAddress": "')


def test_lookup_rows_edited_inline(page: Page, live_server, users, login, pair):
    table = LookupTable.objects.get(pair=pair, name__startswith="Payment terms")
    login("admin")
    page.goto(f"{live_server.url}/lookups/{table.pk}/")
    page.get_by_placeholder("Key").first.fill("Net 90")
    page.get_by_placeholder("Value").first.fill("06")
    page.get_by_role("button", name="Add row").click()
    row = page.locator('#entries tr[data-key="Net 90"]')
    expect(row).to_contain_text("06")
    expect(page.get_by_placeholder("Key").first).to_have_value("")

    row.get_by_role("button", name="Edit Net 90").click()
    page.locator("#entries tr.editing").get_by_label("Value").fill("09")
    page.locator("#entries tr.editing").get_by_role("button", name="Save").click()
    expect(page.locator('#entries tr[data-key="Net 90"]')).to_contain_text("09")
    assert table.entries.get(key="Net 90").value == "09"

    page.on("dialog", lambda dialog: dialog.accept())
    page.locator('#entries tr[data-key="Net 90"]').get_by_role(
        "button", name="Delete Net 90"
    ).click()
    expect(page.locator('#entries tr[data-key="Net 90"]')).to_have_count(0)
    assert not table.entries.filter(key="Net 90").exists()


def test_the_preview_says_when_a_sample_or_a_run_is_past_its_budget(
    page: Page, live_server, users, login, pair, settings
):
    deal_in = Mapping.objects.get(pair=pair, name="Streak deal → customer")
    login("viewer")
    open_designer(page, live_server, deal_in)
    page.locator("#sample-choice").select_option("paste")
    sample = page.get_by_label("Sample record as JSON")
    sample.fill(json.dumps({"organization": {"name": "x" * 300_000}}))
    expect(page.locator("#preview")).to_contain_text("The sample record is larger than 256 KB")

    settings.CLARITY_PREVIEW_SECONDS = 0  # every run is past its time
    sample.fill(json.dumps({"organization": {"name": "Harbor Point Logistics"}}))
    expect(page.locator("#preview [role=alert]")).to_contain_text(
        "The preview stopped after 0 s, at name: the draft does too much work for one record."
    )
