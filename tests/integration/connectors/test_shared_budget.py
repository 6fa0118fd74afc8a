"""A connection's rate limit holds across processes: two processes calling Streak through
the same connection at once together send no more than the rate allows (plus one burst),
because they take from one token bucket in the database (`connectors.budgets`)."""

import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django.conf import settings
from django.db import connection as db_connection

from connectors.budgets import budget_use
from connectors.models import ApiBudget, Connection
from sandbox.core.server import RunningSandbox

pytestmark = pytest.mark.django_db(transaction=True)

RATE = 20  # requests a second, the connection's setting; the burst is as large
CALLS_EACH = 30


def database_url_for_callers() -> str:
    """This test's database, for the processes it starts (SQLite here, or PostgreSQL when
    DATABASE_URL names it: tests/integration/test_budget_postgresql.py)."""
    name = db_connection.settings_dict["NAME"]
    if db_connection.vendor == "sqlite":
        return f"sqlite:///{name}"
    return f"{os.environ['DATABASE_URL'].rsplit('/', 1)[0]}/{name}"


@pytest.fixture
def request_times(streak_sandbox: RunningSandbox) -> Iterator[list[float]]:
    """When each API request reached the Streak sandbox, counted at its WSGI door."""
    times: list[float] = []
    lock = threading.Lock()
    app = streak_sandbox.server.app

    def counting(environ: dict[str, Any], start_response: Callable) -> Any:
        if environ["PATH_INFO"].startswith("/api/"):
            with lock:
                times.append(time.monotonic())
        return app(environ, start_response)

    streak_sandbox.server.app = counting
    yield times
    streak_sandbox.server.app = app


def test_two_processes_share_one_connections_rate(streak: Connection, request_times):
    streak.settings = {**streak.settings, "requests_per_second": RATE}
    streak.save()
    env = {**os.environ, "DATABASE_URL": database_url_for_callers()}
    start_at = time.time() + 4  # both have started Django by then
    callers = [
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "tests.integration.connectors.budget_caller",
                str(streak.pk),
                str(CALLS_EACH),
                str(start_at),
            ],
            cwd=settings.BASE_DIR,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    outputs = [caller.communicate(timeout=120) for caller in callers]
    assert all(caller.returncode == 0 for caller in callers), outputs
    assert all(f"made={CALLS_EACH}" in out for out, _ in outputs), outputs

    assert len(request_times) == 2 * CALLS_EACH
    took = request_times[-1] - request_times[0]
    # No more than rate x time + one burst: alone, each would send its 30 in half a second.
    assert len(request_times) <= RATE * took + RATE + 1, f"{len(request_times)} in {took:.2f} s"
    budget = ApiBudget.objects.get(connection=streak)
    assert budget_use(budget).processes == 2
