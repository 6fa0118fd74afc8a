"""A real django-q2 cluster (`manage.py qcluster`) on the test database, for the tests whose
behaviour depends on separate worker processes."""

import contextlib
import os
import signal
import subprocess
import sys

from django.conf import settings
from django.db import connection


def start_qcluster(workers: int = 1, **env_overrides: str) -> subprocess.Popen:
    """Start a cluster of `workers` on this test's database; env overrides settings."""
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{connection.settings_dict['NAME']}",
        "CLARITY_WORKERS": str(workers),
        **env_overrides,
    }
    return subprocess.Popen(
        [sys.executable, "manage.py", "qcluster"],
        cwd=settings.BASE_DIR,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )


def kill_qcluster(cluster: subprocess.Popen) -> None:
    """SIGKILL the whole process group: a graceful stop waits for the task timeout."""
    with contextlib.suppress(ProcessLookupError):  # the test killed it already
        os.killpg(cluster.pid, signal.SIGKILL)
    cluster.wait(timeout=30)
