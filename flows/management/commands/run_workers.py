"""`manage.py run_workers`: django-q2's cluster, run so that it fails loudly and stops in
seconds.

Plain `qcluster` leaves its workers running headless when its sentinel (the process that
restarts workers, runs the schedules and feeds the queue) dies, and is killed outright by a
SIGTERM to its process group, which leaves its runs `running` until their leases lapse. Here:

- every process of the cluster is killed with the process that forked it (Linux's
  parent-death signal), and this command exits 1 when the sentinel dies, so the supervisor
  (scripts/supervise.sh under `make run`) starts the whole worker again;
- SIGTERM or SIGINT, to this process or to its whole group, stops it: the cluster's
  processes ignore both, and this one tells the sentinel to stop feeding the workers and the
  workers to stop (flows/leases.py: a run is given back before its next step, or after
  CLARITY_WORKER_STOP_SECONDS in a step), then exits 0.
"""

import ctypes
import logging
import multiprocessing
import os
import signal
import sys
import time
import uuid
from multiprocessing.synchronize import Event
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django_q.cluster import Sentinel

from flows.leases import prepare_stop_request, request_stop

logger = logging.getLogger(__name__)
LIBC = ctypes.CDLL(None) if sys.platform == "linux" else None
PR_SET_PDEATHSIG = 1  # prctl(2)
LOOK_EVERY = 0.5  # seconds between looks at the sentinel
# Once the workers' time to stop is up, this long for the sentinel to see them out.
SENTINEL_MARGIN = 2.0


class Command(BaseCommand):
    help = (
        "Run the django-q2 workers. Exits 1 when the cluster's sentinel dies (its workers "
        "die with it); SIGTERM gives back the runs in progress and stops within seconds."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        signals: list[int] = []  # the stop signals received
        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, lambda signum, frame: signals.append(signum))
        os.register_at_fork(after_in_child=die_with_parent)
        prepare_stop_request()
        forking = multiprocessing.get_context("fork")
        stop_event, start_event = forking.Event(), forking.Event()
        sentinel = forking.Process(target=guard, args=(stop_event, start_event), name="sentinel")
        sentinel.start()
        logger.info("Workers starting (sentinel pid %s)", sentinel.pid)
        while not signals:
            if not sentinel.is_alive():
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


def guard(stop_event: Event, start_event: Event) -> None:
    """The sentinel process: django-q2's Sentinel, deaf to SIGTERM and SIGINT, as is every
    process it forks; the command stops it through `stop_event`."""
    sentinel = Sentinel(stop_event, start_event, uuid.uuid4(), start=False)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)  # Sentinel() sets it back to the default
    sentinel.start()


def die_with_parent() -> None:
    """Run in every process forked from this command on: the kernel kills it when the process
    that forked it dies, so no part of the cluster outlives the part that supervises it."""
    if LIBC is not None:
        LIBC.prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
