"""Group commit: the deliveries a web process's threads store at the same moment share one
transaction, and each is answered only after that transaction commits.

Committing was the largest single cost of a delivery (about a tenth of its CPU, and on
SQLite the moment its one writer holds the lock): the event, run and queue row touch a dozen
index pages, written again for every commit. Here the first thread with work becomes the
leader: it takes every piece of work waiting, runs each in a savepoint of one transaction on
its own connection (a duplicate or any other error undoes only that piece, and is raised to
its own thread), commits, wakes the others, and hands the lead to the first piece that
arrived meanwhile, whose thread commits the next batch. A leader that kept leading while
work kept arriving held its own answer back for as long: under load, the slowest answers.
No thread waits for company: a lone delivery commits at once, as before; under load,
deliveries queue behind the commit in progress and go in together with the next. Work that
fails at the commit itself (the database gone) fails every thread of the batch: none was
acknowledged.

On SQLite, every transaction first takes the writers' turn (clarity/sqlite/base.py):
SQLite makes a writer that finds another writing sleep and retry (1, 2, 5, 10 ms...), long
after the other's commit, while a writer waiting for its turn is woken the moment it is
free. With two web processes that sleep made the slowest answers (bench/ingest.py: p99
halved with one process).

Work arriving inside a transaction already open (a poll's, a test's) runs there directly:
another thread's connection cannot join it.
"""

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Generic, TypeVar

from django.db import connection, transaction

T = TypeVar("T")


@dataclass
class Work(Generic[T]):
    run: Callable[[], T]
    done: threading.Event = field(default_factory=threading.Event)  # or handed the lead
    leads: bool = False  # woken to commit the next batch, not yet done
    result: T | None = None
    error: BaseException | None = None


class GroupCommit:
    """One per process, shared by its threads."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.waiting: list[Work] = []
        self.leading = False
        self.batches = 0  # committed, for tests and the benchmark to see batching happen
        self.pieces = 0

    def run(self, work: Callable[[], T]) -> T:
        """`work()` committed, its result returned once the commit holding it is done."""
        if connection.in_atomic_block:
            with transaction.atomic():  # a savepoint, as in a batch
                return work()
        piece = Work(work)
        with self.lock:
            self.waiting.append(piece)
            lead = not self.leading
            self.leading = True
        if lead:
            self.lead()
        piece.done.wait()
        while piece.leads:  # the last leader's batch is in: this thread commits the next
            piece.leads = False
            piece.done.clear()
            self.lead()
            piece.done.wait()
        if piece.error is not None:
            raise piece.error
        return piece.result

    def lead(self) -> None:
        """Commit every piece waiting (the leader's own among them), then hand the lead to
        the first that arrived meanwhile, or back when none did."""
        with self.lock:
            batch, self.waiting = self.waiting, []
        try:
            self.commit(batch)
        finally:
            with self.lock:
                if self.waiting:
                    self.waiting[0].leads = True
                    self.waiting[0].done.set()
                else:
                    self.leading = False

    def commit(self, batch: list[Work]) -> None:
        try:
            with transaction.atomic():
                if len(batch) == 1:  # alone: a failure undoes the transaction, its own
                    batch[0].result = batch[0].run()
                else:
                    self.run_each(batch)
        except BaseException as exc:  # nothing of the batch is stored
            for piece in batch:
                piece.error = piece.error or exc
            if not isinstance(exc, Exception):
                raise
        finally:
            with self.lock:
                self.batches += 1
                self.pieces += len(batch)
            for piece in batch:
                piece.done.set()

    @staticmethod
    def run_each(batch: list[Work]) -> None:
        """Each piece in a savepoint: a failure undoes only itself."""
        for piece in batch:
            try:
                with transaction.atomic():
                    piece.result = piece.run()
            except Exception as exc:  # raised again in the thread that gave the work
                piece.error = exc


GROUP_COMMIT = GroupCommit()
