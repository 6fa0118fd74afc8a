"""What a won deal's run reads to map it, and that a user's edit is used by the very next run:
the pair's active mappings, lookup tables, rates and the ERP's schema are kept per process
in the configuration's generation (connectors/configuration.py), so a run of a settled pair
reads none of them, only the generation's token; and the API call counts are added in one
statement.

Shared helpers: `tests/won_deals.py`; the deals run inline against the live sandboxes."""

from collections import Counter

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from connectors import metering
from connectors.models import ApiCallCount, SchemaCache
from flows.base import StepContext
from flows.registry import FLOWS
from flows.steps import MAP_DEAL
from flows.steps.mapping import erp_schema
from mappings.models import Mapping
from mappings.versions import save_version
from tests import won_deals as shared

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("runs_inline")]


def selects(queries: list[dict]) -> Counter:
    """SELECTs by the table they read first."""
    return Counter(
        query["sql"].split(" FROM ", 1)[1].split()[0].strip('"')
        for query in queries
        if query["sql"].startswith("SELECT") and " FROM " in query["sql"]
    )


def test_a_won_deal_of_a_settled_pair_reads_no_mapping_table_rate_or_schema(
    client, streak_sandbox, sage100_pair
):
    pair, token = sage100_pair
    for template, deal_id in (("SAL-1005", "READS-1"), ("SAL-1010", "READS-2")):
        box = shared.won_clone(streak_sandbox, template, deal_id)  # the first discovers Sage's
        shared.won_and_done(client, pair, token, box)  # schema, which begins a generation
    box = shared.won_twice_as_big(streak_sandbox, "SAL-1005", "READS-3")  # customer linked
    with CaptureQueriesContext(connection) as captured:
        run = shared.won_and_done(client, pair, token, box)
    assert run.status == run.Status.SUCCEEDED
    read = selects(captured.captured_queries)
    assert read["connectors_configurationgeneration"] == 1  # the attempt's one look
    for table in ("mappings_mapping", "mappings_mappingversion", "mappings_currencyrate",
                  "mappings_lookuptable", "mappings_lookupentry", "connectors_schemacache",
                  "flows_rulesetversion", "flows_subscription"):  # fmt: skip
        assert read[table] == 0, table


def test_a_mapping_saved_between_two_runs_is_used_by_the_next_one(
    client, streak_sandbox, sage100_pair
):
    pair, token = sage100_pair
    first = shared.won_and_done(
        client, pair, token, shared.won_clone(streak_sandbox, "SAL-1005", "V-1")
    )
    mapping = Mapping.objects.get(
        pair=pair, direction=Mapping.Direction.IN, target_entity="SalesOrder"
    )
    rules = [rule for rule in mapping.active_version.spec["rules"] if rule["target"] != "notes"]
    save_version(mapping, {**mapping.active_version.spec, "rules": [
        *rules, {"target": "notes", "constant": "Mapped with the new version"},
    ]})  # fmt: skip
    second = shared.won_and_done(
        client, pair, token, shared.won_twice_as_big(streak_sandbox, "SAL-1005", "V-2")
    )
    mapped = {run.pk: run.steps.get(name=MAP_DEAL).output["document"] for run in (first, second)}
    assert mapped[first.pk].get("notes") != "Mapped with the new version"
    assert mapped[second.pk]["notes"] == "Mapped with the new version"


def test_a_refreshed_erp_schema_is_used_by_the_next_run(client, streak_sandbox, sage100_pair):
    pair, token = sage100_pair
    run = shared.won_and_done(
        client, pair, token, shared.won_clone(streak_sandbox, "SAL-1005", "S-1")
    )
    flow = FLOWS[run.flow_config.flow]
    ctx = StepContext(run=run, flow=flow)
    entity = ctx.erp.names("SalesOrder")
    before = {info.name: info for info in erp_schema(ctx, entity)}
    cache = SchemaCache.objects.get(connection=pair.erp, entity=entity.entity)
    first = cache.fields[0]
    cache.fields = [{**first, "label": "Renamed in Sage"}, *cache.fields[1:]]
    cache.fetched_at = cache.fetched_at.replace(year=cache.fetched_at.year + 1)
    cache.save()  # as a refresh writes it: new fields, a new stamp
    next_run = StepContext(run=run, flow=flow)
    after = {info.name: info for info in erp_schema(next_run, entity)}
    assert before[first["name"]].label != "Renamed in Sage"
    assert after[first["name"]].label == "Renamed in Sage"


def test_the_api_call_counts_are_added_in_one_statement_and_new_rows_made():
    metering.flush()  # what earlier tests of this process counted
    ApiCallCount.objects.all().delete()
    ApiCallCount.objects.create(system="streak", outcome=metering.OK, calls=5)
    metering.count("streak")
    metering.count("streak")
    metering.count("sage100", TimeoutError())  # no row yet for this outcome
    with CaptureQueriesContext(connection) as captured:
        metering.flush()
    rows = {(c.system, c.outcome): c.calls for c in ApiCallCount.objects.all()}
    assert rows == {("streak", metering.OK): 7, ("sage100", metering.NETWORK_ERROR): 1}
    updates = [q for q in captured.captured_queries if q["sql"].startswith("UPDATE")]
    assert len(updates) == 2  # both keys in one, then the new key's own try before its insert
