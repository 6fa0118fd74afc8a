"""The calls a real `qcluster` worker makes show in the web process's /metrics: the worker
counts them and saves the counts when its run task ends."""

import subprocess
import time
from collections.abc import Callable, Iterator

import pytest

from flows.models import SyncRun
from tests import won_deals as shared
from tests.prometheus import api_calls, grown
from tests.qcluster import kill_qcluster, start_qcluster

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def cluster() -> Iterator[subprocess.Popen]:
    """One `manage.py run_workers` worker on the test database."""
    process = start_qcluster()
    yield process
    kill_qcluster(process)


def wait_for(predicate: Callable[[], bool], timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.3)
    return predicate()


def test_a_workers_calls_reach_metrics_in_the_web_process(
    client, streak_sandbox, sage100_pair, cluster
):
    pair, token = sage100_pair
    before = api_calls(client)
    _, run = shared.win_box(client, streak_sandbox, pair, token, "SAL-1005")

    def settled() -> bool:
        run.refresh_from_db()
        return run.status not in SyncRun.ACTIVE

    assert wait_for(settled, timeout=90), run.status
    assert run.status == SyncRun.Status.SUCCEEDED, run.error_message

    def counted() -> bool:  # the worker saves its counts just after the run finishes
        after = api_calls(client)
        # Streak: read the box, write back, comment; Sage 100: create customer and order.
        return (
            grown(before, after, "streak", "ok") >= 3 and grown(before, after, "sage100", "ok") >= 2
        )

    assert wait_for(counted, timeout=30), api_calls(client)
