"""Ringing for a run from the intake's hot path: the same queue row as `flows.queue.enqueue`,
written with one plain INSERT.

`django_q.tasks.async_task` built the row through the ORM broker, which first checks the
connection (`close_old_connections`) and then compiles an INSERT: about a third of a
delivery's CPU. The row here carries the same signed task (`execute_run`, the run's id, its
name and group, started now) under the cluster's queue name, pullable at once, so a worker
cannot tell the two apart. In django-q2's sync mode (tests that run runs inline) this hands
over to `flows.queue.enqueue`, which runs the run at once.

What django-q2 rebuilt for every task is built once here: the signer (`SignedPackage.dumps`
made a new one, reading settings, per task; the signature is the same), and the task's id is
the bare hex of a fresh UUID4, which is all `humanhash.uuid()[1]` returns once it has also
humanized it for nobody.
"""

from uuid import uuid4

from django.utils import timezone
from django_q.conf import Conf
from django_q.core_signing import TimestampSigner
from django_q.models import OrmQ
from django_q.signals import pre_enqueue
from django_q.signing import PickleSerializer

from flows import doorbell, queue
from flows.models import SyncRun
from flows.rows import insert_row

# What `SignedPackage.dumps` signs with; `SignedPackage.loads` (the worker) reads its output.
SIGNER = TimestampSigner(key=Conf.SECRET_KEY, salt=Conf.PREFIX)


def task_for(run_id: int) -> dict:
    """The task package `async_task(TASK, run_id, task_name=..., group="runs")` builds."""
    task = {
        "id": uuid4().hex,
        "name": f"run-{run_id}",
        "func": queue.TASK,
        "args": (run_id,),
        "group": "runs",
    }
    if Conf.CACHED:
        task["cached"] = Conf.CACHED
    if Conf.ACK_FAILURES:
        task["ack_failure"] = Conf.ACK_FAILURES
    task["kwargs"] = {}
    task["started"] = timezone.now()
    return task


def enqueue(run_id: int) -> None:
    """Ring for the run now; inside a transaction the queue row commits with it. By id: the
    intake has only inserted the run, and building a model instance to carry it cost more
    than signing the task."""
    if Conf.SYNC:
        queue.enqueue(SyncRun(pk=run_id))
        return
    task = task_for(run_id)
    pre_enqueue.send(sender="django_q", task=task)
    payload = SIGNER.sign_object(task, serializer=PickleSerializer, compress=Conf.COMPRESSED)
    insert_row(OrmQ, key=Conf.CLUSTER_NAME, payload=payload, lock=task["started"])
    doorbell.ring_after_commit()
