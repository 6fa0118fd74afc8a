"""A real django-q2 cluster makes /readyz answer 200; without it, 503."""

import time

import pytest

from tests.qcluster import kill_qcluster, start_qcluster

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
    cluster = start_qcluster()
    try:
        assert wait_for(lambda: client.get("/readyz").status_code == 200, timeout=60)
    finally:
        kill_qcluster(cluster)
