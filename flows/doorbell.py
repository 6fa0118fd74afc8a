"""The workers' doorbell: a process that queues a run rings it, so a cluster idle between
looks at the queue pulls the run at once instead of at its next look.

django-q2's ORM broker looks at the queue every Q_CLUSTER "poll" seconds while it is empty
(0.1 s): on average half of that, and nearly all of it at the 95th percentile, was the wait
between a delivery's commit and a worker taking its run. Here the cluster's pusher waits
for the same time on a UDP socket on this host instead of sleeping, and each committed queue
row sends it one datagram (`ring`, after the commit: a ring before it would find nothing).
The ring only hurries what the poll guarantees: a datagram lost, a web process on another
host or a cluster that could not bind the address all leave the run to the next look, as
before. CLARITY_DOORBELL names the address ("" turns it off); SO_REUSEPORT lets every
cluster on the host bind it, and the kernel hands each ring to one of them.
"""

import contextlib
import logging
import select
import socket
import threading
from time import sleep

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django_q.brokers.orm import ORM
from django_q.conf import Conf
from django_q.models import OrmQ

from clarity.prepared import Param, PreparedChange, PreparedQuery

logger = logging.getLogger(__name__)
RING = b"run"
_ringer = threading.local()  # each thread's sending socket


def address() -> tuple[str, int] | None:
    """(host, port) of the doorbell, or None when it is off."""
    host, _, port = settings.CLARITY_DOORBELL.rpartition(":")
    return (host, int(port)) if host and port else None


def ring_after_commit() -> None:
    """Ring once the transaction the queue row is in commits (at once outside one)."""
    if address() is not None:
        transaction.on_commit(ring)


def ring() -> None:
    """One datagram to the doorbell; never fails the caller (the poll is the guarantee)."""
    where = address()
    if where is None:
        return
    sender = getattr(_ringer, "socket", None)
    if sender is None:
        sender = _ringer.socket = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        sender.setblocking(False)
    with contextlib.suppress(OSError):  # full buffer, no route: the next look finds it
        sender.sendto(RING, where)


# django-q2's ORM broker's statements, prepared (the pusher and monitor made them per run),
# on the default database: the one Q_CLUSTER's "orm" names.
DUE = PreparedQuery(
    lambda: OrmQ.objects.filter(key=Param("key"), lock__lt=Param("now"))[: Conf.BULK]
)
TAKE = PreparedChange(
    lambda: OrmQ.objects.filter(id=Param("id"), lock=Param("lock")), lock=Param("until")
)
REMOVE = PreparedChange(lambda: OrmQ.objects.filter(id=Param("id")))


class DoorbellBroker(ORM):
    """The ORM broker whose empty-queue wait ends at a ring."""

    listener: socket.socket | None = None
    listening = False  # tried to bind (in this process)

    def dequeue(self) -> list[tuple[int, str]] | None:
        """django-q2's ORM dequeue (take the due rows, each claimed by moving its lock on),
        waiting on the doorbell instead of sleeping when there are none."""
        tasks = DUE.all(key=self.list_key, now=timezone.now())
        if not tasks:
            self.wait(Conf.POLL)
            return None
        taken = []
        for task in tasks:  # else another cluster took it
            if TAKE.run(id=task.pk, lock=task.lock, until=self.timeout(task)):
                taken.append((task.pk, task.payload))
        return taken

    def delete(self, task_id: int) -> None:
        """A finished task's row goes (django-q2's `acknowledge`)."""
        REMOVE.run(id=task_id)

    def release(self, task_id: int) -> None:
        """A task taken but never run (the cluster that took it was renewed) is due again at
        once, not when its retry time comes round."""
        OrmQ.objects.filter(id=task_id).update(lock=timezone.now())

    def wait(self, seconds: float) -> None:
        """Until a ring, or `seconds`."""
        listener = self.doorbell()
        if listener is None:
            sleep(seconds)
            return
        ready, _, _ = select.select([listener], [], [], seconds)
        if ready:
            while True:  # every ring that came in is answered by this one look
                try:
                    listener.recv(64)
                except BlockingIOError:
                    break

    def doorbell(self) -> socket.socket | None:
        """This process's doorbell socket, bound on first use; None when it is off or the
        address cannot be bound (then the broker sleeps, as django-q2's does)."""
        if not self.listening:
            self.listening = True
            where = address()
            if where is not None:
                self.listener = bound(where)
        return self.listener


def bound(where: tuple[str, int]) -> socket.socket | None:
    listener = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    listener.setblocking(False)
    try:
        listener.bind(where)
    except OSError as exc:
        listener.close()
        logger.warning("The workers' doorbell %s:%s could not be bound (%s): runs are "
                       "pulled at the queue's next look", *where, exc)  # fmt: skip
        return None
    return listener
