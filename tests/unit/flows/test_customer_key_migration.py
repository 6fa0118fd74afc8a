"""Runs made before `SyncRun.customer_key` existed get their customer from their latest
mapping when the migration runs, so the anomaly checks still see every customer's history."""

import importlib

import pytest
from django.apps import apps
from django.utils import timezone

from flows.models import FlowConfig, RunStep, SyncRun
from tests.factories import IntegrationPairFactory

pytestmark = pytest.mark.django_db
migration = importlib.import_module("flows.migrations.0021_run_customer_key")


def mapped_run(pair, key: str, *customers: dict) -> SyncRun:
    """A succeeded run whose map_deal succeeded once per attempt with these customers."""
    run = SyncRun.objects.create(
        flow_config=FlowConfig.objects.get(pair=pair, flow="deal_won_to_sales_order"),
        pair=pair, entity_key=key, status=SyncRun.Status.SUCCEEDED, attempt=len(customers),
    )  # fmt: skip
    for attempt, customer in enumerate(customers, start=1):
        RunStep.objects.create(
            run=run, attempt=attempt, order=2, name="map_deal", status="succeeded",
            output={"customer": customer, "document": {}}, started_at=timezone.now(),
        )  # fmt: skip
    return run


def test_earlier_runs_are_keyed_by_the_crm_id_else_the_name_of_their_latest_mapping():
    pair = IntegrationPairFactory()
    by_id = mapped_run(pair, "deal-1", {"name": "Acme", "external_refs": {"crm": "org-7"}})
    by_name = mapped_run(pair, "deal-2", {"name": "Bolt Ltd"})
    remapped = mapped_run(
        pair, "deal-3", {"name": "Old"}, {"name": "New", "external_refs": {"crm": "org-9"}}
    )
    unmapped = SyncRun.objects.create(
        flow_config=FlowConfig.objects.get(pair=pair, flow="deal_won_to_sales_order"),
        pair=pair, entity_key="deal-4", status=SyncRun.Status.FAILED,
    )  # fmt: skip
    migration.key_earlier_runs(apps, None)
    keys = dict(SyncRun.objects.values_list("pk", "customer_key"))
    assert keys[by_id.pk] == "crm:org-7"
    assert keys[by_name.pk] == "name:Bolt Ltd"
    assert keys[remapped.pk] == "crm:org-9"
    assert keys[unmapped.pk] == ""
