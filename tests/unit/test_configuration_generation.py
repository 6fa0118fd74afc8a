"""The configuration's generation (connectors/configuration.py): what runs read about how to
run is kept per process under a token that every change to it replaces, so an edit is used
by the very next run, while runs in between read nothing again."""

import pytest

from connectors import configuration
from connectors.models import ConfigurationGeneration
from mappings.issues import TransformIssue
from mappings.lookups import PairEnvironment
from mappings.models import LookupEntry, LookupTable
from tests.factories import IntegrationPairFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def terms():
    pair = IntegrationPairFactory()
    table = LookupTable.objects.create(pair=pair, name="Terms")
    entry = LookupEntry.objects.create(table=table, key="Net 30", value="01")
    return pair, entry


def resolved(pair) -> str:
    """ "Net 30" as a run of this generation resolves it, through what the process keeps."""
    token = configuration.generation()

    def kept(key, read):
        return configuration.kept(token, key, read)

    return PairEnvironment(pair, kept=kept).lookup("Terms").resolve("Net 30")


def test_runs_of_one_generation_read_a_table_once(terms, django_assert_num_queries):
    pair, _ = terms
    assert resolved(pair) == "01"
    with django_assert_num_queries(1):  # the generation's token, nothing else
        assert resolved(pair) == "01"


def test_an_edit_saved_is_used_by_the_next_run(terms):
    pair, entry = terms
    assert resolved(pair) == "01"
    entry.value = "02"
    entry.save()
    assert resolved(pair) == "02"


def test_a_row_deleted_is_gone_for_the_next_run(terms):
    pair, entry = terms
    assert resolved(pair) == "01"
    entry.delete()
    with pytest.raises(TransformIssue, match="is not in lookup table"):
        resolved(pair)


def test_a_change_written_without_signals_is_announced_by_changed(terms):
    pair, entry = terms
    assert resolved(pair) == "01"
    LookupEntry.objects.filter(pk=entry.pk).update(value="03")  # no signal: still the old token
    assert resolved(pair) == "01"
    configuration.changed()  # as mappings/config_transfer.py does after its UPDATE
    assert resolved(pair) == "03"


def test_without_its_row_nothing_is_kept_until_a_change_writes_it(terms):
    pair, entry = terms
    ConfigurationGeneration.objects.all().delete()  # a database just emptied
    assert configuration.generation() != configuration.generation()
    entry.value = "04"
    entry.save()
    assert ConfigurationGeneration.objects.count() == 1
    assert configuration.generation() == configuration.generation()
    assert resolved(pair) == "04"
