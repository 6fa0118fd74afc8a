"""Run threads take turns at the CPU, a few at a time, and give their turn up while they
wait on another system.

A worker process keeps dozens of runs in flight on threads (flows/inflight.py) because a
run mostly waits on the systems it calls. When many answers come back together, every
thread holding one competes for the process's GIL, and each of the thousands of hand-overs
a second (at every database call) costs the kernel and the caches: with 64 runs in flight a
deal cost about a third more CPU than with 16. A thread takes one of CLARITY_CPU_TURNS
turns before it runs Python and gives it up for the length of a request to another system
(`waiting_on_a_system`: connectors/outbound.py, connectors/odbc/client.py) and of a pause
(`pause`), so the threads with work to do are few and the rest wait on a semaphore, which
costs nothing. A thread inside a database transaction keeps its turn while it waits (none
should wait there: no transaction is open while a system answers), so it can never wait
for a turn held by threads waiting on its transaction. A thread that holds no turn (a web
request, a test) is not limited.
"""

import os
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

from django.conf import settings
from django.db import connection

_turns: threading.BoundedSemaphore | None = None
_made = threading.Lock()
_holding = threading.local()


def turns() -> threading.BoundedSemaphore:
    global _turns
    with _made:
        if _turns is None:
            _turns = threading.BoundedSemaphore(settings.CLARITY_CPU_TURNS)
        return _turns


def _forget_parents_turns() -> None:
    """A forked worker process takes turns of its own."""
    global _turns, _made
    _turns, _made = None, threading.Lock()


os.register_at_fork(after_in_child=_forget_parents_turns)


@contextmanager
def cpu_turn() -> Iterator[None]:
    """Hold a turn for the body's Python work (a run thread's whole run)."""
    turns().acquire()
    _holding.turn = True
    try:
        yield
    finally:
        _holding.turn = False
        turns().release()


@contextmanager
def waiting_on_a_system() -> Iterator[None]:
    """Give this thread's turn up while it waits (if it holds one, outside a transaction)."""
    if not getattr(_holding, "turn", False) or connection.in_atomic_block:
        yield
        return
    turns().release()
    _holding.turn = False
    try:
        yield
    finally:
        turns().acquire()
        _holding.turn = True


def pause(seconds: float) -> None:
    """Sleep without holding a turn (a throttle's wait, a retry's pause)."""
    with waiting_on_a_system():
        time.sleep(seconds)
