"""Polls go on the worker's run threads, as runs do (flows/inflight.py): a poll waits on the
CRM for as long as a run does, and on the worker process's own thread a minute's polls of
every pair held up the runs queued behind them (seconds, with real API latencies). Under a
real one-process cluster, a deal won while several slow polls are under way starts at once."""

import threading
import time

import pytest

from flows.models import SyncRun, Watermark
from flows.polling import poll_due
from tests import won_deals as shared

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.xdist_group("reliability")]
FLOW = "deal_won_to_sales_order"  # a Streak pair's won-deal flow polls to catch up
POLLING_PAIRS = 6
LATENCY_MS = 800  # a slow CRM: each poll takes at least this long


def polls_done(pairs: list) -> int:
    """The pairs whose catch-up poll has finished (it leaves its status on the watermark)."""
    return Watermark.objects.filter(pair__in=pairs, flow=FLOW, value__has_key="polled_at").count()


def test_a_deal_won_during_slow_polls_starts_without_waiting_for_them(
    client, start_cluster, streak_sandbox, sage100_sandbox, sage100_pair, sage
):
    pair, token = sage100_pair
    others = [
        shared.make_pair(f"Polling {n}", pair.crm, pair.erp, FLOW)[0]
        for n in range(POLLING_PAIRS - 1)
    ]
    pairs = [pair, *others]
    start_cluster(CLARITY_WORKERS="1")
    shared.set_faults(streak_sandbox, latency_ms=LATENCY_MS)
    box = shared.won_clone(streak_sandbox, "SAL-1005", "POLL-BUSY-1")

    assert poll_due() >= POLLING_PAIRS  # queued ahead of the deal
    assert shared.deliver_streak(client, pair, token, box).status_code == 200
    seen: list[tuple[str, int]] = []  # (the deal's run status, polls finished), in order
    done = threading.Event()

    def sample() -> None:
        while not done.wait(0.05):
            run = SyncRun.objects.filter(pair=pair, entity_key=box["key"]).first()
            seen.append((run.status if run else "", polls_done(pairs)))

    sampler = threading.Thread(target=sample)
    sampler.start()
    try:
        deadline = time.monotonic() + 90
        while polls_done(pairs) < POLLING_PAIRS and time.monotonic() < deadline:
            time.sleep(0.2)
    finally:
        done.set()
        sampler.join()

    assert polls_done(pairs) == POLLING_PAIRS, "the polls did not finish"
    started = [polls for status, polls in seen if status not in ("", SyncRun.Status.PENDING)]
    assert started, "the deal's run never started while the test watched"
    assert started[0] < POLLING_PAIRS, (
        "the deal's run started only once every poll had finished: the polls held the "
        "worker's thread"
    )
