"""`manage.py run_workers`: django-q2's cluster, run so that it fails loudly and stops in
seconds.

Plain `qcluster` leaves its workers running headless when its sentinel (the process that
restarts workers, runs the schedules and feeds the queue) dies, and is killed outright by a
SIGTERM to its process group, which leaves its runs `running` until their leases lapse. Here:

- every process of the cluster is killed with the process that forked it (Linux's
  parent-death signal), and this command exits 1 when the sentinel dies, so the supervisor
  (scripts/supervise.sh under `make run`) starts the whole worker again;
- a worker, the monitor or the pusher that dies suddenly (killed, crashed) may hold a lock of
  the queues the cluster's processes share: a worker waits for its next task holding the task
  queue's read lock, the monitor the result queue's, the pusher writes holding the write lock.
  Python cannot take such a lock back, so django-q2's answer, a new process in the dead one's
  place, leaves a cluster that never takes a task again. Here the sentinel renews the cluster
  instead: the workers give their runs back (as at a stop), the tasks the old queue still held
  are due again at once, and this command starts a fresh sentinel with fresh queues;
- SIGTERM or SIGINT, to this process or to its whole group, stops it: the cluster's
  processes ignore both, and this one tells the sentinel to stop feeding the workers and the
  workers to stop (flows/leases.py: a run is given back before its next step, or after
  CLARITY_WORKER_STOP_SECONDS in a step), then exits 0.
"""

import ctypes
import logging
import multiprocessing
import multiprocessing.queues
import os
import signal
import sys
import time
import uuid
from multiprocessing.reduction import ForkingPickler
from multiprocessing.synchronize import Event
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django_q.cluster import Sentinel

from flows.doorbell import DoorbellBroker
from flows.leases import prepare_stop_request, request_stop, worker_name
from flows.models import SyncRun

logger = logging.getLogger(__name__)
LIBC = ctypes.CDLL(None) if sys.platform == "linux" else None
PR_SET_PDEATHSIG = 1  # prctl(2)
LOOK_EVERY = 0.5  # seconds between looks at the sentinel
# Once the workers' time to stop is up, this long for the sentinel to see them out.
SENTINEL_MARGIN = 2.0
# The sentinel's exit code when it renewed the cluster: start a fresh one.
RENEW = 75


class Command(BaseCommand):
    help = (
        "Run the django-q2 workers. Exits 1 when the cluster's sentinel dies (its workers "
        "die with it); starts the cluster afresh when one of its processes dies; SIGTERM "
        "gives back the runs in progress and stops within seconds."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        signals: list[int] = []  # the stop signals received
        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, lambda signum, frame: signals.append(signum))
        os.register_at_fork(after_in_child=die_with_parent)
        stop_event, sentinel = start_sentinel()
        while not signals:
            if sentinel.exitcode == RENEW:
                stop_event, sentinel = start_sentinel()
            elif not sentinel.is_alive():
                raise CommandError(
                    f"The cluster's sentinel (pid {sentinel.pid}) died with exit code "
                    f"{sentinel.exitcode}, and its workers with it: exiting so that the "
                    "supervisor starts the worker again."
                )
            time.sleep(LOOK_EVERY)
        logger.info("Stopping the workers (%s)", signal.Signals(signals[0]).name)
        request_stop()
        stop_event.set()
        sentinel.join(settings.CLARITY_WORKER_STOP_SECONDS + SENTINEL_MARGIN)
        if sentinel.is_alive():
            logger.warning("The cluster did not stop in time: killed")
            sentinel.kill()
            sentinel.join()
        logger.info("Workers stopped")


def start_sentinel() -> tuple[Event, multiprocessing.Process]:
    """Fork a sentinel, with a stop request of its own for the workers it forks."""
    prepare_stop_request()
    forking = multiprocessing.get_context("fork")
    stop_event, start_event = forking.Event(), forking.Event()
    sentinel = forking.Process(target=guard, args=(stop_event, start_event), name="sentinel")
    sentinel.start()
    logger.info("Workers starting (sentinel pid %s)", sentinel.pid)
    return stop_event, sentinel


def guard(stop_event: Event, start_event: Event) -> None:
    """The sentinel process: django-q2's Sentinel, deaf to SIGTERM and SIGINT, as is every
    process it forks; the command stops it through `stop_event`."""
    sentinel = RenewingSentinel(stop_event, start_event, uuid.uuid4(), start=False)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)  # Sentinel() sets it back to the default
    sentinel.start()


class RenewingSentinel(Sentinel):
    """django-q2's sentinel, which renews the whole cluster when one of its processes dies
    suddenly rather than start one in its place on queues whose locks may be held for ever."""

    broker: DoorbellBroker

    def reincarnate(self, process: multiprocessing.Process) -> None:
        if process.is_alive() or process.exitcode == 0:  # timed out, recycled, or stopped
            super().reincarnate(process)
            return
        logger.critical(
            "A process of the worker cluster died (%s, exit code %s): it may have held a "
            "lock of the queues the others share, so the cluster is started afresh",
            process.name,
            process.exitcode,
        )
        self.renew()

    def renew(self) -> None:
        """Stop as at SIGTERM, but without the queues (their locks may be held): the pusher
        stops taking tasks, the workers give their runs back before their next step; once
        they hold none (or the time to stop is up) they are killed; the tasks left in the
        task queue are due again at once; exit RENEW."""
        request_stop()
        self.event_out.set()
        deadline = time.monotonic() + settings.CLARITY_WORKER_STOP_SECONDS + SENTINEL_MARGIN
        while time.monotonic() < deadline and self.runs_held():
            time.sleep(0.1)
        for process in (*self.pool, self.pusher, self.monitor):
            if process.is_alive():
                process.kill()
                process.join()
        for task in left_in(self.task_queue):
            self.broker.release(task["ack_id"])
        sys.exit(RENEW)

    def runs_held(self) -> bool:
        """Does a live worker of this cluster still hold a run?"""
        owners = [worker_name(p.pid) for p in self.pool if p.is_alive()]
        return SyncRun.objects.filter(
            status=SyncRun.Status.RUNNING, lease_owner__in=owners
        ).exists()


def left_in(task_queue: multiprocessing.queues.Queue) -> list[dict]:
    """The tasks still in a queue whose readers are all dead, read without its lock (a dead
    reader may hold it) and without waiting: a reader killed mid-message leaves the rest of
    the stream unreadable, and those tasks are left to the broker's retry."""
    reader = task_queue._reader  # type: ignore[attr-defined]
    os.set_blocking(reader.fileno(), False)
    tasks = []
    try:
        while reader.poll():
            tasks.append(ForkingPickler.loads(reader.recv_bytes()))
    except Exception as exc:  # a cut stream reads as anything: no more, or any garbage
        logger.warning("Could not read the rest of the old task queue (%s): those tasks "
                       "run when the broker's retry time comes round", exc)  # fmt: skip
    return [task for task in tasks if isinstance(task, dict) and "ack_id" in task]


def die_with_parent() -> None:
    """Run in every process forked from this command on: the kernel kills it when the process
    that forked it dies, so no part of the cluster outlives the part that supervises it."""
    if LIBC is not None:
        LIBC.prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
