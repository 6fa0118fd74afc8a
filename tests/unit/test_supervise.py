"""scripts/supervise.sh, which `make run` runs the worker under: honcho has no restart policy
and stops every process as soon as one exits."""

import contextlib
import os
import signal
import subprocess
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_a_command_that_exits_is_started_again_until_the_supervisor_is_told_to_stop(tmp_path):
    starts = tmp_path / "starts"
    # Fails at its first start (as run_workers does when its sentinel dies), then runs on.
    command = f'echo start >> {starts}; [ "$(wc -l < {starts})" -ge 2 ] && exec sleep 60; exit 3'
    supervisor = subprocess.Popen(
        [ROOT / "scripts" / "supervise.sh", "sh", "-c", command],
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and len(started(starts)) < 2:
            time.sleep(0.1)
        assert started(starts) == ["start", "start"]

        stopped_at = time.monotonic()
        os.kill(supervisor.pid, signal.SIGTERM)  # to the supervisor alone: it stops the command
        supervisor.wait(timeout=10)
        assert time.monotonic() - stopped_at < 3
        assert started(starts) == ["start", "start"]  # not started a third time
        assert b"exited with status 3; starting it again" in supervisor.stderr.read()
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(supervisor.pid, signal.SIGKILL)
        supervisor.wait()


def started(starts: Path) -> list[str]:
    return starts.read_text().split() if starts.exists() else []
