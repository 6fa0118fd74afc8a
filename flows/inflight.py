"""Many runs (and polls) in flight in one worker process: a bounded pool of run threads.

A run spends nearly all its time waiting on the systems it calls (100 to 500 ms a call for the
real APIs), so one run at a time per process leaves the machine idle. In a cluster's worker
process, the django-q2 task hands its run to one of CLARITY_RUNS_PER_WORKER threads and
returns; it first takes a slot, waiting while every thread is busy, so the process never
pulls more tasks from the queue than it can run (the rest stay in the queue for the other
processes). What keeps runs correct is unchanged and works per run, whatever thread it is
on: the claim (one conditional UPDATE, so one record's runs still go one at a time and in
order), the lease and its keeper, the fenced writes, the per-record claims of flows/claims.py.

Stopping: a task that finds the stop request set while it waits for a slot leaves the run for
the next worker; the runs in flight give themselves back before their next step, and the
process exits once its run threads are done (Python joins them at exit). Each run thread
keeps its database connection between runs (Django's are per thread; the settings keep them
open) and closes a broken one after each run, as Django does after a request.
"""

import logging
import multiprocessing
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import cache

from django.conf import settings
from django.db import close_old_connections
from django_q.conf import Conf

from clarity.cpu_turns import cpu_turn
from flows.leases import LOOK_EVERY, pass_on, stop_requested

logger = logging.getLogger(__name__)
RunBody = Callable[[int], str]


@dataclass
class RunThreads:
    """The run threads of this process and the slots that bound them."""

    size: int
    slots: threading.BoundedSemaphore = field(init=False)
    executor: ThreadPoolExecutor = field(init=False)

    def __post_init__(self) -> None:
        self.slots = threading.BoundedSemaphore(self.size)
        self.executor = ThreadPoolExecutor(max_workers=self.size, thread_name_prefix="run")


@cache
def run_threads() -> RunThreads:
    """This process's run threads, made when its first run arrives."""
    return RunThreads(settings.CLARITY_RUNS_PER_WORKER)


def in_worker_process() -> bool:
    """A cluster's worker process (forked by its sentinel), not a process that runs a task
    inline (django-q2's sync mode, a test calling the task)."""
    return multiprocessing.parent_process() is not None and not Conf.SYNC


def slot_wait_seconds() -> float:
    """The longest a task waits for a slot: well inside the cluster's task timeout, past
    which django-q2 kills the worker process and with it every run in flight."""
    return settings.Q_CLUSTER["timeout"] / 2


def hand_over(item: int, body: RunBody, leave: RunBody = pass_on) -> str:
    """Take a slot (waiting while all are busy) and run `body(item)` on a run thread; when
    the process is stopping or no slot frees in time, `leave(item)` instead (a run is rung
    for the next worker). Polls come here too: they wait on the systems as runs do, and on
    the process's own thread they would keep it from taking runs meanwhile."""
    threads = run_threads()
    give_up_at = time.monotonic() + slot_wait_seconds()
    while not threads.slots.acquire(timeout=LOOK_EVERY):
        if stop_requested() or time.monotonic() >= give_up_at:
            return leave(item)
    threads.executor.submit(run_on_thread, threads, item, body)
    return "handed to a run thread"


def run_on_thread(threads: RunThreads, item: int, body: RunBody) -> None:
    """One run (or poll) on a run thread; its slot is free again whatever happens."""
    try:
        with cpu_turn():
            body(item)
    except Exception:
        logger.exception("%s(%s) stopped with an unexpected error", body.__name__, item)
    finally:
        close_old_connections()
        threads.slots.release()
