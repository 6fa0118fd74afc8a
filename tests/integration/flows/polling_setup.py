"""Polling test setup shared by the flow tests: connections to the live sandboxes, pairs,
and quick ways to poll and to read or change Sage 100 and Streak."""

import sqlite3
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
import requests

from connectors.models import Connection, IntegrationPair
from connectors.services import connector_for
from flows.models import ExternalLink, FlowConfig
from flows.polling import poll
from sandbox.sage100.app import BRIDGE_KEY
from sandbox.streak import data as streak_data

STREAK_KEY = "sandbox-streak-key"


@pytest.fixture(autouse=True)
def inline_runs(monkeypatch) -> None:
    """Enqueued tasks (runs, polls) run at once, in this process."""
    monkeypatch.setattr("django_q.conf.Conf.SYNC", True)


@pytest.fixture
def sage100(sage100_sandbox) -> Connection:
    return Connection.objects.create(
        name="ABC Distribution",
        system="sage100",
        settings={
            "odbc_connection_string": sage100_sandbox.app.odbc_connection_string,
            "odbc_dialect": "sqlite",
            "company_code": "ABC",
            "bridge_url": sage100_sandbox.url,
            "default_warehouse": "000",
        },
        secrets={"bridge_key": BRIDGE_KEY},
    )


@pytest.fixture
def streak(streak_sandbox) -> Connection:
    return Connection.objects.create(
        name="Acme Streak",
        system="streak",
        settings={
            "base_url": streak_sandbox.url,
            "pipeline_key": streak_data.SALES["key"],
            "requests_per_second": 500,
        },
        secrets={"api_key": STREAK_KEY},
    )


@pytest.fixture
def salesforce(salesforce_sandbox) -> Connection:
    return Connection.objects.create(
        name="Acme Salesforce",
        system="salesforce",
        settings={
            "login_url": salesforce_sandbox.url,
            "auth_flow": "client_credentials",
            "client_id": "sandbox-client",
            "api_version": "59.0",
            "ca_bundle": str(salesforce_sandbox.app.data_dir / "salesforce-cert.pem"),
        },
        secrets={"client_secret": "sandbox-secret"},
    )


@pytest.fixture
def sage50(sage_accounting_sandbox) -> Connection:
    url = sage_accounting_sandbox.url
    tokens = requests.post(f"{url}/_control/oauth/tokens", timeout=5).json()
    expires = datetime.now(UTC) + timedelta(seconds=tokens["expires_in"])
    return Connection.objects.create(
        name="Brightline Sage",
        system="sage50",
        settings={
            "api_url": f"{url}/v3.1",
            "auth_url": f"{url}/oauth/authorize",
            "token_url": f"{url}/oauth/token",
            "client_id": "sandbox-client",
        },
        secrets={
            "client_secret": "sandbox-secret",
            "access_token": tokens["access_token"],
            "access_token_expires_at": expires.isoformat(),
            "refresh_token": tokens["refresh_token"],
        },
    )


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


def config_of(pair: IntegrationPair, flow: str) -> FlowConfig:
    return FlowConfig.objects.select_related("pair__crm", "pair__erp").get(pair=pair, flow=flow)


def poll_now(pair: IntegrationPair, flow: str):
    return poll(config_of(pair, flow))


def sage100_rows(sandbox, sql: str, *params) -> list[dict]:
    """What a Sage 100 user sees in the company's tables."""
    with sqlite3.connect(sandbox.app.db_path) as sage_db:
        sage_db.row_factory = sqlite3.Row
        return [dict(row) for row in sage_db.execute(sql, params)]


def open_orders(sandbox) -> list[str]:
    rows = sage100_rows(
        sandbox,
        "SELECT SalesOrderNo FROM SO_SalesOrderHeader WHERE OrderStatus IN ('N', 'O') "
        "AND OrderType = 'S' ORDER BY SalesOrderNo",
    )
    return [row["SalesOrderNo"] for row in rows]


def set_status_in_sage(sandbox, order_no: str, status: str) -> None:
    """Change an order's status on the Sage 100 page, as a Sage user does."""
    reply = requests.post(
        f"{sandbox.url}/orders/{order_no}/status", data={"status": status}, timeout=10
    )
    assert "error=" not in reply.url, reply.url


def first_box(streak: Connection, stage: str = "") -> dict:
    return next(connector_for(streak).boxes(stage))


def comments_on(streak: Connection, box_key: str) -> list[str]:
    return [c["message"] for c in connector_for(streak).search("Comment", box_key=box_key)]


def link_order(pair: IntegrationPair, deal: str, order_no: str) -> ExternalLink:
    """What the won-deal flow records when it creates the order."""
    return ExternalLink.objects.create(
        pair=pair, entity="sales_order", crm_id=deal, sage_id=order_no
    )
