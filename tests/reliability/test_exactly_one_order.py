"""Whatever is redelivered, killed or half-answered, a won deal makes exactly one Sage 100
order, with real qcluster workers doing the runs."""

import json
import os
import signal
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from flows.models import InboundEvent, SyncRun
from tests import won_deals as shared
from tests.reliability.conftest import settle, wait_for

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.xdist_group("reliability")]


def one_order_and_run(pair, sage, deal_id: str, key: str) -> SyncRun:
    """The single run of this box, settled, and the single order it made."""
    [run] = settle(lambda: list(SyncRun.objects.filter(pair=pair, entity_key=key)), timeout=60)
    assert run.status == SyncRun.Status.SUCCEEDED, run.error_message
    [order] = shared.orders_for(sage, deal_id)
    assert run.references["sage_order_no"] == order["SalesOrderNo"]
    return run


def test_the_same_webhook_50_times_in_a_row_and_50_at_once_makes_one_order_each(
    client, live_server, start_cluster, streak_sandbox, sage100_pair, sage
):
    pair, token = sage100_pair
    start_cluster()
    in_a_row = shared.won_clone(streak_sandbox, "SAL-1005", "REL-ROW-1")
    for _ in range(50):
        assert shared.deliver_streak(client, pair, token, in_a_row).status_code == 200

    at_once = shared.won_clone(streak_sandbox, "SAL-1013", "REL-ONCE-1")
    url = f"{live_server.url}/hooks/{pair.slug}/{token}/?event=BOX_CHANGE_STAGE"
    body = json.dumps([at_once])

    def post(_: int) -> int:
        headers = {"Content-Type": "application/json"}
        return requests.post(url, data=body, headers=headers, timeout=30).status_code

    with ThreadPoolExecutor(max_workers=16) as pool:
        statuses = list(pool.map(post, range(50)))
    assert statuses == [200] * 50

    for box, deal_id in ((in_a_row, "REL-ROW-1"), (at_once, "REL-ONCE-1")):
        assert InboundEvent.objects.filter(pair=pair, entity_key=box["key"]).count() == 1
        one_order_and_run(pair, sage, deal_id, box["key"])


def test_a_worker_killed_mid_run_leaves_a_run_that_finishes_after_its_lease_with_one_order(
    client, start_cluster, streak_sandbox, sage100_sandbox, sage100_pair, sage
):
    pair, token = sage100_pair
    start_cluster(CLARITY_RUN_LEASE_SECONDS="3")
    shared.set_faults(sage100_sandbox, latency_ms=1500)  # each bridge call takes 1.5 s
    box = shared.won_clone(streak_sandbox, "SAL-1029", "REL-KILL-1")
    assert shared.deliver_streak(client, pair, token, box).status_code == 200
    run = SyncRun.objects.get(pair=pair, entity_key=box["key"])

    def writing_to_sage() -> bool:  # past the CRM reads, inside a slow bridge call
        run.refresh_from_db()
        return run.status == SyncRun.Status.RUNNING and run.steps.exists()

    assert wait_for(writing_to_sage, timeout=30)
    worker_pid = int(run.lease_owner.rpartition(":")[2])
    os.kill(worker_pid, signal.SIGKILL)
    shared.set_faults(sage100_sandbox)

    run = one_order_and_run(pair, sage, "REL-KILL-1", box["key"])
    assert run.crashes == 1
    customer = sage.get("customer", run.references["sage_customer"])
    assert len(shared.customers_named(sage, customer["CustomerName"])) == 1


def test_a_bridge_that_commits_then_fails_makes_one_order_under_real_workers(
    client, start_cluster, streak_sandbox, sage100_sandbox, sage100_pair, sage
):
    pair, token = sage100_pair
    start_cluster()
    shared.set_faults(sage100_sandbox, commit_then_fail_rate=1.0, drop_connection=True)
    box = shared.won_clone(streak_sandbox, "SAL-1024", "REL-CTF-1")
    assert shared.deliver_streak(client, pair, token, box).status_code == 200

    def order_written_twice_over() -> bool:  # the customer's and the order's replies lost
        run = SyncRun.objects.get(pair=pair, entity_key=box["key"])
        return run.attempt >= 3 and bool(shared.orders_for(sage, "REL-CTF-1"))

    assert wait_for(order_written_twice_over, timeout=30, sweeping=True)
    shared.set_faults(sage100_sandbox)
    run = one_order_and_run(pair, sage, "REL-CTF-1", box["key"])
    assert run.attempt >= 3
    customer = sage.get("customer", run.references["sage_customer"])
    assert len(shared.customers_named(sage, customer["CustomerName"])) == 1
