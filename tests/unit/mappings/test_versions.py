"""Versions (save, diff, restore, export/import), lookup tables and rates from the database,
and the default mappings a new pair gets."""

from datetime import date
from decimal import Decimal

import pytest
from auditlog.models import LogEntry

from mappings.engine import MappingSpecError, compiled_version
from mappings.lookups import PairEnvironment
from mappings.models import CurrencyRate, LookupEntry, LookupTable, Mapping
from mappings.versions import (
    create_default_mappings,
    diff_versions,
    export_mapping,
    import_mapping,
    restore_version,
    save_version,
)
from tests.factories import IntegrationPairFactory

pytestmark = pytest.mark.django_db

TERMS_RULE = {"target": "TermsCode", "source": "fieldsByName.Payment Terms",
              "transforms": [{"name": "lookup", "params": {"table": "Terms"}}]}  # fmt: skip
NAME_RULE = {"target": "CustomerName", "source": "organization.name"}
DEAL = {"organization": {"name": "Harbor Point"}, "fieldsByName": {"Payment Terms": "Net 15"}}


@pytest.fixture
def pair():
    return IntegrationPairFactory()


@pytest.fixture
def mapping(pair):
    return Mapping.objects.create(
        pair=pair, name="Deal → customer", direction="out", system="sage100",
        source_entity="Customer", target_entity="AR_Customer",
    )  # fmt: skip


def terms_table(pair, on_miss="error") -> LookupTable:
    table = LookupTable.objects.create(pair=pair, name="Terms", on_miss=on_miss, default_value="01")
    LookupEntry.objects.create(table=table, key="Net 30", value="01")
    return table


def test_saving_makes_numbered_versions_and_restore_copies_an_old_one(mapping, users):
    first = save_version(mapping, {"rules": [NAME_RULE]}, users["admin"], "First")
    second = save_version(mapping, {"rules": [NAME_RULE, TERMS_RULE]}, users["admin"], "Terms")
    assert (first.number, second.number) == (1, 2)
    mapping.refresh_from_db()
    assert mapping.active_version == second
    restored = restore_version(mapping, 1, users["admin"])
    assert restored.number == 3 and restored.note == "Restored version 1"
    assert restored.spec == first.spec
    mapping.refresh_from_db()
    assert mapping.active_version == restored
    assert LogEntry.objects.get_for_object(mapping).exists()


def test_a_broken_spec_is_not_saved(mapping):
    with pytest.raises(MappingSpecError):
        save_version(mapping, {"rules": [{"target": "x", "transforms": ["nope"]}]})
    assert not mapping.versions.exists()


def test_diff_shows_added_removed_and_changed_rules_field_by_field(mapping):
    changed = {**NAME_RULE, "transforms": ["trim", "truncate"]}
    save_version(mapping, {"rules": [NAME_RULE, TERMS_RULE]})
    save_version(mapping, {"rules": [changed, {"target": "CustomerStatus", "constant": "A"}]})
    diff = diff_versions(mapping, 1, 2)
    by_target = {change["target"]: change for change in diff["changes"]}
    assert by_target["TermsCode"]["change"] == "removed"
    assert by_target["CustomerStatus"]["change"] == "added"
    assert by_target["CustomerName"]["parts"] == {
        "transforms": {"before": None, "after": ["trim", "truncate"]}
    }


def test_the_compiled_mapping_follows_the_active_version(mapping, pair):
    terms_table(pair)
    v1 = save_version(mapping, {"rules": [NAME_RULE]})
    assert "TermsCode" not in compiled_version(v1).apply(DEAL).output
    v2 = save_version(mapping, {"rules": [NAME_RULE, TERMS_RULE]})
    result = compiled_version(v2).apply({**DEAL, "fieldsByName": {"Payment Terms": "net 30"}},
                                        PairEnvironment(pair))  # fmt: skip
    assert result.output["TermsCode"] == "01"


@pytest.mark.parametrize(
    ("on_miss", "output", "level"),
    [("error", None, "error"), ("default", "01", "warning"),
     ("pass_through", "Net 15", None), ("create", "Net 15", "warning")],
)  # fmt: skip
def test_lookup_table_on_miss_behaviours(mapping, pair, on_miss, output, level):
    table = terms_table(pair, on_miss)
    version = save_version(mapping, {"rules": [TERMS_RULE]})
    result = compiled_version(version).apply(DEAL, PairEnvironment(pair))
    assert result.output.get("TermsCode") == output
    assert [issue.level for issue in result.issues] == ([level] if level else [])
    created = table.entries.filter(key="Net 15").exists()
    assert created == (on_miss == "create")


def test_a_pairs_own_table_wins_over_a_global_one(pair):
    LookupTable.objects.create(name="Terms").entries.create(key="Net 30", value="99")
    terms_table(pair)
    assert PairEnvironment(pair).lookup("Terms").resolve("Net 30") == "01"
    other = IntegrationPairFactory()
    assert PairEnvironment(other).lookup("Terms").resolve("Net 30") == "99"


def test_rates_latest_as_of_the_day_and_the_pairs_own_first(pair):
    CurrencyRate.objects.create(from_currency="eur", to_currency="usd", rate="1.05",
                                as_of=date(2025, 1, 1))  # fmt: skip
    CurrencyRate.objects.create(from_currency="EUR", to_currency="USD", rate="1.10",
                                as_of=date(2025, 6, 1))  # fmt: skip
    assert PairEnvironment(pair).rate("EUR", "USD") == Decimal("1.10")
    assert PairEnvironment(pair, on=date(2025, 3, 1)).rate("EUR", "USD") == Decimal("1.05")
    CurrencyRate.objects.create(pair=pair, from_currency="EUR", to_currency="USD", rate="1.2",
                                as_of=date(2024, 1, 1))  # fmt: skip
    assert PairEnvironment(pair).rate("EUR", "USD") == Decimal("1.2")
    assert PairEnvironment(pair).rate("GBP", "USD") is None


def test_export_then_import_into_another_pair_behaves_the_same(mapping, pair):
    terms_table(pair)
    save_version(mapping, {"rules": [NAME_RULE, TERMS_RULE]})
    exported = export_mapping(mapping)
    assert exported["lookup_tables"][0]["entries"] == {"Net 30": "01"}
    other = IntegrationPairFactory()
    imported = import_mapping(other, exported)
    record = {**DEAL, "fieldsByName": {"Payment Terms": "Net 30"}}
    ours = compiled_version(mapping.active_version).apply(record, PairEnvironment(pair))
    theirs = compiled_version(imported.active_version).apply(record, PairEnvironment(other))
    assert ours.output == theirs.output == {"CustomerName": "Harbor Point", "TermsCode": "01"}
    import_mapping(other, exported)  # the same again: no new version
    assert imported.versions.count() == 1


def test_a_new_pair_gets_its_default_mappings_and_tables_once(pair):
    """Saving the pair already created them; asking again creates nothing."""
    made = Mapping.objects.filter(pair=pair)
    names = {m.name for m in made}
    assert "Streak deal → sales order" in names
    assert "Sales order → Sage 100 sales order" in names
    assert all(m.active_version.note == "Shipped default" for m in made)
    assert LookupTable.objects.get(pair=pair, name__startswith="Payment terms").entries.count()
    assert create_default_mappings(pair) == []
