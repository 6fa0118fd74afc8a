"""SQLite as Clarity runs it: one writer at a time, the turn handed on the moment it is free.

SQLite has a single writer. A transaction that finds another writing sleeps in SQLite's busy
handler and looks again after 1, 2, 5, 10, 15, 20, 25... ms, so it starts long after the
other has committed, and under load a writer that keeps looking at the wrong moments waits
behind dozens that came later: in the latency benchmark a step's transaction waited 9 ms at
the 90th percentile, 330 ms at the 99th and 2.9 s at worst to begin. Here a transaction
first takes the writers' turn, a lock shared by the threads of the process and a lock file
next to the database shared by every process (flock), both of which wake a waiter when they
are released; BEGIN IMMEDIATE then finds the database free, and the turn is given back at
COMMIT or ROLLBACK (or when the connection closes). A write outside a transaction (SQLite
makes it one of its own: a run's claim, a lease's renewal) takes the turn for itself.
"""

import fcntl
import os
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.db import OperationalError
from django.db.backends.sqlite3 import base


@dataclass
class WritersTurn:
    """The turn on one database file, in this process."""

    path: str
    threads: threading.Lock = field(default_factory=threading.Lock)
    descriptor: int = -1

    def take(self, timeout: float) -> None:
        if not self.threads.acquire(timeout=timeout):
            raise OperationalError(f"database is locked (no writer's turn in {timeout:g} s)")
        try:
            if self.descriptor < 0:
                self.descriptor = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
            fcntl.flock(self.descriptor, fcntl.LOCK_EX)
        except BaseException:
            self.threads.release()
            raise

    def give_back(self) -> None:
        fcntl.flock(self.descriptor, fcntl.LOCK_UN)
        self.threads.release()


_turns: dict[str, WritersTurn] = {}
_turns_lock = threading.Lock()


def turn_for(path: str) -> WritersTurn:
    with _turns_lock:
        turn = _turns.get(path)
        if turn is None:
            turn = _turns[path] = WritersTurn(path)
        return turn


def _forget_parents_turns() -> None:
    """A forked child takes turns of its own: the parent's locks and lock file description
    are the parent's (a lock held by another of its threads would never be released)."""
    global _turns, _turns_lock
    _turns, _turns_lock = {}, threading.Lock()


os.register_at_fork(after_in_child=_forget_parents_turns)


WRITES = ("INSERT", "UPDATE", "DELETE", "REPLACE")


class TurnTakingCursor(base.SQLiteCursorWrapper):
    """Django's cursor; a write outside a transaction takes the writers' turn around it."""

    turn: WritersTurn | None = None
    timeout = 5.0

    def execute(self, query: str, params=None):
        return self.in_turn(query, super().execute, params)

    def executemany(self, query: str, param_list):
        return self.in_turn(query, super().executemany, param_list)

    def in_turn(self, query: str, run: Callable[[str, Any], Any], params: Any) -> Any:
        """`run(query, params)`, in the writers' turn if the statement needs one."""
        if not self.takes_turn(query):
            return run(query, params)
        self.turn.take(self.timeout)
        try:
            return run(query, params)
        finally:
            self.turn.give_back()

    def takes_turn(self, query: str) -> bool:
        return (
            self.turn is not None
            and not self.connection.in_transaction
            and query.lstrip()[:7].upper().startswith(WRITES)
        )


class DatabaseWrapper(base.DatabaseWrapper):
    held: WritersTurn | None = None

    def turn(self) -> WritersTurn | None:
        """The turn on this database's file; None for a database in memory."""
        name = str(self.settings_dict["NAME"])
        return None if self.is_in_memory_db() or not name else turn_for(f"{name}-writers")

    def timeout(self) -> float:
        return float(self.settings_dict["OPTIONS"].get("timeout", 5))

    def create_cursor(self, name=None) -> TurnTakingCursor:
        cursor = self.connection.cursor(factory=TurnTakingCursor)
        cursor.turn, cursor.timeout = self.turn(), self.timeout()
        return cursor

    def _start_transaction_under_autocommit(self) -> None:
        turn = self.turn()
        if turn is None:
            super()._start_transaction_under_autocommit()
            return
        turn.take(self.timeout())
        self.held = turn
        try:
            super()._start_transaction_under_autocommit()
        except BaseException:
            self.give_back_turn()
            raise

    def _commit(self) -> None:
        try:
            super()._commit()
        finally:
            self.give_back_turn()

    def _rollback(self) -> None:
        try:
            super()._rollback()
        finally:
            self.give_back_turn()

    def _close(self) -> None:
        try:
            super()._close()
        finally:
            self.give_back_turn()

    def give_back_turn(self) -> None:
        turn, self.held = self.held, None
        if turn is not None:
            turn.give_back()
