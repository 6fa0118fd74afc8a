"""When `run_workers` renews its cluster, the tasks the old task queue still held are due
again at once (flows/management/commands/run_workers.py `left_in`, DoorbellBroker.release)."""

import multiprocessing
import os
from datetime import timedelta
from multiprocessing.reduction import ForkingPickler

import pytest
from django.utils import timezone
from django_q.models import OrmQ

from flows.doorbell import DUE, DoorbellBroker
from flows.management.commands.run_workers import left_in

TASKS = [{"ack_id": 7, "func": "flows.runner.run"}, {"ack_id": 8, "func": "flows.runner.run"}]


def filled_queue(*tasks: dict) -> multiprocessing.queues.Queue:
    """A task queue holding `tasks`, written as its feeder thread writes them."""
    task_queue = multiprocessing.get_context("fork").Queue()
    for task in tasks:
        task_queue._writer.send_bytes(ForkingPickler.dumps(task))
    return task_queue


def test_the_tasks_left_in_the_queue_are_read_without_its_lock():
    task_queue = filled_queue(*TASKS)
    task_queue._rlock.acquire()  # as a reader killed while it waited leaves it
    assert left_in(task_queue) == TASKS


def test_a_reader_killed_mid_message_leaves_a_warning_not_a_wait(caplog):
    task_queue = filled_queue(*TASKS)
    os.read(task_queue._reader.fileno(), 4)  # the dead reader took the first length only
    assert left_in(task_queue) == []
    assert "Could not read the rest of the old task queue" in caplog.text


@pytest.mark.django_db
def test_a_released_task_is_due_at_once_not_at_its_retry_time():
    broker = DoorbellBroker(list_key="clarity")
    task = OrmQ.objects.create(
        key="clarity", payload="x", lock=timezone.now() + timedelta(seconds=180)
    )
    assert DUE.all(key="clarity", now=timezone.now()) == []
    broker.release(task.pk)
    assert [due.pk for due in DUE.all(key="clarity", now=timezone.now())] == [task.pk]
