"""On PostgreSQL a take runs on a connection of its own with the row locked (FOR UPDATE):
two processes sharing one connection's budget still keep to its rate there."""

import os
import subprocess
import sys

from django.conf import settings

from tests.integration.test_postgresql import postgres_url  # noqa: F401  (a fixture)


def test_two_processes_share_a_budget_on_postgresql(postgres_url):  # noqa: F811
    env = {**os.environ, "DATABASE_URL": postgres_url}
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:xdist",
         "tests/integration/connectors/test_shared_budget.py"],
        cwd=settings.BASE_DIR, env=env, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    assert " passed" in result.stdout.splitlines()[-1]
