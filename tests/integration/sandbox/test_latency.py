"""The latency knob as our connectors meet it: every API call to a sandbox waits its latency
(the CRM APIs, Sage Accounting's API, the Sage 100 agent's reads and writes), calls in
parallel wait side by side as a real API's do, and Sage 100's ODBC reads, which a server on
the customer's LAN answers in milliseconds, wait for nothing. bench/flows_latency.py relies
on all three."""

import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from connectors.services import connector_for
from tests import won_deals as shared

pytestmark = pytest.mark.django_db

LATENCY_MS = 300
LATENCY_S = LATENCY_MS / 1000


def timed(call) -> float:
    """Seconds `call()` took."""
    began = time.perf_counter()
    call()
    return time.perf_counter() - began


def sales_order(deal_id: str) -> dict:
    return {"ARDivisionNo": "00", "CustomerNo": "MORRISON", "UDF_DEAL_ID": deal_id,
            "lines": [{"ItemCode": "WIDGET-100", "QuantityOrdered": 1}]}  # fmt: skip


def test_a_streak_api_call_waits_the_latency_and_its_pages_do_not(streak_sandbox, streak):
    crm = connector_for(streak)
    key = shared.seeded_box_key("SAL-1005")
    shared.set_faults(streak_sandbox, latency_ms=LATENCY_MS)
    assert timed(lambda: crm.get("Box", key)) >= LATENCY_S
    page = timed(lambda: requests.get(f"{streak_sandbox.url}/_control/", timeout=5))
    assert page < LATENCY_S


def test_a_salesforce_query_waits_the_latency(salesforce_sandbox, salesforce):
    crm = connector_for(salesforce)
    list(crm.query("SELECT Id FROM Account LIMIT 1"))  # the session is fetched once, before
    requests.post(
        f"{salesforce_sandbox.url}/_control/faults", json={"latency_ms": LATENCY_MS},
        verify=str(salesforce_sandbox.app.cert_path), timeout=5,
    ).raise_for_status()  # fmt: skip
    assert timed(lambda: list(crm.query("SELECT Id FROM Account LIMIT 1"))) >= LATENCY_S


def test_a_sage_accounting_read_waits_the_latency(sage_accounting_sandbox, sage50):
    erp = connector_for(sage50)
    shared.set_faults(sage_accounting_sandbox, latency_ms=LATENCY_MS)
    assert timed(lambda: erp.search("contacts")) >= LATENCY_S


def test_a_sage100_agent_write_waits_the_latency_and_an_odbc_read_does_not(
    sage100_sandbox, sage100
):
    erp = connector_for(sage100)
    erp.search("customer", CustomerNo="MORRISON")  # the ODBC link opened once, before
    shared.set_faults(sage100_sandbox, latency_ms=LATENCY_MS)
    write = timed(lambda: erp.create("sales_order", sales_order("LAT-1"), "latency-1"))
    read = timed(lambda: erp.search("sales_order", UDF_DEAL_ID="LAT-1"))
    assert write >= LATENCY_S
    assert read < LATENCY_S / 3


def test_calls_made_together_wait_side_by_side_not_one_after_another(streak_sandbox):
    shared.set_faults(streak_sandbox, latency_ms=LATENCY_MS)
    key = shared.seeded_box_key("SAL-1005")

    def read(_: int) -> None:
        shared.raw_box(streak_sandbox, key)

    with ThreadPoolExecutor(max_workers=8) as pool:
        together = timed(lambda: list(pool.map(read, range(8))))
    assert LATENCY_S <= together < 2 * LATENCY_S
