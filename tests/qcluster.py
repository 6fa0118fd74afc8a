"""A real django-q2 cluster on the test database, started as production starts it
(`manage.py run_workers`), for the tests whose behaviour depends on separate worker
processes; and what a test needs to see those processes (Linux's /proc)."""

import contextlib
import os
import signal
import subprocess
import sys
from pathlib import Path

from django.conf import settings
from django.db import connection


def start_qcluster(workers: int = 1, **env_overrides: str) -> subprocess.Popen:
    """Start a cluster of `workers` on this test's database; env overrides settings. It leads
    a process group of its own, as under honcho or systemd."""
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{connection.settings_dict['NAME']}",
        "CLARITY_WORKERS": str(workers),
        **env_overrides,
    }
    return subprocess.Popen(
        [sys.executable, "manage.py", "run_workers"],
        cwd=settings.BASE_DIR,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )


def kill_qcluster(cluster: subprocess.Popen) -> None:
    """SIGKILL the whole process group: nothing to wait for."""
    with contextlib.suppress(ProcessLookupError):  # the test killed it already
        os.killpg(cluster.pid, signal.SIGKILL)
    cluster.wait(timeout=30)


def process_state(pid: int) -> tuple[str, int] | None:
    """(state, parent pid) of a live process; None once it is gone or a zombie."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    state, parent = stat.rpartition(")")[2].split()[:2]
    return None if state in "ZX" else (state, int(parent))


def children(pid: int) -> list[int]:
    """The live processes `pid` started."""
    pids = (int(entry.name) for entry in Path("/proc").iterdir() if entry.name.isdigit())
    return sorted(child for child in pids if (state := process_state(child)) and state[1] == pid)
