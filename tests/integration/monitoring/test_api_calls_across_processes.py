"""The calls a real `qcluster` worker makes show in the web process's /metrics: the worker
counts them and saves the counts when its run task ends."""

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator

import pytest
from django.conf import settings
from django.db import connection

from flows.models import SyncRun
from tests.integration.flows import won_deals as shared
from tests.integration.monitoring.test_api_calls_and_step_inputs import api_calls, grown

pytestmark = pytest.mark.django_db(transaction=True)
sage100_pair = shared.sage100_pair


@pytest.fixture
def cluster() -> Iterator[subprocess.Popen]:
    """One `manage.py qcluster` worker on the test database."""
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{connection.settings_dict['NAME']}",
           "CLARITY_WORKERS": "1"}  # fmt: skip
    process = subprocess.Popen(
        [sys.executable, "manage.py", "qcluster"],
        cwd=settings.BASE_DIR,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    yield process
    os.killpg(process.pid, signal.SIGKILL)  # its graceful stop waits for the task timeout
    process.wait(timeout=30)


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
    after = api_calls(client)
    assert grown(before, after, "streak", "ok") >= 3  # read the box, write back, comment
    assert grown(before, after, "sage100", "ok") >= 3  # look up, create customer and order
