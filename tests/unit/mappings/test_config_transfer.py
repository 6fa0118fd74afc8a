"""Promotion between installations: export a pair's configuration, change or lose it, import
the file, and the pair maps the same records to the same output, with history kept."""

import json
from datetime import date
from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from connectors.models import IntegrationPair
from mappings.defaults.base import TERMS_TO_SAGE100
from mappings.engine import compile_spec
from mappings.lookups import PairEnvironment
from mappings.models import CurrencyRate, LookupEntry, LookupTable, Mapping
from mappings.versions import restore_version, save_version
from tests.factories import IntegrationPairFactory

pytestmark = pytest.mark.django_db

DEAL_CUSTOMER = "Streak deal → customer"
RECORDS = {
    "Box": [
        {"key": "b1", "name": "Harbor Point - restock", "lastStageChangeTimestamp": 1735725600000,
         "organization": {"name": "Harbor Point Logistics",
                          "addresses": ["12 Mill St, Northampton, MA 01060"]},
         "contact": {"givenName": "Maria", "familyName": "Lopez",
                     "emailAddresses": ["M@H.example"]},
         "fieldsByName": {"Amount": "720.00", "Currency": "EUR", "Payment Terms": "Net 45",
                          "Products": "WIDGET-100 x 6 @ 120.00", "Deal ID": "D-1"}},
        {"key": "b2", "organization": {"name": "Rheinland Technik GmbH"},
         "fieldsByName": {"Amount": "99", "Currency": "GBP", "Payment Terms": "Net 15",
                          "Products": "GADGET-201 x 1 @ 99"}},
    ],
    "Customer": [{"name": "Harbor Point Logistics", "terms": "Net 45", "email": "m@h.example",
                  "billing_address": {"lines": ["12 Mill St"], "city": "Northampton",
                                      "state": "ma", "zip": "01060", "country": "US"}}],
}  # fmt: skip


def behaviour(pair: IntegrationPair) -> dict[str, list]:
    """What every mapping of the pair makes of the records, with the pair's tables and rates."""
    made = {}
    for mapping in pair.mappings.select_related("active_version"):
        spec = {"target_entity": mapping.target_entity, **mapping.active_version.spec}
        compiled = compile_spec(spec)
        made[mapping.name] = [
            (result.output, [issue.to_dict() for issue in result.issues])
            for record in RECORDS.get(mapping.source_entity, [])
            for result in [compiled.apply(record, PairEnvironment(pair, on=date(2026, 1, 1)))]
        ]
    return made


@pytest.fixture
def pair() -> IntegrationPair:
    """A pair configured beyond its defaults: a rule, a table row, rates of its own."""
    pair = IntegrationPairFactory(name="Acme deals", base_currency="USD")
    mapping = pair.mappings.get(name=DEAL_CUSTOMER)
    rules = [rule for rule in mapping.active_version.spec["rules"] if rule["target"] != "terms"]
    rules.append({"target": "terms", "source": "fieldsByName.Payment Terms",
                  "transforms": [{"name": "upper"}]})  # fmt: skip
    save_version(mapping, {"rules": rules}, note="Terms in capitals")
    terms = LookupTable.objects.get(pair=pair, name=TERMS_TO_SAGE100)
    LookupEntry.objects.create(table=terms, key="Net 45", value="06")
    CurrencyRate.objects.create(from_currency="EUR", to_currency="USD", rate=Decimal("1.08"),
                                as_of=date(2025, 1, 1))  # fmt: skip
    CurrencyRate.objects.create(pair=pair, from_currency="GBP", to_currency="USD",
                                rate=Decimal("1.27"), as_of=date(2025, 1, 1))  # fmt: skip
    return pair


def export(tmp_path, *slugs: str):
    target = tmp_path / "config.json"
    call_command("export_config", *[f"--pair={slug}" for slug in slugs], f"--output={target}")
    return target


def run_import(*args: str) -> str:
    out = StringIO()
    call_command("import_config", *args, stdout=out)
    return out.getvalue()


def test_the_export_holds_rules_tables_rates_and_no_secret(pair, tmp_path):
    IntegrationPairFactory(name="Not chosen")
    text = export(tmp_path, "acme-deals").read_text()
    document = json.loads(text)
    assert [p["slug"] for p in document["pairs"]] == ["acme-deals"]
    exported = document["pairs"][0]
    by_name = {m["name"]: m for m in exported["mappings"]}
    assert by_name[DEAL_CUSTOMER]["version"] == 2
    assert by_name[DEAL_CUSTOMER]["note"] == "Terms in capitals"
    tables = {t["name"]: t for t in exported["lookup_tables"]}
    assert tables[TERMS_TO_SAGE100]["entries"]["Net 45"] == "06"
    assert exported["currency_rates"] == [
        {"from": "GBP", "to": "USD", "rate": "1.27000000", "as_of": "2025-01-01"}]  # fmt: skip
    assert document["global"]["currency_rates"][0]["from"] == "EUR"
    flows = {f["flow"]: f for f in exported["flow_settings"]}
    assert flows["deal_won_to_sales_order"]["enabled"] is False
    for secret in ("streak-key-for-tests", "bridge-key-for-tests", "SOTAMAS90", "127.0.0.1:81"):
        assert secret not in text


def test_import_restores_identical_behaviour_as_new_versions(pair, tmp_path):
    expected = behaviour(pair)
    file = export(tmp_path, "acme-deals")
    mapping = pair.mappings.get(name=DEAL_CUSTOMER)
    restore_version(mapping, 1)  # the edit is lost …
    LookupEntry.objects.filter(key="Net 45").delete()  # … a row too …
    LookupEntry.objects.filter(key="Net 15").update(value="99")
    CurrencyRate.objects.all().delete()  # … and the rates
    assert behaviour(pair) != expected

    shown = run_import(str(file), "--dry-run")
    assert f"mapping “{DEAL_CUSTOMER}” changed: 0 rule(s) added, 0 removed, 1 changed" in shown
    assert f"lookup table “{TERMS_TO_SAGE100}” changed: 1 row(s) added, 0 removed, 1 changed" in (
        shown
    )
    assert "rate 1 EUR = 1.08000000 USD from 2025-01-01 new" in shown
    assert mapping.versions.count() == 3 and behaviour(pair) != expected  # dry run: unchanged

    run_import(str(file))
    assert behaviour(pair) == expected
    versions = list(mapping.versions.order_by("number"))
    assert [v.number for v in versions] == [1, 2, 3, 4]  # history kept, nothing overwritten
    today = timezone.localdate().isoformat()
    assert versions[-1].note == f"Imported from config.json (http://127.0.0.1:8000) on {today}"

    assert "Nothing to change" in run_import(str(file))  # importing again changes nothing
    assert mapping.versions.count() == 4


def test_a_lost_mapping_is_created_and_an_unknown_pair_reported_not_created(pair, tmp_path):
    file = export(tmp_path, "acme-deals")
    document = json.loads(file.read_text())
    document["pairs"].append({**document["pairs"][0], "slug": "production-only"})
    file.write_text(json.dumps(document))
    expected = behaviour(pair)
    Mapping.objects.filter(pair=pair, name=DEAL_CUSTOMER).delete()

    shown = run_import(str(file))
    assert "Not found here (not created; create them first): production-only." in shown
    assert f"mapping “{DEAL_CUSTOMER}” new" in shown
    assert not IntegrationPair.objects.filter(slug="production-only").exists()
    assert behaviour(pair) == expected


def test_a_file_with_a_broken_mapping_changes_nothing(pair, tmp_path):
    file = export(tmp_path, "acme-deals")
    document = json.loads(file.read_text())
    document["pairs"][0]["mappings"][0]["spec"]["rules"].append(
        {"target": "x", "transforms": ["no_such_transform"]}
    )
    document["pairs"][0]["lookup_tables"][0]["entries"]["Net 90"] = "07"
    file.write_text(json.dumps(document))
    with pytest.raises(CommandError, match="Nothing was imported: these mappings cannot compile"):
        run_import(str(file))
    assert not LookupEntry.objects.filter(key="Net 90").exists()


def test_files_that_are_not_exports_and_unknown_pairs_are_refused(pair, tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text('{"format": "something else", "pairs": []}')
    with pytest.raises(CommandError, match="not a Clarity configuration export"):
        run_import(str(bad))
    with pytest.raises(CommandError, match="No pair has the slug nope"):
        call_command("export_config", "--pair=nope", stdout=StringIO())
