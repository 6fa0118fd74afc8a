"""The anomaly holds' options on the Flows page's form, without sandboxes: shown where they
apply, on by default, stored as numbers, and refused with the field named when out of range."""

import pytest

from flows.models import FlowConfig
from flows.registry import FLOWS
from monitoring.forms import FlowConfigForm
from monitoring.pair_systems import PairSystems
from tests.factories import ConnectionFactory, IntegrationPairFactory

pytestmark = pytest.mark.django_db
UNREACHABLE = {"base_url": "http://127.0.0.1:9", "pipeline_key": "p1"}
ANOMALY_OPTIONS = [
    "anomaly_checks",
    "anomaly_price_factor",
    "anomaly_history_score",
    "anomaly_min_history",
    "anomaly_duplicate_days",
]


def form_for(pair, flow: str, data: dict | None = None) -> FlowConfigForm:
    config = FlowConfig.objects.get(pair=pair, flow=flow)
    if data is not None:
        data = {"config": config.pk, **{f"flow-{config.pk}-{k}": v for k, v in data.items()}}
    return FlowConfigForm(config, data, systems=PairSystems(pair))


def shown(form: FlowConfigForm) -> list[str]:
    return [option.name for option in form.options if option.name.startswith("anomaly")]


def test_both_won_deal_flows_hold_unusual_deals_by_default():
    for flow in ("deal_won_to_sales_order", "deal_won_to_invoice"):
        defaults = FLOWS[flow].default_options
        assert defaults["anomaly_checks"] is True
        assert (defaults["anomaly_price_factor"], defaults["anomaly_history_score"]) == (3.0, 4.5)
        assert (defaults["anomaly_min_history"], defaults["anomaly_duplicate_days"]) == (5, 3)


def test_the_price_limit_is_shown_only_where_sage_lists_prices():
    sage100 = IntegrationPairFactory(crm__settings=UNREACHABLE)
    accounting = IntegrationPairFactory(
        crm__settings=UNREACHABLE,
        erp=ConnectionFactory(
            system="sage50", name="Sage Accounting",
            settings={"api_url": "http://127.0.0.1:9/v3.1", "auth_url": "http://127.0.0.1:9/a",
                      "token_url": "http://127.0.0.1:9/t", "client_id": "c"},
            secrets={"client_secret": "s"},
        ),
    )  # fmt: skip
    assert shown(form_for(sage100, "deal_won_to_sales_order")) == ANOMALY_OPTIONS
    assert "anomaly_price_factor" not in shown(form_for(accounting, "deal_won_to_invoice"))
    assert form_for(sage100, "deal_won_to_sales_order").fields["option_anomaly_checks"].initial


def test_limits_are_stored_as_numbers_and_empty_ones_stay_the_default():
    pair = IntegrationPairFactory(crm__settings=UNREACHABLE)
    form = form_for(pair, "deal_won_to_sales_order", {
        "enabled": "on", "trigger": "webhook", "option_approval_threshold": "10000",
        "option_unknown_item_policy": "flag", "option_anomaly_checks": "on",
        "option_anomaly_price_factor": "4", "option_anomaly_history_score": "3.5",
        "option_anomaly_min_history": "", "option_anomaly_duplicate_days": "7",
    })  # fmt: skip
    assert form.is_valid(), form.errors
    options = form.save().options
    assert options["anomaly_price_factor"] == 4 and options["anomaly_history_score"] == 3.5
    assert options["anomaly_duplicate_days"] == 7
    assert "anomaly_min_history" not in options and "anomaly_checks" not in options


def test_a_limit_out_of_range_is_refused_naming_the_field():
    pair = IntegrationPairFactory(crm__settings=UNREACHABLE)
    form = form_for(pair, "deal_won_to_sales_order", {
        "enabled": "on", "trigger": "webhook", "option_approval_threshold": "10000",
        "option_unknown_item_policy": "flag", "option_anomaly_duplicate_days": "-1",
        "option_anomaly_price_factor": "1",
    })  # fmt: skip
    assert not form.is_valid()
    assert "greater than or equal to 0" in form.errors["option_anomaly_duplicate_days"][0]
    assert "greater than or equal to 1.1" in form.errors["option_anomaly_price_factor"][0]
