"""Fixtures of the flow tests: pairs made to order for polling, the won-deal pair's Streak
connector, a Salesforce → Sage 100 won-deal pair, and an "On hold" stage in Streak. The
connections and the Streak → Sage 100 pair are in tests/conftest.py."""

from collections.abc import Callable

import pytest

from connectors.models import Connection, IntegrationPair
from connectors.services import connector_for
from flows.models import FlowConfig
from sandbox.streak import data as streak_data
from tests import won_deals

ON_HOLD = "5906"  # the key of the "On hold" stage `on_hold_stage` adds


@pytest.fixture
def make_pair() -> Callable[..., IntegrationPair]:
    """A pair (with its default mappings) and the named flows switched on, polling."""

    def make(crm: Connection, erp: Connection, *flows: str, **options) -> IntegrationPair:
        pair = IntegrationPair.objects.create(name=f"{crm.name} + {erp.name}", crm=crm, erp=erp)
        for flow in flows:
            FlowConfig.objects.filter(pair=pair, flow=flow).update(
                enabled=True, trigger=FlowConfig.Trigger.POLL, options=options
            )
        return pair

    return make


@pytest.fixture
def streak_crm(sage100_pair):
    """The won-deal pair's Streak connector, to read boxes and comments back."""
    return connector_for(sage100_pair[0].crm)


@pytest.fixture
def salesforce_pair(salesforce_sandbox, sage100_sandbox):
    crm = Connection.objects.create(
        name="Salesforce",
        system="salesforce",
        settings={"login_url": salesforce_sandbox.url, "auth_flow": "client_credentials",
                  "client_id": "sandbox-client", "api_version": "59.0",
                  "ca_bundle": str(salesforce_sandbox.app.data_dir / "salesforce-cert.pem")},
        secrets={"client_secret": "sandbox-secret"},
    )  # fmt: skip
    erp = won_deals.sage100_connection(sage100_sandbox)
    return won_deals.make_pair("Salesforce Sage 100", crm, erp, "deal_won_to_sales_order")


@pytest.fixture
def on_hold_stage(monkeypatch) -> str:
    """An "On hold" stage in Streak's Sales pipeline, as a Streak admin would add one."""
    stages = streak_data.SALES["stages"]
    monkeypatch.setitem(stages, ON_HOLD, {"key": ON_HOLD, "name": "On hold",
                                          "backgroundColor": "#999999"})  # fmt: skip
    monkeypatch.setitem(
        streak_data.SALES, "stageOrder", [*streak_data.SALES["stageOrder"], ON_HOLD]
    )
    return ON_HOLD
