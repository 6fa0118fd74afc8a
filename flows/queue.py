"""Queueing a run: a django-q2 task that a worker answers by claiming it.

A run is queued for now, or for the time it falls due (a retry). The ORM broker's queue row
has a `lock`, the time before which no cluster pulls it (django-q2 uses it to hand a task out
again when no worker acknowledged it); a row written with the due time as its lock is a task
that waits in the database, through worker restarts, and runs within a poll (Q_CLUSTER's
"poll") of falling due. A run queued for now also rings the workers' doorbell once its row
commits (`flows/doorbell.py`), so an idle cluster pulls it at once. The settings' Q_CLUSTER
uses the ORM broker (its doorbell subclass).
"""

from datetime import datetime

from django_q.brokers.orm import ORM
from django_q.conf import Conf
from django_q.tasks import async_task

from flows import doorbell
from flows.models import SyncRun

TASK = "flows.runner.execute_run"


def enqueue(run: SyncRun) -> None:
    """Ring for the run now. Inside a transaction the queue row commits with it."""
    enqueue_id(run.pk)


def enqueue_id(run_id: int) -> None:
    """`enqueue` by the run's id alone."""
    async_task(TASK, run_id, task_name=f"run-{run_id}", group="runs")
    if not Conf.SYNC:  # in sync mode the run is done already
        doorbell.ring_after_commit()


def enqueue_at(run: SyncRun, due: datetime) -> None:
    """Ring for the run at `due`. Never run inline (django-q2's sync mode): not due yet."""
    async_task(
        TASK, run.pk, task_name=f"run-{run.pk}", group="runs", broker=DueBroker(due), sync=False
    )


class DueBroker(ORM):
    """The ORM broker, writing a task that no cluster pulls before `due`."""

    def __init__(self, due: datetime) -> None:
        super().__init__()
        self.due = due

    def enqueue(self, task: str) -> int:
        return self.get_connection().create(key=self.list_key, payload=task, lock=self.due).pk
