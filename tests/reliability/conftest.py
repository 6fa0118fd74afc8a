"""The reliability harness: real `manage.py run_workers` clusters on the test database, a
sweeper the test ticks itself (django-q2's schedule only ticks every ~30 s), won deals
cloned in the Streak sandbox, and a wait for every run to settle.

The Streak → Sage 100 pair (`sage100_pair`, `sage`) is tests/conftest.py's."""

import subprocess
import time
from collections.abc import Callable, Iterator

import pytest

from flows.models import SyncRun
from flows.sweeper import sweep
from tests.qcluster import kill_qcluster, start_qcluster

# Seeded Sales deals in USD, under the approval threshold, selling items Sage 100 has.
GOOD_DEALS = ("SAL-1005", "SAL-1013", "SAL-1029", "SAL-1003", "SAL-1014", "SAL-1024")
FAST_RETRIES = {"CLARITY_RETRY_BASE_SECONDS": "0.2", "CLARITY_RETRY_CAP_SECONDS": "1"}
TERMINAL = {
    SyncRun.Status.SUCCEEDED, SyncRun.Status.FAILED, SyncRun.Status.DEAD,
    SyncRun.Status.REJECTED, SyncRun.Status.CANCELLED,
}  # fmt: skip


def wait_for(predicate: Callable[[], bool], timeout: float, every: float = 0.2,
             sweeping: bool = False) -> bool:  # fmt: skip
    """Poll the predicate; with `sweeping`, tick the sweeper between polls."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        if sweeping:
            sweep()
        time.sleep(every)
    return predicate()


@pytest.fixture
def start_cluster(transactional_db) -> Iterator[Callable[..., subprocess.Popen]]:
    """Start `manage.py run_workers` (2 workers) on the test database; env overrides the
    retry and lease settings. Every cluster started is killed at the end of the test."""
    started: list[subprocess.Popen] = []

    def start(**env_overrides: str) -> subprocess.Popen:
        cluster = start_qcluster(2, **{**FAST_RETRIES, **env_overrides})
        started.append(cluster)
        return cluster

    yield start
    for cluster in started:
        kill_qcluster(cluster)


def settle(runs: Callable[[], list[SyncRun]], timeout: float, tick: float = 0.5) -> list[SyncRun]:
    """Tick the sweeper until every run is terminal (or the time is up); returns the runs."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        current = runs()
        if current and all(run.status in TERMINAL for run in current):
            return current
        sweep()
        time.sleep(tick)
    return runs()


@pytest.fixture
def sage100_pair(transactional_db, sage100_pair) -> tuple:
    """The shared won-deal pair, committed where the qcluster workers can read it."""
    return sage100_pair
