"""Workers keep time and fail loudly, under real `manage.py run_workers` clusters: a retry
runs when it falls due, not at the next sweep; SIGTERM gives the runs in progress back within
seconds; a dead sentinel takes the whole worker down with a non-zero exit; a step longer than
the lease keeps its run; /readyz turns 503 soon after the worker stops.

These tests tick no sweeper unless they say so: what they check must happen without it."""

import os
import signal
import time
from datetime import timedelta
from pathlib import Path

import pytest

from flows.models import SyncRun
from flows.runner import claim
from flows.sweeper import sweep
from tests import won_deals as shared
from tests.qcluster import children, process_state
from tests.reliability.conftest import TERMINAL, wait_for

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.xdist_group("reliability")]
Status = SyncRun.Status


def deliver(client, streak_sandbox, pair, token, deal_id: str) -> SyncRun:
    box = shared.won_clone(streak_sandbox, "SAL-1005", deal_id)
    assert shared.deliver_streak(client, pair, token, box).status_code == 200
    return SyncRun.objects.get(pair=pair, entity_key=box["key"])


def status_of(run: SyncRun) -> str:
    run.refresh_from_db()
    return run.status


def test_a_429_with_retry_after_2_is_retried_2_s_later_not_at_the_next_sweep(
    client, start_cluster, streak_sandbox, sage100_pair, sage
):
    pair, token = sage100_pair
    start_cluster()
    box = shared.won_clone(streak_sandbox, "SAL-1005", "REL-429-1")
    shared.set_faults(streak_sandbox, rate_limit_rate=1.0, retry_after=2)
    assert shared.deliver_streak(client, pair, token, box).status_code == 200
    run = SyncRun.objects.get(pair=pair, entity_key=box["key"])

    def told_to_wait() -> bool:
        run.refresh_from_db()
        return run.status == Status.RETRY_SCHEDULED and run.error_class == "RateLimited"

    assert wait_for(told_to_wait, timeout=30)
    shared.set_faults(streak_sandbox)
    assert wait_for(lambda: status_of(run) == Status.SUCCEEDED, timeout=10)
    # The attempt that succeeded started when the last 429 said, give or take a queue poll.
    assert run.next_attempt_at <= run.started_at < run.next_attempt_at + timedelta(seconds=3)
    assert run.attempt == 1  # waiting as told used no attempt
    assert len(shared.orders_for(sage, "REL-429-1")) == 1


def test_sigterm_mid_step_gives_the_run_back_within_seconds_and_a_restart_completes_it(
    client, start_cluster, streak_sandbox, sage100_sandbox, sage100_pair, sage
):
    pair, token = sage100_pair
    cluster = start_cluster(CLARITY_WORKER_STOP_SECONDS="1")
    shared.set_faults(sage100_sandbox, latency_ms=4000)  # a Sage call outlasts the 1 s grace
    run = deliver(client, streak_sandbox, pair, token, "REL-TERM-1")
    assert wait_for(lambda: status_of(run) == Status.RUNNING and run.steps.exists(), timeout=30)
    time.sleep(0.5)  # past the quick steps, into the first Sage 100 bridge call

    stopped_at = time.monotonic()
    os.killpg(cluster.pid, signal.SIGTERM)  # as honcho and systemd stop it: the whole group
    assert cluster.wait(timeout=15) == 0
    assert time.monotonic() - stopped_at < 5
    run.refresh_from_db()
    assert run.status == Status.RETRY_SCHEDULED, run.status
    assert (run.lease_owner, run.lease_until, run.crashes) == ("", None, 0)

    shared.set_faults(sage100_sandbox)
    start_cluster()
    assert wait_for(lambda: status_of(run) == Status.SUCCEEDED, timeout=30)
    [order] = shared.orders_for(sage, "REL-TERM-1")
    assert run.references["sage_order_no"] == order["SalesOrderNo"]
    customer = sage.get("customer", run.references["sage_customer"])
    assert len(shared.customers_named(sage, customer["CustomerName"])) == 1


def test_killing_the_sentinel_ends_the_whole_worker_with_an_error(start_cluster):
    cluster = start_cluster()

    def cluster_up() -> bool:  # the sentinel, with 2 workers, the monitor and the pusher
        sentinels = children(cluster.pid)
        return len(sentinels) == 1 and len(children(sentinels[0])) == 4

    assert wait_for(cluster_up, timeout=30)
    [sentinel] = children(cluster.pid)
    workers_and_helpers = children(sentinel)
    os.kill(sentinel, signal.SIGKILL)
    assert cluster.wait(timeout=10) == 1  # the supervisor sees a failure and restarts it
    gone = lambda: not any(process_state(pid) for pid in workers_and_helpers)  # noqa: E731
    assert wait_for(gone, timeout=5), "workers left running without their sentinel"


def waiting_on_a_queue(pid: int) -> bool:
    """Is the process's main thread blocked reading a pipe (one of the cluster's queues)?
    The kernel names the wait `pipe_read`, `anon_pipe_read` or, before 5.x, `pipe_wait`."""
    try:
        return Path(f"/proc/{pid}/wchan").read_text() in (
            "pipe_read",
            "anon_pipe_read",
            "pipe_wait",
        )
    except OSError:
        return False


def test_cluster_processes_killed_while_they_wait_on_a_queue_leave_a_cluster_that_runs(
    client, start_cluster, streak_sandbox, sage100_pair, sage
):
    """The worker waiting for the next task holds the task queue's read lock, and the monitor
    the result queue's: killed there, each would hold its lock for ever, and no worker would
    take a task again (django-q2 only starts a new process in the dead one's place)."""
    pair, token = sage100_pair
    cluster = start_cluster()
    sentinel: list[int] = []

    def readers() -> list[int]:  # the worker holding the task queue's lock, and the monitor
        sentinel[:] = children(cluster.pid)
        return [pid for pid in children(sentinel[0]) if waiting_on_a_queue(pid)] if sentinel else []

    assert wait_for(lambda: len(readers()) == 2, timeout=30)
    for pid in readers():
        os.kill(pid, signal.SIGKILL)

    run = deliver(client, streak_sandbox, pair, token, "REL-KILL-IDLE-1")
    assert wait_for(lambda: status_of(run) == Status.SUCCEEDED, timeout=30), run.status
    assert len(shared.orders_for(sage, "REL-KILL-IDLE-1")) == 1
    assert cluster.poll() is None  # the worker carried on: nothing for the supervisor to do


def test_a_step_longer_than_the_lease_keeps_its_run_from_the_sweeper_and_a_second_worker(
    client, start_cluster, streak_sandbox, sage100_sandbox, sage100_pair, sage
):
    pair, token = sage100_pair
    # Renewed every 1.7 s: a renewal may wait 3 s for the database before the lease lapses
    # (with a 3 s lease, 2 s of slack failed once in a loaded full suite).
    start_cluster(CLARITY_RUN_LEASE_SECONDS="5")
    shared.set_faults(sage100_sandbox, latency_ms=6000)  # each Sage call outlasts the lease
    run = deliver(client, streak_sandbox, pair, token, "REL-LEASE-1")
    assert wait_for(lambda: status_of(run) == Status.RUNNING, timeout=30)
    owner, first_lease = run.lease_owner, run.lease_until

    leases = []
    deadline = time.monotonic() + 60
    while status_of(run) not in TERMINAL and time.monotonic() < deadline:
        sweep()  # takes back a run whose lease lapsed
        assert not claim(run.pk), "a second worker took the run"
        if status_of(run) == Status.RUNNING:
            assert run.lease_owner == owner
            leases.append(run.lease_until)
        time.sleep(0.3)
    assert run.status == Status.SUCCEEDED, run.error_message
    assert (run.attempt, run.crashes) == (1, 0)
    assert max(leases) > first_lease + timedelta(seconds=6)  # renewed past two Sage calls
    assert len(shared.orders_for(sage, "REL-LEASE-1")) == 1


def test_readyz_turns_503_within_the_stale_threshold_of_the_worker_stopping(
    client, start_cluster, settings
):
    settings.CLARITY_WORKER_STALE_SECONDS = 3  # default 20: the same within 30 s
    cluster = start_cluster(CLARITY_WORKER_STALE_SECONDS="3")  # beats every 0.75 s
    assert wait_for(lambda: client.get("/readyz").status_code == 200, timeout=30)
    ready_until = time.monotonic() + 5  # longer than the threshold: the beats keep coming
    while time.monotonic() < ready_until:
        assert client.get("/readyz").status_code == 200
        time.sleep(0.25)

    os.killpg(cluster.pid, signal.SIGTERM)
    assert cluster.wait(timeout=15) == 0
    stopped_at = time.monotonic()
    assert wait_for(lambda: client.get("/readyz").status_code == 503, timeout=10)
    assert time.monotonic() - stopped_at <= 3 + 1
