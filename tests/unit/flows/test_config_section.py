"""Flow settings move between installations with the mappings (export, diff, import)."""

import pytest

from flows.models import FlowConfig
from flows.registry import FLOWS
from mappings.config_transfer import apply_plan, export_config, plan_import, summary
from tests.factories import IntegrationPairFactory

pytestmark = pytest.mark.django_db


def test_flow_settings_are_exported_shown_as_changes_and_imported():
    pair = IntegrationPairFactory(name="Acme deals")
    FlowConfig.objects.filter(pair=pair, flow="deal_won_to_sales_order").update(
        enabled=True, options={"approval_threshold": 25000}
    )
    document = export_config([pair])
    settings_ = {f["flow"]: f for f in document["pairs"][0]["flow_settings"]}
    assert settings_["deal_won_to_sales_order"]["options"] == {"approval_threshold": 25000}

    FlowConfig.objects.filter(pair=pair).update(enabled=False, options={})
    plan = plan_import(document, "test.json")
    assert "  acme-deals: deal_won_to_sales_order: on/off, options changed" in summary(plan)
    apply_plan(plan)

    config = FlowConfig.objects.get(pair=pair, flow="deal_won_to_sales_order")
    assert config.enabled is True
    assert FLOWS[config.flow].option(config.options, "approval_threshold") == 25000
    assert not plan_import(export_config([pair]), "again.json").has_changes


def test_an_unknown_flow_in_the_file_is_reported_not_created():
    pair = IntegrationPairFactory(name="Acme deals")
    document = export_config([pair])
    document["pairs"][0]["flow_settings"].append({"flow": "teleport", "enabled": True})
    plan = plan_import(document, "test.json")
    assert "  acme-deals: flow 'teleport' is not known here: skipped" in summary(plan)
    apply_plan(plan)
    assert not FlowConfig.objects.filter(flow="teleport").exists()
