"""A real django-q2 cluster makes /readyz answer 200; without it, 503."""

import os
import signal
import subprocess
import sys
import time

import pytest
from django.conf import settings
from django.db import connection

pytestmark = pytest.mark.django_db(transaction=True)


def wait_for(predicate, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.5)
    return False


def test_readyz_turns_ready_when_a_worker_starts(client):
    assert client.get("/readyz").status_code == 503
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{connection.settings_dict['NAME']}",
           "CLARITY_WORKERS": "1"}  # fmt: skip
    cluster = subprocess.Popen(
        [sys.executable, "manage.py", "qcluster"],
        cwd=settings.BASE_DIR,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        assert wait_for(lambda: client.get("/readyz").status_code == 200, timeout=60)
    finally:
        os.killpg(cluster.pid, signal.SIGKILL)  # its graceful stop waits for the task timeout
        cluster.wait(timeout=30)
