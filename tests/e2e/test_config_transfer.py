"""Settings → Configuration in Chromium: download a pair's configuration, lose part of it,
upload the file, read the diff, apply it."""

import json

import pytest
from django.contrib.auth.models import Permission
from playwright.sync_api import Page, expect

from clarity.roles import VIEWER
from flows.models import FlowConfig
from mappings.config_transfer import export_config
from mappings.defaults.base import TERMS_TO_SAGE100
from mappings.models import LookupEntry, LookupTable
from mappings.versions import restore_version, save_version
from tests.factories import IntegrationPairFactory

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

DEAL_CUSTOMER = "Streak deal → customer"


def test_export_then_import_shows_the_diff_and_applies_it_as_new_versions(
    page: Page, live_server, users, login, tmp_path
):
    pair = IntegrationPairFactory(name="Acme deals")
    IntegrationPairFactory(name="Other deals")
    mapping = pair.mappings.get(name=DEAL_CUSTOMER)
    rules = mapping.active_version.spec["rules"]
    save_version(mapping, {"rules": [*rules, {"target": "tax_number", "constant": "DE1"}]})
    table = LookupTable.objects.get(pair=pair, name=TERMS_TO_SAGE100)
    LookupEntry.objects.create(table=table, key="Net 45", value="06")

    login("admin")
    page.goto(f"{live_server.url}/settings/configuration/")
    page.get_by_label("Other deals").uncheck()
    with page.expect_download() as download:
        page.get_by_role("button", name="Download JSON").click()
    file = tmp_path / download.value.suggested_filename
    download.value.save_as(file)
    assert [p["slug"] for p in json.loads(file.read_text())["pairs"]] == ["acme-deals"]

    restore_version(mapping, 1)  # production lost the tax rule and the Net 45 row
    LookupEntry.objects.filter(key="Net 45").delete()

    page.get_by_label("Configuration file").set_input_files(file)
    page.get_by_role("button", name="Show changes").click()
    mappings = page.get_by_role("table", name="Mapping changes")
    row = mappings.get_by_role("row").filter(has_text=DEAL_CUSTOMER)
    expect(row).to_contain_text("changed")
    row.get_by_text("Rule by rule").click()
    expect(row).to_contain_text("tax_number added")
    tables = page.get_by_role("table", name="Lookup table changes")
    table_row = tables.get_by_role("row").filter(has_text=TERMS_TO_SAGE100)
    table_row.get_by_text("Row by row").click()
    expect(table_row).to_contain_text("added Net 45 → 06")
    assert mapping.versions.count() == 3  # showing the diff changed nothing

    page.get_by_role("button", name="Apply these changes").click()
    expect(page.get_by_role("status")).to_contain_text(
        "Imported: 1 mapping(s) saved as new versions, 1 lookup table(s)"
    )
    mapping.refresh_from_db()
    assert mapping.active_version.number == 4
    assert mapping.active_version.note.startswith(f"Imported from {file.name} (")
    assert {"target": "tax_number", "constant": "DE1"} in mapping.active_version.spec["rules"]
    assert table.entries.get(key="Net 45").value == "06"


def test_a_viewer_may_export_but_not_import(page: Page, live_server, users, login):
    IntegrationPairFactory(name="Acme deals")
    login("viewer")
    page.goto(f"{live_server.url}/settings/configuration/")
    expect(page.get_by_role("button", name="Download JSON")).to_be_visible()
    expect(page.get_by_text("Importing needs the Integration admin role.")).to_be_visible()
    expect(page.get_by_label("Configuration file")).to_have_count(0)


def test_flow_settings_are_left_out_for_someone_who_may_not_change_flows(
    page: Page, live_server, make_user, login, tmp_path
):
    pair = IntegrationPairFactory(name="Acme deals")
    mapper = make_user("mapper", VIEWER)
    rights = ("add_mappingversion", "change_lookuptable", "change_currencyrate")
    mapper.user_permissions.add(*Permission.objects.filter(codename__in=rights))
    document = export_config([pair])
    for item in document["pairs"][0]["flow_settings"]:
        item["enabled"] = True  # the test installation had every flow on …
    customer = next(m for m in document["pairs"][0]["mappings"] if m["name"] == DEAL_CUSTOMER)
    customer["spec"]["rules"].append({"target": "tax_number", "constant": "DE1"})  # … and a rule
    file = tmp_path / "config.json"
    file.write_text(json.dumps(document))

    login("mapper")
    page.goto(f"{live_server.url}/settings/configuration/")
    page.get_by_label("Configuration file").set_input_files(file)
    page.get_by_role("button", name="Show changes").click()
    expect(
        page.get_by_role("alert").filter(has_text="Flow settings of acme-deals")
    ).to_contain_text("are not imported: changing a pair's flows needs the Integration admin role.")
    page.get_by_role("button", name="Apply these changes").click()
    expect(page.get_by_role("status")).to_contain_text(
        "Imported: 1 mapping(s) saved as new versions, 0 lookup table(s) and 0 rate(s) updated; "
        "flow settings of 1 pair(s) skipped"
    )
    assert not FlowConfig.objects.filter(pair=pair, enabled=True).exists()
    assert pair.mappings.get(name=DEAL_CUSTOMER).active_version.number == 2
