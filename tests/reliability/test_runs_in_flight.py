"""Many runs in flight in one worker process (flows/inflight.py), under a real `manage.py
run_workers` cluster with the sandboxes answering at the latency of real APIs: deals of
different organizations won at once wait on their systems together, each making one order;
two events of one deal still run one after the other; a SIGTERM mid-flight gives every run
in flight back, and a restarted worker finishes them with one order each."""

import json
import os
import signal
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager

import pytest
import requests

from connectors.services import connector_for
from flows.models import SyncRun
from tests import won_deals as shared
from tests.reliability.conftest import TERMINAL, settle, wait_for

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.xdist_group("reliability")]
Status = SyncRun.Status
DEALS = 12


def deals_of_new_organizations(streak_sandbox, pair, prefix: str, count: int) -> list[dict]:
    """One won box for each of `count` organizations Sage has never seen."""
    streak = connector_for(pair.crm)
    boxes = []
    for number in range(count):
        name = f"In Flight {prefix} {number} {uuid.uuid4().hex[:6]}"
        organization = streak.create("Organization", {"name": name}, f"org-{name}")
        box = shared.won_clone(streak_sandbox, "SAL-1005", f"{prefix}-{number}")
        stored = streak_sandbox.app.store.get("boxes", box["key"])
        stored |= {"organizations": [{"key": organization["key"]}], "contacts": []}
        streak_sandbox.app.store.put("boxes", box["key"], stored)
        boxes.append(shared.raw_box(streak_sandbox, box["key"]))
    return boxes


def deliver_all_at_once(live_server, pair, token: str, boxes: list[dict]) -> None:
    url = f"{live_server.url}/hooks/{pair.slug}/{token}/?event=BOX_CHANGE_STAGE"

    def post(box: dict) -> int:
        headers = {"Content-Type": "application/json"}
        return requests.post(url, data=json.dumps([box]), headers=headers, timeout=30).status_code

    with ThreadPoolExecutor(max_workers=16) as pool:
        assert set(pool.map(post, boxes)) == {200}


def running(pair) -> int:
    return SyncRun.objects.filter(pair=pair, status=Status.RUNNING).count()


@contextmanager
def sampled(measure: Callable[[], int], every: float = 0.05) -> Iterator[list[int]]:
    """Sample `measure()` from a thread while the body runs; the samples, in order."""
    samples: list[int] = []
    done = threading.Event()

    def sample() -> None:
        while not done.wait(every):
            samples.append(measure())

    sampler = threading.Thread(target=sample)
    sampler.start()
    try:
        yield samples
    finally:
        done.set()
        sampler.join()


def slow_systems(streak_sandbox, sage100_sandbox, latency_ms: int) -> None:
    shared.set_faults(streak_sandbox, latency_ms=latency_ms)
    shared.set_faults(sage100_sandbox, latency_ms=latency_ms)


def one_order_each(pair, sage, boxes: list[dict], prefix: str) -> None:
    runs = {run.entity_key: run for run in SyncRun.objects.filter(pair=pair)}
    assert len(runs) == len(boxes)
    for number, box in enumerate(boxes):
        run = runs[box["key"]]
        assert run.status == Status.SUCCEEDED, run.error_message
        [order] = shared.orders_for(sage, f"{prefix}-{number}")
        assert run.references["sage_order_no"] == order["SalesOrderNo"]
        customer = sage.get("customer", run.references["sage_customer"])
        assert len(shared.customers_named(sage, customer["CustomerName"])) == 1


def test_deals_of_different_organizations_won_at_once_run_together_in_one_worker_process(
    live_server, start_cluster, streak_sandbox, sage100_sandbox, sage100_pair, sage
):
    pair, token = sage100_pair
    shared.without_anomaly_checks(pair)  # every deal copies one seeded deal
    boxes = deals_of_new_organizations(streak_sandbox, pair, "FLIGHT", DEALS)
    start_cluster(CLARITY_WORKERS="1")
    slow_systems(streak_sandbox, sage100_sandbox, latency_ms=300)

    with sampled(lambda: running(pair)) as in_flight:
        deliver_all_at_once(live_server, pair, token, boxes)
        settle(lambda: list(SyncRun.objects.filter(pair=pair)), timeout=120)
    assert max(in_flight) >= 8, f"at most {max(in_flight)} runs in flight at once"
    one_order_each(pair, sage, boxes, "FLIGHT")


def test_two_events_of_one_deal_run_one_after_the_other_in_order(
    client, start_cluster, streak_sandbox, sage100_sandbox, sage100_pair, sage
):
    pair, token = sage100_pair
    start_cluster(CLARITY_WORKERS="1")
    slow_systems(streak_sandbox, sage100_sandbox, latency_ms=300)
    box = shared.won_clone(streak_sandbox, "SAL-1013", "FLIGHT-ORDER-1")
    changed_later = {**box, "lastUpdatedTimestamp": box["lastUpdatedTimestamp"] + 1000}

    with sampled(lambda: running(pair)) as in_flight:
        for event in (box, changed_later):
            assert shared.deliver_streak(client, pair, token, event).status_code == 200
        first, second = settle(
            lambda: list(SyncRun.objects.filter(pair=pair).order_by("pk")), timeout=60
        )
    assert [run.status for run in (first, second)] == [Status.SUCCEEDED] * 2, [
        run.error_message for run in (first, second)
    ]
    assert max(in_flight) == 1  # the second waited while the first ran
    assert first.finished_at <= second.started_at
    [order] = shared.orders_for(sage, "FLIGHT-ORDER-1")
    assert first.references["sage_order_no"] == order["SalesOrderNo"]


def test_sigterm_mid_flight_gives_every_run_back_and_a_restart_finishes_them_once(
    live_server, start_cluster, streak_sandbox, sage100_sandbox, sage100_pair, sage
):
    pair, token = sage100_pair
    shared.without_anomaly_checks(pair)
    boxes = deals_of_new_organizations(streak_sandbox, pair, "FLIGHT-TERM", DEALS)
    cluster = start_cluster(CLARITY_WORKERS="1", CLARITY_WORKER_STOP_SECONDS="1")
    slow_systems(streak_sandbox, sage100_sandbox, latency_ms=1500)  # a call outlasts the grace
    deliver_all_at_once(live_server, pair, token, boxes)
    assert wait_for(lambda: running(pair) >= 8, timeout=30)

    stopped_at = time.monotonic()
    os.killpg(cluster.pid, signal.SIGTERM)
    assert cluster.wait(timeout=15) == 0
    assert time.monotonic() - stopped_at < 6
    runs = list(SyncRun.objects.filter(pair=pair))
    assert not [run.pk for run in runs if run.status == Status.RUNNING]
    assert {(run.lease_owner, run.lease_until, run.crashes) for run in runs} == {("", None, 0)}
    assert any(run.status == Status.RETRY_SCHEDULED for run in runs)

    slow_systems(streak_sandbox, sage100_sandbox, latency_ms=0)
    start_cluster(CLARITY_WORKERS="1")
    every_run_done = lambda: all(  # noqa: E731  (rung by the give-back, not the sweeper)
        run.status in TERMINAL for run in SyncRun.objects.filter(pair=pair)
    )
    assert wait_for(every_run_done, timeout=60)
    one_order_each(pair, sage, boxes, "FLIGHT-TERM")
