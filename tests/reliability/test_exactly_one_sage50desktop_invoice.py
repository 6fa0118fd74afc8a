"""Whatever is redelivered, killed or half-answered, a deal won on Streak's Wholesale board
makes exactly one Sage 50 desktop invoice, with real qcluster workers doing the runs.

Sage 50 is read as its users' reports read it: over ODBC, the sales journal (JrnlHdr rows of
journal 3) whose InternalNote holds the deal's ID."""

import json
import os
import signal
import time
from concurrent.futures import ThreadPoolExecutor

import pyodbc
import pytest
import requests

from connectors.models import IntegrationPair
from flows.models import InboundEvent, RunStep, SyncRun
from sandbox.core.server import RunningSandbox
from sandbox.streak import data as streak_data
from tests import won_deals as shared
from tests.reliability.conftest import settle, wait_for

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.xdist_group("reliability")]

# Won Wholesale deals in USD, under the approval threshold, selling active items Sage 50 has.
GOOD_WHOLESALE_DEALS = ("WHL-3001", "WHL-3004", "WHL-3013", "WHL-3016", "WHL-3019",
                        "WHL-3022", "WHL-3023", "WHL-3024", "WHL-3036", "WHL-3046")  # fmt: skip
FAULTY_DEALS = 10
SALES_JOURNAL = 3  # JrnlHdr.JrnlKey_Journal of Sage 50 US's sales journal (invoices)
AGENT_LATENCY_MS = 2000  # each agent call takes 2 s: time to kill a worker inside one
INTO_THE_INVOICE_CALL = 0.5  # seconds after the customer step, well inside the 2 s call
# Renewed every 3.3 s (or extended by a write), so it lapses at most 10 s after the kill:
# Sage has finished the dead worker's write by then (1.5 s after), and the retry must find
# that invoice. Not shorter: on a loaded machine a lease this short lapses under a live
# worker too, and the run crashes twice.
LEASE_SECONDS = 10
# What the sandbox agent answers when the commit-then-fail knob swallows a reply.
REPLY_LOST = "The agent failed while sending the reply."


@pytest.fixture
def sage50desktop_pair(transactional_db, streak_sandbox, sage50desktop) -> tuple:
    """Streak's Wholesale pipeline + Sage 50 desktop with deal_won_to_invoice on, committed
    where the qcluster workers can read it: (pair, webhook token)."""
    crm = shared.streak_connection(streak_sandbox, streak_data.WHOLESALE)
    return shared.make_pair("Streak Sage 50 desktop", crm, sage50desktop, "deal_won_to_invoice")


def odbc_rows(sandbox: RunningSandbox, sql: str, params: tuple = ()) -> list[tuple]:
    connection = pyodbc.connect(sandbox.app.odbc_connection_string, autocommit=True)
    try:
        return [tuple(row) for row in connection.cursor().execute(sql, params).fetchall()]
    finally:
        connection.close()


def invoice_numbers(sandbox: RunningSandbox, deal_id: str) -> list[str]:
    """The numbers of the sales invoices naming this deal in InternalNote."""
    rows = odbc_rows(
        sandbox,
        "SELECT Reference FROM JrnlHdr WHERE JrnlKey_Journal = ? AND InternalNote = ?",
        (SALES_JOURNAL, deal_id),
    )
    return [reference for (reference,) in rows]


def invoices_by_deal(sandbox: RunningSandbox, prefix: str) -> dict[str, int]:
    rows = odbc_rows(
        sandbox,
        "SELECT InternalNote, COUNT(*) FROM JrnlHdr WHERE JrnlKey_Journal = ? "
        "AND InternalNote LIKE ? GROUP BY InternalNote",
        (SALES_JOURNAL, f"{prefix}%"),
    )
    return {deal_id: count for deal_id, count in rows}


def customers_made_twice(sandbox: RunningSandbox) -> list[tuple]:
    """CRM ids (CustomField5) held by more than one Sage 50 customer."""
    return odbc_rows(
        sandbox,
        "SELECT CustomField5, COUNT(*) FROM Customers WHERE CustomField5 <> '' "
        "GROUP BY CustomField5 HAVING COUNT(*) > 1",
    )


def one_invoice_on_the_box(
    pair: IntegrationPair,
    streak_sandbox: RunningSandbox,
    sage_sandbox: RunningSandbox,
    deal_id: str,
    key: str,
) -> SyncRun:
    """The single run of this box, settled; the single invoice it made, its number on the box."""
    [run] = settle(lambda: list(SyncRun.objects.filter(pair=pair, entity_key=key)), timeout=90)
    assert run.status == SyncRun.Status.SUCCEEDED, (
        f"{run.error_class}: {run.error_message} (attempt {run.attempt}, crashes "
        f"{run.crashes}, next attempt {run.next_attempt_at}, rung {run.rung_at})"
    )
    [number] = invoice_numbers(sage_sandbox, deal_id)
    assert run.references["sage_invoice_number"] == number
    box = shared.raw_box(streak_sandbox, key)
    assert box["fields"][streak_data.FIELD_SAGE_INVOICE_ID] == number
    return run


def test_the_same_webhook_50_times_in_a_row_and_50_at_once_makes_one_invoice_each(
    client, live_server, start_cluster, streak_sandbox, sage50desktop_sandbox, sage50desktop_pair
):
    pair, token = sage50desktop_pair
    start_cluster()
    in_a_row = shared.won_clone(streak_sandbox, "WHL-3001", "REL-S50-ROW-1")
    for _ in range(50):
        assert shared.deliver_streak(client, pair, token, in_a_row).status_code == 200

    at_once = shared.won_clone(streak_sandbox, "WHL-3004", "REL-S50-ONCE-1")
    url = f"{live_server.url}/hooks/{pair.slug}/{token}/?event=BOX_CHANGE_STAGE"
    body = json.dumps([at_once])

    def post(_: int) -> int:
        headers = {"Content-Type": "application/json"}
        return requests.post(url, data=body, headers=headers, timeout=30).status_code

    with ThreadPoolExecutor(max_workers=16) as pool:
        statuses = list(pool.map(post, range(50)))
    assert statuses == [200] * 50

    for box, deal_id in ((in_a_row, "REL-S50-ROW-1"), (at_once, "REL-S50-ONCE-1")):
        assert InboundEvent.objects.filter(pair=pair, entity_key=box["key"]).count() == 1
        one_invoice_on_the_box(pair, streak_sandbox, sage50desktop_sandbox, deal_id, box["key"])
    assert not customers_made_twice(sage50desktop_sandbox)


def test_a_worker_killed_inside_the_invoice_write_leaves_a_run_that_finishes_with_one_invoice(
    client, start_cluster, streak_sandbox, sage50desktop_sandbox, sage50desktop_pair
):
    pair, token = sage50desktop_pair
    start_cluster(CLARITY_RUN_LEASE_SECONDS=str(LEASE_SECONDS))
    shared.set_faults(sage50desktop_sandbox, latency_ms=AGENT_LATENCY_MS)
    box = shared.won_clone(streak_sandbox, "WHL-3013", "REL-S50-KILL-1")
    assert shared.deliver_streak(client, pair, token, box).status_code == 200
    run = SyncRun.objects.get(pair=pair, entity_key=box["key"])

    def invoice_next() -> bool:
        """The customer made (a write: its step is written at once); the steps between it
        and the invoice read Sage's company file over ODBC, so the invoice is the next call."""
        run.refresh_from_db()
        steps = set(run.steps.values_list("name", flat=True))
        return run.status == SyncRun.Status.RUNNING and "customer" in steps

    assert wait_for(invoice_next, timeout=30, every=0.05)
    time.sleep(INTO_THE_INVOICE_CALL)
    assert not run.steps.filter(name="sales_invoice").exists()
    os.kill(int(run.lease_owner.rpartition(":")[2]), signal.SIGKILL)
    shared.set_faults(sage50desktop_sandbox)
    # Sage finishes the write the dead worker asked for; its reply has no one to go to.
    assert wait_for(lambda: invoice_numbers(sage50desktop_sandbox, "REL-S50-KILL-1"), timeout=5)

    run = one_invoice_on_the_box(
        pair, streak_sandbox, sage50desktop_sandbox, "REL-S50-KILL-1", box["key"]
    )
    assert run.crashes == 1
    invoice_step = run.steps.get(name="sales_invoice", status=RunStep.Status.SUCCEEDED)
    assert invoice_step.output["how"] == "found (made by an earlier attempt)"
    assert not customers_made_twice(sage50desktop_sandbox)


def test_an_agent_that_commits_then_fails_beside_flaky_slow_systems_makes_one_invoice_a_deal(
    client, start_cluster, streak_sandbox, sage50desktop_sandbox, sage50desktop_pair
):
    pair, token = sage50desktop_pair
    delivered = {}
    for number in range(FAULTY_DEALS):
        deal_id = f"REL-S50-CTF-{number:02d}"
        template = GOOD_WHOLESALE_DEALS[number % len(GOOD_WHOLESALE_DEALS)]
        box = shared.won_clone(streak_sandbox, template, deal_id)
        assert shared.deliver_streak(client, pair, token, box).status_code == 200
        delivered[box["key"]] = deal_id
    shared.set_faults(streak_sandbox, error_rate=0.2, latency_ms=100, seed=11)
    shared.set_faults(sage50desktop_sandbox, commit_then_fail_rate=0.5, error_rate=0.2,
                      latency_ms=150, seed=12)  # fmt: skip
    start_cluster(CLARITY_RETRY_BASE_SECONDS="0.5", CLARITY_RETRY_CAP_SECONDS="2")

    runs = settle(lambda: list(SyncRun.objects.filter(pair=pair)), timeout=240, tick=1.0)
    lost_invoice_replies = RunStep.objects.filter(
        run__pair=pair, name="sales_invoice", status=RunStep.Status.FAILED,
        error__contains=REPLY_LOST,
    )  # fmt: skip
    assert lost_invoice_replies.exists(), "no invoice write was committed then failed"
    assert set(invoices_by_deal(sage50desktop_sandbox, "REL-S50-CTF").values()) <= {1}
    for sandbox in (streak_sandbox, sage50desktop_sandbox):
        shared.set_faults(sandbox)
    assert {run.entity_key: run.status for run in runs} == {
        key: SyncRun.Status.SUCCEEDED for key in delivered
    }, {run.entity_key: run.error_message for run in runs}
    for key, deal_id in delivered.items():
        one_invoice_on_the_box(pair, streak_sandbox, sage50desktop_sandbox, deal_id, key)
    assert not customers_made_twice(sage50desktop_sandbox)
