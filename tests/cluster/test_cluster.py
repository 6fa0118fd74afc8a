"""Several hosts, one lost mid-load (bench/cluster.py --quick, about 2.5 minutes): two web and
three worker hosts in network namespaces of their own on PostgreSQL; every process of one
worker host killed at once mid-load; no deal lost, none made twice in the sandbox Sage, and
throughput back within a minute. Needs root (network namespaces) and PostgreSQL.

On a failure the message starts with the failing check or step, then the end of every host's
log (gunicorn, run_workers, the sandboxes, PostgreSQL) as the bench printed it."""

import glob
import json
import os
import shutil
import subprocess
import sys

import pytest
from django.conf import settings

pytestmark = [
    pytest.mark.xdist_group("cluster"),
    pytest.mark.skipif(
        os.geteuid() != 0
        or shutil.which("ip") is None
        or not glob.glob("/usr/lib/postgresql/*/bin"),
        reason="the cluster test makes network namespaces: it needs root, iproute2 and "
        "PostgreSQL (scripts/setup.sh --browser)",
    ),
]
OUTPUT_TAIL_CHARS = 14000  # the bench's stderr: its logs' tails end there


def test_losing_a_worker_host_mid_load_loses_nothing_and_duplicates_nothing():
    result = subprocess.run(
        [sys.executable, "bench/cluster.py", "--quick", "--require"],
        cwd=settings.BASE_DIR,
        capture_output=True,
        text=True,
        timeout=900,
    )
    failures = [
        line for line in (result.stdout + result.stderr).splitlines() if line.startswith("FAIL")
    ]
    output = "\n".join([*failures, result.stdout, result.stderr[-OUTPUT_TAIL_CHARS:]])
    assert result.returncode == 0, output
    figures = json.loads(result.stdout.strip().splitlines()[-1])
    assert figures["bench"] == "cluster"
    assert figures["processes_killed"] > 0, output
    assert figures["lost"] == 0, output
    assert figures["duplicates"] == 0, output
    assert figures["recovered_s"] is not None and figures["recovered_s"] <= 60, output
    by_hosts = figures["deals_per_s_by_worker_hosts"]
    assert sorted(by_hosts) == ["1", "2", "3"] and all(rate > 0 for rate in by_hosts.values())
