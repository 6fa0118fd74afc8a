"""Polling helpers shared by the flow and contract tests: quick ways to poll and to read or
change Sage 100 and Streak. The connections and pairs they work on are fixtures
(tests/conftest.py and tests/integration/flows/conftest.py)."""

import sqlite3

import requests

from connectors.models import Connection, IntegrationPair
from connectors.services import connector_for
from flows.models import ExternalLink, FlowConfig
from flows.polling import poll


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
